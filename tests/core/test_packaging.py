"""A wheel install (Docker, Action, pip) keeps the shipped defaults and package data."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs inside the unpacked wheel, ahead of the editable install on sys.path.
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import bot, bot.defaults
from bot.repo_config import load_defaults
from bot.sandbox.conformance import SPEC_PATH
config = load_defaults()
print(json.dumps({
    "package": bot.__file__,
    "config_dir": str(bot.defaults.config_dir()),
    "agents": len(config.agents),
    "label": config.trigger.label,
    "lint_enabled": config.gates.lint.enabled,
    "spec": SPEC_PATH.is_file(),
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("techlead-*.whl")
    return built


def test_wheel_carries_defaults_spec_and_demo_project(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("techlead.yml", "agents.yml", "gates.yml"):
        assert f"bot/_config/{shipped}" in names
    assert "bot/sandbox/spec/rest-api.json" in names
    assert "bot/demo_project/pyproject.toml" in names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)


def test_installed_package_reads_its_own_defaults(wheel: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(unpacked)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    seen = json.loads(probe.stdout)
    assert seen["package"].startswith(str(unpacked))
    assert seen["config_dir"] == str(unpacked / "bot" / "_config")
    assert seen["agents"] >= 11
    assert seen["label"] == "techlead"
    assert seen["lint_enabled"] is True
    assert seen["spec"] is True
