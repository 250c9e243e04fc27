"""``techlead gates`` as a person runs it: exit codes, formats, working tree, baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gates.conftest import Repo, tool_env

CLEAN = '"""Clean."""\n\nVALUE = 1\n'
LEAKY = 'import os\n\nAWS_KEY = "AKIA' + 'Z3MSJV4WWQK7XB2P"\n'


def techlead(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "gates", "--repo", str(repo.root), *args],
        capture_output=True,
        text=True,
        env=tool_env(),
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("files", "args", "code"),
    [
        ({"clean.py": CLEAN}, [], 0),
        ({"leak.py": LEAKY}, [], 1),
        ({"leak.py": LEAKY}, ["--only", "L1"], 1),
        ({"notes.md": "# notes\n"}, [], 0),
        ({"clean.py": CLEAN}, ["--only", "L9"], 2),
        ({"clean.py": CLEAN}, ["--only", "L3"], 0),
        ({"clean.py": CLEAN}, ["--base", "no-such-branch"], 2),
        ({"clean.py": CLEAN}, ["--format", "yaml"], 2),
    ],
    ids=[
        "clean",
        "failing",
        "only-lint",
        "not-applicable",
        "unknown-level",
        "only-tests-nothing-to-test",
        "unknown-base",
        "unknown-format",
    ],
)
def test_exit_codes(repo: Repo, files: dict[str, str], args: list[str], code: int) -> None:
    repo.branch("feature")
    repo.commit(files)

    done = techlead(repo, "--head", "HEAD", *args)

    assert done.returncode == code, done.stderr


def test_the_working_tree_is_the_default_head_untracked_files_included(repo: Repo) -> None:
    repo.branch("feature")
    repo.write({"leak.py": LEAKY})  # never added to git

    done = techlead(repo)

    assert done.returncode == 1
    assert "leak.py:3:12 critical secret/aws-access-key" in done.stdout
    assert "AKIAZ3MS" not in done.stdout + done.stderr


def test_sarif_and_json_formats_parse(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"leak.py": LEAKY})

    sarif = json.loads(techlead(repo, "--format", "sarif").stdout)
    report = json.loads(techlead(repo, "--format", "json").stdout)

    assert sarif["version"] == "2.1.0"
    assert {r["baselineState"] for run in sarif["runs"] for r in run["results"]} == {"new"}
    failed = [r["level"] for r in report["results"] if r["conclusion"] == "failure"]
    assert failed == ["L1", "L5"]
    assert all(f["fingerprint"] for r in report["results"] for f in r["new"])


def test_a_written_baseline_committed_to_the_base_accepts_the_findings(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"leak.py": LEAKY})
    baseline = repo.root.parent / "baseline.json"
    assert techlead(repo, "--write-baseline", str(baseline)).returncode == 1
    repo.git("checkout", "-q", "main")
    repo.commit({".techlead/baseline.json": baseline.read_text()})
    repo.git("checkout", "-q", "feature")

    done = techlead(repo, "--base", "main", "--head", "feature")

    assert done.returncode == 0, done.stdout
    assert "No new findings" in done.stdout


def test_a_broken_repository_config_on_the_base_is_a_usage_error(repo: Repo) -> None:
    repo.commit({".github/techlead.yml": "gates:\n  lint:\n    fail_on: severe\n"})
    repo.branch("feature")
    repo.commit({"clean.py": CLEAN})

    done = techlead(repo, "--head", "HEAD")

    assert done.returncode == 2
    assert "gates.lint.fail_on" in done.stderr
