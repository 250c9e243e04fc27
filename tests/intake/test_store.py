"""The store: group-committed deliveries, the intake-first lock, reopening after a crash."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from bot.app import route_spec
from bot.errors import QueueError
from bot.intake import verify
from bot.store import Accepted, DeliveryWriter, PriorityLock, Store
from tests.intake.conftest import SECRET, T0, payload_bytes, signed_headers


def delivery(delivery_id: str):
    body = payload_bytes({"action": "opened", "installation": {"id": 3}})
    return verify(signed_headers(body, "issues", delivery_id), body, [SECRET], max_bytes=10_000)


@pytest.fixture
def store(tmp_path: Path):
    opened = Store.open(tmp_path / "data")
    yield opened
    opened.close()


def test_the_writer_answers_every_delivery_and_spots_repeats_in_one_batch(
    store: Store,
) -> None:
    writer = DeliveryWriter(store)
    items = [delivery(f"d-{index % 5}") for index in range(20)]
    futures = [
        writer.submit(item, route_spec(item, f"trace-{index}"), T0)
        for index, item in enumerate(items)
    ]
    answers = [future.result(10) for future in futures]
    writer.close()
    assert [answer.new for answer in answers] == [True] * 5 + [False] * 15
    assert {answer.trace_id for answer in answers} == {f"trace-{index}" for index in range(5)}
    assert (store.count("deliveries"), store.count("jobs")) == (5, 5)


def test_requests_waiting_in_an_event_loop_are_answered_after_their_batch_is_reported(
    store: Store,
) -> None:
    reported: list[str] = []
    writer = DeliveryWriter(
        store, on_stored=lambda stored: reported.extend(d.delivery_id for d, _ in stored)
    )

    async def one(index: int) -> tuple[Accepted, bool]:
        item = delivery(f"d-{index % 8}")
        accepted = await writer.accept(item, route_spec(item, f"trace-{index}"), T0)
        return accepted, item.delivery_id in reported  # counted and logged before the 202

    answers = asyncio.run(_gather([one(index) for index in range(24)]))
    writer.close()
    assert all(seen for _, seen in answers)
    assert sum(accepted.new for accepted, _ in answers) == 8
    assert sorted(set(reported)) == [f"d-{index}" for index in range(8)]
    assert (store.count("deliveries"), store.count("jobs")) == (8, 8)


async def _gather(waits: list) -> list:
    return list(await asyncio.gather(*waits))


def test_a_batch_larger_than_one_statement_holds_is_stored_whole(store: Store) -> None:
    items = [delivery(f"d-{index}") for index in range(1200)]  # > 999 SQL parameters
    batch = [(item, route_spec(item, item.delivery_id)) for item in items]
    assert all(answer.new for answer in store.accept_deliveries(batch, T0))
    assert not any(answer.new for answer in store.accept_deliveries(batch, T0))
    assert (store.count("deliveries"), store.count("jobs")) == (1200, 1200)


def test_a_failing_report_hook_costs_no_delivery_its_answer(store: Store) -> None:
    def broken(stored: object) -> None:
        raise RuntimeError("metrics backend gone")

    writer = DeliveryWriter(store, on_stored=broken)
    item = delivery("d-1")
    assert writer.submit(item, route_spec(item, "t"), T0).result(10).new
    assert writer.alive()
    writer.close()


def test_a_batch_spots_ids_stored_by_an_earlier_batch(store: Store) -> None:
    first = [delivery(f"d-{index}") for index in range(3)]
    store.accept_deliveries(
        [(item, route_spec(item, f"old-{i}")) for i, item in enumerate(first)], T0
    )
    second = [delivery(f"d-{index}") for index in range(1, 5)]
    answers = store.accept_deliveries(
        [(item, route_spec(item, f"new-{i}")) for i, item in enumerate(second)], T0
    )
    assert [(answer.new, answer.trace_id) for answer in answers] == [
        (False, "old-1"),
        (False, "old-2"),
        (True, "new-2"),
        (True, "new-3"),
    ]
    assert (store.count("deliveries"), store.count("jobs")) == (5, 5)


def test_the_writer_reports_a_failed_commit_to_every_waiting_request(store: Store) -> None:
    writer = DeliveryWriter(store)
    store.close()
    item = delivery("d-1")
    with pytest.raises(QueueError):
        writer.submit(item, route_spec(item, "t"), T0).result(10)
    writer.close()


def test_committed_deliveries_survive_reopening(tmp_path: Path) -> None:
    first = Store.open(tmp_path)
    item = delivery("d-1")
    assert first.accept_delivery(item, route_spec(item, "t-1"), T0).new
    # No close: a killed process never gets to close its connection.
    second = Store.open(tmp_path)
    stored = second.get_delivery("d-1")
    assert stored is not None and stored.body == item.body and stored.trace_id == "t-1"
    assert not second.accept_delivery(item, route_spec(item, "t-2"), T0).new
    second.close()
    first.close()


def test_checkpoints_move_the_wal_into_the_database_on_a_side_thread(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    database = tmp_path / "techlead.db"
    empty = database.stat().st_size
    store.start_checkpoints(interval=0.01)  # automatic checkpoints are off from here
    items = [delivery(f"d-{index}") for index in range(200)]
    store.accept_deliveries([(item, route_spec(item, item.delivery_id)) for item in items], T0)
    deadline = time.monotonic() + 10
    while database.stat().st_size <= empty and time.monotonic() < deadline:
        time.sleep(0.01)
    store.close()
    assert database.stat().st_size > empty


def test_an_urgent_holder_goes_before_ordinary_waiters() -> None:
    lock = PriorityLock()
    order: list[str] = []

    def take(name: str, urgent: bool) -> None:
        with lock.hold(urgent=urgent):
            order.append(name)

    with lock.hold():
        ordinary = threading.Thread(target=take, args=("ordinary", False))
        ordinary.start()
        time.sleep(0.2)  # let it queue up first
        urgent = threading.Thread(target=take, args=("urgent", True))
        urgent.start()
        time.sleep(0.2)
    ordinary.join(5)
    urgent.join(5)
    assert order == ["urgent", "ordinary"]


def test_the_lock_is_reentrant() -> None:
    lock = PriorityLock()
    with lock.hold(), lock.hold(urgent=True):
        pass
    with lock.hold():  # released completely above, or this would hang
        pass
