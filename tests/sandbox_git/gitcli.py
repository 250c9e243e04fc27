"""The git client of tests/support/gitcli.py under its former import path."""

from __future__ import annotations

from tests.support.gitcli import GitCli, GitResult, clone_url

__all__ = ["GitCli", "GitResult", "clone_url"]
