"""Every text the gates show people: reasons, messages, titles and summary pieces."""

from __future__ import annotations

from gates.config import GateLevel

MARKER = "<!-- techlead:gates -->"
CHECK_RUN_PREFIX = "TechLead"
TITLES: dict[GateLevel, str] = {
    GateLevel.L1: "Lint",
    GateLevel.L2: "Contracts",
    GateLevel.L3: "Integration tests",
    GateLevel.L4: "Performance",
    GateLevel.L5: "Security",
}


def check_run_name(level: GateLevel) -> str:
    """``TechLead L1 · Lint``: the check run (and commit status context) of a level."""
    return f"{CHECK_RUN_PREFIX} {level} · {TITLES[level]}"


# ---------------------------------------------------------------------------- applicability

NO_PYTHON_FILES = "no Python files changed"
NOTHING_FOR_SECURITY = (
    "no Python, workflow or dependency files changed "
    "(the added lines were scanned for secrets: none found)"
)
NOTHING_TO_AUDIT = "no Python, workflow or dependency files changed"
NOT_APPLICABLE = "not applicable: {reason}"

# ---------------------------------------------------------------------------- findings

NOT_FORMATTED = "Not formatted the way `ruff format` formats it."
FORMAT_FIX = "Format with ruff format"
FORMAT_URL = "https://docs.astral.sh/ruff/formatter/"
SECRETS_URL = "https://docs.github.com/en/code-security/secret-scanning/about-secret-scanning"
SECRET_KINDS: dict[str, str] = {
    "aws-access-key": "AWS access key",
    "github-token": "GitHub token",
    "github-fine-grained-token": "GitHub fine-grained token",
    "slack-token": "Slack token",
    "slack-webhook": "Slack webhook URL",
    "stripe-live-key": "Stripe live key",
    "google-api-key": "Google API key",
    "private-key": "Private key",
}


def secret_message(kind: str, shown: str) -> str:
    return (
        f"{kind} added ({shown}). Remove it, revoke it, and load it from a secret store "
        "instead. If it is not a secret, add `# pragma: allowlist secret` to the line."
    )


def vulnerability_message(name: str, version: str, vuln_id: str, fixed: list[str]) -> str:
    fix = f" Fixed in {', '.join(fixed)}." if fixed else " No fixed version yet."
    return f"{name} {version} has a known vulnerability: {vuln_id}.{fix}"


# ---------------------------------------------------------------------------- notes

BANDIT_UNPARSABLE = "bandit could not parse {path}: {reason}"
AUDIT_UNREACHABLE = (
    "dependency audit skipped: the vulnerability database cannot be reached ({detail})"
)
AUDIT_TIMED_OUT = (
    "dependency audit skipped: the vulnerability database did not answer within {seconds:g} s"
)
AUDIT_SKIPPED = "dependency audit incomplete: {count} dependencies could not be audited ({detail})"
AUDIT_UNPINNED = "not audited (no exact version pinned): {names}"
BASELINE_UNREADABLE = "baseline {path} on the base branch ignored: {reason}"
GATE_TIMED_OUT = "timed out after {seconds:g} s and was stopped"
GATE_CRASHED = "could not run: {error}"
GATE_CANCELLED = "cancelled: {reason}"
OUTSIDE_DIFF = "{count} new finding(s) outside the lines this change touches (filter mode: {mode})"
SUPPRESSED = "{count} finding(s) accepted by the baseline file"

# ---------------------------------------------------------------------------- reports

