"""The workflow hardener: least privilege, no persisted credentials, actions pinned to SHAs.

For each GitHub Actions workflow the task may change:

1. zizmor's *safe* fixes (``zizmor --fix=safe``, offline);
2. a top-level ``permissions:`` when there is none: ``contents: read``, or ``{}`` when
   every job declares its own (jobs keep what they declare);
3. ``persist-credentials: false`` on every ``actions/checkout`` step that does not set it
   (https://docs.github.com/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions);
4. ``uses: owner/repo@tag`` pinned to the tag's commit, ``uses: owner/repo@<sha> # tag``,
   the form Dependabot and Renovate keep up to date. Commits are looked up through the
   resolver the caller passes (TechLead's GitHub port); without one, pins are left.

Edits are made line by line, so comments, quoting and layout stay as they were; the file
is never re-serialised. zizmor audits the files before and after, and the pull request
says which findings went away.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agents.builtin import templates
from agents.builtin.common import BuiltinAgent, Scope, Snapshot, Tools, counted, report
from agents.executors.base import ExecutionResult, WorkOrder
from bot.errors import AgentError, AgentTimeout, TechLeadError

# (owner/repo, ref) -> the commit SHA the ref points at, or None when there is no such ref.
ActionResolver = Callable[[str, str], str | None]

WORKFLOW = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")
_TOP_PERMISSIONS = re.compile(r"^permissions\s*:")
_JOBS = re.compile(r"^jobs\s*:\s*(#.*)?$")
_KEY = re.compile(r"^(\s*)([\w.-]+)\s*:")
_USES = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?uses\s*:\s*)(?P<q>['\"]?)"
    r"(?P<action>(?P<repo>[\w.-]+/[\w.-]+)(?:/[^@\s'\"]*)?)@(?P<ref>[^\s'\"#]+)(?P=q)"
    r"(?P<comment>\s+#.*)?\s*$"
)
_CHECKOUT = re.compile(r"^(?P<dash>\s*-\s+)?(?P<indent>\s*)uses\s*:\s*['\"]?actions/checkout@")
_PERSIST = re.compile(r"^\s*persist-credentials\s*:")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_ZIZMOR = ("--offline", "--no-exit-codes", "--no-progress", "--format", "json")


def is_workflow(path: str) -> bool:
    return WORKFLOW.match(path) is not None


@dataclass
class Hardening:
    """What hardening one workflow did, for the summary and the notes."""

    permissions: str | None = None
    checkouts: int = 0
    pinned: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class WorkflowHardener(BuiltinAgent):
    """Hardens the task's GitHub Actions workflows."""

    name = "workflow-hardener"

    def __init__(self, resolve_action: ActionResolver | None = None) -> None:
        self.resolve_action = resolve_action

    def work(self, order: WorkOrder, scope: Scope, tools: Tools) -> ExecutionResult:
        paths = scope.targets(is_workflow)
        if not paths:
            return report(order, [], templates.WORKFLOWS_NONE)
        snapshot = Snapshot(scope.root, paths)
        before, zizmor_failed = zizmor(tools, paths, fix=True)
        done = [templates.WORKFLOW_ZIZMOR_FIXES] if snapshot.changed() else []
        notes = list(zizmor_failed)
        resolver = _Cached(self.resolve_action) if self.resolve_action else None
        for path in paths:
            target = scope.path(path)
            text, hardening = harden(path, target.read_bytes().decode("utf-8"), resolver)
            target.write_text(text, encoding="utf-8", newline="")
            notes += hardening.notes
            done += _what(hardening)
        changed = snapshot.changed()
        if not changed:
            return report(order, [], templates.WORKFLOWS_CLEAN.format(count=len(paths)), notes)
        if not zizmor_failed:
            after, failed = zizmor(tools, paths, fix=False)
            notes += failed or zizmor_notes(before, after)
        what = ", ".join(dict.fromkeys(done))
        summary = templates.WORKFLOWS_CHANGED.format(count=len(changed), what=what)
        return report(order, changed, summary, notes)


def _what(hardening: Hardening) -> list[str]:
    done = []
    if hardening.permissions:
        done.append(templates.WORKFLOW_PERMISSIONS)
    if hardening.checkouts:
        done.append(templates.WORKFLOW_CHECKOUT)
    if hardening.pinned:
        done.append(templates.WORKFLOW_PINS)
    return done


