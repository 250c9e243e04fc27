"""OpenTelemetry spans: one per job in its delivery's trace when configured, nothing otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import telemetry
from bot.app import build_services, route_spec
from bot.intake import Delivery, envelope
from bot.jobs import Job, JobRegistry, JobSpec, JobState
from bot.router import Event, Router
from bot.settings import Settings

in_memory = pytest.importorskip(
    "opentelemetry.sdk.trace.export.in_memory_span_exporter",
    reason="the OpenTelemetry SDK is not installed (pip install 'techlead[otel]')",
)
FIXTURE = Path(__file__).parents[1] / "fixtures" / "webhooks" / "issues.labeled.json"

router = Router()
jobs = JobRegistry()


@router.register("issues", action="labeled")
def on_labeled(event: Event, ctx: Any) -> list[JobSpec]:
    return [
        JobSpec("test.plan", {"repo": "octo/shop", "issue": 3}, dedupe_key="plan"),
        JobSpec("test.broken", {"repo": "octo/shop"}, dedupe_key="broken"),
    ]


@jobs.register("test.plan")
def plan(job: Job, ctx: Any) -> None:
    return None


@jobs.register("test.broken", max_attempts=1)
def broken(job: Job, ctx: Any) -> None:
    raise RuntimeError("the model endpoint is down")


@pytest.fixture
def exporter() -> Iterator[Any]:
    made = in_memory.InMemorySpanExporter()
    assert telemetry.configure({}, exporter=made)
    yield made
    telemetry.disable()


def test_every_job_of_a_delivery_is_a_span_in_the_delivery_trace(
    tmp_path: Path, exporter: Any
) -> None:
    services = build_services(
        Settings(data_dir=tmp_path), router=router, jobs=jobs, checkpoints=False
    )
    body = FIXTURE.read_bytes()
    payload = json.loads(body)
    delivery = Delivery("delivery-7", "issues", body, payload, envelope(payload))
    accepted = services.store.accept_delivery(delivery, route_spec(delivery, "ab" * 16), 0.0)
    try:
        while services.worker.run_once() is not None:
            pass
        states = {job.kind: job.state for job in services.queue.list()}
    finally:
        services.close()

    assert states == {
        "delivery.route": JobState.DONE,
        "test.plan": JobState.DONE,
        "test.broken": JobState.DEAD,
    }
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"delivery.route", "test.plan", "test.broken"}
    assert {span.context.trace_id for span in spans.values()} == {int(accepted.trace_id, 16)}
    assert all(span.attributes["techlead.delivery_id"] == "delivery-7" for span in spans.values())
    assert spans["test.plan"].attributes["techlead.issue"] == 3
    assert spans["test.broken"].status.status_code.name == "ERROR"
    assert spans["test.plan"].status.status_code.name == "UNSET"


@pytest.mark.parametrize(
    ("trace_id", "number"),
    [("ab" * 16, int("ab" * 16, 16)), ("0" * 32, None), ("xyz", None), (None, None)],
    ids=["hex", "zero", "not-hex", "absent"],
)
def test_trace_ids_map_to_opentelemetry_ids(trace_id: str | None, number: int | None) -> None:
    assert telemetry.trace_number(trace_id) == number


def run_cli(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_without_an_exporter_nothing_is_imported_or_wrapped() -> None:
    code = (
        "import sys\nfrom bot.cli import main\n"
        "main(['app', 'manifest'], env={})\n"
        "print('sdk loaded:', 'opentelemetry.sdk' in sys.modules)\n"
    )
    done = run_cli(code, {})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("sdk loaded: False")
    assert telemetry.traced(jobs) is jobs


def test_an_unknown_exporter_is_named() -> None:
    code = "from bot.cli import main\nraise SystemExit(main(['app', 'manifest']))\n"
    done = run_cli(code, {"OTEL_TRACES_EXPORTER": "zipkin"})
    assert done.returncode == 2
    assert "OTEL_TRACES_EXPORTER: must be none, console or otlp, got 'zipkin'" in done.stderr
