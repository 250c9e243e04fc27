"""Reviewers: code-review, security and docs streams that turn a pull request into comments."""