TITLE_FINDINGS = "{count} new finding{s} ({breakdown})"
TITLE_ADVISORY = "{count} new finding{s} ({breakdown}), advisory"
TITLE_CLEAN = "No new findings"
TITLE_CLEAN_OLD = "No new findings ({count} pre-existing)"
TITLE_NOT_RUN = "Did not finish: {reason}"
CONCLUSION_ICONS = {
    "success": "✅",
    "failure": "❌",
    "neutral": "⚪",
    "cancelled": "⏹️",
    "action_required": "⚠️",
}
SUMMARY_COUNTS = (
    "**New: {new}** · Pre-existing: {old} · Accepted by the baseline: {suppressed} · "
    "New outside the changed lines: {outside} (filter mode: `{mode}`)"
)
SUMMARY_RULE = "Fails on new findings of severity **{fail_on}** or above · {required}"
REQUIRED = "required"
ADVISORY = "advisory (never fails)"
TABLE_HEAD = "| Severity | Tool | New | Pre-existing |\n|---|---|---:|---:|"
FINDINGS_HEAD = "| Severity | Location | Rule | Tool | Message |\n|---|---|---|---|---|"
NEW_SECTION = "### New findings"
OLD_SECTION = "### Pre-existing findings (reported, not failed)"
NOTES_SECTION = "**Notes**"
CUT_NOTE = (
    "\n\n_…{count} more row(s) not shown: GitHub limits this text to {limit:,} characters. "
    "Run `techlead gates` locally for the full list._"
)
CUT_TEXT = "\n\n_…cut: GitHub limits this text to {limit:,} characters._"
COMMENT_HEADER = "### TechLead quality gates"
COMMENT_HEAD_SHA = "Head commit: `{sha}`"
COMMENT_TABLE_HEAD = "| Gate | Result | New | Pre-existing |\n|---|---|---:|---:|"
COMMENT_CUT = "\n\n_…cut: GitHub limits comments to {limit:,} characters._"
STATUS_NOT_APPLICABLE = "{reason}"

# ---------------------------------------------------------------------------- on GitHub

TITLE_QUEUED = "Queued"
SUMMARY_QUEUED = "Waiting for a worker to check commit `{sha}`."
TITLE_RUNNING = "Running"
SUMMARY_RUNNING = "Checking the changes of commit `{sha}` in #{number}."
STATUS_QUEUED = "queued"
STATUS_RUNNING = "running"
SUPERSEDED = "a newer push ({sha}) superseded this commit"
CONFIG_TITLE = "Invalid configuration: {where}"
CONFIG_SUMMARY = (
    "⚠️ **The gates did not run: the repository's configuration is invalid.**\n\n"
    "| File | Line | Key | Problem |\n|---|---:|---|---|\n"
    "| `{path}` | {line} | `{key}` | {message} |\n\n"
    "Fix the file on the default branch (it is never read from a pull request), "
    "then re-run this check or push again."
)
CONFIG_STATUS = "invalid configuration: {where}"
CONFIG_COMMENT_ROW = "| {name} | ⚠️ action_required: {title} | - | - |"
LINE_UNKNOWN = "-"


CLI_GATE_LINE = "{name}: {conclusion}: {title} ({seconds:.1f} s)"
CLI_FINDING = "  {path}:{line}:{column} {severity} {rule} {message} [{tool}]"
CLI_PREEXISTING = "  {count} pre-existing finding(s) in the changed files (not failed)"
CLI_NOTE = "  note: {note}"
CLI_NO_GATES = "no gate to run (all disabled or not selected)"

# ---------------------------------------------------------------------------- ruff versions

RUFF_PINNED = "ran ruff {version}, the version {source} pins"
RUFF_PIN_TOO_OLD = (
    "ruff {version} (pinned by {source}) is older than {oldest}, the oldest TechLead "
    "can run without changing files, so ruff {ours} ran instead"
)
RUFF_PIN_UNAVAILABLE = (
    "ruff {version} (pinned by {source}) could not be installed, so ruff {ours} ran "
    "instead: {reason}"
)
RUFF_REFUSED = "ruff {version} refused the repository's configuration: {reason}"
RUFF_NO_CONFIG = (
    "no ruff configuration: checked with pyflakes' rules and E9 only{flake8}, no format check"
)
RUFF_FLAKE8_USED = " (with the [flake8] settings of {file})"
RUFF_BASE_FAILED = (
    "the base revision could not be linted, so every finding on a changed line counts "
    "as new: {reason}"
)
