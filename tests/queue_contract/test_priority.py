"""Priority classes and installation turns, on every backend: who gets the next job slot."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.intake import Delivery, envelope
from bot.jobs import JobSpec, Priority
from bot.queue import JobQueue, SqliteJobQueue, class_order
from bot.store import Store
from tests.intake.conftest import T0, FakeClock

LEASE = 30.0
URGENT, NORMAL, LOW = Priority.URGENT, Priority.NORMAL, Priority.LOW


def _claims(queue: JobQueue, count: int) -> list[tuple[int | None, Priority]]:
    """(installation, priority) of the next ``count`` claims; stops when nothing is due."""
    taken = []
    for _ in range(count):
        job = queue.claim("w1", LEASE)
        if job is None:
            break
        taken.append((job.installation_id, job.priority))
    return taken


def _flood(queue: JobQueue, installation: int, priority: Priority, count: int) -> None:
    for _ in range(count):
        queue.enqueue(JobSpec("bulk", installation_id=installation, priority=priority))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (JobSpec("delivery.route"), URGENT),
        (JobSpec("plan.command"), URGENT),
        (JobSpec("gates.run"), NORMAL),
        (JobSpec("some.plugin.kind"), NORMAL),
        (JobSpec("plan.run", priority=LOW), LOW),
        (JobSpec("gates.run", priority=URGENT), URGENT),
    ],
    ids=[
        "route-urgent",
        "command-urgent",
        "gates-normal",
        "unknown-normal",
        "spec-lowers",
        "spec-raises",
    ],
)
def test_a_job_has_its_kinds_priority_unless_its_spec_says_otherwise(
    queue: JobQueue, spec: JobSpec, expected: Priority
) -> None:
    job = queue.enqueue(spec)
    assert job.priority is expected
    assert queue.get(job.id).priority is expected  # type: ignore[union-attr]


def test_within_an_installation_the_most_urgent_job_goes_first(queue: JobQueue) -> None:
    for priority in (LOW, NORMAL, URGENT, LOW, URGENT):
        queue.enqueue(JobSpec("a", installation_id=1, priority=priority))
    assert [priority for _, priority in _claims(queue, 3)] == [URGENT, URGENT, NORMAL]


@pytest.mark.parametrize("flood", [LOW, NORMAL, URGENT], ids=["low", "normal", "urgent"])
def test_a_flood_delays_another_installations_urgent_job_by_one_slot_at_most(
    queue: JobQueue, flood: Priority
) -> None:
    _flood(queue, 1, flood, 300)
    for _ in range(10):  # whatever the claim count, the next slot or the one after
        _claims(queue, 1)
        waiting = queue.enqueue(JobSpec("answer", installation_id=2, priority=URGENT))
        claimed = [queue.claim("w1", LEASE) for _ in range(2)]
        assert waiting.id in [job.id for job in claimed if job is not None]
        for job in claimed:  # leave the other installation's queue as it was
            if job is not None and job.id != waiting.id:
                queue.release(job.id, "w1")


def test_a_quiet_installations_first_job_is_next_in_its_class(queue: JobQueue) -> None:
    _flood(queue, 1, NORMAL, 500)
    assert _claims(queue, 3) == [(1, NORMAL)] * 3
    quiet = queue.enqueue(JobSpec("quiet", installation_id=2))
    first = queue.claim("w1", LEASE)
    assert first is not None and first.id == quiet.id


@pytest.mark.parametrize(
    ("queued", "order"),
    [
        ({1: 3, 2: 3, 3: 3}, [1, 2, 3, 1, 2, 3, 1, 2, 3]),
        ({1: 4, 2: 1}, [1, 2, 1, 1, 1]),
        ({None: 2, 5: 2}, [None, 5, None, 5]),
    ],
    ids=["three-even", "one-short", "no-installation-shares-a-turn"],
)
def test_installations_take_turns_one_job_each(
    queue: JobQueue, queued: dict[int | None, int], order: list[int | None]
) -> None:
    for installation, count in queued.items():
        for _ in range(count):
            queue.enqueue(JobSpec("a", installation_id=installation))
    assert [installation for installation, _ in _claims(queue, len(order) + 1)] == order


def test_urgent_work_slows_bulk_work_but_never_stops_it(queue: JobQueue) -> None:
    """With every class backlogged, 32 claims serve 24 urgent, 6 normal and 2 low jobs."""
    for installation, priority in ((1, URGENT), (2, NORMAL), (3, LOW)):
        _flood(queue, installation, priority, 40)
    served = Counter(priority for _, priority in _claims(queue, 32))
    assert served == {URGENT: 24, NORMAL: 6, LOW: 2}


def test_an_idle_class_gives_its_slots_to_the_others(queue: JobQueue) -> None:
    _flood(queue, 1, LOW, 20)
    assert Counter(priority for _, priority in _claims(queue, 16)) == {LOW: 16}


@pytest.mark.parametrize(
    ("tick", "order"),
    [
        (1, (URGENT, NORMAL, LOW)),
        (4, (NORMAL, URGENT, LOW)),
        (8, (NORMAL, URGENT, LOW)),
        (16, (LOW, URGENT, NORMAL)),
        (17, (URGENT, NORMAL, LOW)),
    ],
    ids=["plain", "fourth", "eighth", "sixteenth", "after"],
)
def test_class_order(tick: int, order: tuple[Priority, ...]) -> None:
    assert class_order(tick) == order


def test_the_intakes_rows_get_their_kinds_priority(tmp_path: Path, clock: FakeClock) -> None:
    """The store writes routing jobs itself (with their delivery): a trigger ranks them."""
    store = Store.open(tmp_path / "data")
    queue = SqliteJobQueue(store, clock)
    queue.enqueue(JobSpec("bulk", installation_id=7, priority=LOW))
    payload = {"action": "opened", "installation": {"id": 7}}
    delivery = Delivery("d-1", "issues", b"{}", payload, envelope(payload))
    route = JobSpec(
        "delivery.route",
        {"delivery_id": "d-1"},
        dedupe_key="delivery.route:d-1",
        installation_id=7,
        delivery_id="d-1",
        trace_id="t-1",
    )
    store.accept_delivery(delivery, route, T0)
    first = queue.claim("w1", LEASE)
    assert first is not None and (first.kind, first.priority) == ("delivery.route", URGENT)
    store.close()


def test_a_store_from_before_priorities_is_upgraded(tmp_path: Path, clock: FakeClock) -> None:
    """Rows written before the column existed get their kind's priority and a turn."""
    store = Store.open(tmp_path / "data")
    with store.transaction() as conn:
        for kind in ("gates.run", "delivery.route"):
            conn.execute(
                "INSERT INTO jobs (kind, payload, dedupe_key, state, run_at, trace_id, "
                "installation_id, created_at, updated_at) "
                "VALUES (?, '{}', ?, 'pending', ?, 't', 3, ?, ?)",
                (kind, kind, T0, T0, T0),
            )
    queue = SqliteJobQueue(store, clock)
    claimed = [queue.claim("w1", LEASE) for _ in range(2)]
    assert [(job.kind, job.priority) for job in claimed if job] == [
        ("delivery.route", URGENT),
        ("gates.run", NORMAL),
    ]
    store.close()
