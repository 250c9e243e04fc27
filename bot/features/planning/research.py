"""Researches an issue over the repository's default branch, read through the workspace.

The mirror is fetched with the port's git credentials (the workspace passes them as
``http.extraHeader``, never in a URL) from the remote derived from
``Settings.api_url``; the default branch's files are read straight from the mirror
(one ``ls-tree``, one ``cat-file --batch``: no checkout, nothing written to disk) into
an inventory (agents.research), and the research agents run over that inventory.

Reading a large tree is still most of the cost, so the inventory of the last commit
researched is kept in memory (:class:`InventoryCache`, bounded by size): planning
another issue on the same commit reuses it, and after a push only the files that
changed are read (two ``ls-tree`` listings compared by blob id, then one batch read)
and the rest carried over. Many changes fall back to reading the whole tree. A git
failure degrades the findings (the plan says research is incomplete) instead of failing
the plan; GitHub API errors propagate so the job queue retries.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path, PurePosixPath

from agents.research import DEFAULT_TOP_N, AgentTiming, Degradation, Findings, ResearchContext
from agents.research.inventory import MAX_FILE_BYTES, Inventory, inventory_of
from agents.research.runner import aggregate, default_agents, run_agents
from bot.errors import WorkspaceError
from bot.plan.reading import issue_template_texts
from bot.ports import GitHubPort
from bot.settings import Settings
from bot.workspace import Identity, TreeEntry, Workspace

# Research only reads; the identity would sign commits, which it never makes.
COMMITTER = Identity("TechLead", "techlead@users.noreply.github.com")
WORKSPACE_AGENT = "workspace"
GIT_TIMING = "research_git"
AGENTS_TIMING = "research_agents"
INVENTORY_AGENT = "inventory"
# Beyond this many changed files since the cached commit, reading the whole tree is quicker.
MAX_CHANGED_FILES = 200
REGULAR_MODES = frozenset({"100644", "100755"})
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
DEFAULT_CACHE_ENTRIES = 8


class InventoryCache:
    """Inventories by (repository, commit), least recently used dropped beyond the bounds.

    Inventories are immutable, so threads share them freely. One larger than the whole
    budget is used once and not kept.
    """

    def __init__(
        self, max_bytes: int = DEFAULT_CACHE_BYTES, max_entries: int = DEFAULT_CACHE_ENTRIES
    ) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[str, str], tuple[Inventory, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, repo: str, sha: str) -> Inventory | None:
        with self._lock:
            found = self._items.get((repo.lower(), sha))
            if found is None:
                return None
            self._items.move_to_end((repo.lower(), sha))
            return found[0]

    def put(self, repo: str, sha: str, inventory: Inventory) -> None:
        size = inventory_bytes(inventory)
        if size > self.max_bytes:
            return
        with self._lock:
            self._items[(repo.lower(), sha)] = (inventory, size)
            self._items.move_to_end((repo.lower(), sha))
            while len(self._items) > self.max_entries or self._size() > self.max_bytes:
                self._items.popitem(last=False)

    def latest(self, repo: str) -> tuple[str, Inventory] | None:
        """The most recently stored commit of ``repo`` and its inventory."""
        with self._lock:
            for (name, sha), (inventory, _) in reversed(self._items.items()):
                if name == repo.lower():
                    return sha, inventory
        return None

    def _size(self) -> int:
        return sum(size for _, size in self._items.values())


INVENTORIES = InventoryCache()


def inventory_bytes(inventory: Inventory) -> int:
    return sum(len(item.text) for item in inventory.files if item.text is not None)


def research_issue(
    github: GitHubPort,
    settings: Settings,
    repo: str,
    query: str,
    *,
    budget_seconds: float,
    timings: dict[str, float] | None = None,
    cache: InventoryCache = INVENTORIES,
) -> Findings:
    """Findings for ``query`` over ``repo``'s default branch; never raises for git trouble.

    ``timings`` (if given) receives the seconds spent on git and reading the tree, and
    on the research agents.
    """
    spent = timings if timings is not None else {}
    started = time.perf_counter()
    branch = github.default_branch(repo)
    workspace = Workspace(settings, committer=COMMITTER, credentials=github.git_credentials)
    try:
        inventory, read_seconds = default_branch_inventory(workspace, repo, branch, cache)
    except WorkspaceError as exc:
        return Findings(degraded=(Degradation(WORKSPACE_AGENT, str(exc)),))
    spent[GIT_TIMING] = round(time.perf_counter() - started, 4)
    started = time.perf_counter()
    findings = research_inventory(inventory, query, budget_seconds, read_seconds)
    spent[AGENTS_TIMING] = round(time.perf_counter() - started, 4)
    return findings


def default_branch_inventory(
    workspace: Workspace, repo: str, branch: str, cache: InventoryCache
) -> tuple[Inventory, float]:
    """The inventory of the branch's current commit, and the seconds spent reading it."""
    sha = workspace.fetch(repo, [branch])[branch]
    cached = cache.get(repo, sha)
    if cached is not None:
        return cached, 0.0
    started = time.perf_counter()
    inventory = _updated_from_cache(workspace, repo, sha, cache)
    if inventory is None:
        inventory = tree_inventory(workspace, repo, sha)
    cache.put(repo, sha, inventory)
    return inventory, time.perf_counter() - started


