"""A job whose process is killed on every attempt is dead-lettered, and its hook runs once."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.intake import dying_plugin as plugin
from tests.intake.conftest import FIXTURES
from tests.intake.serve_process import ServeProcess, wait_for

pytestmark = pytest.mark.slow
BODY = (FIXTURES / "issues.labeled.json").read_bytes()
DELIVERY = "5d0a3e1c-0b1e-11ef-9f3b-2a6b0f1c2d3e"
TIMEOUT = 60.0  # each retry waits out the dead attempt's in-flight grace (10 s)


@pytest.fixture
def servers() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for server in started:
        server.stop()


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def started_times(path: Path, count: int) -> Callable[[], bool]:
    return lambda: len(lines(path)) == count


def test_a_job_killed_with_its_process_every_time_runs_its_dead_hook_once(
    servers: list[ServeProcess], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    started, dead = data / plugin.STARTED, data / plugin.DEAD

    def serve() -> ServeProcess:
        servers.append(ServeProcess(data, plugins="tests.intake.dying_plugin").start())
        return servers[-1]

    first = serve()
    assert first.post(BODY, "issues", DELIVERY).status_code == 202
    for attempt in range(1, plugin.ATTEMPTS + 1):
        wait_for(started_times(started, attempt), TIMEOUT, f"attempt {attempt} to start")
        # kill -9 mid-job: the lease stays with a dead process. The workers first: killed
        # only through serve's death, one could notice the end of its stdin before the
        # kernel's SIGKILL reaches it, stop gently and release the job uncharged.
        workers = servers[-1].child_pids(b"\0worker\0")
        assert workers, "serve's worker processes"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        servers[-1].kill()
        serve()  # the next start releases it; the job is claimed again

    wait_for(lambda: len(lines(dead)) == 1, TIMEOUT, "the dead hook")
    [job] = [job for job in servers[-1].jobs() if job["kind"] == plugin.KIND]
    assert (job["state"], job["attempts"]) == ("dead", plugin.ATTEMPTS)
    assert lines(started) == [f"{job['id']} attempt={n}" for n in (1, 2)]
    [line] = lines(dead)
    assert line.startswith(f"{job['id']} attempts={plugin.ATTEMPTS} abandoned after 2 attempts")
    assert "job_dead_lettered" in servers[-1].log()
