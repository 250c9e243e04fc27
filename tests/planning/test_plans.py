"""The plan store on a real SQLite file: round trips, row versions and the per-issue lease."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from agents.research import Findings
from bot.errors import PlanBusy, PlanStoreConflict
from bot.plan.model import IssueInput, Plan, PlanState
from bot.plan.planner import PlanningDefaults, make_plan
from bot.plans import PlanRecord, PlanStore
from bot.repo_config import load_defaults
from bot.store import Store

REPO = "Octo/Shop"
T0 = 1_800_000_000.0


class Clock:
    """A clock the fake sleep moves: lease waits take no real time."""

    def __init__(self) -> None:
        self.t = T0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def a_plan(title: str = "Coupons") -> Plan:
    issue = IssueInput(title, "- [ ] Define the API\n- [ ] Store coupons (after 1)\n", 7)
    return make_plan(issue, Findings(file_count=3), load_defaults().agents, PlanningDefaults())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def plans(store: Store, clock: Clock) -> PlanStore:
    return PlanStore(store, clock=clock, sleep=clock.sleep)


def test_nothing_stored_reads_as_an_empty_record(plans: PlanStore) -> None:
    record = plans.load(REPO, 7)
    assert record == PlanRecord(REPO, 7)
    assert record.state is None and plans.records() == []


def test_a_saved_record_reads_back_whole(plans: PlanStore) -> None:
    record = PlanRecord(REPO, 7).with_plan(a_plan(), Findings(file_count=3))
    record = replace(record, comment_id=42, timings={"research": 0.25})

    saved = plans.save(record)

    assert saved.revision == 1
    assert plans.load(REPO, 7) == saved
    assert plans.load(REPO.lower(), 7) == replace(saved, repo=REPO.lower())
    assert [r.issue for r in plans.records()] == [7]


def test_an_error_keeps_the_last_plan_and_a_new_plan_clears_the_error(plans: PlanStore) -> None:
    planned = plans.save(PlanRecord(REPO, 7).with_plan(a_plan()))
    failed = plans.save(planned.with_error("cycle", "## cannot run"))
    assert failed.state is PlanState.INVALID and failed.plan == planned.plan
    assert plans.load(REPO, 7).error_body == "## cannot run"

    fixed = plans.save(failed.with_plan(a_plan("Coupons v2")))
    assert fixed.state is PlanState.AWAITING_APPROVAL and fixed.error is None


def test_saving_from_an_old_read_is_refused(store: Store, clock: Clock, tmp_path: Path) -> None:
    first = PlanStore(store, clock=clock)
    second_store = Store.open(tmp_path)
    second = PlanStore(second_store, clock=clock)
    try:
        base = first.save(PlanRecord(REPO, 7).with_plan(a_plan()))
        seen_by_both = second.load(REPO, 7)
        first.save(replace(base, comment_id=1))
        with pytest.raises(PlanStoreConflict, match=r"Octo/Shop#7 changed"):
            second.save(replace(seen_by_both, comment_id=2))
        with pytest.raises(PlanStoreConflict):
            second.save(PlanRecord(REPO, 7))  # "nothing saved yet" is stale too
    finally:
        second_store.close()
    assert first.load(REPO, 7).comment_id == 1


def test_the_lease_keeps_others_out_until_released_or_expired(
    plans: PlanStore, clock: Clock
) -> None:
    with plans.lease(REPO, 7, seconds=60, wait=5):
        with pytest.raises(PlanBusy, match="busy"), plans.lease(REPO, 7, seconds=60, wait=5):
            pass
        with plans.lease(REPO, 8, seconds=60, wait=0):
            pass  # another issue is free
    with plans.lease(REPO, 7, seconds=60, wait=0):
        pass  # released

    holder = plans.lease(REPO, 7, seconds=10, wait=0)
    holder.__enter__()  # a holder that dies and never releases
    clock.t += 11
    with plans.lease(REPO, 7, seconds=10, wait=0):
        pass  # expired: taken over


def a_dead_process_owner() -> str:
    """The owner id a lease holder had on this host before it was killed."""
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{socket.gethostname()}:{int(gone.stdout)}:0123456789ab.cdef01234567"


def test_a_lease_held_by_a_dead_process_is_taken_over_at_once(store: Store, clock: Clock) -> None:
    """A worker killed with kill -9 leaves its lease behind; its retry must not wait it out."""
    dead = PlanStore(store, clock=clock, sleep=clock.sleep, new_owner=a_dead_process_owner)
    dead.lease(REPO, 7, seconds=300, wait=0).__enter__()  # never released
    alive = PlanStore(store, clock=clock, sleep=clock.sleep)
    with alive.lease(REPO, 7, seconds=300, wait=0):
        pass  # taken over with no wait: the holder's pid no longer exists


def test_concurrent_jobs_under_the_lease_lose_no_update(tmp_path: Path) -> None:
    """Threads on their own connections each add one task mark; none overwrites another."""
    rounds, threads = 8, 3
    with PlanStore.open(tmp_path) as plans:
        plans.save(PlanRecord(REPO, 7).with_plan(a_plan()))

    def work() -> None:
        with PlanStore.open(tmp_path) as mine:
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
    with PlanStore.open(tmp_path) as plans:
        assert plans.load(REPO, 7).timings == {"n": rounds * threads}


def test_the_table_lives_beside_the_job_queue(store: Store, plans: PlanStore) -> None:
    with store.reading() as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"plans", "jobs", "deliveries"} <= tables
    saved = plans.save(PlanRecord(REPO, 7).with_plan(a_plan()))
    assert PlanStore(store).load(REPO, 7) == saved, "opening again keeps the rows"
