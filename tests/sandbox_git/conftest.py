"""git over HTTP against the shared sandbox fixture: a real git client per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gitcli import GitCli


@pytest.fixture
def git_cli(tmp_path: Path) -> GitCli:
    home = tmp_path / "home"
    home.mkdir()
    return GitCli(home)
