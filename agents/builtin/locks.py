"""Lock files next to dependency declarations, and the command that re-locks each one.

- ``uv.lock`` beside a ``pyproject.toml``: ``uv lock --upgrade-package NAME[==VERSION]``.
- A requirements file compiled by ``uv pip compile`` or ``pip-compile`` (its header says
  so, and names the input): the same tool, with ``--upgrade-package``; pip-compile's files
  are re-locked with uv's compatible ``uv pip compile`` when pip-tools is not installed.
- ``poetry.lock``, ``Pipfile.lock``, ``pdm.lock``: found and reported, not updated.

Only flags from a known list are carried over from a compiled file's header: the header
is repository content and must not choose where the tool writes or what it runs.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from agents.builtin.common import Tools
from agents.builtin.requirements import normalise

UV_LOCK = "uv lock"
UV_COMPILE = "uv pip compile"
PIP_COMPILE = "pip-compile"
UNSUPPORTED = {"poetry.lock": "Poetry", "Pipfile.lock": "Pipenv", "pdm.lock": "PDM"}
_HEADER_LINES = 12
_COMMAND = re.compile(r"^#\s+((?:uv pip compile|pip-compile)\b.*)$")
# Header flags that change what is written, not where: carried over when re-locking.
_FLAGS = frozenset(
    {"--generate-hashes", "--universal", "--all-extras", "--no-annotate", "--strip-extras"}
    | {"--no-strip-extras", "--emit-index-url", "--no-emit-index-url", "--allow-unsafe"}
)
_FLAGS_WITH_VALUE = frozenset({"--extra", "--python-version", "--python-platform"})


@dataclass(frozen=True)
class Lock:
    """A lock file, the tool that writes it and the file it is compiled from."""

    path: str
    tool: str
    source: str = ""
    flags: tuple[str, ...] = ()

    def mentions(self, text: str, name: str) -> bool:
        """Whether the lock's ``text`` pins ``name``."""
        wanted = normalise(name)
        if self.tool == UV_LOCK:
            names = re.findall(r'^name = "([^"]+)"', text, re.MULTILINE)
        else:
            names = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[|==)", text, re.MULTILINE)
        return any(normalise(found) == wanted for found in names)


def find_lock(path: str, text: str, exists: set[str]) -> Lock | None:
    """The lock ``path`` is (given its ``text`` and the worktree's files), or None."""
    posix = PurePosixPath(path)
    folder = posix.parent
    if posix.name == "uv.lock":
        project = (folder / "pyproject.toml").as_posix()
        return Lock(path, UV_LOCK, project) if project in exists else None
    if posix.name in UNSUPPORTED:
        return Lock(path, UNSUPPORTED[posix.name])
    if posix.suffix != ".txt":
        return None
    return _compiled(path, text, exists)


def _compiled(path: str, text: str, exists: set[str]) -> Lock | None:
    for line in text.splitlines()[:_HEADER_LINES]:
        match = _COMMAND.match(line.strip())
        if match is None:
            continue
        try:
            words = shlex.split(match.group(1))
        except ValueError:
            return None
        tool = UV_COMPILE if words[0] == "uv" else PIP_COMPILE
        source = _source(path, words, exists)
        return Lock(path, tool, source, _flags(words)) if source else None
    return None


def _source(path: str, words: list[str], exists: set[str]) -> str:
    """The input the header names (from the root or beside the lock), else a sibling .in."""
    folder = PurePosixPath(path).parent
    named = [w for w in words if w.endswith((".in", ".toml", ".cfg")) and not w.startswith("-")]
    for word in named:
        for candidate in (PurePosixPath(word), folder / word):
            if candidate.as_posix() in exists:
                return candidate.as_posix()
    sibling = PurePosixPath(path).with_suffix(".in").as_posix()
    return sibling if sibling in exists else ""


def _flags(words: list[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for index, word in enumerate(words):
        name, _, value = word.partition("=")
        if name in _FLAGS:
            kept.append(name)
        elif name in _FLAGS_WITH_VALUE and value:
            kept.append(word)
        elif word in _FLAGS_WITH_VALUE and index + 1 < len(words):
            kept.append(f"{word}={words[index + 1]}")
    return tuple(kept)


def relock(tools: Tools, lock: Lock, upgrade: str) -> str:
    """Re-lock ``lock`` letting ``upgrade`` (``name`` or ``name==version``) move; the tool."""
    if lock.tool == UV_LOCK:
        folder = PurePosixPath(lock.path).parent.as_posix()
        project = () if folder == "." else ("--project", folder)
        tools.run("uv", "lock", *project, "--upgrade-package", upgrade)
        return UV_LOCK
    common = (lock.source, "--output-file", lock.path, "--upgrade-package", upgrade, *lock.flags)
    if lock.tool == PIP_COMPILE and pip_tools_installed():
        tools.run("pip-compile", "--quiet", *common, module="piptools")
        return PIP_COMPILE
    tools.run("uv", "pip", "compile", "--quiet", *common)
    return UV_COMPILE


def pip_tools_installed() -> bool:
    return importlib.util.find_spec("piptools") is not None
