"""The input of every gate (base and head trees plus the diff), and building it from git.

The bot hands over two checkouts; the local command line gives a repository and two refs
(or the working tree). Git is run through its command line here: only what the gates
need is read, with ``git cat-file --batch`` for single files and ``git archive`` for a
whole tree.
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
import subprocess
import tarfile
import tempfile
import tomllib
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
# Package markers: ruff tells first-party imports by them.
PACKAGE_MARKERS = ("__init__.py", "__init__.pyi")
ROOT_CONFIG_FILES = (
    ".github/zizmor.yml",
    "zizmor.yml",
    "setup.cfg",
    "tox.ini",
    ".flake8",
    ".bandit",
    ".pre-commit-config.yaml",
)
# Where ruff looks for first-party modules unless configured (its ``src`` setting).
SOURCE_ROOTS = (".", "src")
# Top-level files that may pin tool versions (read by L1 to choose its ruff).
REQUIREMENTS_FILES = "*requirements*.txt"
_MAX_EXTENDS = 8
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
    ``repo`` is a git repository holding both commits and ``base_sha`` the base commit
    (for gates that need the whole base tree, e.g. to run its tests); None/"" when
    the input was not made from git.
    """

    head: Path
    base: Path | None
    diff: PatchSet
    head_sha: str = ""
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    repo: Path | None = None
    base_sha: str = ""

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
    sparse_head: bool = False,
) -> Iterator[GateInput]:
    """A GateInput for a local repository.

    ``base`` defaults to :func:`default_base`; ``head`` None means the working tree
    (uncommitted and untracked files included), else a commit exported to a temp dir:
    the whole tree, or with ``sparse_head`` only what gates reading the changed files
    need (those files, their settings and the package outline, as for the base).
    """
    repo = Path(git(repo, "rev-parse", "--show-toplevel").strip())
    base_sha = _base_commit(repo, base) if base else default_base(repo, worktree=head is None)
    head_sha = resolve(repo, head) if head else ""
    text = diff_text(repo, base_sha, head_sha or None)
    patch = parse_diff(text)
    with tempfile.TemporaryDirectory(prefix="techlead-gates-") as scratch:
        base_dir = Path(scratch) / "base"
        materialize_sparse(repo, base_sha, base_files(patch, baseline), base_dir)
        head_dir = repo
        if head_sha and sparse_head:
            head_dir = Path(scratch) / "head"
            materialize_sparse(repo, head_sha, head_files(patch, baseline), head_dir)
        elif head_sha:
            head_dir = Path(scratch) / "head"
            export_tree(repo, head_sha, head_dir)
        yield GateInput(
            head_dir, base_dir, patch, head_sha, dict(env or {}), repo=repo, base_sha=base_sha
        )


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
        materialize_sparse(checkout, start, base_files(patch, baseline), base_dir)
        yield GateInput(
            checkout, base_dir, patch, head_sha, dict(env or {}), repo=checkout, base_sha=start
        )


def base_files(patch: PatchSet, baseline: str = "") -> list[str]:
    """The base-side files gates read for ``patch``: old versions, settings, baseline."""
    changes = DiffIndex.from_patch(patch)
    wanted = [f.old_path for f in changes.files.values() if f.old_path]
    # Settings of the folders of added files too: they apply to the base's findings.
    return support_files(wanted, baseline, places=list(changes.files))


def head_files(patch: PatchSet, baseline: str = "") -> list[str]:
    """The head-side files gates reading only the changes need for ``patch``."""
    changes = DiffIndex.from_patch(patch)
    return support_files([f.path for f in changes.present()], baseline)


def merge_base(repo: Path, base: str, head: str) -> str:
    """Where ``head`` branched from ``base`` (the empty tree for unrelated histories)."""
    found = git(repo, "merge-base", base, head, ok=(0, 1)).strip()
    return found or EMPTY_TREE


def support_files(
    paths: Iterable[str], baseline: str = "", places: Iterable[str] = ()
) -> list[str]:
    """``paths`` plus the tool settings that apply to them (and to ``places``), the
    package markers above them and the baseline file."""
    wanted = dict.fromkeys(paths)
    for path in [*wanted, *places]:
        for parent in PurePosixPath(path).parents:
            for name in CONFIG_NAMES:
                wanted[str(parent / name) if str(parent) != "." else name] = None
            if str(parent) != ".":
                wanted.update(dict.fromkeys(str(parent / name) for name in PACKAGE_MARKERS))
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


def materialize_sparse(repo: Path, ref: str, paths: Iterable[str], dest: Path) -> None:
    """What the tools need of ``ref`` to see the files ``paths`` as in a checkout.

    The files themselves, the settings files they name (ruff's ``extend``), and the
    package's outline: the top-level names of the source roots as empty directories and
    files, so that ruff tells first-party imports as it does in a full checkout.
    """
    written = materialize(repo, ref, paths, dest)
    for _ in range(_MAX_EXTENDS):
        extends = [p for p in _extended(dest, written) if p not in written]
        if not extends:
            break
        written += materialize(repo, ref, extends, dest)
    if ref != EMPTY_TREE:
        pins = _outline(repo, ref, dest, _source_roots(dest))
        materialize(repo, ref, [p for p in pins if p not in written], dest)


