"""The GitHub Action (action.yml): its gate step run as a runner would, and its own audit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.gates.conftest import Repo, tool_env

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
CLEAN = '"""Clean."""\n\nVALUE = 1\n'
SHELL = "import subprocess\n\n\ndef run(cmd):\n    subprocess.run(cmd, shell=True)\n"


def steps() -> list[dict[str, Any]]:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return list(action["runs"]["steps"])


def gate_step(repo: Repo, base: str, head: str, out: Path) -> subprocess.CompletedProcess[str]:
    """The "Run the gates" step, with the environment its ``env:`` block gives it."""
    (step,) = [s for s in steps() if s.get("id") == "gates"]
    env = {
        **tool_env(),
        "TECHLEAD_BIN": str(Path(sys.executable).with_name("techlead")),
        "GATES": "L1,L5",
        "SARIF_FILE": str(out / "gates.sarif"),
        "BASE": base,
        "HEAD": head,
        "GITHUB_OUTPUT": str(out / "github_output"),
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("files", "code", "rules"),
    [({"clean.py": CLEAN}, 0, set()), ({"runner.py": SHELL}, 1, {"B602"})],
    ids=["clean", "shell-injection"],
)
def test_the_gate_step_fails_on_new_findings_and_always_writes_sarif(
    repo: Repo, tmp_path: Path, files: dict[str, str], code: int, rules: set[str]
) -> None:
    base = repo.git("rev-parse", "main").strip()
    repo.branch("feature")
    head = repo.commit(files)

    done = gate_step(repo, base, head, tmp_path)

    assert done.returncode == code, done.stderr
    sarif = json.loads((tmp_path / "gates.sarif").read_text())
    found = {r["ruleId"] for run in sarif["runs"] for r in run["results"]}
    assert rules <= found
    assert f"sarif-file={tmp_path / 'gates.sarif'}" in (tmp_path / "github_output").read_text()
    assert "TechLead L1" in done.stdout and "TechLead L5" in done.stdout


def test_inputs_reach_scripts_only_through_the_environment() -> None:
    # ${{ }} inside a script is expanded before bash parses it: template injection.
    for step in steps():
        assert "${{" not in step.get("run", ""), step["name"]


@pytest.mark.parametrize("path", ["action.yml", ".github/workflows/ci.yml"])
def test_zizmor_finds_nothing_in_the_projects_own_actions(path: str) -> None:
    zizmor = Path(sys.executable).with_name("zizmor")
    done = subprocess.run(
        [str(zizmor), "--offline", "--format", "json", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []
