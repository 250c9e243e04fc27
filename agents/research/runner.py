"""Runs the research agents concurrently under a time budget and merges their findings.

Each agent runs in its own daemon thread over one shared, read-once inventory. Agents
marked ``focused`` (the security and performance specialists) run second, over the
files the first round found relevant, so their notes are about the work. An agent
that raises or outlives the budget is recorded in ``Findings.degraded`` and its part is
left out; research as a whole never fails because of one agent. Daemon threads (rather
than ``concurrent.futures``, whose workers are joined at exit) keep a hung agent from
holding the process open; a well-behaved agent also stops early via
``ResearchContext.expired()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from agents.research.analyst import ProjectAnalyst
from agents.research.base import ResearchAgent, ResearchContext
from agents.research.inventory import MAX_FILES, Inventory, build_inventory, skipped_dirs
from agents.research.model import (
    AgentTiming,
    Contribution,
    Degradation,
    Findings,
    Note,
    ProjectProfile,
    RelevantFile,
)
from agents.research.performance import PerformanceSpecialist
from agents.research.relevance import RelevanceAgent
from agents.research.security import SecuritySpecialist
from agents.research.templates import DEGRADED, SKIPPED

DEFAULT_BUDGET_SECONDS = 10.0
DEFAULT_TOP_N = 10
MAX_NOTES = 15
# The security and performance specialists look at this many relevant files.
FOCUS_FILES = 5
_ERROR_CHARS = 200

Clock = Callable[[], float]


def default_agents() -> tuple[ResearchAgent, ...]:
    return (ProjectAnalyst(), RelevanceAgent(), SecuritySpecialist(), PerformanceSpecialist())


def research(
    root: Path,
    query: str,
    *,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    top_n: int = DEFAULT_TOP_N,
    agents: Sequence[ResearchAgent] | None = None,
    clock: Clock = time.monotonic,
    max_files: int = MAX_FILES,
) -> Findings:
    """Research the worktree at ``root`` for an issue whose text is ``query``.

    Raises :class:`bot.errors.AgentError` only when ``root`` is not a directory.
    """
    started = clock()
    inventory = build_inventory(root, max_files=max_files, query=query)
    inventory_timing = AgentTiming("inventory", round(clock() - started, 4))
    context = ResearchContext(inventory, query, top_n)
    chosen = default_agents() if agents is None else agents
    outcomes = run_agents(chosen, context, budget_seconds, clock)
    return aggregate(inventory, outcomes, inventory_timing)


@dataclass(frozen=True)
class Outcome:
    """What became of one agent by the deadline: its contribution, or why there is none."""

    agent: str
    contribution: Contribution | None
    problem: str | None
    seconds: float


@dataclass
class _Slot:
    """Written only by the agent's thread, read by the runner only once ``done`` is set."""

    contribution: Contribution | None = None
    problem: str | None = None
    seconds: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)


def run_agents(
    agents: Sequence[ResearchAgent], context: ResearchContext, budget: float, clock: Clock
) -> list[Outcome]:
    """Run the unfocused agents at once, then the focused ones over the relevant files;
    wait at most ``budget`` seconds in all. Outcomes come in the order of ``agents``."""
    started = clock()
    first = [agent for agent in agents if not getattr(agent, "focused", False)]
    second = [agent for agent in agents if getattr(agent, "focused", False)]
    outcomes = _run_round(first, context, budget, started, clock)
    if second:
        focus = focus_paths(o.contribution for o in outcomes if o.contribution is not None)
        focused = replace(context, focus=focus)
        outcomes += _run_round(second, focused, budget, started, clock)
    context.stop.set()  # agents still running stop at their next check
    by_name = {outcome.agent: outcome for outcome in outcomes}
    return [by_name[agent.name] for agent in agents]


def focus_paths(contributions: Iterable[Contribution]) -> tuple[str, ...]:
    """The files the work will touch: pinned ones, then the best ranked, up to FOCUS_FILES."""
    relevant = [item for c in contributions for item in c.relevant]
    pinned = [item.path for item in relevant if item.pinned]
    ranked = [item.path for item in relevant if not item.pinned]
    return tuple(dict.fromkeys([*pinned, *ranked[: max(0, FOCUS_FILES - len(pinned))]]))


def _run_round(
    agents: Sequence[ResearchAgent],
    context: ResearchContext,
    budget: float,
    started: float,
    clock: Clock,
) -> list[Outcome]:
    slots = [_Slot() for _ in agents]
    for agent, slot in zip(agents, slots, strict=True):
        threading.Thread(target=_run_one, args=(agent, context, slot, clock), daemon=True).start()
    outcomes = []
    for agent, slot in zip(agents, slots, strict=True):
        if slot.done.wait(max(0.0, budget - (clock() - started))):
            outcomes.append(Outcome(agent.name, slot.contribution, slot.problem, slot.seconds))
        else:
            timeout = DEGRADED["timeout"].format(budget=budget)
            outcomes.append(Outcome(agent.name, None, timeout, budget))
    return outcomes


def _run_one(agent: ResearchAgent, context: ResearchContext, slot: _Slot, clock: Clock) -> None:
    started = clock()
    try:
        slot.contribution = agent.run(context)
    except Exception as exc:  # any agent bug degrades research, never fails it
        slot.problem = DEGRADED["error"].format(error=_describe(exc))
    finally:
        slot.seconds = round(clock() - started, 4)
        slot.done.set()


def _describe(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:_ERROR_CHARS]


def aggregate(
    inventory: Inventory, outcomes: Sequence[Outcome], inventory_timing: AgentTiming
) -> Findings:
    """Merge finished contributions; security and performance notes on the most
    relevant files come first."""
    contributions = [o.contribution for o in outcomes if o.contribution is not None]
    relevant = tuple(item for c in contributions for item in c.relevant)
    degraded = [Degradation(o.agent, o.problem) for o in outcomes if o.problem is not None]
    dirs = skipped_dirs(inventory.skipped)
    if inventory.truncated:
        reason = SKIPPED.format(
            total=len(inventory.files) + len(inventory.skipped),
            limit=len(inventory.files),
            skipped=len(inventory.skipped),
            dirs=", ".join(dirs),
        )
        degraded.insert(0, Degradation("inventory", reason))
    return Findings(
        profile=next((c.profile for c in contributions if c.profile), ProjectProfile()),
        relevant=relevant,
        security=_prioritise((n for c in contributions for n in c.security), relevant),
        performance=_prioritise((n for c in contributions for n in c.performance), relevant),
        degraded=tuple(degraded),
        file_count=len(inventory.files),
        timings=(inventory_timing, *(AgentTiming(o.agent, o.seconds) for o in outcomes)),
        docs=tuple(item for c in contributions for item in c.docs),
        skipped_files=len(inventory.skipped),
        skipped_dirs=dirs,
    )


def _prioritise(notes: Iterable[Note], relevant: Sequence[RelevantFile]) -> tuple[Note, ...]:
    rank = {item.path: index for index, item in enumerate(relevant)}
    ordered = sorted(
        notes, key=lambda note: (rank.get(note.path, len(rank)), note.path, note.line, note.kind)
    )
    return tuple(ordered[:MAX_NOTES])
