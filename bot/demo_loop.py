"""The demo's second half: the approved plan carried out, watched task by task, then reported.

Stages added around :data:`bot.demo.STAGES`: every specialist gets the demo agent
(:mod:`bot.demo_agent`), the approval tick is followed by a progress display until the
plan is done (task branches and pull requests in parallel, the gates' check runs, the
reviewers' comments, merges into the integration branch, the integration pull request),
and a report shows each pull request with its check conclusions and comments.
"""

from __future__ import annotations

import base64
import time

from bot import demo
from bot.dashboard import DASHBOARD_PATH
from bot.demo_agent import roster_config
from bot.features.execution.model import Phase, Run
from bot.features.execution.schedule import metrics as run_figures
from bot.plan.model import PlanState
from bot.run_metrics import most_at_once, span
from bot.state import open_run_store

CONFIG_PATH = ".github/techlead.yml"
RUN_TIMEOUT = 50.0
POLL_SECONDS = 0.1
FINISHED = frozenset({PlanState.DONE, PlanState.CANCELLED, PlanState.INVALID})
CARRY_MARK = "approve tick → plan done"
MSG_STUCK = "the plan did not finish within {seconds:g} s; tasks: {phases}"
MSG_ENDED = "the plan ended {state}; tasks: {phases}"


def give_agents(run: demo.DemoRun) -> None:
    """The maintainer gives every specialist the demo agent, in the repository's config."""
    maintainer = run.maintainer
    assert maintainer is not None, "create_accounts did not run"
    path = f"/repos/{run.repo}/contents/{CONFIG_PATH}"
    current = maintainer.call("GET", path)
    text = base64.b64decode(current["content"]).decode() + roster_config()
    change = {
        "message": "Give TechLead's specialists the demo agent",
        "content": base64.b64encode(text.encode()).decode(),
        "sha": current["sha"],
    }
    maintainer.call("PUT", path, change)
    run.say("every specialist runs the demo agent (python -m bot.demo_agent)")


def approve_and_watch(run: demo.DemoRun) -> None:
    """Tick the approval box, then show each task's phase as it changes until the end."""
    _, bot, maintainer = run.require()
    run.heading(f"@{demo.MAINTAINER} ticks 'Approve this plan'; TechLead carries it out")
    comment = maintainer.plan_comment(run.repo, run.issue)
    assert comment is not None
    started = time.perf_counter()
    maintainer.edit_comment(run.repo, int(comment["id"]), demo.tick_approve(comment["body"]))
    seen: dict[str, str] = {}
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        record, execution = bot.plan(run.repo, run.issue), load_run(run)
        for task_id, task in sorted(execution.tasks.items()):
            if seen.get(task_id) != task.phase.value:
                seen[task_id] = task.phase.value
                pr = f" (#{task.pr})" if task.pr else ""
                run.say(f"{time.perf_counter() - started:6.1f} s  {task_id} {task.phase.value}{pr}")
        state = record.plan.state if record.plan else None
        if state in FINISHED or _stalled(execution):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(MSG_STUCK.format(seconds=RUN_TIMEOUT, phases=_phases(execution)))
        time.sleep(POLL_SECONDS)
    run.marks[CARRY_MARK] = time.perf_counter() - started
    run.settle()
    if state is not PlanState.DONE:
        raise RuntimeError(MSG_ENDED.format(state=state, phases=_phases(execution)))


def show_pulls(run: demo.DemoRun) -> None:
    """Each task's pull request: its check conclusions and the reviewers' comments."""
    _, _, maintainer = run.require()
    execution = load_run(run)
    run.heading("Task pull requests")
    for task_id, task in sorted(execution.tasks.items()):
        if task.pr is None:
            run.say(f"{task_id}: no pull request ({task.phase.value})")
            continue
        pull = maintainer.call("GET", f"/repos/{run.repo}/pulls/{task.pr}")
        merged = "merged" if pull.get("merged_at") else pull["state"]
        run.say(f"#{task.pr} {pull['title']} · {merged} into {pull['base']['ref']}")
        for line in _checks(run, pull["head"]["sha"]):
            run.say(f"  {line}")
        for line in _review_comments(run, task.pr):
            run.say(f"  💬 {line}")
    if execution.integration_pr is not None:
        pull = maintainer.call("GET", f"/repos/{run.repo}/pulls/{execution.integration_pr}")
        run.say()
        run.say(
            f"Integration pull request #{pull['number']} {pull['title']} "
            f"({pull['head']['ref']} → {pull['base']['ref']}, {pull['state']})"
        )


