"""A real git client for tests: never prompts, ignores the developer's config."""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bot.sandbox import Sandbox
from tests.conftest import World

GIT_TIMEOUT = 30


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class GitCli:
    """The real git client; never prompts, ignores the developer's config."""

    home: Path

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.home),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": "Pusher",
            "GIT_AUTHOR_EMAIL": "pusher@example.invalid",
            "GIT_COMMITTER_NAME": "Pusher",
            "GIT_COMMITTER_EMAIL": "pusher@example.invalid",
            "LC_ALL": "C",
        }

    def run(
        self, *args: str, cwd: Path | None = None, token: str | None = None, user: str = ""
    ) -> GitResult:
        config = []
        if token is not None:
            raw = base64.b64encode(f"{user or 'x-access-token'}:{token}".encode()).decode()
            config = ["-c", f"http.extraHeader=Authorization: Basic {raw}"]
        done = subprocess.run(
            ["git", *config, *args],
            cwd=cwd or self.home,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
        return GitResult(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, **kwargs: object) -> str:
        result = self.run(*args, **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


def clone_url(sandbox: Sandbox, world: World) -> str:
    return f"{sandbox.base_url}/{world.repo.full_name}.git"
