"""Renders gate results for people and GitHub: check runs, statuses, one comment, SARIF.

Pure functions: results in, request bodies and text out. GitHub's limits apply here
(https://docs.github.com/en/rest/checks/runs): at most 50 annotations per request,
summary and text at most 65,535 characters, annotation titles 255 characters and
messages 64 KB, columns only on single-line annotations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import RepoConfigError
from gates import templates
from gates.config import Severity
from gates.model import BaselineState, Conclusion, Finding, GateResult
from gates.redact import redact_text

MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_OUTPUT_CHARS = 65_535
MAX_COMMENT_CHARS = 65_536
MAX_TITLE_CHARS = 255
MAX_MESSAGE_BYTES = 64 * 1024
MAX_STATUS_CHARS = 140
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "techlead/v2"
_RESERVE = 400  # room for the note that says what was cut


# ---------------------------------------------------------------------------- check runs


@dataclass(frozen=True)
class CheckRunPlan:
    """Everything one gate's check run needs, as request bodies.

    Send :meth:`completing_update` (conclusion and the first 50 annotations), then each
    of :meth:`append_updates` (50 more each) to ``PATCH /repos/{o}/{r}/check-runs/{id}``.
    """

    name: str
    conclusion: str
    title: str
    summary: str
    text: str
    annotation_batches: tuple[tuple[dict[str, Any], ...], ...]

    def _output(self, batch: int) -> dict[str, Any]:
        output: dict[str, Any] = {"title": self.title, "summary": self.summary, "text": self.text}
        if batch < len(self.annotation_batches):
            output["annotations"] = list(self.annotation_batches[batch])
        return output

    def completing_update(self) -> dict[str, Any]:
        return {"status": "completed", "conclusion": self.conclusion, "output": self._output(0)}

    def append_updates(self) -> list[dict[str, Any]]:
        return [{"output": self._output(i)} for i in range(1, len(self.annotation_batches))]

    def create(self, head_sha: str) -> dict[str, Any]:
        """``POST /check-runs`` body creating the run already completed (first batch)."""
        return {"name": self.name, "head_sha": head_sha, **self.completing_update()}

    @property
    def annotation_count(self) -> int:
        return sum(len(batch) for batch in self.annotation_batches)

    @property
    def annotations(self) -> tuple[dict[str, Any], ...]:
        """Every annotation in order, for a client that batches requests itself."""
        return tuple(item for batch in self.annotation_batches for item in batch)


def check_run_started(name: str, head_sha: str) -> dict[str, Any]:
    """``POST /check-runs`` body for a gate that has started."""
    return {"name": name, "head_sha": head_sha, "status": "in_progress"}


def to_check_run(result: GateResult) -> CheckRunPlan:
    annotations = [annotation(result, finding) for finding in result.new]
    batches = tuple(
        tuple(annotations[i : i + MAX_ANNOTATIONS_PER_REQUEST])
        for i in range(0, len(annotations), MAX_ANNOTATIONS_PER_REQUEST)
    )
    return CheckRunPlan(
        name=result.name,
        conclusion=result.conclusion.value,
        title=_clip(title(result), MAX_TITLE_CHARS),
        summary=summary(result),
        text=details(result),
        annotation_batches=batches,
    )


def title(result: GateResult) -> str:
    if result.conclusion in (Conclusion.FAILURE, Conclusion.CANCELLED) and not result.new:
        return templates.TITLE_NOT_RUN.format(reason=result.reason) if result.reason else "—"
    if result.new:
        template = templates.TITLE_FINDINGS if result.required else templates.TITLE_ADVISORY
        count = len(result.new)
        return template.format(
            count=count, s="" if count == 1 else "s", breakdown=_by_level(result.new)
        )
    if result.reason:
        return _capital(result.reason)
    if result.preexisting:
        return templates.TITLE_CLEAN_OLD.format(count=len(result.preexisting))
    return templates.TITLE_CLEAN


def _by_level(findings: Iterable[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    return ", ".join(f"{counts[s]} {s}" for s in sorted(counts, reverse=True))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def annotation_level(result: GateResult, finding: Finding) -> str:
    if result.required and finding.severity >= result.fail_on:
        return "failure"
    return "warning" if finding.severity >= Severity.MEDIUM else "notice"


def annotation(result: GateResult, finding: Finding) -> dict[str, Any]:
    body: dict[str, Any] = {
        "path": finding.path,
        "start_line": finding.start_line,
        "end_line": max(finding.start_line, finding.end_line),
        "annotation_level": annotation_level(result, finding),
        "title": _clip(f"{finding.rule} ({finding.tool}, {finding.severity})", MAX_TITLE_CHARS),
        "message": _clip_bytes(_safe(finding.message), MAX_MESSAGE_BYTES),
    }
    single_line = body["start_line"] == body["end_line"]
    if single_line and finding.start_column is not None:
        body["start_column"] = finding.start_column
        if finding.end_column is not None and finding.end_column >= finding.start_column:
            body["end_column"] = finding.end_column
    return body


def summary(result: GateResult) -> str:
    parts = [f"{templates.CONCLUSION_ICONS[result.conclusion]} **{_safe(title(result))}**"]
    if result.new or result.preexisting:
        parts.append(_severity_table(result))
    parts.append(
        templates.SUMMARY_COUNTS.format(
            new=len(result.new),
            old=len(result.preexisting),
            suppressed=result.suppressed,
            outside=result.outside_diff,
            mode=result.filter_mode,
        )
    )
    required = templates.REQUIRED if result.required else templates.ADVISORY
    parts.append(templates.SUMMARY_RULE.format(fail_on=result.fail_on, required=required))
    if result.report:
        parts.append(_safe(result.report))
    if result.notes:
        parts.append(
            templates.NOTES_SECTION + "\n" + "\n".join(f"- {_safe(n)}" for n in result.notes)
        )
    return _fit_text("\n\n".join(parts), MAX_OUTPUT_CHARS)


def _severity_table(result: GateResult) -> str:
    new = Counter((f.severity, f.tool) for f in result.new)
    old = Counter((f.severity, f.tool) for f in result.preexisting)
    keys = sorted(set(new) | set(old), key=lambda k: (-k[0].rank, k[1]))
    rows = [f"| {sev} | {tool} | {new[(sev, tool)]} | {old[(sev, tool)]} |" for sev, tool in keys]
    return "\n".join([templates.TABLE_HEAD, *rows])


def details(result: GateResult) -> str:
    """Every new finding, then every pre-existing one, cut to GitHub's limit."""
    sections: list[tuple[str, list[str]]] = []
    if result.new:
        sections.append((templates.NEW_SECTION, [_row(f) for f in result.new]))
    if result.preexisting:
        sections.append((templates.OLD_SECTION, [_row(f) for f in result.preexisting]))
    return _table_sections(sections, MAX_OUTPUT_CHARS)


