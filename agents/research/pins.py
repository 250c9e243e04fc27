"""Resolves what an issue names (paths, frames, modules, symbols, routes) to files.

A file the issue names outright is the strongest evidence research has, far stronger
than shared words, so such files are *pinned*: they head the relevant files whatever
their BM25 score. Each kind of mention adds weight to the files it resolves to; a
symbol defined in many files says little, so its weight is shared among them and a
name defined in more than ``MAX_DEFINERS`` files is ignored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from agents.research.languages import FileKind
from agents.research.mentions import Mentions, normalise
from agents.research.templates import RELEVANCE as TEXT

PATH_WEIGHT = 10.0
GENERIC_NAME_WEIGHT = 1.5
# File names every project (and every reproduction) has; named alone they point nowhere.
GENERIC_NAMES = frozenset(
    {
        "main.py", "app.py", "__init__.py", "__main__.py", "setup.py", "test.py",
        "tests.py", "run.py", "server.py", "script.py", "example.py", "demo.py",
        "index.js", "index.ts", "main.go", "main.rs", "lib.rs", "mod.rs",
    }
)  # fmt: skip
FRAME_WEIGHT = 4.0
LAST_FRAME_WEIGHT = 6.0
MODULE_WEIGHT = 6.0
SYMBOL_WEIGHT = 3.0
# A name seen only in a fenced reproduction script: evidence, not a pin on its own.
CODE_SYMBOL_WEIGHT = 1.5
ROUTE_WEIGHT = 4.0
QUOTE_WEIGHT = 6.0
TEST_FACTOR = 0.3
# A file whose weight reaches this is pinned: one exact mention is enough.
PIN_THRESHOLD = 3.0
MAX_DEFINERS = 4
_MODULE_SUFFIXES = (".py", "/__init__.py", ".pyi", ".js", ".ts", ".go", ".rs", ".rb")
_SOURCE_ROOTS = ("", "src/", "lib/", "python/")
# Names too common to point anywhere, even when few files define them.
_COMMON = frozenset(
    {
        "main", "run", "get", "set", "init", "__init__", "__call__", "setup", "test", "self",
        "cls", "none", "true", "false", "print", "object", "type", "str", "int", "dict",
        "list", "len", "open", "call", "update", "load", "save", "close", "send", "read",
        "write", "config", "settings", "utils", "app", "module",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FileFacts:
    """What pinning needs to know about one file."""

    path: str
    kind: FileKind
    names: frozenset[str]


@dataclass
class Pin:
    """The evidence that the issue names a file; ``reasons`` are shown to people."""

    weight: float = 0.0
    reasons: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)

    def add(self, weight: float, reason: str, symbol: str | None = None) -> None:
        """Add evidence; a symbol already counted for this file does not count twice
        (the first, strongest mention of it wins)."""
        if symbol is not None and symbol in self.symbols:
            return
        self.weight += weight
        if reason not in self.reasons:
            self.reasons.append(reason)
        if symbol is not None and symbol not in self.symbols:
            self.symbols.append(symbol)

    @property
    def pinned(self) -> bool:
        return self.weight >= PIN_THRESHOLD


class Resolver:
    """Looks paths, modules and names up over one inventory's files."""

    def __init__(self, files: Sequence[FileFacts], texts: Mapping[str, str]) -> None:
        self.files = {item.path: item for item in files}
        self.texts = texts
        self._texts_normalised: dict[str, str] | None = None
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.by_base: dict[str, list[str]] = defaultdict(list)
        self.top_dirs = {path.split("/", 1)[0] for path in self.files if "/" in path} | {
            path.split("/", 2)[1]
            for path in self.files
            if path.count("/") > 1 and path.startswith("src/")
        }
        for item in files:
            self.by_base[item.path.rsplit("/", 1)[-1]].append(item.path)
            for name in item.names:
                self.by_name[name].append(item.path)

    def resolve(self, mentions: Mentions) -> dict[str, Pin]:
        pins: dict[str, Pin] = defaultdict(Pin)
        for path in mentions.paths:
            self._path(pins, path)
        self._frames(pins, mentions)
        for dotted in mentions.dotted:
            self._dotted(pins, dotted, 1.0)
        for symbol in mentions.symbols:
            self._symbol(pins, symbol, SYMBOL_WEIGHT)
        for route in mentions.routes:
            self._route(pins, route)
        for quote in mentions.quotes:
            self._quote(pins, quote)
        # Weaker evidence last, so a name mentioned both ways counts at its strongest.
        for dotted in mentions.code_dotted:
            self._dotted(pins, dotted, CODE_SYMBOL_WEIGHT / SYMBOL_WEIGHT)
        for symbol in mentions.code_symbols:
            self._symbol(pins, symbol, CODE_SYMBOL_WEIGHT)
        return dict(pins)

    def suffix_matches(self, path: str, *, min_parts: int = 1) -> list[str]:
        """Files whose path is ``path`` or ends with ``/path``, trying shorter tails of it."""
        parts = path.split("/")
        for start in range(len(parts) - min_parts + 1):
            tail = "/".join(parts[start:])
            found = [
                candidate
                for candidate in self.by_base.get(parts[-1], ())
                if candidate == tail or candidate.endswith("/" + tail)
            ]
            if found:
                return found
        return []

    def _path(self, pins: dict[str, Pin], path: str) -> None:
        found = self.suffix_matches(path)
        # "Create a main.py with:" is the user's file: a bare generic name is weak.
        weight = GENERIC_NAME_WEIGHT if "/" not in path and path in GENERIC_NAMES else PATH_WEIGHT
        if 0 < len(found) <= MAX_DEFINERS:
            for match in found:
                pins[match].add(weight / len(found), TEXT["named"])

    def _frames(self, pins: dict[str, Pin], mentions: Mentions) -> None:
        """Frames in the project's own files; the deepest one is where it failed."""
        resolved = [
            (found, frame.function)
            for frame in mentions.frames
            if len(found := self.suffix_matches(frame.path, min_parts=2)) == 1
        ]
        for index, (found, function) in enumerate(resolved):
            weight = LAST_FRAME_WEIGHT if index == len(resolved) - 1 else FRAME_WEIGHT
            pins[found[0]].add(weight, TEXT["traceback"], function)

    def _dotted(self, pins: dict[str, Pin], dotted: str, scale: float) -> None:
        """``a.b.c``: the longest prefix that is a module, then the names inside it.

        ``scale`` weighs names read from a fenced reproduction script lower.
        """
        parts = dotted.split(".")
        for end in range(len(parts), 1, -1):
            module = self._module("/".join(parts[:end]))
            if module is not None:
                pins[module].add(MODULE_WEIGHT * scale, TEXT["module"].format(name=dotted))
                for symbol in parts[end:]:
                    if symbol in self.files[module].names:
                        reason = TEXT["defines"].format(name=symbol)
                        pins[module].add(SYMBOL_WEIGHT * scale, reason, symbol)
                return
        # A package and names inside it: ``httpx.Client.send`` -> who defines Client, send.
        if self._module(parts[0]) is not None or parts[0] in self.top_dirs:
            self._qualified(pins, parts[1:], SYMBOL_WEIGHT * scale, within=parts[0])
        else:
            self._qualified(pins, parts, SYMBOL_WEIGHT * scale)

    def _qualified(
        self, pins: dict[str, Pin], parts: list[str], weight: float, within: str | None = None
    ) -> None:
        """``Client.send``: the files defining ``Client`` that also define ``send``."""
        if not parts:
            return
        owners = self.by_name.get(parts[0], [])
        for path in owners if len(owners) <= MAX_DEFINERS else ():
            if all(part in self.files[path].names for part in parts[1:]) and len(parts) > 1:
                name = ".".join(parts)
                pins[path].add(weight, TEXT["defines"].format(name=name), name)
        for symbol in parts:
            self._symbol(pins, symbol, weight, within=within)

    def _module(self, stem: str) -> str | None:
        for root in _SOURCE_ROOTS:
            for suffix in _MODULE_SUFFIXES:
                if (candidate := f"{root}{stem}{suffix}") in self.files:
                    return candidate
        return None

    def _symbol(
        self, pins: dict[str, Pin], symbol: str, weight: float, within: str | None = None
    ) -> None:
        if symbol.lower() in _COMMON or len(symbol) < 3:
            return
        definers = self.by_name.get(symbol, [])
        if within is not None:
            definers = [p for p in definers if f"{within}/" in f"/{p}"] or definers
        if not 0 < len(definers) <= MAX_DEFINERS:
            return
        for path in definers:
            share = weight / len(definers)
            if self.files[path].kind is FileKind.TEST:
                share *= TEST_FACTOR
            pins[path].add(share, TEXT["defines"].format(name=symbol), symbol)

    def _route(self, pins: dict[str, Pin], route: str) -> None:
        quoted = (f'"{route}"', f"'{route}'", f"`{route}`")
        found = [
            path
            for path, text in self.texts.items()
            if self.files[path].kind is FileKind.CODE and any(q in text for q in quoted)
        ]
        for path in found[:MAX_DEFINERS]:
            pins[path].add(
                ROUTE_WEIGHT / len(found[:MAX_DEFINERS]), TEXT["route"].format(route=route)
            )

    def _quote(self, pins: dict[str, Pin], quote: str) -> None:
        """Files holding the quoted sentence: the page it comes from, or the code raising it."""
        found = [path for path, text in self._normalised().items() if quote in text]
        if 0 < len(found) <= MAX_DEFINERS:
            for path in found:
                pins[path].add(QUOTE_WEIGHT / len(found), TEXT["quotes"])

    def _normalised(self) -> dict[str, str]:
        if self._texts_normalised is None:
            self._texts_normalised = {
                path: normalise(text) for path, text in self.texts.items() if text
            }
        return self._texts_normalised


def pinned_order(pins: Mapping[str, Pin], scores: Mapping[str, float]) -> list[str]:
    """Pinned paths, heaviest evidence first, then the higher search score."""
    chosen: Iterable[str] = (path for path, pin in pins.items() if pin.pinned)
    return sorted(chosen, key=lambda path: (-pins[path].weight, -scores.get(path, 0.0), path))
