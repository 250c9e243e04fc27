"""Runs the enabled gates side by side, each under its time limit, and judges them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import GateCancelled, GateError, GateTimeout, ToolTimeout
from gates import templates
from gates.config import GateConfig, GateLevel, GatesConfig
from gates.fingerprint import load_baseline
from gates.model import Conclusion, GateResult, Scan
from gates.registry import REGISTRY, Gate, load
from gates.revision import GateInput
from gates.tools import CancelToken, ToolRunner
from gates.verdict import errored, judge, redacted

# A gate stuck in its own code (not in a tool) gets this long past its limit to notice.
GRACE_SECONDS = 2.0
_POLL_SECONDS = 0.05


@dataclass
class _Job:
    """One gate running in its own thread."""

    level: GateLevel
    gate: Gate
    config: GateConfig
    tools: ToolRunner
    started: float
    outcome: Scan | BaseException | None = None
    abandon_at: float | None = None
    finished: float | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def deadline(self) -> float:
        return self.started + self.config.timeout_seconds


def run_gates(
    inp: GateInput,
    config: GatesConfig,
    *,
    levels: Iterable[GateLevel] | None = None,
    cancel: CancelToken | None = None,
    gates: Mapping[GateLevel, Gate] | None = None,
    clock: Callable[[], float] = time.monotonic,
    grace: float = GRACE_SECONDS,
) -> list[GateResult]:
    """Run every enabled gate (or only ``levels``) on ``inp``; results ordered by level.

    Never raises for a gate's sake: a crash, a time-out or a cancellation becomes that
    gate's result. ``cancel`` stops all of them (a newer push superseded this head).
    ``gates`` replaces the registry; ``grace`` is how long a gate stuck in its own code
    (not in a tool, which is killed at the limit) may overrun before it is abandoned.
    """
    cancel = cancel or CancelToken()
    chosen = set(levels) if levels is not None else None
    baseline, notes = _baseline(inp, config)
    selected = [
        # A gate's module is imported only when it runs (some import heavy libraries).
        (level, gates[level] if gates is not None else load(level), settings)
        for level in sorted(gates if gates is not None else REGISTRY)
        if (chosen is None or level in chosen)
        and (settings := config.for_level(level)) is not None
        and settings.enabled
    ]
    jobs: list[_Job] = []
    # Gates that measure time (RUNS_ALONE) start once the others are done, so that the
    # other gates' tools do not load the machine while they measure.
    for alone in (False, True):
        batch = [
            _start(level, gate, settings, inp, cancel, clock)
            for level, gate, settings in selected
            if bool(getattr(gate, "RUNS_ALONE", False)) is alone
        ]
        _wait(batch, cancel, clock, grace)
        jobs += batch
    jobs.sort(key=lambda job: job.level)
    results = [_result(job, inp, baseline, notes, clock) for job in jobs]
    secrets = frozenset().union(*(_secrets(job) for job in jobs))
    return [redacted(result, secrets) for result in results]


def _start(
    level: GateLevel,
    gate: Gate,
    config: GateConfig,
    inp: GateInput,
    cancel: CancelToken,
    clock: Callable[[], float],
) -> _Job:
    started = clock()
    tools = ToolRunner(
        deadline=started + config.timeout_seconds, cancel=cancel, env=inp.env, clock=clock
    )
    job = _Job(level, gate, config, tools, started)

    def work() -> None:
        try:
            job.outcome = gate.scan(inp, config, tools)
        except BaseException as exc:  # every failure becomes the gate's result
            job.outcome = exc
        finally:
            job.finished = clock()
            job.done.set()

    # Daemon: a gate stuck in its own code must not keep the process alive.
    threading.Thread(target=work, name=f"gate-{level}", daemon=True).start()
    return job


def _wait(jobs: list[_Job], cancel: CancelToken, clock: Callable[[], float], grace: float) -> None:
    """Until every gate finished, or was stopped and given ``grace`` to notice."""
    pending = list(jobs)
    while pending:
        pending[0].done.wait(_POLL_SECONDS)
        now = clock()
        for job in list(pending):
            if job.done.is_set():
                pending.remove(job)
            elif job.abandon_at is not None:
                if now >= job.abandon_at:
                    pending.remove(job)  # stuck in its own code: its result says why
            elif cancel.cancelled or now >= job.deadline:
                job.tools.stop(cancel.reason if cancel.cancelled else _timed_out(job))
                job.abandon_at = now + grace


def _result(
    job: _Job,
    inp: GateInput,
    baseline: frozenset[str],
    notes: list[str],
    clock: Callable[[], float],
) -> GateResult:
    duration = (job.finished if job.done.is_set() and job.finished else clock()) - job.started
    outcome = job.outcome
    if isinstance(outcome, Scan):
        return judge(
            job.level,
            outcome,
            inp,
            job.config,
            baseline=baseline,
            notes=notes,
            duration=duration,
        )
    conclusion, reason = _failure(job, outcome)
    tools = tuple(getattr(job.gate, "TOOLS", ()))
    return errored(job.level, job.config, conclusion, reason, duration, tools)


def _failure(job: _Job, outcome: BaseException | None) -> tuple[Conclusion, str]:
    if outcome is None and job.tools.cancel.cancelled:
        reason = job.tools.cancel.reason or "cancelled"
        return Conclusion.CANCELLED, templates.GATE_CANCELLED.format(reason=reason)
    if outcome is None:
        return Conclusion.FAILURE, _timed_out(job)
    if isinstance(outcome, GateCancelled):
        return Conclusion.CANCELLED, templates.GATE_CANCELLED.format(reason=outcome)
    if isinstance(outcome, GateTimeout) and not isinstance(outcome, ToolTimeout):
        return Conclusion.FAILURE, _timed_out(job)
    if isinstance(outcome, GateError):
        return Conclusion.FAILURE, templates.GATE_CRASHED.format(error=outcome)
    error = f"{type(outcome).__name__}: {outcome}"
    return Conclusion.FAILURE, templates.GATE_CRASHED.format(error=error)


def _timed_out(job: _Job) -> str:
    return templates.GATE_TIMED_OUT.format(seconds=job.config.timeout_seconds)


def _secrets(job: _Job) -> frozenset[str]:
    return job.outcome.secrets if isinstance(job.outcome, Scan) else frozenset()


def _baseline(inp: GateInput, config: GatesConfig) -> tuple[frozenset[str], list[str]]:
    """Accepted fingerprints from the BASE revision: a change cannot accept its own."""
    if inp.base is None:
        return frozenset(), []
    try:
        return load_baseline(Path(inp.base) / config.baseline), []
    except ValueError as exc:
        note = templates.BASELINE_UNREADABLE.format(path=config.baseline, reason=exc)
        return frozenset(), [note]