def _row(finding: Finding) -> str:
    rule = f"[{_cell(finding.rule)}]({finding.url})" if finding.url else _cell(finding.rule)
    where = f"`{_cell(finding.path)}:{finding.start_line}`"
    return f"| {finding.severity} | {where} | {rule} | {finding.tool} | {_cell(finding.message)} |"


def _cell(text: str) -> str:
    return _safe(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _table_sections(sections: Sequence[tuple[str, list[str]]], limit: int) -> str:
    out: list[str] = []
    size = 0
    total = sum(len(rows) for _, rows in sections)
    shown = 0
    for heading, rows in sections:
        block = f"{heading}\n\n{templates.FINDINGS_HEAD}"
        if size + len(block) + _RESERVE > limit:
            break
        out.append(block)
        size += len(block) + 1
        for row in rows:
            if size + len(row) + 1 + _RESERVE > limit:
                break
            out.append(row)
            size += len(row) + 1
            shown += 1
        out.append("")
    text = "\n".join(out).rstrip()
    if shown < total:
        text += templates.CUT_NOTE.format(count=total - shown, limit=limit)
    return text


DEFAULT_CONFIG_PATH = ".github/techlead.yml"


def config_error_where(error: RepoConfigError) -> str:
    """``.github/techlead.yml:7 (gates.lint.fail_on)``: where a person fixes it."""
    where = error.path or DEFAULT_CONFIG_PATH
    if error.line is not None:
        where = f"{where}:{error.line}"
    return f"{where} ({error.key})" if error.key else where


def config_error_plan(name: str, error: RepoConfigError) -> CheckRunPlan:
    """The check run of a gate that could not start because the configuration is invalid."""
    summary = templates.CONFIG_SUMMARY.format(
        path=_cell(error.path or DEFAULT_CONFIG_PATH),
        line=error.line if error.line is not None else templates.LINE_UNKNOWN,
        key=_cell(error.key) or templates.LINE_UNKNOWN,
        message=_cell(error.message),
    )
    return CheckRunPlan(
        name=name,
        conclusion=Conclusion.ACTION_REQUIRED.value,
        title=_clip(
            templates.CONFIG_TITLE.format(where=config_error_where(error)), MAX_TITLE_CHARS
        ),
        summary=_fit_text(summary, MAX_OUTPUT_CHARS),
        text="",
        annotation_batches=(),
    )


# ---------------------------------------------------------------------------- statuses


@dataclass(frozen=True)
class CommitStatus:
    """``POST /repos/{o}/{r}/statuses/{sha}`` for token mode (no check runs there)."""

    context: str
    state: str
    description: str

    def payload(self, target_url: str = "") -> dict[str, str]:
        body = {"context": self.context, "state": self.state, "description": self.description}
        if target_url:
            body["target_url"] = target_url
        return body


def to_status(result: GateResult) -> CommitStatus:
    if result.conclusion is Conclusion.FAILURE:
        state = "failure" if result.new else "error"
    elif result.conclusion is Conclusion.CANCELLED:
        state = "error"
    else:
        state = "success"  # statuses have no "neutral": the description says why
    return CommitStatus(result.name, state, _clip(_safe(title(result)), MAX_STATUS_CHARS))


def config_error_status(name: str, error: RepoConfigError) -> CommitStatus:
    """Token mode's status for a gate that could not start (invalid configuration)."""
    text = templates.CONFIG_STATUS.format(where=config_error_where(error))
    return CommitStatus(name, "error", _clip(_safe(text), MAX_STATUS_CHARS))


def config_error_comment(names: Sequence[str], error: RepoConfigError, head_sha: str = "") -> str:
    """The summary comment when no gate could start: the configuration error, once."""
    plan = config_error_plan(names[0] if names else "", error)
    head = [templates.MARKER, templates.COMMENT_HEADER]
    if head_sha:
        head.append(templates.COMMENT_HEAD_SHA.format(sha=head_sha))
    rows = [templates.COMMENT_TABLE_HEAD]
    rows += [templates.CONFIG_COMMENT_ROW.format(name=n, title=_cell(plan.title)) for n in names]
    return "\n\n".join([*head, "\n".join(rows), plan.summary])


def summary_comment(results: Sequence[GateResult], head_sha: str = "") -> str:
    """One comment for every gate, found again by its hidden marker and edited in place."""
    head = [templates.MARKER, templates.COMMENT_HEADER]
    if head_sha:
        head.append(templates.COMMENT_HEAD_SHA.format(sha=head_sha))
    rows = [templates.COMMENT_TABLE_HEAD]
    for result in results:
        icon = templates.CONCLUSION_ICONS[result.conclusion]
        rows.append(
            f"| {result.name} | {icon} {result.conclusion}: {_cell(title(result))} "
            f"| {len(result.new)} | {len(result.preexisting)} |"
        )
    body = "\n\n".join([*head, "\n".join(rows)])
    for result in results:
        if result.new:
            block = _comment_details(result)
            if len(body) + len(block) + _RESERVE > MAX_COMMENT_CHARS:
                return body + templates.COMMENT_CUT.format(limit=MAX_COMMENT_CHARS)
            body += "\n\n" + block
    return body


def _comment_details(result: GateResult) -> str:
    text = _table_sections(
        [(templates.NEW_SECTION, [_row(f) for f in result.new])], MAX_COMMENT_CHARS // 4
    )
    return (
        f"<details><summary>{result.name}: {_safe(title(result))}</summary>\n\n{text}\n\n</details>"
    )


# ---------------------------------------------------------------------------- SARIF


def to_sarif(results: Sequence[GateResult]) -> dict[str, Any]:
    """SARIF 2.1.0 for code scanning: one run per tool, ``baselineState`` on each result.

    Every tool a gate ran (or was to run) gets a run, with no results too, and says in
    ``invocations`` whether it finished: code scanning closes the alerts of a tool only
    when an analysis of that tool succeeded without them.
    """
    by_tool: dict[str, list[tuple[GateResult, Finding, BaselineState]]] = {}
    outcome: dict[str, list[GateResult]] = {}
    for result in results:
        for tool in _tools(result):
            outcome.setdefault(tool, []).append(result)
            by_tool.setdefault(tool, [])
        for finding in result.new:
            by_tool[finding.tool].append((result, finding, BaselineState.NEW))
        for finding in result.preexisting:
            by_tool[finding.tool].append((result, finding, BaselineState.UNCHANGED))
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [_sarif_run(tool, items, outcome[tool]) for tool, items in sorted(by_tool.items())],
    }


