"""Crash tests with real processes: kill -9 loses nothing and doubles nothing."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.intake import effects_plugin as plugin
from tests.intake.conftest import FIXTURES
from tests.intake.serve_process import ServeProcess, wait_for

pytestmark = pytest.mark.slow
BODY = (FIXTURES / "issues.labeled.json").read_bytes()
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
EFFECT_TIMEOUT = 30.0


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for server in started:
        server.stop()


def serve(servers: list[ServeProcess], data_dir: Path, *args: str) -> ServeProcess:
    server = ServeProcess(data_dir, extra_args=list(args)).start()
    servers.append(server)
    return server


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def effect_job(server: ServeProcess) -> dict[str, object]:
    (job,) = [job for job in server.jobs() if job["kind"] == plugin.KIND]
    return job


def test_a_delivery_acknowledged_then_killed_is_processed_once_after_restart(
    servers: list[ServeProcess], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = serve(servers, data)
    response = first.post(BODY, "issues", DELIVERY)
    first.kill()  # right after the 202: nothing may be lost
    assert response.status_code == 202

    second = serve(servers, data)
    (data / plugin.GATE).touch()
    effects = data / plugin.EFFECTS
    wait_for(lambda: len(lines(effects)) == 1, EFFECT_TIMEOUT, "the effect after restart")
    again = second.post(BODY, "issues", DELIVERY)
    assert (again.status_code, again.json()["status"]) == (202, "duplicate")
    wait_for(lambda: effect_job(second)["state"] == "done", EFFECT_TIMEOUT, "the job to finish")
    assert lines(effects) == [f"{plugin.KIND}:{DELIVERY}"]
    ours = [job["kind"] for job in second.jobs() if job["kind"] in ("delivery.route", plugin.KIND)]
    assert sorted(ours) == ["delivery.route", plugin.KIND]  # built-in features may add more


def test_a_worker_killed_mid_job_resumes_it_with_one_effect(
    servers: list[ServeProcess], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = serve(servers, data)
    assert first.post(BODY, "issues", DELIVERY).status_code == 202
    started = data / plugin.STARTED
    wait_for(lambda: len(lines(started)) == 1, EFFECT_TIMEOUT, "the job to start")
    first.kill()  # mid-job: the lease is held by a process that no longer exists

    second = serve(servers, data)
    (data / plugin.GATE).touch()
    wait_for(lambda: effect_job(second)["state"] == "done", EFFECT_TIMEOUT, "the resumed job")
    assert lines(data / plugin.EFFECTS) == [f"{plugin.KIND}:{DELIVERY}"]
    assert len(lines(started)) == 2, "the job ran again after the kill"
    job = effect_job(second)
    assert job["attempts"] == 2
    assert job["delivery_id"] == DELIVERY
    assert "released_orphaned_jobs" in second.log()


def test_sigterm_releases_a_running_job_and_exits(
    servers: list[ServeProcess], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = serve(servers, data, "--grace", "0.5")
    assert server.post(BODY, "issues", DELIVERY).status_code == 202
    wait_for(lambda: len(lines(data / plugin.STARTED)) == 1, EFFECT_TIMEOUT, "the job to start")
    # uvicorn shuts down gracefully, then re-raises the signal it caught, as is customary.
    assert server.terminate() in (0, -signal.SIGTERM)
    job = effect_job(server)
    assert (job["state"], job["attempts"]) == ("pending", 0)
    assert lines(data / plugin.EFFECTS) == []
    logged = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert "worker_stopped" in [line["event"] for line in logged]
