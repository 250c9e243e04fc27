"""The real git CLI for tests: never prompts, ignores the developer's config."""

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
    """The real git client in ``home``; ``token`` sends a Basic header, never a URL secret."""

    home: Path

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.home),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": "Dev",
            "GIT_AUTHOR_EMAIL": "dev@example.invalid",
            "GIT_COMMITTER_NAME": "Dev",
            "GIT_COMMITTER_EMAIL": "dev@example.invalid",
            "LC_ALL": "C",
        }

    def run(
        self, *args: str, cwd: Path | None = None, token: str | None = None, user: str = ""
    ) -> GitResult:
        """Run git; the result may be a failure (tests of refusals read it)."""
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

    def ok(
        self, *args: str, cwd: Path | None = None, token: str | None = None, user: str = ""
    ) -> str:
        """Run git, which must succeed; its output without surrounding white space."""
        result = self.run(*args, cwd=cwd, token=token, user=user)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def commit(self, checkout: Path, files: dict[str, str | None], message: str) -> str:
        """Write (or with None delete) files, commit them, return the new SHA."""
        for name, text in files.items():
            path = checkout / name
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        self.ok("add", "--all", cwd=checkout)
        self.ok("commit", "-q", "-m", message, cwd=checkout)
        return self.ok("rev-parse", "HEAD", cwd=checkout)


def clone_url(sandbox: Sandbox, world: World) -> str:
    return f"{sandbox.base_url}/{world.repo.full_name}.git"