def _tools(result: GateResult) -> list[str]:
    """The gate's tools, those of its findings, or the gate itself when it names none."""
    named = [*result.tools, *(f.tool for f in (*result.new, *result.preexisting))]
    return list(dict.fromkeys(named)) or [result.name]


def _sarif_run(
    tool: str,
    items: list[tuple[GateResult, Finding, BaselineState]],
    outcome: Sequence[GateResult],
) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    for _, finding, _state in items:
        rule = rules.setdefault(finding.rule, {"id": finding.rule})
        if finding.url:
            rule["helpUri"] = finding.url
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    return {
        "tool": {"driver": {"name": tool, "rules": list(rules.values())}},
        "invocations": [_invocation(outcome)],
        "results": [_sarif_result(r, f, state, index[f.rule]) for r, f, state in items],
    }


def _invocation(outcome: Sequence[GateResult]) -> dict[str, Any]:
    failed = [r for r in outcome if _unfinished(r)]
    invocation: dict[str, Any] = {"executionSuccessful": not failed}
    if failed:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": _safe(f"{r.name}: {r.reason}")}} for r in failed
        ]
    return invocation


def _unfinished(result: GateResult) -> bool:
    """A gate that could not finish: cancelled, or failed without a finding to show."""
    if result.conclusion is Conclusion.CANCELLED:
        return True
    return result.conclusion is Conclusion.FAILURE and not result.new and bool(result.reason)


