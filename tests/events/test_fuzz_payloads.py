"""Fuzzing every routed event: real payloads with fields deleted or replaced by any JSON.

Whatever a signed delivery holds, routing it ends in one of two ways: jobs scheduled in
the real queue (their payloads stored as JSON), or a logged skip naming the field. It
never raises, so no routing job is retried or dead-lettered for its payload, and no
input costs more than a moment.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.context import JobContext
from bot.features import compose
from bot.jobs import Job, JobSpec, JobState
from bot.log import get_logger
from bot.queue import SqliteJobQueue
from bot.router import Event, Router, dispatch
from bot.settings import Settings
from bot.store import Store
from tests.events.conftest import DELETE, FieldPath, changed, payload

ROUTER: Router = compose().router
ROUTED = sorted({(route.event, route.action or "") for route in ROUTER.routes})
FIXTURE_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
SECONDS_PER_INPUT = 1.0  # CPU seconds: a loaded machine does not stretch them
BOT = "techlead[bot]"


class Clock:
    def now(self) -> float:
        return 1_800_000_000.0


def fixture_for(event: str, action: str) -> dict[str, Any]:
    """The real payload of ``event.action``, or another of the event's, re-actioned."""
    exact = FIXTURE_DIR / f"{event}.{action}.json"
    source = exact if exact.exists() else sorted(FIXTURE_DIR.glob(f"{event}.*.json"))[0]
    data = payload(source.stem)
    data["action"] = action
    return data


def paths_of(value: object, prefix: FieldPath = ()) -> Iterator[FieldPath]:
    """Every key and index path in ``value`` (what a mutation may hit)."""
    if isinstance(value, dict):
        items: list[tuple[str | int, object]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from paths_of(child, (*prefix, key))


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**63 - 1, 2**63, 2**64]),
    # The longest integer json.loads accepts (4,300 digits); built, as hypothesis cannot
    # print it among sampled values.
    st.builds(pow, st.just(10), st.just(4299)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec=None), max_size=40),
    st.sampled_from(["\ud800", "techlead:L1:\u00b2", "techlead:L9:1", "../..", "/techlead plan"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    event, action = draw(st.sampled_from(ROUTED))
    data = fixture_for(event, action)
    paths = list(paths_of(data))
    changes: dict[FieldPath, object] = {}
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True)):
        if any(path[: len(done)] == done for done in changes):
            continue  # inside a value already replaced or deleted
        changes[path] = draw(st.one_of(st.just(DELETE), JSON))
    return event, changed(copy.deepcopy(data), changes)


@pytest.fixture(scope="module")
def queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteJobQueue]:
    store = Store.open(tmp_path_factory.mktemp("fuzz-queue"))
    yield SqliteJobQueue(store, Clock())
    store.close()


def route(queue: SqliteJobQueue, name: str, data: dict[str, Any], number: int) -> None:
    delivery_id = f"fuzz-{number}"
    event = Event.from_payload(name, delivery_id, data)
    parent = Job(0, "delivery.route", {}, delivery_id, JobState.RUNNING, 1, 0.0, "t" * 32)
    ctx = JobContext(
        job=parent,
        settings=Settings(bot_login=BOT),
        clock=Clock(),
        log=get_logger(),
        enqueue=lambda spec: queue.enqueue(_child(spec, delivery_id)),
    )
    started = time.process_time()
    dispatched = dispatch(ROUTER, event, ctx)
    assert time.process_time() - started < SECONDS_PER_INPUT
    for job in dispatched.jobs:
        json.dumps(job.payload)  # stored and read back as JSON


def _child(spec: JobSpec, delivery_id: str) -> JobSpec:
    return JobSpec(
        spec.kind, spec.payload, spec.dedupe_key, trace_id="t" * 32, delivery_id=delivery_id
    )


_numbers = iter(range(10**9))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_no_payload_makes_routing_raise(
    queue: SqliteJobQueue, case: tuple[str, dict[str, Any]]
) -> None:
    name, data = case
    route(queue, name, data, next(_numbers))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ROUTED), st.dictionaries(st.text(max_size=12), JSON, max_size=6))
def test_no_payload_of_any_shape_makes_routing_raise(
    queue: SqliteJobQueue, routed: tuple[str, str], data: dict[str, Any]
) -> None:
    event, action = routed
    route(queue, event, {**data, "action": action}, next(_numbers))


def test_every_routed_event_is_fuzzed() -> None:
    """The fuzzed set follows the router: a new route is fuzzed without a test change."""
    assert ("issues", "labeled") in ROUTED and ("check_run", "rerequested") in ROUTED
    assert all(list(FIXTURE_DIR.glob(f"{event}.*.json")) for event, _ in ROUTED)
