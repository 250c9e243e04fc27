"""Text the built-in agents show people: summaries and notes on the task's pull request."""

from __future__ import annotations

PATH_NOT_ALLOWED = "`{path}` is outside the paths this task may change"
NEEDS_A_PERSON = "This task needs a person: {reason}"
NO_FITTING_AGENT = (
    "no built-in agent fits it (its text names no lint, security, dependency, workflow "
    "or docs fix)."
)
NOT_THIS_SPECIALIST = "`{agent}` has no built-in agent."

# Lint fixer
LINT_NO_FILES = "No Python files among the task's files: nothing to lint."
LINT_FIXED = "ruff fixed {fixed} and reformatted {formatted} of {files} Python file(s)."
LINT_CLEAN = "ruff found nothing to fix or reformat in {files} Python file(s)."
LINT_LEFT = "Left for a person (no safe automatic fix): {left}."
LINT_UNPARSABLE = "ruff could not parse {paths}: fix the syntax first."
NOTHING = "nothing"

# Security fixer
SECURITY_NO_FILES = "No Python files among the task's files: nothing to fix."
SECURITY_FIXED = "Fixed {fixes} in {files} file(s)."
SECURITY_CLEAN = "No fixable bandit findings ({kinds}) in {files} Python file(s)."
SECURITY_BANDIT = "bandit findings in the changed files: {before} before, {after} after."
SECURITY_BANDIT_LEFT = "bandit still reports: {left}."
SECURITY_UNPARSABLE = "Skipped {path}: it is not valid Python ({error})."
FIX_NAMES = {
    "yaml-load": "`yaml.load` → `yaml.safe_load`",
    "verify-false": "`verify=False` removed",
    "request-timeout": "`timeout=` added to requests calls",
    "shell-true": "`shell=True` with a literal command → argument list",
}

# Workflow hardener
WORKFLOWS_NONE = "No GitHub Actions workflow among the task's files: nothing to harden."
WORKFLOWS_CHANGED = "Hardened {count} workflow file(s): {what}."
WORKFLOWS_CLEAN = "The {count} workflow file(s) already follow these rules: nothing to change."
WORKFLOW_PERMISSIONS = "least-privilege top-level `permissions:`"
WORKFLOW_CHECKOUT = "`persist-credentials: false` on checkout"
WORKFLOW_PINS = "actions pinned to commit SHAs"
WORKFLOW_ZIZMOR_FIXES = "zizmor's safe fixes"
WORKFLOW_PERMISSIONS_NOTE = (
    "{path}: added `permissions: {value}` at the top; a job that needs more must declare it."
)
WORKFLOW_NO_RESOLVER = "{path}: `{uses}` left unpinned (no way to look up commits was given)."
WORKFLOW_UNRESOLVED = "{path}: `{uses}` left unpinned ({reason})."
WORKFLOW_ZIZMOR = "zizmor findings: {before} before, {after} after."
WORKFLOW_ZIZMOR_LEFT = "zizmor still reports: {left}."
UNKNOWN_REF = "the reference was not found"

# Dependency updater
DEPS_NO_NAME = "it names no dependency to update (e.g. “bump requests to 2.32.3”)."
DEPS_NOT_FOUND = "`{name}` is not declared in {files}."
DEPS_NO_FILES = "there are no dependency files (requirements*.txt, pyproject.toml) it may change."
DEPS_BUMPED = "Updated `{name}` to {version} in {files}."
DEPS_ALREADY = "`{name}` already allows {version} everywhere it is declared: nothing to change."
DEPS_NO_VERSION = "The task gives no version for `{name}`: its pins are left as they are ({pins})."
DEPS_LOCK_UPDATED = "Re-locked {lock} with {tool}."
DEPS_LOCK_UNCHANGED = "{lock} already has the version asked for."
DEPS_LOCK_FAILED = "Could not update {lock} with {tool}: {error}"
DEPS_NO_LOCK_TOOL = "{lock} needs {tool} to be updated, and it is not installed."
DEPS_LOCK_SKIPPED = "{lock} is not updated: {kind} locks are not supported."
DEPS_UNSATISFIABLE = "{file}: `{requirement}` left as it is: it cannot be made to allow {version}."

# Docs writer
DOCS_WROTE = "Wrote {what}."
DOCS_NOTHING = "The ADR and the CHANGELOG entry for this task are already written."
DOCS_ADR = "ADR `{path}`"
DOCS_CHANGELOG = "a CHANGELOG entry under {section} ({kind})"
DOCS_NO_ROOM = "Could not write {path}: {reason}."

# ADR (MADR sections: https://adr.github.io/madr/)
ADR = """\
---
status: proposed
date: {date}
---

# {title}

## Context and Problem Statement

{context}
{drivers}
## Decision Outcome

{outcome}
{consequences}
## More Information

{more}
<!-- techlead:adr {marker} -->
"""
ADR_CONTEXT = "Issue #{number} in {repo}: {title}."
ADR_DRIVERS = "\n## Decision Drivers\n\n{items}\n"
ADR_OUTCOME_NONE = "Decided as the plan for #{number} describes; no task has reported back yet."
ADR_OUTCOME_ITEM = "{task}: {summary}"
ADR_CONSEQUENCES = "\n### Consequences\n\n{items}\n"
ADR_CHANGED = "Changed: {files}"
ADR_INTERFACES = "Interface: {interface}"
ADR_MORE = "Recorded from task {task} of the plan for #{number}."
ADR_PR = "{task}: {url}"
CHANGELOG_NEW = """\
# Changelog

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).
"""
CHANGELOG_ENTRY = "{title} (#{number})"
