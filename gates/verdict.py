"""Judges a gate's scan: new versus pre-existing, baseline, diff filter, conclusion."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from gates import templates
from gates.config import GateConfig, GateLevel
from gates.diff import keep
from gates.fingerprint import LineReader, split_new, with_fingerprints
from gates.model import Conclusion, Finding, GateResult, Scan
from gates.redact import redact_text
from gates.revision import GateInput


def judge(
    level: GateLevel,
    scan: Scan,
    inp: GateInput,
    config: GateConfig,
    *,
    baseline: frozenset[str] = frozenset(),
    notes: Iterable[str] = (),
    duration: float = 0.0,
) -> GateResult:
    """The gate's result. Only findings new relative to the base and kept by the
    filter mode count; pre-existing ones are reported, never failed."""
    changes = inp.changes
    renamed = {f.path: f.old_path for f in changes.files.values() if f.old_path is not None}
    head_reader, base_reader = LineReader(inp.head), LineReader(inp.base)
    head = with_fingerprints(scan.head, head_reader)
    base = with_fingerprints(scan.base, base_reader, renamed)
    accepted = [f for f in head if f.fingerprint not in baseline]
    new, old = split_new(accepted, base, head_reader, base_reader, changes, renamed)
    old = [*old, *with_fingerprints(scan.preexisting, head_reader)]
    counted = [f for f in new if keep(f, changes, config.filter_mode)]
    result = GateResult(
        level=level,
        name=templates.check_run_name(level),
        conclusion=Conclusion.SUCCESS,
        required=config.required,
        fail_on=config.fail_on,
        filter_mode=config.filter_mode,
        new=tuple(sorted(counted, key=lambda f: f.sort_key)),
        preexisting=tuple(sorted(old, key=lambda f: f.sort_key)),
        outside_diff=len(new) - len(counted),
        suppressed=len(head) - len(accepted),
        notes=(*notes, *scan.notes, *scan.incomplete),
        duration_seconds=duration,
        tools=scan.tools,
        report=scan.report,
    )
    return _conclude(result, scan)


def _conclude(result: GateResult, scan: Scan) -> GateResult:
    if result.blocking:
        conclusion = Conclusion.FAILURE if result.required else Conclusion.NEUTRAL
        return dataclasses.replace(result, conclusion=conclusion)
    if scan.not_applicable and not result.new:
        reason = templates.NOT_APPLICABLE.format(reason=scan.not_applicable)
        return dataclasses.replace(result, conclusion=Conclusion.NEUTRAL, reason=reason)
    if scan.incomplete:
        return dataclasses.replace(result, conclusion=Conclusion.NEUTRAL, reason=scan.incomplete[0])
    return result


def errored(
    level: GateLevel,
    config: GateConfig,
    conclusion: Conclusion,
    reason: str,
    duration: float,
    tools: tuple[str, ...] = (),
) -> GateResult:
    """The result of a gate that could not finish (crashed, timed out, cancelled);
    ``tools`` are the tools it was to run."""
    return GateResult(
        level=level,
        name=templates.check_run_name(level),
        conclusion=conclusion,
        required=config.required,
        fail_on=config.fail_on,
        filter_mode=config.filter_mode,
        reason=redact_text(reason),
        duration_seconds=duration,
        tools=tools,
    )


def redacted(result: GateResult, secrets: frozenset[str]) -> GateResult:
    """``result`` with ``secrets`` (and known token formats) hidden everywhere."""
    return dataclasses.replace(
        result,
        new=tuple(_redact_finding(f, secrets) for f in result.new),
        preexisting=tuple(_redact_finding(f, secrets) for f in result.preexisting),
        reason=redact_text(result.reason, secrets),
        notes=tuple(redact_text(note, secrets) for note in result.notes),
        report=redact_text(result.report, secrets),
    )


def _redact_finding(finding: Finding, secrets: frozenset[str]) -> Finding:
    fix = finding.fix
    if fix is not None and redact_text(fix.replacement, secrets) != fix.replacement:
        fix = None  # a suggestion would publish the secret; a redacted one would break code
    return dataclasses.replace(
        finding,
        message=redact_text(finding.message, secrets),
        fix=fix,
    )