def show_final_checklist(run: demo.DemoRun) -> None:
    _, _, maintainer = run.require()
    comment = maintainer.plan_comment(run.repo, run.issue)
    assert comment is not None
    run.heading("The checklist when the plan is done")
    run.say(demo.readable(comment["body"]))


def show_efficiency(run: demo.DemoRun) -> None:
    execution = load_run(run)
    start, end = span(execution)
    figures = run_figures(execution.tasks.values(), start, end, most_at_once(execution))
    run.heading("Execution")
    run.say(
        f"{len(execution.tasks)} tasks in {figures.wall_seconds:.1f} s, at most "
        f"{figures.parallelism} at once · parallel efficiency {figures.efficiency:.0%} of "
        f"those {figures.parallelism} slots · coordination overhead {figures.overhead:.0%}"
    )


def keep_running(run: demo.DemoRun) -> None:
    """``--keep``: leave everything up and say where to look, until Ctrl-C."""
    sandbox, bot, _ = run.require()
    run.heading("Still running (Ctrl-C stops everything)")
    run.say(f"GitHub sandbox API: {sandbox.api_url}/repos/{run.repo}")
    served = bot.webhook_url.removesuffix("/webhook")
    run.say(f"TechLead dashboard: {served}{DASHBOARD_PATH}")
    run.say(f"TechLead metrics:   {served}/metrics")
    run.say(f"In a terminal:      techlead status --url {served}")
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        run.say("stopping")


def load_run(run: demo.DemoRun) -> Run:
    _, bot, _ = run.require()
    with open_run_store(bot.settings) as runs:
        return runs.load(run.repo, run.issue)


def _stalled(execution: Run) -> bool:
    """A task failed for good and nothing else is under way."""
    tasks = execution.tasks.values()
    failed = any(task.phase is Phase.FAILED for task in tasks)
    return failed and not any(task.phase.in_flight for task in tasks)


def _phases(execution: Run) -> str:
    return ", ".join(f"{t} {task.phase.value}" for t, task in sorted(execution.tasks.items()))


def _checks(run: demo.DemoRun, sha: str) -> list[str]:
    _, _, maintainer = run.require()
    found = maintainer.call("GET", f"/repos/{run.repo}/commits/{sha}/check-runs?per_page=100")
    latest = {check["name"]: check for check in sorted(found["check_runs"], key=_id)}
    return [
        f"{name}: {check['conclusion'] or check['status']}"
        for name, check in sorted(latest.items())
    ]


def _review_comments(run: demo.DemoRun, number: int) -> list[str]:
    _, _, maintainer = run.require()
    found = maintainer.call("GET", f"/repos/{run.repo}/pulls/{number}/comments?per_page=100")
    lines = []
    for item in found:
        text = demo.readable(item["body"]).splitlines()
        where = f"{item['path']}:{item.get('line') or item.get('original_line')}"
        reply = "  ↳ " if item.get("in_reply_to_id") else ""
        lines.append(f"{reply}{where} {text[0][:100] if text else ''}")
    return lines


def _id(check: dict[str, object]) -> int:
    value = check["id"]
    return value if isinstance(value, int) else 0


def stages() -> tuple[demo.Stage, ...]:
    """The demo's stages with the whole loop: agents, approval, execution, report."""
    found = list(demo.STAGES)
    found.insert(found.index(demo.create_accounts) + 1, give_agents)
    at = found.index(demo.approve_by_tick)
    found[at : at + 1] = [approve_and_watch, show_pulls, show_final_checklist, show_efficiency]
    if demo.show_state in found:
        found.remove(demo.show_state)
    return tuple(found)