def _updated_from_cache(
    workspace: Workspace, repo: str, sha: str, cache: InventoryCache
) -> Inventory | None:
    known = cache.latest(repo)
    if known is None:
        return None
    try:
        return updated_inventory(workspace, repo, *known, sha)
    except WorkspaceError:
        return None  # the cached commit left the mirror (evicted, pruned): check out instead


def tree_inventory(workspace: Workspace, repo: str, sha: str) -> Inventory:
    """The commit's files read straight from the mirror: one ``ls-tree``, one batch read."""
    entries = [e for e in workspace.list_files(repo, sha) if _readable(e) and e.size is not None]
    return _blob_inventory(workspace, repo, workspace.mirror_path(repo), entries)


def _blob_inventory(
    workspace: Workspace, repo: str, root: Path, entries: list[TreeEntry]
) -> Inventory:
    """``entries`` (files of one commit) read with research's own rules, from git's blobs."""
    by_path = {entry.path: entry.sha for entry in entries}

    def read(paths: list[str]) -> dict[str, bytes]:
        blobs = workspace.read_blobs(repo, [by_path[path] for path in paths])
        return {path: blobs[by_path[path]] for path in paths if by_path[path] in blobs}

    sized = [(entry.path, entry.size or 0) for entry in entries]
    return inventory_of(root, sized, read)


def updated_inventory(
    workspace: Workspace,
    repo: str,
    base_sha: str,
    base: Inventory,
    sha: str,
    *,
    max_changed: int = MAX_CHANGED_FILES,
) -> Inventory | None:
    """``base`` (the inventory of ``base_sha``) brought to ``sha`` by reading changed files.

    None when a full checkout is the better way: too many changes, or a truncated base.
    """
    if base.truncated:
        return None
    before = {entry.path: entry for entry in workspace.list_files(repo, base_sha)}
    after = {entry.path: entry for entry in workspace.list_files(repo, sha)}
    changed = [entry for path, entry in after.items() if _differs(before.get(path), entry)]
    if len(changed) > max_changed:
        return None
    readable = [entry for entry in changed if _readable(entry)]
    fresh = _blob_inventory(workspace, repo, base.root, readable)
    gone = {path for path in before if path not in after} | {entry.path for entry in changed}
    kept = [item for item in base.files if item.path not in gone]
    files = tuple(sorted((*kept, *fresh.files), key=lambda item: item.path))
    skipped = sum(1 for item in files if item.text is None and item.size > MAX_FILE_BYTES)
    return Inventory(base.root, files, truncated=False, skipped_large=skipped)


def _differs(before: TreeEntry | None, after: TreeEntry) -> bool:
    return before is None or (before.sha, before.mode) != (after.sha, after.mode)


def _readable(entry: TreeEntry) -> bool:
    """Regular files only (a checkout would make symlinks, which research skips), at safe paths."""
    parts = PurePosixPath(entry.path).parts
    safe = bool(parts) and not entry.path.startswith("/") and not {"..", "."} & set(parts)
    return entry.kind == "blob" and entry.mode in REGULAR_MODES and safe


def research_inventory(
    inventory: Inventory, query: str, budget_seconds: float, read_seconds: float = 0.0
) -> Findings:
    """What ``agents.research.research`` does once the tree is read: every agent, merged."""
    context = ResearchContext(inventory, query, DEFAULT_TOP_N)
    outcomes = run_agents(default_agents(), context, budget_seconds, time.monotonic)
    return aggregate(inventory, outcomes, AgentTiming(INVENTORY_AGENT, round(read_seconds, 4)))


def issue_templates(repo: str, cache: InventoryCache = INVENTORIES) -> tuple[str, ...]:
    """The issue templates of the default branch last researched (none before research)."""
    known = cache.latest(repo)
    if known is None:
        return ()
    return issue_template_texts((item.path, text) for item, text in known[1].texts())