def harden(path: str, text: str, resolve: ActionResolver | None) -> tuple[str, Hardening]:
    """The workflow ``text`` hardened (pure apart from ``resolve``), and what was done."""
    hardening = Hardening()
    lines = text.splitlines(keepends=True)
    lines, hardening.permissions = add_permissions(lines)
    if hardening.permissions:
        value = hardening.permissions
        hardening.notes.append(templates.WORKFLOW_PERMISSIONS_NOTE.format(path=path, value=value))
    lines, hardening.checkouts = persist_credentials(lines)
    lines = pin_actions(path, lines, resolve, hardening)
    return "".join(lines), hardening


# ---------------------------------------------------------------------------- permissions


def add_permissions(lines: list[str]) -> tuple[list[str], str | None]:
    """Insert a top-level ``permissions:`` before ``jobs:``; (lines, value added or None)."""
    if any(_TOP_PERMISSIONS.match(line) for line in lines):
        return lines, None
    jobs = next((i for i, line in enumerate(lines) if _JOBS.match(line)), None)
    if jobs is None:
        return lines, None
    unit = _indent_unit(lines)
    newline = _newline(lines)
    if _every_job_has_permissions(lines, jobs, unit):
        value = "{}"
        block = [f"permissions: {{}}{newline}"]
    else:
        value = "contents: read"
        block = [f"permissions:{newline}", f"{' ' * unit}{value}{newline}"]
    if jobs > 0 and not lines[jobs - 1].strip():
        block.append(newline)
    return [*lines[:jobs], *block, *lines[jobs:]], value


def _every_job_has_permissions(lines: list[str], jobs: int, unit: int) -> bool:
    names = 0
    declared = 0
    for line in lines[jobs + 1 :]:
        match = _KEY.match(line)
        if not match:
            continue
        depth = len(match.group(1))
        if depth == 0:
            break
        if depth == unit:
            names += 1
        elif depth == 2 * unit and match.group(2) == "permissions":
            declared += 1
    return names > 0 and declared == names


def _indent_unit(lines: list[str]) -> int:
    """The file's indentation step (the first indented key's depth), 2 when none."""
    for line in lines:
        match = _KEY.match(line)
        if match and match.group(1):
            return len(match.group(1).expandtabs())
    return 2


