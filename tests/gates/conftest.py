"""Real git repositories for the gate tests, and the gates run on them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gates.config import GateLevel, GatesConfig, load_defaults
from gates.model import GateResult
from gates.revision import local_input
from gates.runner import run_gates

# Pin the rules so the tests do not depend on ruff's changing defaults.
RUFF_SETTINGS = '[tool.ruff]\nline-length = 100\n\n[tool.ruff.lint]\nselect = ["E", "F"]\n'
# Tools must not reach the network in tests: a closed local port as the proxy makes
# every HTTP request fail at once (as it does on a machine without network).
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
GIT_IDENTITY = (
    "-c",
    "user.name=Test",
    "-c",
    "user.email=test@example.com",
    "-c",
    "commit.gpgsign=false",
)


def tool_env() -> dict[str, str]:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return {**env, **OFFLINE}


@dataclass
class Repo:
    """A git repository in tmp_path with a main branch, written to file by file."""

    root: Path

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", *GIT_IDENTITY, *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout

    def write(self, files: dict[str, str]) -> None:
        for path, text in files.items():
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def branch(self, name: str) -> None:
        self.git("checkout", "-q", "-b", name)

    def run(
        self,
        base: str = "main",
        head: str | None = "HEAD",
        config: GatesConfig | None = None,
        levels: Iterable[GateLevel] | None = None,
    ) -> dict[GateLevel, GateResult]:
        settings = config or load_defaults()
        with local_input(
            self.root, base=base, head=head, baseline=settings.baseline, env=tool_env()
        ) as inp:
            results = run_gates(inp, settings, levels=levels)
        return {result.level: result for result in results}


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "repo"
    root.mkdir()
    made = Repo(root)
    made.git("init", "-q", "-b", "main")
    made.commit({"pyproject.toml": RUFF_SETTINGS, "README.md": "# demo\n"}, "initial")
    return made


def lines_of(result: GateResult) -> set[tuple[str, int]]:
    return {(f.path, f.start_line) for f in result.new}
