"""Which built-in agent fits a task, read from its title, text and files (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from agents.executors.base import WorkOrder

LINT_FIXER = "lint-fixer"
SECURITY_FIXER = "security-fixer"
DEPENDENCY_UPDATER = "dependency-updater"
WORKFLOW_HARDENER = "workflow-hardener"
DOCS_WRITER = "docs-writer"
# On a tie the more specific agent wins: this order.
ALL = (WORKFLOW_HARDENER, DEPENDENCY_UPDATER, SECURITY_FIXER, LINT_FIXER, DOCS_WRITER)
# A single weak word ("style", "timeout", "docs") is not enough to act on.
MIN_SCORE = 2

_I = re.IGNORECASE
_WORDS: dict[str, tuple[tuple[re.Pattern[str], int], ...]] = {
    WORKFLOW_HARDENER: (
        (re.compile(r"\bworkflows?\b|github actions|\.github/workflows", _I), 2),
        (re.compile(r"\bpin(ning|ned)?\b.{0,20}\bactions?\b|\bactions?\b.{0,20}\bsha", _I), 2),
        (re.compile(r"persist-credentials|zizmor|\bpermissions:", _I), 3),
        (re.compile(r"\bharden(ing)?\b|least[- ]privilege", _I), 1),
    ),
    DEPENDENCY_UPDATER: (
        (re.compile(r"\b(bump|upgrade|update)\s+\S+\s+(from\s+\S+\s+)?to\s+v?\d", _I), 3),
        (re.compile(r"\b(bump|upgrade|downgrade)\b", _I), 1),
        (re.compile(r"\bdependenc(y|ies)\b|\bpackages?\b|\block ?files?\b", _I), 1),
        (re.compile(r"requirements[\w.-]*\.(txt|in)\b|\buv\.lock\b|dependabot", _I), 2),
    ),
    SECURITY_FIXER: (
        (re.compile(r"\bbandit\b|\bB(113|501|506|602|604)\b", _I), 3),
        (re.compile(r"yaml\.load|safe_load|verify\s*=\s*False|shell\s*=\s*True", _I), 3),
        (re.compile(r"certificate (verification|validation)|tls verification", _I), 2),
        (re.compile(r"\b(command|shell) injection\b|\bunsafe yaml\b", _I), 2),
        (re.compile(r"\btimeouts?\b|\binsecure\b|\bvulnerab", _I), 1),
    ),
    LINT_FIXER: (
        (re.compile(r"\blint(s|ing|er)?\b|\bruff\b|\bflake8\b|\bpyflakes\b|\bisort\b", _I), 3),
        (re.compile(r"\bunused (imports?|variables?)\b|\bpep ?8\b|\bblack\b", _I), 2),
        (re.compile(r"\bformat(ting|ter)?\b|\bstyle\b", _I), 1),
    ),
    DOCS_WRITER: (
        (re.compile(r"\badrs?\b|architecture decision|decision record", _I), 3),
        (re.compile(r"\bchange ?log\b|release notes", _I), 3),
        (re.compile(r"\bdecisions?\b", _I), 2),
        (re.compile(r"\bdocument(ation|s|ed)?\b|\bdocs?\b", _I), 1),
    ),
}
_FILES: dict[str, re.Pattern[str]] = {
    WORKFLOW_HARDENER: re.compile(r"^\.github/workflows/[^/]+\.ya?ml$"),
    DEPENDENCY_UPDATER: re.compile(r"(^|/)(requirements[^/]*\.(txt|in)|pyproject\.toml|uv\.lock)$"),
    DOCS_WRITER: re.compile(r"(^|/)(CHANGELOG[^/]*|docs?/adrs?/[^/]+\.md)$", _I),
}


def choose_builtin(order: WorkOrder, among: Iterable[str] = ALL) -> str | None:
    """The built-in agent that fits ``order`` best among ``among``, or None when none does."""
    scores = score(order)
    candidates = [name for name in ALL if name in set(among) and scores[name] >= MIN_SCORE]
    return max(candidates, key=lambda name: scores[name], default=None)


def score(order: WorkOrder) -> dict[str, int]:
    """How strongly the task's words and files point at each built-in agent."""
    text = f"{order.title}\n{order.body}"
    scores: dict[str, int] = {}
    for name, words in _WORDS.items():
        scores[name] = sum(weight for pattern, weight in words if pattern.search(text))
    for name, pattern in _FILES.items():
        if order.files and all(pattern.search(path) for path in order.files):
            scores[name] += 2
    return scores
