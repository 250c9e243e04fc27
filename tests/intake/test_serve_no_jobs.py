"""``serve --no-jobs``: an intake that stores and acknowledges, and a ``techlead worker`` apart."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.intake import effects_plugin
from tests.intake.conftest import FIXTURES
from tests.intake.serve_process import REPO, ServeProcess, wait_for

pytestmark = pytest.mark.slow
BODY = (FIXTURES / "issues.labeled.json").read_bytes()
TIMEOUT = 30.0


def test_an_intake_without_jobs_leaves_them_to_a_worker_started_apart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / effects_plugin.GATE).parent.mkdir(parents=True)
    (data / effects_plugin.GATE).touch()
    server = ServeProcess(data, extra_args=["--no-jobs"]).start()
    worker: subprocess.Popen[bytes] | None = None
    try:
        assert server.post(BODY, "issues", "apart-1").status_code == 202
        time.sleep(1.0)  # time enough for any job here to have run
        assert not (data / effects_plugin.EFFECTS).exists(), "the intake ran no job"
        assert '"worker_elsewhere"' in server.log()

        with (data / "worker.log").open("ab") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker"],
                cwd=REPO,
                env=server.env(),
                stdout=log,
                stderr=log,
            )
        effects = data / effects_plugin.EFFECTS
        wait_for(effects.exists, TIMEOUT, "the separate worker to run the job")
        assert effects.read_text().splitlines() == ["effects.append:apart-1"]
        assert server.healthy(), "no worker here is not a failure of the intake"
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        server.stop()
