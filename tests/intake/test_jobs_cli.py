"""``techlead jobs list``: the table people read."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.jobs import JobSpec
from tests.intake.conftest import Services


def test_list_prints_a_table_and_filters_dead(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"TECHLEAD_DATA_DIR": str(services.settings.data_dir)}
    assert main(["jobs", "list"], env) == 0
    assert capsys.readouterr().out.strip() == "no jobs"
    job = services.queue.enqueue(JobSpec("plan.run", delivery_id="d-1", trace_id="t"))
    services.queue.claim("w", 10)
    services.queue.fail(job.id, "w", "boom\nwith detail", None)
    services.queue.enqueue(JobSpec("gate.run"))
    assert main(["jobs", "list"], env) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["ID", "STATE", "TRY", "KIND"]
    assert "plan.run" in table[1] and "dead" in table[1] and "boom with detail" in table[1]
    assert "d-1" in table[1]
    assert "gate.run" in table[2] and "pending" in table[2]
    assert main(["jobs", "list", "--dead"], env) == 0
    dead = capsys.readouterr().out.splitlines()
    assert len(dead) == 2 and "plan.run" in dead[1]


def test_retry_of_an_unknown_job_names_it(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"TECHLEAD_DATA_DIR": str(services.settings.data_dir)}
    assert main(["jobs", "retry", "41"], env) == 2
    assert "no job with id 41" in capsys.readouterr().err


def test_a_data_dir_without_a_store_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "list"], {"TECHLEAD_DATA_DIR": str(tmp_path / "nowhere")}) == 2
    assert "no job store at" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()
