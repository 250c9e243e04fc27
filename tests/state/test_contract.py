"""Plans, runs and the per-issue lease behave the same on SQLite, fakeredis and a real Redis.

Each test opens its stores as two machines would (separate connections, one shared
state), so what one saves the other sees, and the lease keeps one of them out.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from dataclasses import replace

import pytest

from agents.research import Findings
from bot.errors import PlanBusy, PlanStoreConflict
from bot.features.execution.model import Phase, Run, TaskRun
from bot.plan.model import IssueInput, Plan, PlanState
from bot.plan.planner import PlanningDefaults, make_plan
from bot.plans import PlanRecord
from bot.repo_config import load_defaults
from tests.state.conftest import Backend

REPO = "Octo/Shop"


def a_plan(title: str = "Coupons") -> Plan:
    issue = IssueInput(title, "- [ ] Define the API\n- [ ] Store coupons (after 1)\n", 7)
    return make_plan(issue, Findings(file_count=3), load_defaults().agents, PlanningDefaults())


def a_dead_process_owner() -> str:
    """The owner id a lease holder had on this host before it was killed."""
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{socket.gethostname()}:{int(gone.stdout)}:0123456789ab.cdef01234567"


def a_run(issue: int, installation: int | None, *phases: Phase) -> Run:
    tasks = {
        f"t{n}": TaskRun(phase=phase, branch=f"techlead/{issue}/t{n}")
        for n, phase in enumerate(phases, 1)
    }
    return Run(
        REPO,
        issue,
        installation=installation,
        integration_branch=f"techlead/{issue}/plan",
        tasks=tasks,
    )


# ------------------------------------------------------------------------------ plans


def test_nothing_stored_reads_as_an_empty_record(backend: Backend) -> None:
    assert backend.plans().load(REPO, 7) == PlanRecord(REPO, 7)
    assert backend.plans().records() == []


def test_a_record_saved_on_one_machine_reads_back_whole_on_another(backend: Backend) -> None:
    record = PlanRecord(REPO, 7, comment_id=99, timings={"plan": 1.5}).with_plan(
        a_plan(), Findings(file_count=3)
    )
    saved = backend.plans().save(record)
    assert saved.revision == 1
    other = backend.plans()
    assert other.load("octo/shop", 7) == replace(saved, repo="octo/shop"), "names fold case"
    assert other.load(REPO, 7).plan == record.plan
    assert other.load(REPO, 7).state is record.state is PlanState.AWAITING_APPROVAL
    failed = other.save(other.load(REPO, 7).with_error("no plan", "body"))
    assert backend.plans().load(REPO, 7) == failed
    assert failed.state is PlanState.INVALID and failed.plan == record.plan


def test_records_lists_every_saved_plan_oldest_first(backend: Backend) -> None:
    plans = backend.plans()
    plans.save(PlanRecord(REPO, 9).with_plan(a_plan("First")))
    backend.clock.t += 1
    plans.save(PlanRecord("Octo/Other", 2).with_plan(a_plan("Second")))
    backend.clock.t += 1
    first = backend.plans().load(REPO, 9)
    backend.plans().save(replace(first, comment_id=5))  # a later save keeps its place
    found = backend.plans().records()
    assert [(r.repo, r.issue, r.revision) for r in found] == [
        ("octo/shop", 9, 2),
        ("octo/other", 2, 1),
    ]


def test_a_save_from_a_stale_read_raises_a_conflict(backend: Backend) -> None:
    first, second = backend.plans(), backend.plans()
    read_a = first.load(REPO, 7)
    read_b = second.load(REPO, 7)
    first.save(replace(read_a, comment_id=1))
    with pytest.raises(PlanStoreConflict):
        second.save(replace(read_b, comment_id=2))  # "nothing saved yet" is stale too
    again = second.load(REPO, 7)
    saved = second.save(replace(again, comment_id=3))
    with pytest.raises(PlanStoreConflict):
        first.save(replace(again, comment_id=4))
    assert first.load(REPO, 7).comment_id == 3 and saved.revision == 2


def test_the_lease_keeps_another_owner_out_until_released(backend: Backend) -> None:
    mine, theirs = backend.plans(), backend.plans()
    with mine.lease(REPO, 7, seconds=60, wait=5):
        with pytest.raises(PlanBusy, match="busy"), theirs.lease(REPO, 7, seconds=60, wait=5):
            pass
        with theirs.lease(REPO, 8, seconds=60, wait=0):
            pass  # another issue is free
        with theirs.lease("Octo/Other", 7, seconds=60, wait=0):
            pass  # so is the same number in another repository
    with theirs.lease(REPO.upper(), 7, seconds=60, wait=0):
        pass  # released (and the name folds case)


def test_a_lease_nobody_releases_expires(backend: Backend) -> None:
    holder = backend.plans().lease(REPO, 7, seconds=10, wait=0)
    holder.__enter__()  # a holder on another host that dies and never releases
    backend.clock.t += 5
    with pytest.raises(PlanBusy), backend.plans().lease(REPO, 7, seconds=10, wait=0):
        pass
    backend.clock.t += 6
    with backend.plans().lease(REPO, 7, seconds=10, wait=0):
        pass  # expired: taken over


def test_a_lease_held_by_a_dead_process_on_this_host_is_taken_over_at_once(
    backend: Backend,
) -> None:
    """A worker killed with kill -9 leaves its lease behind; its retry must not wait it out."""
    backend.plans(a_dead_process_owner).lease(REPO, 7, seconds=300, wait=0).__enter__()
    with backend.plans().lease(REPO, 7, seconds=300, wait=0):
        pass  # the holder's pid no longer exists
    with backend.plans().lease(REPO, 7, seconds=300, wait=0):
        pass  # and the taker released it


def test_a_release_by_an_owner_that_lost_the_lease_does_nothing(backend: Backend) -> None:
    slow = backend.plans().lease(REPO, 7, seconds=10, wait=0)
    slow.__enter__()
    backend.clock.t += 11  # the slow holder's lease ran out
    with backend.plans().lease(REPO, 7, seconds=60, wait=0):
        slow.__exit__(None, None, None)  # it finishes late and releases: not its lease now
        with pytest.raises(PlanBusy), backend.plans().lease(REPO, 7, seconds=60, wait=0):
            pass


def test_concurrent_jobs_under_the_lease_lose_no_update(backend: Backend) -> None:
    """Threads on their own connections each add one mark under the lease; none is lost."""
    rounds, threads = 8, 3
    backend.plans().save(PlanRecord(REPO, 7).with_plan(a_plan()))

    def work() -> None:
        mine = backend.plans_in_real_time()
        for _ in range(rounds):
            with mine.lease(REPO, 7, seconds=30, wait=30):
                record = mine.load(REPO, 7)
                count = record.timings.get("n", 0.0) + 1
                mine.save(replace(record, timings={"n": count}))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert backend.plans().load(REPO, 7).timings == {"n": rounds * threads}


# ------------------------------------------------------------------------------ runs


def test_a_run_saved_on_one_machine_reads_back_on_another(backend: Backend) -> None:
    assert backend.runs().load(REPO, 7) == Run(REPO, 7)
    saved = backend.runs().save(a_run(7, 42, Phase.RUNNING, Phase.WAITING))
    assert saved.revision == 1
    loaded = backend.runs().load("octo/shop", 7)
    assert loaded == replace(saved, repo="octo/shop")
    assert loaded.tasks["t1"].phase is Phase.RUNNING
    assert [run.issue for run in backend.runs().runs()] == [7]


def test_a_run_saved_from_a_stale_read_raises_a_conflict(backend: Backend) -> None:
    first, second = backend.runs(), backend.runs()
    stale = second.load(REPO, 7)
    saved = first.save(a_run(7, 42, Phase.QUEUED))
    with pytest.raises(PlanStoreConflict):
        second.save(replace(stale, kicks=1))
    again = second.save(replace(second.load(REPO, 7), kicks=2))
    with pytest.raises(PlanStoreConflict):
        first.save(replace(saved, kicks=3))
    assert first.load(REPO, 7).kicks == 2 and again.revision == 2


@pytest.mark.parametrize(
    ("repo", "branch", "issue"),
    [
        (REPO, "techlead/7/plan", 7),
        ("octo/shop", "techlead/8/t2", 8),
        (REPO, "techlead/9/t1", None),
        ("Octo/Other", "techlead/7/plan", None),
    ],
    ids=["integration-branch", "task-branch-any-case", "unknown-branch", "other-repository"],
)
def test_find_branch_names_the_issue_whose_run_owns_it(
    backend: Backend, repo: str, branch: str, issue: int | None
) -> None:
    runs = backend.runs()
    runs.save(a_run(7, 42, Phase.MERGED))
    runs.save(a_run(8, 42, Phase.RUNNING, Phase.REVIEW))
    assert backend.runs().find_branch(repo, branch) == issue


def test_installation_load_counts_the_other_plans_under_way(backend: Backend) -> None:
    runs = backend.runs()
    runs.save(a_run(7, 42, Phase.RUNNING, Phase.REVIEW, Phase.WAITING))
    runs.save(a_run(8, 42, Phase.QUEUED, Phase.MERGED))
    runs.save(a_run(9, 42, Phase.MERGED))  # finished: not under way
    runs.save(replace(a_run(3, 7, Phase.RUNNING), repo="Octo/Other"))  # another installation
    other = backend.runs()
    assert other.installation_load(42, REPO, 9) == (2, 3), "running, review and queued tasks"
    assert other.installation_load(42, "octo/shop", 7) == (1, 1), "its own plan does not count"
    assert other.installation_load(7, REPO, 9) == (1, 1)
    assert other.installation_load(None, REPO, 9) == (0, 0)


def test_a_run_leaves_the_installation_load_once_its_tasks_are_done(backend: Backend) -> None:
    runs = backend.runs()
    saved = runs.save(a_run(7, 42, Phase.RUNNING, Phase.REVIEW))
    assert backend.runs().installation_load(42, REPO, 9) == (1, 2)
    done = {name: replace(task, phase=Phase.MERGED) for name, task in saved.tasks.items()}
    runs.save(replace(saved, tasks=done))
    assert backend.runs().installation_load(42, REPO, 9) == (0, 0)
    assert [run.issue for run in backend.runs().runs()] == [7], "the finished run stays as history"
