"""The values gates exchange: findings, fixes, what a gate's scan saw, and a gate's result."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from gates.config import FilterMode, GateLevel, Severity


class Conclusion(enum.StrEnum):
    """A gate's outcome, named as GitHub check-run conclusions are."""

    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"
    CANCELLED = "cancelled"
    # Not a gate's own outcome: the gates could not start until a person fixes something
    # (an invalid configuration).
    ACTION_REQUIRED = "action_required"


class BaselineState(enum.StrEnum):
    """Whether a finding is new in the pull request (SARIF ``baselineState``)."""

    NEW = "new"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Fix:
    """Replace lines ``start_line``..``end_line`` of the head file with ``replacement``.

    ``replacement`` holds whole lines (each ending in a newline); empty deletes them.
    """

    start_line: int
    end_line: int
    replacement: str
    description: str = ""
    safe: bool = True


@dataclass(frozen=True)
class Finding:
    """One problem a tool reported, at 1-based lines of a head-revision file.

    ``path`` is relative to the repository root, with forward slashes.
    ``fingerprint`` is filled in by the runner (see :mod:`gates.fingerprint`).
    """

    path: str
    start_line: int
    end_line: int
    severity: Severity
    rule: str
    message: str
    tool: str
    fix: Fix | None = None
    start_column: int | None = None
    end_column: int | None = None
    url: str = ""
    fingerprint: str = ""
    # What the finding is about when its message cannot say it (a digest of a secret's
    # value): part of its identity, never shown.
    subject: str = ""
    cwe: int | None = None  # the weakness id (https://cwe.mitre.org), where the tool names one

    @property
    def sort_key(self) -> tuple[int, str, int, int, str]:
        """Most severe first, then by place."""
        return (-self.severity.rank, self.path, self.start_line, self.start_column or 0, self.rule)


@dataclass(frozen=True)
class Scan:
    """What a gate's tools reported before the runner judges it.

    ``head`` holds findings on the head revision; ``base`` findings on the base
    revision of the same files, reported under their head path (so renamed files
    compare). ``not_applicable`` says why the gate has nothing to check; ``incomplete``
    notes say which part could not run (the gate then completes neutral at best).
    ``secrets`` are values no output may show; they never leave the runner.
    ``tools`` names the tools that ran (each gets a SARIF run, findings or not).
    """

    head: tuple[Finding, ...] = ()
    base: tuple[Finding, ...] = ()
    not_applicable: str | None = None
    notes: tuple[str, ...] = ()
    incomplete: tuple[str, ...] = ()
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    tools: tuple[str, ...] = ()
    # Head findings the gate itself knows exist on the base too (a test that fails
    # there as well): reported as pre-existing, never compared again.
    preexisting: tuple[Finding, ...] = ()
    # Markdown the gate adds to its summary: measurements, compatible changes it saw.
    report: str = ""


@dataclass(frozen=True)
class GateResult:
    """A gate's judged outcome, ready for the renderers.

    ``new`` are the findings that count (new relative to the base and inside the
    diff filter), most severe first; ``preexisting`` already existed on the base.
    ``outside_diff`` counts new findings the filter mode left out; ``suppressed``
    counts findings accepted by the baseline file. ``tools`` ran (or, for a gate
    that could not finish, were to run).
    """

    level: GateLevel
    name: str
    conclusion: Conclusion
    required: bool
    fail_on: Severity
    filter_mode: FilterMode
    new: tuple[Finding, ...] = ()
    preexisting: tuple[Finding, ...] = ()
    outside_diff: int = 0
    suppressed: int = 0
    reason: str = ""
    notes: tuple[str, ...] = ()
    duration_seconds: float = 0.0
    tools: tuple[str, ...] = ()
    report: str = ""

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """New findings at or above ``fail_on`` (they fail a required gate)."""
        return tuple(f for f in self.new if f.severity >= self.fail_on)

    @property
    def failed(self) -> bool:
        return self.conclusion is Conclusion.FAILURE
