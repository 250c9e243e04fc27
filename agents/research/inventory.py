"""Walks a directory once and reads each source file once, for every research agent."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agents.research.languages import (
    VENDORED_DIRS,
    FileKind,
    file_kind,
    is_binary_name,
    language_of,
)
from agents.research.templates import NOT_A_DIRECTORY
from agents.research.tokens import words
from bot.errors import AgentError

# Larger files are almost always generated or data; they are counted, never read.
MAX_FILE_BYTES = 200 * 1024
# A worktree with more files than this is researched on a sample of MAX_FILES files:
# those named like the issue first, then source and docs, shallowest first.
MAX_FILES = 20_000
# Walking stops after this many entries; a tree that big is sampled from what was seen.
MAX_WALK_FACTOR = 20
# A NUL byte in the first block marks a file as binary, as git does.
_BINARY_PROBE = 8000


@dataclass(frozen=True)
class SourceFile:
    """One file of the worktree; ``text`` is None when it was too large or binary."""

    path: str
    size: int
    text: str | None

    @property
    def language(self) -> str | None:
        return language_of(self.path)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Inventory:
    """Every file research may look at, read once and shared between agents."""

    root: Path
    files: tuple[SourceFile, ...]
    truncated: bool = False
    skipped_large: int = 0
    skipped: tuple[str, ...] = ()
    _by_path: dict[str, SourceFile] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_path.update((item.path, item) for item in self.files)

    def get(self, path: str) -> SourceFile | None:
        return self._by_path.get(path)

    def texts(self) -> Iterator[tuple[SourceFile, str]]:
        """Files whose text was read, with that text."""
        for item in self.files:
            if item.text is not None:
                yield item, item.text


def build_inventory(root: Path, *, max_files: int = MAX_FILES, query: str = "") -> Inventory:
    """Walk ``root`` (symlinks are not followed) skipping vendored and cache directories.

    Beyond ``max_files`` files, :func:`sample` picks which to read (``query`` is the
    issue text, when known); the others are listed in ``Inventory.skipped``.
    """
    if not root.is_dir():
        raise AgentError(NOT_A_DIRECTORY.format(root=root))
    base = os.fspath(root)
    entries = list(itertools.islice(_walk(base, ""), max_files * MAX_WALK_FACTOR))
    chosen, skipped = sample(entries, max_files, query)
    files: list[SourceFile] = []
    skipped_large = 0
    for path, size in chosen:
        item = _read(base, path, size)
        skipped_large += item.text is None and size > MAX_FILE_BYTES
        files.append(item)
    files.sort(key=lambda item: item.path)
    return Inventory(root, tuple(files), bool(skipped), skipped_large, tuple(skipped))


def sample(
    entries: list[tuple[str, int]], limit: int, query: str = ""
) -> tuple[list[tuple[str, int]], list[str]]:
    """(entries to read, paths skipped) keeping at most ``limit`` entries.

    Relevance, not size or name order, decides: paths sharing a word with the issue
    first, then source code and prose, then configuration, then the rest; shallower
    paths before deeper ones.
    """
    if len(entries) <= limit:
        return entries, []
    wanted = set(words(query))

    def key(entry: tuple[str, int]) -> tuple[int, int, int, str]:
        path = entry[0]
        named = 0 if wanted and wanted & set(words(path)) else 1
        kind = file_kind(path)
        rank = 0 if kind in (FileKind.CODE, FileKind.DOC) else 1 if kind is FileKind.CONFIG else 2
        return (named, rank + 3 * is_binary_name(path), path.count("/"), path)

    ordered = sorted(entries, key=key)
    return ordered[:limit], sorted(path for path, _ in ordered[limit:])


def skipped_dirs(paths: Iterable[str], limit: int = 5) -> tuple[str, ...]:
    """The top-level directories holding most of ``paths``, with their counts."""
    counts = Counter(path.split("/", 1)[0] + "/" if "/" in path else "./" for path in paths)
    return tuple(f"{name} ({count})" for name, count in counts.most_common(limit))


def _walk(root: str, prefix: str) -> Iterator[tuple[str, int]]:
    try:
        entries = sorted(os.scandir(os.path.join(root, prefix)), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink():
            continue  # may point outside the worktree
        relative = f"{prefix}{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in VENDORED_DIRS:
                yield from _walk(root, relative + "/")
        elif entry.is_file(follow_symlinks=False):
            try:
                size = entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue  # vanished or unreadable: nothing to research
            yield relative, size


def readable(path: str, size: int) -> bool:
    """Whether a file is worth reading at all (not too large, not binary by name)."""
    return size <= MAX_FILE_BYTES and not is_binary_name(path)


def source_file(path: str, size: int, data: bytes | None) -> SourceFile:
    """A file as research sees it: its text, or None when binary, too large or unread."""
    if data is None or not readable(path, size) or b"\0" in data[:_BINARY_PROBE]:
        return SourceFile(path, size, None)
    return SourceFile(path, size, data.decode("utf-8", errors="replace"))


def _read(root: str, path: str, size: int) -> SourceFile:
    if not readable(path, size):
        return SourceFile(path, size, None)
    try:
        with open(os.path.join(root, path), "rb") as handle:
            data = handle.read()
    except OSError:
        return SourceFile(path, size, None)
    return source_file(path, size, data)


def inventory_of(
    root: Path,
    entries: Iterable[tuple[str, int]],
    read: Callable[[list[str]], Mapping[str, bytes]],
    *,
    max_files: int = MAX_FILES,
    query: str = "",
) -> Inventory:
    """An inventory of files listed elsewhere (a git tree), read in one batch by ``read``.

    The same rules as :func:`build_inventory`: vendored directories skipped, a sample of
    ``max_files`` beyond that, large and binary files listed but not read.
    """
    kept = [(path, size) for path, size in entries if not VENDORED_DIRS & set(path.split("/")[:-1])]
    chosen, skipped = sample(kept, max_files, query)
    contents = read([path for path, size in chosen if readable(path, size)])
    files = sorted(
        (source_file(path, size, contents.get(path)) for path, size in chosen), key=lambda f: f.path
    )
    skipped_large = sum(1 for item in files if item.text is None and item.size > MAX_FILE_BYTES)
    return Inventory(root, tuple(files), bool(skipped), skipped_large, tuple(skipped))
