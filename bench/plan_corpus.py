"""Scores research and the planner on the corpus of real issues (tests/plan/corpus).

For every case the repository snapshot is written to a temporary directory, research
runs on it and the deterministic planner plans the issue with the default roster. Each
case is then held to a tech lead's expectations:

* files: a file the fix changed is among the first five relevant files (cases whose
  fix is known);
* tasks: at least half of the real work items are matched by an open task (most of
  an item's words appear in the task's title);
* specialists: every specialist the work needs is assigned a task;
* priority: the plan's highest task priority is the expected band;
* completed: as many tasks are completed as the issue ticked real items (when the
  case says);
* kind: the plan's kind is the expected one (only when the planner reports a kind).

Prints one line per case, then the research hit rate, each check's pass rate and the
overall score. ``--case ID`` runs one case and prints its plan and findings in full.

    .venv/bin/python bench/plan_corpus.py [--case httpx-2422] [--quiet]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Run as a script, bench/ leads sys.path; it goes last, so bench/queue.py does not stand
# in for the standard library's queue.
sys.path.sort(key=lambda entry: Path(entry or ".").resolve() == Path(__file__).resolve().parent)

from agents.research import Findings, research
from agents.research.tokens import words
from bot.errors import PlanError
from bot.plan.model import IssueInput, Plan, TaskStatus
from bot.plan.planner import make_plan
from bot.repo_config import load_defaults
from tests.plan.corpus import Case, load_cases, materialise

TOP = 5
# An item is matched when this share of its words appear in one task title.
ITEM_OVERLAP = 0.5
# A plan covers the work when this share of the items are matched.
WORK_SHARE = 0.5
CHECKS = ("files", "tasks", "specialists", "priority", "completed", "kind")


@dataclass
class Result:
    case: Case
    findings: Findings
    plan: Plan | None
    error: str | None = None
    checks: dict[str, bool] = field(default_factory=dict)


def run_case(case: Case, root: Path) -> Result:
    materialise(case, root)
    findings = research(root, case.text, budget_seconds=30)
    config = load_defaults()
    issue = IssueInput(case.title, case.body, case.number, case.labels)
    try:
        plan: Plan | None = make_plan(issue, findings, config.agents, config.planning)
        error = None
    except PlanError as exc:
        plan, error = None, f"{type(exc).__name__}: {exc}"
    result = Result(case, findings, plan, error)
    result.checks = score(case, findings, plan)
    return result


def score(case: Case, findings: Findings, plan: Plan | None) -> dict[str, bool]:
    """Each applicable check, passed or not; a case without a plan fails the plan checks."""
    expect = case.expect
    checks: dict[str, bool] = {}
    if expect.files:
        top = [item.path for item in findings.relevant[:TOP]]
        checks["files"] = any(path in top for path in expect.files)
    open_titles = [] if plan is None else [t.title for t in plan.tasks if not t.status.finished]
    checks["tasks"] = work_share(expect.work, open_titles) >= WORK_SHARE
    agents = set() if plan is None else {task.agent for task in plan.tasks}
    checks["specialists"] = set(expect.specialists) <= agents
    checks["priority"] = plan is not None and highest_priority(plan) == expect.priority
    if expect.completed is not None:
        done = 0 if plan is None else sum(t.status is TaskStatus.COMPLETED for t in plan.tasks)
        checks["completed"] = plan is not None and done == expect.completed
    kind = getattr(plan, "kind", None)
    if kind is not None:
        checks["kind"] = str(kind) == expect.kind
    return checks


def work_share(items: Sequence[str], titles: Sequence[str]) -> float:
    """The share of work items matched by some task title."""
    if not items:
        return 1.0
    title_words = [set(words(title)) for title in titles]
    matched = 0
    for item in items:
        wanted = set(words(item))
        if wanted and any(len(wanted & have) / len(wanted) >= ITEM_OVERLAP for have in title_words):
            matched += 1
    return matched / len(items)


def highest_priority(plan: Plan) -> str | None:
    if not plan.tasks:
        return None
    return min((task.priority for task in plan.tasks), key=lambda p: p.rank).value


def run_all(cases: Sequence[Case]) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="techlead-corpus-") as tmp:
        for case in cases:
            results.append(run_case(case, Path(tmp) / case.id))
    return results


def report(results: Sequence[Result], line: Callable[[str], None] = print) -> float:
    """Print per-case lines and the totals; return the overall share of checks passed."""
    line(f"{'case':<16}{'kind':<12}" + "".join(f"{name:<13}" for name in CHECKS) + "top files")
    for result in results:
        cells = "".join(f"{_mark(result.checks.get(name)):<13}" for name in CHECKS)
        top = ", ".join(item.path for item in result.findings.relevant[:3])
        suffix = f"  [{result.error}]" if result.error else ""
        line(f"{result.case.id:<16}{result.case.expect.kind:<12}{cells}{top}{suffix}")
    passed: dict[str, int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    for result in results:
        for name, ok in result.checks.items():
            totals[name] += 1
            passed[name] += ok
    line("")
    for name in CHECKS:
        if totals[name]:
            share = passed[name] / totals[name]
            line(f"{name:<13}{passed[name]:>3}/{totals[name]:<3} {share:6.1%}")
    overall = sum(passed.values()) / max(1, sum(totals.values()))
    files = passed["files"] / max(1, totals["files"])
    line(f"research: fix files in the top {TOP}: {files:.1%} of {totals['files']} cases")
    line(f"plan and research checks passed: {overall:.1%} of {sum(totals.values())}")
    return overall


def show(result: Result) -> None:
    """One case in full: the findings' relevant files and the plan's tasks."""
    print(f"{result.case.id}: {result.case.title}")
    for item in result.findings.relevant:
        print(f"  {item.score:8.3f} {'pin' if item.pinned else '   '} {item.path}  {item.reasons}")
    for note in (*result.findings.security, *result.findings.performance):
        print(f"  note {note.kind} {note.ref}: {note.message}")
    if result.plan is None:
        print(f"  no plan: {result.error}")
        return
    for task in result.plan.tasks:
        print(f"  {task.id} [{task.agent}/{task.priority}/{task.status}] {task.title}")
    print(f"  checks: {result.checks}")


def _mark(value: bool | None) -> str:
    return "-" if value is None else "ok" if value else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", help="run one case and show it in full")
    args = parser.parse_args()
    cases = load_cases()
    if args.case:
        cases = [case for case in cases if case.id == args.case]
        if not cases:
            parser.error(f"no case {args.case!r}")
    results = run_all(cases)
    if args.case:
        show(results[0])
        return 0
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
