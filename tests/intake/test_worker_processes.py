"""serve's worker processes, with real processes: budgets, kills, and fast answers."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.owners import owner_pid
from tests.intake import effects_plugin, spin_plugin
from tests.intake.conftest import FIXTURES
from tests.intake.serve_process import ServeProcess, wait_for

pytestmark = pytest.mark.slow
BODY = (FIXTURES / "issues.labeled.json").read_bytes()
OTHER = json.dumps({"action": "created", "zen": "Keep it logically awesome."}).encode()
TIMEOUT = 30.0
ANSWER_LIMIT = 2.0  # GitHub gives up at 10 s; an idle machine answers in milliseconds


@pytest.fixture
def servers() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for server in started:
        server.stop()


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def the_job(server: ServeProcess, kind: str) -> dict[str, object]:
    (job,) = [job for job in server.jobs() if job["kind"] == kind]
    return job


def logged_events(server: ServeProcess) -> list[str]:
    return [json.loads(line)["event"] for line in server.log().splitlines() if line[:1] == "{"]


def test_a_runaway_job_is_stopped_by_its_cpu_budget_while_webhooks_answer_fast(
    servers: list[ServeProcess], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = ServeProcess(
        data, plugins="tests.intake.spin_plugin", extra_env={"TECHLEAD_JOB_CPU_SECONDS": "2"}
    ).start()
    servers.append(server)
    assert server.post(BODY, "issues", "spin-1").status_code == 202
    wait_for(lambda: len(lines(data / spin_plugin.STARTED)) == 1, TIMEOUT, "the spin to start")

    slowest = 0.0
    for number in range(40):  # about a second of deliveries while the job spins
        started = time.perf_counter()
        response = server.post(OTHER, "star", f"while-spinning-{number}")
        slowest = max(slowest, time.perf_counter() - started)
        assert response.status_code == 202
    assert slowest < ANSWER_LIMIT, f"a webhook answer took {slowest:.2f} s"

    dead = data / spin_plugin.DEAD
    wait_for(lambda: len(lines(dead)) == 1, TIMEOUT, "the CPU budget to stop the job")
    assert "CPU budget of 2 s" in lines(dead)[0]
    job = the_job(server, spin_plugin.KIND)
    assert job["state"] == "dead"
    assert "not retried" in str(job["last_error"])
    assert len(lines(data / spin_plugin.STARTED)) == 1, "a runaway job is not run again"
    wait_for(server.healthy, TIMEOUT, "the pool to restart the stopped child")
    assert "worker_process_exited" in logged_events(server)
    assert server.post(OTHER, "star", "after").status_code == 202


def test_a_worker_process_killed_mid_job_is_replaced_and_the_job_runs_once(
    servers: list[ServeProcess], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = ServeProcess(data).start()
    servers.append(server)
    delivery = "kill-the-child"
    assert server.post(BODY, "issues", delivery).status_code == 202
    started = data / effects_plugin.STARTED
    wait_for(lambda: len(lines(started)) == 1, TIMEOUT, "the job to start")
    owner = the_job(server, effects_plugin.KIND)["lease_owner"]
    pid = owner_pid(str(owner))
    assert pid is not None and server.process is not None and pid != server.process.pid
    os.kill(pid, signal.SIGKILL)  # the child, mid-job; serve lives on

    wait_for(lambda: len(lines(started)) == 2, TIMEOUT, "the job to run again")
    (data / effects_plugin.GATE).touch()
    done = lambda: the_job(server, effects_plugin.KIND)["state"] == "done"  # noqa: E731
    wait_for(done, TIMEOUT, "the resumed job")
    assert lines(data / effects_plugin.EFFECTS) == [f"{effects_plugin.KIND}:{delivery}"]
    assert the_job(server, effects_plugin.KIND)["attempts"] == 2
    assert server.process.poll() is None
    health = httpx.get(f"{server.url}/healthz", timeout=5)
    assert health.status_code == 200, "the other child kept working meanwhile"
    assert "worker_process_exited" in logged_events(server)


def test_serve_with_no_worker_processes_runs_jobs_on_threads(
    servers: list[ServeProcess], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = ServeProcess(data, extra_args=["--workers", "0"]).start()
    servers.append(server)
    assert server.post(BODY, "issues", "threads").status_code == 202
    (data / effects_plugin.GATE).touch()
    wait_for(lambda: len(lines(data / effects_plugin.EFFECTS)) == 1, TIMEOUT, "the effect")
    assert "worker_pool_started" not in logged_events(server)