def _extended(dest: Path, written: Iterable[str]) -> list[str]:
    """Repository paths that the ruff settings among ``written`` extend."""
    found = []
    for path in written:
        name = PurePosixPath(path).name
        if name not in CONFIG_NAMES:
            continue
        target = _extend_of(dest / path, name)
        if not target or os.path.isabs(target):
            continue
        joined = os.path.normpath(str(PurePosixPath(path).parent / target))
        if not joined.startswith(".."):
            found.append(PurePosixPath(joined).as_posix())
    return found


def _ruff_section(path: Path, name: str) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    if name != "pyproject.toml":
        return data
    tool = data.get("tool")
    section = tool.get("ruff") if isinstance(tool, dict) else None
    return section if isinstance(section, dict) else {}


def _extend_of(path: Path, name: str) -> str:
    extend = _ruff_section(path, name).get("extend")
    return extend if isinstance(extend, str) else ""


def _source_roots(dest: Path) -> list[str]:
    roots = list(SOURCE_ROOTS)
    for name in CONFIG_NAMES:
        configured = _ruff_section(dest / name, name).get("src")
        if isinstance(configured, list):
            roots += [str(p) for p in configured if isinstance(p, str) and not os.path.isabs(p)]
    return [r for r in dict.fromkeys(os.path.normpath(r) for r in roots) if not r.startswith("..")]


def _outline(repo: Path, ref: str, dest: Path, roots: Sequence[str]) -> list[str]:
    """Empty stand-ins for what ruff looks up to classify imports as first-party.

    The entries of the source ``roots`` (directories, Python modules), and the modules
    along each dotted name the materialised files import from those packages
    (``from httpx._models import`` needs ``httpx/__init__.py`` and ``httpx/_models.py``).
    Returns the requirements files at the top (where a ruff version may be pinned).
    """
    specs = ["." if root == "." else f"{root}/" for root in roots]
    packages: dict[str, str] = {}
    imported = _imported_names(dest)
    tops = {name.split(".")[0] for name in imported}
    requirements = []
    for kind, path in _tree_entries(repo, ref, specs):
        _stand_in(dest / path, kind)
        if kind == "tree" and PurePosixPath(path).name in tops:
            packages[f"{path}/"] = str(PurePosixPath(path).parent)
        elif kind == "blob" and fnmatch.fnmatch(path, REQUIREMENTS_FILES):
            requirements.append(path)
    if not packages:
        return requirements
    for kind, path in _tree_entries(repo, ref, list(packages), recursive=True):
        root = next(r for p, r in packages.items() if path.startswith(p))
        module = _module_name(path, root)
        if any(name == module or name.startswith(module + ".") for name in imported):
            _stand_in(dest / path, kind)
    return requirements


def _module_name(path: str, root: str) -> str:
    """``src/httpx/_models.py`` under ``src`` -> ``httpx._models``."""
    relative = PurePosixPath(path).relative_to(root) if root != "." else PurePosixPath(path)
    parts = list(relative.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _tree_entries(
    repo: Path, ref: str, specs: Sequence[str], *, recursive: bool = False
) -> Iterator[tuple[str, str]]:
    flags = ["-r"] if recursive else []
    listing = git(repo, "ls-tree", "-z", *flags, ref, "--", *specs)
    for entry in filter(None, listing.split("\0")):
        meta, _, path = entry.partition("\t")
        fields = meta.split(" ")
        if len(fields) >= 3:
            yield fields[1], path


def _stand_in(target: Path, kind: str) -> None:
    if kind == "tree":
        target.mkdir(parents=True, exist_ok=True)
    elif kind == "blob" and target.suffix in (".py", ".pyi") and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()


_FROM_IMPORT = re.compile(r"^\s*from\s+([A-Za-z_][\w.]*)\s+import\s+\(?([\w\s,]*)", re.MULTILINE)
_IMPORT = re.compile(r"^\s*import\s+([\w.\s,]+)", re.MULTILINE)


def _imported_names(dest: Path) -> set[str]:
    """Dotted names the Python files under ``dest`` import (``from a.b import c``
    gives ``a.b`` and ``a.b.c``: ``c`` may be a module)."""
    names: set[str] = set()
    for path in dest.rglob("*.py"):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for module, members in _FROM_IMPORT.findall(text):
            names.add(module)
            names.update(f"{module}.{m}" for m in re.findall(r"\w+", members))
        for group in _IMPORT.findall(text):
            names.update(part.split()[0] for part in group.split(",") if part.split())
    return names


def materialize(repo: Path, ref: str, paths: Iterable[str], dest: Path) -> list[str]:
    """Write the files ``paths`` as they are at ``ref`` under ``dest``; missing ones skip.

    Returns the paths written.
    """
    dest.mkdir(parents=True, exist_ok=True)
    wanted = [p for p in paths if "\n" not in p]
    written: list[str] = []
    if ref == EMPTY_TREE or not wanted:
        return written
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
            written.append(path)
    return written


def export_tree(repo: Path, ref: str, dest: Path) -> None:
    """Write the whole tree of ``ref`` under ``dest`` (``git archive``)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = _git_bytes(repo, ["archive", "--format=tar", ref])
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
