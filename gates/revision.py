"""The input of every gate (base and head trees plus the diff), and building it from git.

The bot hands over two checkouts; the local command line gives a repository and two refs
(or the working tree). Git is run through its command line here: only what the gates
need is read, with ``git cat-file --batch`` for single files and ``git archive`` for a
whole tree.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from bot.errors import GateError, WorkspaceError
from gates.diff import DiffIndex

# git's well-known empty tree: the base of a repository's first commit.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
DEFAULT_BRANCH_CANDIDATES = ("origin/HEAD", "origin/main", "origin/master", "main", "master")
# Files tools read for their settings, looked up next to every changed file and above it.
CONFIG_NAMES = ("pyproject.toml", "ruff.toml", ".ruff.toml")
ROOT_CONFIG_FILES = (".github/zizmor.yml", "zizmor.yml")
_GIT_TIMEOUT_SECONDS = 120
_BATCH_HEADER = re.compile(r"^(?P<type>blob|tree|commit|tag) (?P<size>\d+)\n$")
_DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "-M",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)


@dataclass(frozen=True)
class GateInput:
    """What a gate looks at.

    ``head``: a directory holding the head revision (a full checkout: tools run there,
    with the repository's own settings). ``base``: a directory holding the base revision
    (a checkout, or at least the base versions of the changed files, their tool settings
    and the baseline file), or None when there is no base. ``diff``: base..head.
    ``env`` is the environment tools start from (credentials are filtered out).
    """

    head: Path
    base: Path | None
    diff: PatchSet
    head_sha: str = ""
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @cached_property
    def changes(self) -> DiffIndex:
        return DiffIndex.from_patch(self.diff)

    @classmethod
    def from_diff_text(
        cls,
        *,
        head: Path,
        base: Path | None,
        diff: str,
        head_sha: str = "",
        env: Mapping[str, str] | None = None,
    ) -> GateInput:
        return cls(head, base, parse_diff(diff), head_sha, dict(env or {}))


def parse_diff(text: str) -> PatchSet:
    try:
        return PatchSet(text)
    except UnidiffParseError as exc:
        raise GateError(f"the diff cannot be parsed: {exc}") from exc


# ---------------------------------------------------------------------------- local git


@contextmanager
def local_input(
    repo: Path,
    *,
    base: str | None = None,
    head: str | None = None,
    baseline: str = "",
    env: Mapping[str, str] | None = None,
) -> Iterator[GateInput]:
    """A GateInput for a local repository.

    ``base`` defaults to :func:`default_base`; ``head`` None means the working tree
    (uncommitted and untracked files included), else a commit exported to a temp dir.
    """
    repo = Path(git(repo, "rev-parse", "--show-toplevel").strip())
    base_sha = _base_commit(repo, base) if base else default_base(repo, worktree=head is None)
    head_sha = resolve(repo, head) if head else ""
    text = diff_text(repo, base_sha, head_sha or None)
    patch = parse_diff(text)
    with tempfile.TemporaryDirectory(prefix="techlead-gates-") as scratch:
        base_dir = Path(scratch) / "base"
        materialize(repo, base_sha, base_files(patch, baseline), base_dir)
        head_dir = repo
        if head_sha:
            head_dir = Path(scratch) / "head"
            export_tree(repo, head_sha, head_dir)
        yield GateInput(head_dir, base_dir, patch, head_sha, dict(env or {}))


@contextmanager
def checkout_input(
    checkout: Path,
    base: str,
    diff: str,
    *,
    baseline: str = "",
    env: Mapping[str, str] | None = None,
) -> Iterator[GateInput]:
    """A GateInput for a checkout of the head commit (a worktree the caller made).

    ``diff`` is the pull request's diff (``base...head``: from the merge base); the base
    side is the merge base of ``base`` and the checkout's HEAD, written to a temp dir
    (only the changed files, their tool settings and the baseline file).
    """
    head_sha = resolve(checkout, "HEAD")
    start = merge_base(checkout, resolve(checkout, base), head_sha)
    patch = parse_diff(diff)
    with tempfile.TemporaryDirectory(prefix="techlead-gates-") as scratch:
        base_dir = Path(scratch) / "base"
        materialize(checkout, start, base_files(patch, baseline), base_dir)
        yield GateInput(checkout, base_dir, patch, head_sha, dict(env or {}))


def base_files(patch: PatchSet, baseline: str = "") -> list[str]:
    """The base-side files gates read for ``patch``: old versions, settings, baseline."""
    changes = DiffIndex.from_patch(patch)
    wanted = [f.old_path for f in changes.files.values() if f.old_path]
    return support_files(wanted, baseline)


def merge_base(repo: Path, base: str, head: str) -> str:
    """Where ``head`` branched from ``base`` (the empty tree for unrelated histories)."""
    found = git(repo, "merge-base", base, head, ok=(0, 1)).strip()
    return found or EMPTY_TREE


def support_files(paths: Iterable[str], baseline: str = "") -> list[str]:
    """``paths`` plus the tool settings that apply to them and the baseline file."""
    wanted = dict.fromkeys(paths)
    for path in list(wanted):
        for parent in PurePosixPath(path).parents:
            for name in CONFIG_NAMES:
                wanted[str(parent / name) if str(parent) != "." else name] = None
    for extra in (*ROOT_CONFIG_FILES, baseline):
        if extra:
            wanted[extra] = None
    return list(wanted)


def git(repo: Path, *args: str, stdin: bytes | None = None, ok: tuple[int, ...] = (0,)) -> str:
    return _git_bytes(repo, args, stdin, ok).decode("utf-8", errors="replace")


def _git_bytes(
    repo: Path, args: Sequence[str], stdin: bytes | None = None, ok: tuple[int, ...] = (0,)
) -> bytes:
    argv = ["git", "-C", str(repo), "-c", "core.quotepath=off", *args]
    try:
        proc = subprocess.run(
            argv, input=stdin, capture_output=True, timeout=_GIT_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WorkspaceError(f"git {' '.join(args[:2])} could not run: {exc}") from exc
    if proc.returncode not in ok:
        error = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise WorkspaceError(f"git {' '.join(args[:2])} failed: {' '.join(error[-2:])}")
    return proc.stdout


def resolve(repo: Path, ref: str) -> str:
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except WorkspaceError as exc:
        raise WorkspaceError(f"{ref!r} is not a commit in {repo}") from exc


def _try_resolve(repo: Path, ref: str) -> str | None:
    try:
        return resolve(repo, ref)
    except WorkspaceError:
        return None


def _base_commit(repo: Path, ref: str) -> str:
    return EMPTY_TREE if ref == EMPTY_TREE else resolve(repo, ref)


def default_base(repo: Path, *, worktree: bool = False) -> str:
    """The merge-base with the default branch when HEAD is past it.

    Otherwise HEAD itself when checking an uncommitted working tree, else HEAD~1 (the
    last commit), else the empty tree (a repository with a single commit, or none).
    """
    head = _try_resolve(repo, "HEAD")
    if head is None:
        return EMPTY_TREE
    for candidate in DEFAULT_BRANCH_CANDIDATES:
        if _try_resolve(repo, candidate) is None:
            continue
        merge_base = git(repo, "merge-base", candidate, "HEAD", ok=(0, 1)).strip()
        if merge_base and merge_base != head:
            return merge_base
        break
    if worktree and git(repo, "status", "--porcelain", "--untracked-files=normal").strip():
        return head
    return _try_resolve(repo, "HEAD~1") or EMPTY_TREE


def diff_text(repo: Path, base: str, head: str | None) -> str:
    """The unified diff base..head; head None diffs the working tree, untracked included."""
    if head:
        return git(repo, "diff", *_DIFF_OPTIONS, base, head, "--")
    tracked = git(repo, "diff", *_DIFF_OPTIONS, base, "--")
    untracked = git(repo, "ls-files", "--others", "--exclude-standard", "-z").split("\0")
    parts = [tracked]
    for path in filter(None, untracked):
        # --no-index exits 1 when the files differ, which they always do here.
        parts.append(git(repo, "diff", "--no-index", *_DIFF_OPTIONS, "/dev/null", path, ok=(1,)))
    return "".join(parts)


def materialize(repo: Path, ref: str, paths: Iterable[str], dest: Path) -> None:
    """Write the files ``paths`` as they are at ``ref`` under ``dest``; missing ones skip."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = [p for p in paths if "\n" not in p]
    if ref == EMPTY_TREE or not wanted:
        return
    request = "".join(f"{ref}:{path}\n" for path in wanted).encode("utf-8")
    batch = "--batch=%(objecttype) %(objectsize)"
    output = io.BytesIO(_git_bytes(repo, ["cat-file", batch], request))
    for path in wanted:
        header = _BATCH_HEADER.match(output.readline().decode("utf-8", errors="replace"))
        if header is None:
            continue  # "<ref>:<path> missing": not in this revision
        body = output.read(int(header["size"]))
        output.readline()
        if header["type"] == "blob":
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)


def export_tree(repo: Path, ref: str, dest: Path) -> None:
    """Write the whole tree of ``ref`` under ``dest`` (``git archive``)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = _git_bytes(repo, ["archive", "--format=tar", ref])
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
