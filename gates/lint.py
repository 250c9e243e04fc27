"""L1 · Lint: ruff check and ruff format on the changed Python files.

ruff never changes a file here (``--no-fix``, ``format --diff``), whatever the
repository's configuration says. The head files and the base versions of the same files
are checked side by side; which ruff and which settings is :mod:`gates.ruff_setup`'s call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from bot.errors import ToolFailed
from gates import ruff_setup, templates
from gates.config import GateConfig, GateLevel, LintConfig, Severity
from gates.files import read_lines, relative
from gates.model import Finding, Fix, Scan
from gates.revision import GateInput
from gates.ruff_setup import RuffSetup
from gates.tools import ToolRunner, failure_message, tool_command

LEVEL = GateLevel.L1
TITLE = "Lint"
TOOL = "ruff"
TOOLS = (TOOL,)
PYTHON_SUFFIXES = (".py", ".pyi")
FORMAT_RULE = "format"
SYNTAX_RULE = "invalid-syntax"
# pyflakes (F) and bugbear (B) find bugs, pycodestyle's E9 finds code that cannot run.
_BUG_PREFIXES = ("F", "B", "E9")
# --no-fix: a repository's ``fix = true`` must never rewrite the files under test.
_CHECK_ARGS = ("check", "--no-fix", "--output-format", "json", "--no-cache", "--force-exclude")
_FORMAT_ARGS = ("format", "--diff", "--no-cache", "--force-exclude")
_CONFIG_TROUBLE = ("Failed to parse", "Failed to load", "unknown field", "configuration")
_Tool = Callable[[ToolRunner, Path, Sequence[str], RuffSetup | None], list[Finding]]
_UNPARSABLE = "Failed to parse"
_DIFF_LINE_TYPES = ("+", "-", " ")


def scan(inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
    files = inp.changes.present(PYTHON_SUFFIXES)
    if not files:
        return Scan(not_applicable=templates.NO_PYTHON_FILES, tools=TOOLS)
    paths = [f.path for f in files]
    setup = ruff_setup.prepare(tools, inp.head, paths, inp.env)
    steps: list[_Tool] = [ruff_check]
    if _formats(config) and setup.configured:
        steps.append(ruff_format)
    old = {f.old_path: f.path for f in files if f.old_path}
    base = inp.base
    # The base versions go into the same runs, by absolute path: ruff reads each file's
    # settings from its own folders, and starting it once per step is what costs.
    base_paths = [str(base / p) for p in old if base is not None and (base / p).is_file()]
    notes = list(setup.notes)
    try:
        found = _run_steps(tools, inp.head, [*paths, *base_paths], steps, setup)
    except ToolFailed as exc:
        if not base_paths:
            raise
        # Maybe only the base's settings are broken (a change that repairs them): the
        # head alone decides, and findings count by the diff filter only.
        found = _run_steps(tools, inp.head, paths, steps, setup)
        reason = ruff_setup.without_roots(str(exc), [base] if base else [])
        notes.append(templates.RUFF_BASE_FAILED.format(reason=reason))
    head = [f for f in found if not Path(f.path).is_absolute()]
    at_base = [f for f in found if Path(f.path).is_absolute()]
    moved = [_renamed(replace(f, path=relative(f.path, base)), old) for f in at_base if base]
    return Scan(head=tuple(head), base=tuple(moved), notes=tuple(notes), tools=TOOLS)


def _run_steps(
    tools: ToolRunner, root: Path, paths: Sequence[str], steps: Sequence[_Tool], setup: RuffSetup
) -> list[Finding]:
    runs = [(root, paths, step) for step in steps]
    return [f for part in _run_parallel(tools, runs, setup) for f in part]


def _formats(config: GateConfig) -> bool:
    return isinstance(config, LintConfig) and config.format


def _run_parallel(
    tools: ToolRunner, runs: Sequence[tuple[Path, Sequence[str], _Tool]], setup: RuffSetup
) -> list[list[Finding]]:
    """Each (root, paths, tool) at once: ruff starts in milliseconds, so waiting is the cost."""
    with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="ruff") as pool:
        futures: list[Future[list[Finding]]] = [
            pool.submit(tool, tools, root, paths, setup) for root, paths, tool in runs
        ]
        return [future.result() for future in futures]


def _command(setup: RuffSetup | None) -> list[str]:
    return list(setup.command) if setup is not None else tool_command("ruff")


def _refused(setup: RuffSetup | None, root: Path, code: int, stderr: str) -> ToolFailed:
    """ruff's own reason, naming the version that ran and without temporary paths."""
    if setup is None or not any(marker in stderr for marker in _CONFIG_TROUBLE):
        return ToolFailed(failure_message("ruff", code, ruff_setup.refusal(stderr, [root])))
    reason = ruff_setup.refusal(stderr, [root])
    return ToolFailed(templates.RUFF_REFUSED.format(version=setup.version, reason=reason))


