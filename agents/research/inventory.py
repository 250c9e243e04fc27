"""Walks a directory once and reads each source file once, for every research agent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agents.research.languages import VENDORED_DIRS, is_binary_name, language_of
from agents.research.templates import NOT_A_DIRECTORY
from bot.errors import AgentError

# Larger files are almost always generated or data; they are counted, never read.
MAX_FILE_BYTES = 200 * 1024
# A worktree with more files than this is researched on the first MAX_FILES found.
MAX_FILES = 20_000
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


def build_inventory(root: Path, *, max_files: int = MAX_FILES) -> Inventory:
    """Walk ``root`` (symlinks are not followed) skipping vendored and cache directories."""
    if not root.is_dir():
        raise AgentError(NOT_A_DIRECTORY.format(root=root))
    files: list[SourceFile] = []
    skipped_large = 0
    truncated = False
    base = os.fspath(root)
    for path, size in _walk(base, ""):
        if len(files) >= max_files:
            truncated = True
            break
        item = _read(base, path, size)
        skipped_large += item.text is None and size > MAX_FILE_BYTES
        files.append(item)
    files.sort(key=lambda item: item.path)
    return Inventory(root, tuple(files), truncated, skipped_large)


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


def _read(root: str, path: str, size: int) -> SourceFile:
    if size > MAX_FILE_BYTES or is_binary_name(path):
        return SourceFile(path, size, None)
    try:
        with open(os.path.join(root, path), "rb") as handle:
            data = handle.read()
    except OSError:
        return SourceFile(path, size, None)
    if b"\0" in data[:_BINARY_PROBE]:
        return SourceFile(path, size, None)
    return SourceFile(path, size, data.decode("utf-8", errors="replace"))