def _newline(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


# ---------------------------------------------------------------------------- checkout


def persist_credentials(lines: list[str]) -> tuple[list[str], int]:
    """``persist-credentials: false`` on each checkout step without the setting."""
    out = list(lines)
    added = 0
    index = 0
    while index < len(out):
        match = _CHECKOUT.match(out[index])
        if match:
            key = len(match.group("dash") or "") + len(match.group("indent"))
            added += _checkout_step(out, index, key) > 0
        index += 1
    return out, added


def _checkout_step(lines: list[str], uses: int, key: int) -> int:
    """Add the setting to the step whose ``uses:`` is line ``uses``; lines inserted."""
    start = _step_start(lines, uses, key)
    end = _block_end(lines, uses + 1, key)
    step = lines[start:end]
    if any(_PERSIST.match(line) for line in step):
        return 0
    newline = _newline(lines)
    unit = _indent_unit(lines)
    with_line = next((start + i for i, line in enumerate(step) if _is_key(line, key, "with")), None)
    if with_line is None:
        block = [
            f"{' ' * key}with:{newline}",
            f"{' ' * (key + unit)}persist-credentials: false{newline}",
        ]
        lines[end:end] = block
        return len(block)
    value = lines[with_line].split(":", 1)[1].strip()
    if value and not value.startswith("#"):
        return 0  # a flow mapping (with: {…}): left for a person
    inner_end = _block_end(lines, with_line + 1, key + 1)
    depth = _child_depth(lines, with_line + 1, inner_end) or key + unit
    lines.insert(inner_end, f"{' ' * depth}persist-credentials: false{newline}")
    return 1


def _step_start(lines: list[str], uses: int, key: int) -> int:
    """The first line of the step (the ``- `` line) containing line ``uses``."""
    for index in range(uses, -1, -1):
        stripped = lines[index].lstrip(" ")
        if stripped.startswith("- ") and len(lines[index]) - len(stripped) < key:
            return index
    return uses


def _block_end(lines: list[str], start: int, depth: int) -> int:
    """The index after the last content line indented at least ``depth`` from ``start``."""
    end = start
    for index in range(start, len(lines)):
        line = lines[index]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent < depth:
            break
        end = index + 1
    return end


def _child_depth(lines: list[str], start: int, end: int) -> int | None:
    for line in lines[start:end]:
        if line.strip() and not line.lstrip().startswith("#"):
            return len(line) - len(line.lstrip(" "))
    return None


def _is_key(line: str, depth: int, key: str) -> bool:
    body = line[depth:] if len(line) - len(line.lstrip(" ")) == depth else ""
    if not body and line.lstrip().startswith("- "):
        stripped = line.lstrip(" ")[2:]
        column = len(line) - len(stripped)
        body = stripped if column == depth else ""
    return re.match(rf"{re.escape(key)}\s*:", body) is not None


# ---------------------------------------------------------------------------- pins


class _Cached:
    """The caller's resolver, asked once per (repository, ref)."""

    def __init__(self, resolve: ActionResolver) -> None:
        self.resolve = resolve
        self.known: dict[tuple[str, str], str | None] = {}

    def __call__(self, repo: str, ref: str) -> str | None:
        if (repo, ref) not in self.known:
            self.known[repo, ref] = self.resolve(repo, ref)
        return self.known[repo, ref]


def pin_actions(
    path: str, lines: list[str], resolve: ActionResolver | None, hardening: Hardening
) -> list[str]:
    """``uses: owner/repo@ref`` lines pinned to the ref's commit, ``# ref`` kept."""
    out = []
    for line in lines:
        match = _USES.match(line.rstrip("\r\n"))
        if match is None or _SHA.match(match.group("ref")):
            out.append(line)
            continue
        out.append(_pinned(path, line, match, resolve, hardening))
    return out


def _pinned(
    path: str,
    line: str,
    match: re.Match[str],
    resolve: ActionResolver | None,
    hardening: Hardening,
) -> str:
    uses = f"{match.group('action')}@{match.group('ref')}"
    if resolve is None:
        hardening.notes.append(templates.WORKFLOW_NO_RESOLVER.format(path=path, uses=uses))
        return line
    try:
        sha = resolve(match.group("repo"), match.group("ref"))
    except TechLeadError as exc:
        hardening.notes.append(
            templates.WORKFLOW_UNRESOLVED.format(path=path, uses=uses, reason=exc)
        )
        return line
    if sha is None or not _SHA.match(sha):
        reason = templates.UNKNOWN_REF
        hardening.notes.append(
            templates.WORKFLOW_UNRESOLVED.format(path=path, uses=uses, reason=reason)
        )
        return line
    hardening.pinned.append(uses)
    ending = line[len(line.rstrip("\r\n")) :]
    quote = match.group("q")
    comment = _comment(match.group("ref"), match.group("comment"))
    return f"{match.group('lead')}{quote}{match.group('action')}@{sha}{quote} {comment}{ending}"


def _comment(ref: str, old: str | None) -> str:
    """``# v4``, keeping what an older comment said after the tag."""
    said = (old or "").strip().lstrip("#").strip()
    if not said or said == ref:
        return f"# {ref}"
    return f"# {ref} {said}"


# ---------------------------------------------------------------------------- zizmor


def zizmor(tools: Tools, paths: Sequence[str], *, fix: bool) -> tuple[Counter[str], list[str]]:
    """zizmor's findings by audit (after its safe fixes when ``fix``), and notes."""
    args = [*_ZIZMOR, "--fix=safe"] if fix else list(_ZIZMOR)
    try:
        output = tools.run("zizmor", *args, *paths)
        reported = json.loads(output.stdout or "[]")
    except AgentTimeout:
        raise
    except AgentError as exc:
        return Counter(), [str(exc)]
    except json.JSONDecodeError as exc:
        return Counter(), [f"zizmor printed something that is not JSON: {exc}"]
    return Counter(str(item.get("ident", "")) for item in reported if not item.get("ignored")), []


def zizmor_notes(before: Counter[str], after: Counter[str]) -> list[str]:
    notes = [templates.WORKFLOW_ZIZMOR.format(before=before.total(), after=after.total())]
    if after:
        notes.append(templates.WORKFLOW_ZIZMOR_LEFT.format(left=counted(after)))
    return notes