def ruff_check(
    tools: ToolRunner, root: Path, paths: Sequence[str], setup: RuffSetup | None = None
) -> list[Finding]:
    """Lint ``paths`` with ruff in ``root`` (so the repository's own settings apply)."""
    options = list(setup.options) if setup is not None else []
    argv = [*_command(setup), *_CHECK_ARGS, *options, *paths]
    output = tools.run(argv, cwd=root, ok_codes=(0, 1, 2))
    if output.returncode == 2:
        raise _refused(setup, root, output.returncode, output.stderr)
    try:
        reported = json.loads(output.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise ToolFailed(f"ruff check printed something that is not JSON: {exc}") from exc
    lines: dict[str, list[str]] = {}
    findings = []
    for item in reported:
        path = relative(item["filename"], root)
        if path not in lines:
            lines[path] = read_lines(root / path)
        findings.append(_check_finding(item, path, lines[path]))
    return findings


def _check_finding(item: Mapping[str, Any], path: str, lines: list[str]) -> Finding:
    rule = item.get("code") or SYNTAX_RULE
    start, end = item["location"], item.get("end_location") or item["location"]
    same_line = start["row"] == end["row"]
    return Finding(
        path=path,
        start_line=start["row"],
        end_line=max(start["row"], end["row"]),
        severity=_severity(rule),
        rule=rule,
        message=item["message"],
        tool=TOOL,
        fix=_fix(item.get("fix"), lines),
        start_column=start["column"] if same_line else None,
        end_column=end["column"] if same_line else None,
        url=item.get("url") or "",
    )


def _severity(rule: str) -> Severity:
    if rule == SYNTAX_RULE:
        return Severity.HIGH
    if rule.startswith(_BUG_PREFIXES):
        return Severity.MEDIUM
    return Severity.LOW


def _fix(fix: Mapping[str, Any] | None, lines: list[str]) -> Fix | None:
    """ruff's character edits as a replacement of whole head lines."""
    if not fix or not fix.get("edits") or fix.get("applicability") == "displayonly":
        return None
    edits = fix["edits"]
    first = min(edit["location"]["row"] for edit in edits)
    last = max(_last_row(edit) for edit in edits)
    last = min(max(last, first), max(len(lines), first))
    region = "".join(lines[first - 1 : last])
    offsets = _line_offsets(lines[first - 1 : last])
    for edit in sorted(edits, key=lambda e: _position(e["location"]), reverse=True):
        begin = _offset(edit["location"], first, offsets, len(region))
        stop = _offset(edit["end_location"], first, offsets, len(region))
        region = region[:begin] + edit["content"] + region[stop:]
    return Fix(
        start_line=first,
        end_line=last,
        replacement=region,
        description=fix.get("message") or "",
        safe=fix.get("applicability") == "safe",
    )


def _last_row(edit: Mapping[str, Any]) -> int:
    end = edit["end_location"]
    # An edit ending at column 1 of a later row stops at the end of the row before.
    if end["column"] == 1 and end["row"] > edit["location"]["row"]:
        return int(end["row"]) - 1
    return int(end["row"])


def _position(location: Mapping[str, int]) -> tuple[int, int]:
    return (location["row"], location["column"])


def _line_offsets(lines: list[str]) -> list[int]:
    offsets, total = [], 0
    for line in lines:
        offsets.append(total)
        total += len(line)
    return offsets


def _offset(location: Mapping[str, int], first: int, offsets: list[int], size: int) -> int:
    index = location["row"] - first
    if index >= len(offsets):
        return size
    return min(size, offsets[index] + location["column"] - 1)


def ruff_format(
    tools: ToolRunner, root: Path, paths: Sequence[str], setup: RuffSetup | None = None
) -> list[Finding]:
    """Each block of lines ``ruff format`` would change, as a finding with its fix."""
    argv = [*_command(setup), *_FORMAT_ARGS, *paths]
    output = tools.run(argv, cwd=root, ok_codes=(0, 1, 2))
    if output.returncode == 2 and not _only_unparsable(output.stderr):
        raise _refused(setup, root, output.returncode, output.stderr)
    try:
        patch = PatchSet(output.stdout)
    except UnidiffParseError as exc:
        raise ToolFailed(f"ruff format printed a diff that cannot be read: {exc}") from exc
    return [
        finding
        for patched in patch
        for hunk in patched
        for finding in _format_findings(relative(patched.source_file, root), hunk)
    ]


def _only_unparsable(stderr: str) -> bool:
    # Files that do not parse are reported by ruff check as syntax errors already.
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    return bool(errors) and all(_UNPARSABLE in line for line in errors)


def _format_findings(path: str, hunk: Iterable[Any]) -> list[Finding]:
    findings, block, before = [], [], None
    # ruff ends its diff with an empty line, which is neither context nor change.
    lines = [line for line in hunk if line.line_type in _DIFF_LINE_TYPES]
    for line in [*lines, None]:
        if line is not None and not line.is_context:
            block.append(line)
            continue
        if block:
            findings.append(_format_block(path, block, before, line))
            block = []
        before = line
    return findings


def _format_block(path: str, block: list[Any], before: Any, after: Any) -> Finding:
    removed = [line.source_line_no for line in block if line.is_removed]
    replacement = "".join(line.value for line in block if line.is_added)
    if removed:
        start, end = min(removed), max(removed)
    elif before is not None:  # a pure insertion: anchor it on the line above
        start = end = before.source_line_no
        replacement = before.value + replacement
    else:
        start = end = after.source_line_no if after is not None else 1
        replacement += after.value if after is not None else ""
    return Finding(
        path=path,
        start_line=start,
        end_line=end,
        severity=Severity.LOW,
        rule=FORMAT_RULE,
        message=templates.NOT_FORMATTED,
        tool=TOOL,
        fix=Fix(start, end, replacement, templates.FORMAT_FIX),
        url=templates.FORMAT_URL,
    )


def _renamed(finding: Finding, head_paths: Mapping[str, str]) -> Finding:
    return replace(finding, path=head_paths.get(finding.path, finding.path))