def _sarif_result(
    result: GateResult, finding: Finding, state: BaselineState, rule_index: int
) -> dict[str, Any]:
    region: dict[str, Any] = {
        "startLine": finding.start_line,
        "endLine": max(finding.start_line, finding.end_line),
    }
    if finding.start_column is not None:
        region["startColumn"] = finding.start_column
        if finding.end_column is not None and finding.end_line == finding.start_line:
            region["endColumn"] = max(finding.end_column, finding.start_column)
    location = {"physicalLocation": {"artifactLocation": {"uri": finding.path}, "region": region}}
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _sarif_level(result, finding),
        "message": {"text": _safe(finding.message)},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "baselineState": state.value,
        "properties": {"severity": finding.severity.value, "gate": result.level.value},
    }


def _sarif_level(result: GateResult, finding: Finding) -> str:
    return {"failure": "error", "warning": "warning", "notice": "note"}[
        annotation_level(result, finding)
    ]


# ---------------------------------------------------------------------------- helpers


def _safe(text: str) -> str:
    """Known token formats never leave through a renderer, whatever a tool printed."""
    return redact_text(text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 4].decode("utf-8", errors="ignore") + "…"


def _fit_text(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    note = templates.CUT_TEXT.format(limit=limit)
    return text[: limit - len(note)] + note


# ---------------------------------------------------------------------------- command line


def to_text(results: Sequence[GateResult]) -> str:
    """What ``techlead gates`` prints: one line per gate, then its new findings."""
    lines: list[str] = []
    for result in results:
        lines.append(
            templates.CLI_GATE_LINE.format(
                name=result.name,
                conclusion=result.conclusion,
                title=_safe(title(result)),
                seconds=result.duration_seconds,
            )
        )
        lines += [_text_finding(f) for f in result.new]
        if result.preexisting:
            lines.append(templates.CLI_PREEXISTING.format(count=len(result.preexisting)))
        lines += [templates.CLI_NOTE.format(note=_safe(note)) for note in result.notes]
        if result.report:  # the gate's own summary part (measurements, compatible changes)
            lines += [f"  {line}".rstrip() for line in _safe(result.report).splitlines()]
    return "\n".join(lines or [templates.CLI_NO_GATES])


def _text_finding(finding: Finding) -> str:
    return templates.CLI_FINDING.format(
        path=finding.path,
        line=finding.start_line,
        column=finding.start_column or 1,
        severity=finding.severity,
        rule=finding.rule,
        message=_safe(finding.message).replace("\n", " "),
        tool=finding.tool,
    )


def to_json(results: Sequence[GateResult]) -> dict[str, Any]:
    """Machine-readable results; each finding carries its fingerprint (for baselines)."""
    return {
        "results": [
            {
                "level": result.level.value,
                "name": result.name,
                "conclusion": result.conclusion.value,
                "required": result.required,
                "title": _safe(title(result)),
                "reason": _safe(result.reason),
                "notes": [_safe(note) for note in result.notes],
                "new": [_finding_json(f) for f in result.new],
                "preexisting": [_finding_json(f) for f in result.preexisting],
                "outside_diff": result.outside_diff,
                "suppressed": result.suppressed,
                "duration_seconds": round(result.duration_seconds, 3),
            }
            for result in results
        ]
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    body: dict[str, Any] = {
        "path": finding.path,
        "start_line": finding.start_line,
        "end_line": finding.end_line,
        "start_column": finding.start_column,
        "end_column": finding.end_column,
        "severity": finding.severity.value,
        "rule": finding.rule,
        "tool": finding.tool,
        "message": _safe(finding.message),
        "url": finding.url,
        "fingerprint": finding.fingerprint,
    }
    if finding.fix is not None:
        body["fix"] = {
            "start_line": finding.fix.start_line,
            "end_line": finding.fix.end_line,
            "replacement": _safe(finding.fix.replacement),
            "description": finding.fix.description,
            "safe": finding.fix.safe,
        }
    return body
