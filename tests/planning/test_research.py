"""Research over the default branch: read the tree once, then reuse or update the inventory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agents.research.inventory import MAX_FILE_BYTES, Inventory, SourceFile
from bot.features.planning.research import (
    WORKSPACE_AGENT,
    InventoryCache,
    default_branch_inventory,
    research_issue,
    tree_inventory,
    updated_inventory,
)
from bot.settings import Settings
from bot.workspace import Identity, Workspace

REPO = "octo/shop"
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.invalid",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.invalid",
}


class Upstream:
    """A real git repository standing in for GitHub's copy."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir()
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=GIT_ENV, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def commit(
        self, files: dict[str, str | bytes | None], links: dict[str, str] | None = None
    ) -> str:
        for name, content in files.items():
            target = self.path / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        for name, points_to in (links or {}).items():
            (self.path / name).symlink_to(points_to)
        self.git("add", "--all")
        self.git("commit", "-q", "-m", "change")
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    return Upstream(tmp_path / "upstream")


@pytest.fixture
def workspace(tmp_path: Path, upstream: Upstream) -> Workspace:
    return Workspace(
        Settings(data_dir=tmp_path / "data"),
        committer=Identity("TechLead", "techlead@example.invalid"),
        credentials=lambda repo: None,
        remote_url=lambda repo: upstream.path.as_uri(),
    )


FIRST = {
    "README.md": "# Shop\n",
    "src/cart.py": "def total(items):\n    return sum(items)\n",
    "src/api.py": "def add(cart, sku):\n    cart.append(sku)\n",
    "docs/api.md": "# API\n",
    "node_modules/lib/index.js": "module.exports = 1\n",
}


def test_an_updated_inventory_equals_a_fresh_checkout(
    workspace: Workspace, upstream: Upstream
) -> None:
    first = upstream.commit(FIRST)
    workspace.fetch(REPO, ["main"])
    base = tree_inventory(workspace, REPO, first)
    second = upstream.commit(
        {
            "src/cart.py": "def total(items, coupon=None):\n    return sum(items)\n",
            "src/api.py": None,
            "src/coupons.py": "COUPONS = {}\n",
            "node_modules/lib/index.js": "module.exports = 2\n",
            "assets/logo.png": b"\x89PNG\r\n\x1a\n\0\0",
            "data/big.txt": "x" * (MAX_FILE_BYTES + 1),
        },
        links={"src/link.py": "cart.py"},
    )
    workspace.fetch(REPO, ["main"])

    updated = updated_inventory(workspace, REPO, first, base, second)

    fresh = tree_inventory(workspace, REPO, second)
    assert updated is not None
    assert updated.files == fresh.files
    assert updated.skipped_large == fresh.skipped_large == 1
    assert "src/api.py" not in {item.path for item in updated.files}


def test_the_default_branch_is_read_once_per_commit_and_updated_after_a_push(
    workspace: Workspace, upstream: Upstream
) -> None:
    cache = InventoryCache()
    upstream.commit(FIRST)
    first, first_seconds = default_branch_inventory(workspace, REPO, "main", cache)
    again, again_seconds = default_branch_inventory(workspace, REPO, "main", cache)
    assert again is first and again_seconds == 0.0 < first_seconds

    upstream.commit({"src/coupons.py": "COUPONS = {}\n"})
    pushed, _ = default_branch_inventory(workspace, REPO, "main", cache)
    assert {item.path for item in pushed.files} == {*FIRST, "src/coupons.py"} - {
        "node_modules/lib/index.js"
    }
    assert ".git" not in {item.path for item in first.files}, "the worktree pointer is dropped"


def test_many_changes_or_a_lost_base_fall_back_to_a_checkout(
    workspace: Workspace, upstream: Upstream
) -> None:
    first = upstream.commit(FIRST)
    workspace.fetch(REPO, ["main"])
    base = tree_inventory(workspace, REPO, first)
    second = upstream.commit({f"gen/file_{n}.py": f"N = {n}\n" for n in range(5)})
    workspace.fetch(REPO, ["main"])
    assert updated_inventory(workspace, REPO, first, base, second, max_changed=4) is None

    cache = InventoryCache()
    cache.put(REPO, "0" * 40, base)  # a commit the mirror does not have
    found, _ = default_branch_inventory(workspace, REPO, "main", cache)
    assert "gen/file_4.py" in {item.path for item in found.files}


def test_research_degrades_when_git_fails(tmp_path: Path) -> None:
    class Port:
        def default_branch(self, repo: str) -> str:
            return "main"

        def git_credentials(self, repo: str) -> tuple[str, str]:
            return ("x-access-token", "not-a-real-token")

    settings = Settings(data_dir=tmp_path / "data", api_url="http://127.0.0.1:9/api/v3")
    findings = research_issue(
        Port(), settings, REPO, "coupons", budget_seconds=1.0, cache=InventoryCache()
    )  # type: ignore[arg-type]

    (degraded,) = findings.degraded
    assert degraded.agent == WORKSPACE_AGENT and "not-a-real-token" not in degraded.reason
    assert findings.file_count == 0


def inventory(*sizes: int) -> Inventory:
    files = tuple(SourceFile(f"f{n}.py", size, "x" * size) for n, size in enumerate(sizes))
    return Inventory(Path("/nowhere"), files)


def test_the_cache_keeps_recent_commits_within_its_bounds() -> None:
    cache = InventoryCache(max_bytes=100, max_entries=2)
    cache.put("o/a", "1", inventory(10))
    cache.put("o/b", "2", inventory(10))
    cache.put("O/A", "3", inventory(10))
    assert cache.get("o/a", "1") is None, "the oldest of three entries went"
    assert cache.latest("o/a") is not None and cache.latest("o/a")[0] == "3"  # type: ignore[index]
    cache.put("o/c", "4", inventory(95))
    assert cache.get("o/b", "2") is None and cache.get("o/a", "3") is None, "bytes bound"
    cache.put("o/d", "5", inventory(101))
    assert cache.get("o/d", "5") is None, "too big to keep"
    assert cache.latest("o/zzz") is None
