"""Pull requests through the port: open once, find again, read head, base and files."""

from __future__ import annotations

import pytest

from bot.ports import FileChange

from .conftest import Rig

pytestmark = pytest.mark.sandbox


def push_branch(rig: Rig, branch: str, path: str, text: str) -> str:
    remote = rig.world.user_gh.get_repo(rig.repo)
    assert rig.world.repo.head_sha is not None
    remote.create_git_ref(f"refs/heads/{branch}", rig.world.repo.head_sha)
    created = remote.create_file(path, f"Add {path}", text, branch=branch)
    return str(created["commit"].sha)


def test_a_pull_request_is_opened_found_and_read(app_rig: Rig) -> None:
    head_sha = push_branch(
        app_rig, "techlead/issue-1", "health.py", "def health():\n    return 'ok'\n"
    )
    port = app_rig.port
    assert port.find_open_pull(app_rig.repo, "techlead/issue-1") is None
    opened = port.create_pull(
        app_rig.repo,
        title="Add a health endpoint",
        body="Closes #1",
        head="techlead/issue-1",
        base="main",
        draft=True,
    )
    found = port.find_open_pull(app_rig.repo, "techlead/issue-1")
    assert found is not None and found.number == opened.number
    pull = port.get_pull(app_rig.repo, opened.number)
    assert (pull.head_sha, pull.head_ref, pull.base_ref) == (head_sha, "techlead/issue-1", "main")
    assert (pull.base_sha, pull.head_repo, pull.is_fork) == (
        app_rig.world.repo.head_sha,
        app_rig.repo,
        False,
    )
    assert pull.draft is True
    assert pull.author_login == app_rig.world.app.bot_login
    files = port.pull_files(app_rig.repo, opened.number)
    assert [(f.filename, f.status) for f in files] == [("health.py", "added")]
    assert isinstance(files[0], FileChange) and "+def health():" in (files[0].patch or "")
    assert port.get_issue(app_rig.repo, opened.number).is_pull_request is True
