"""Loads YAML/JSON contract documents with the line and column of every node.

Validators and the differ speak JSON paths (``['paths', '/items', 'get']``); people
read lines. :class:`Document` keeps both: the data, and the position of each path
taken from ``yaml.compose`` node marks (1-based here, 0-based in PyYAML).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Pointer = tuple[str | int, ...]
MAX_NODES = 1_000_000
TOO_LARGE = "the document stands for more than {limit:,} values once its YAML aliases are expanded"
RECURSIVE = "a YAML alias refers to a node that contains it"
TOO_DEEP = "the document is nested too deeply to read"
# libyaml's loader when PyYAML was built with it: ten times faster on big descriptions.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A JSON string (escapes included), a bracket or separator, or any other scalar.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)


class DocumentError(ValueError):
    """The file is not YAML/JSON, or not a mapping at the top; ``line`` is 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Document:
    """A parsed document and where each of its nodes starts (``marks``: 1-based)."""

    data: Any
    marks: Mapping[Pointer, tuple[int, int]] = field(default_factory=dict)

    def position(self, pointer: Sequence[str | int]) -> tuple[int, int]:
        """Line and column of ``pointer``, else of its nearest ancestor that has one."""
        parts = tuple(pointer)
        while parts:
            if parts in self.marks:
                return self.marks[parts]
            parts = parts[:-1]
        return self.marks.get((), (1, 1))

    def line(self, pointer: Sequence[str | int]) -> int:
        return self.position(pointer)[0]

    def get(self, pointer: Sequence[str | int]) -> Any:
        """The value at ``pointer``, or None when a part is missing."""
        node = self.data
        for part in pointer:
            in_mapping = isinstance(node, Mapping) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            if in_mapping or in_list:
                node = node[part]
            else:
                return None
        return node


def load(text: str) -> Document:
    """Parse JSON (a document starting with ``{`` or ``[``) or YAML, with node marks."""
    if text.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        return _load_json(text)
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _guard(node)
        data = loader.construct_document(node) if node is not None else None
    except RecursionError as exc:
        raise DocumentError(TOO_DEEP) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise DocumentError(_yaml_problem(exc), line, column) from exc
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    marks: dict[Pointer, tuple[int, int]] = {}
    if node is not None:
        _collect(node, (), marks, loader)
    return Document(data, marks)


def _load_json(text: str) -> Document:
    # JSON is not quite YAML (libyaml refuses some escapes JSON allows): parse it as JSON
    # and find the marks with a tokenizer of our own.
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except RecursionError as exc:
        raise DocumentError(TOO_DEEP) from exc
    except json.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from exc
    return Document(data, _json_marks(text))


@dataclass
class _Open:
    """A JSON object or array being read: its pointer, its next index or current key."""

    pointer: Pointer
    is_object: bool
    index: int = 0
    key: str | None = None
    expecting_key: bool = True


def _json_marks(text: str) -> dict[Pointer, tuple[int, int]]:
    """Where every key and value of a valid JSON text starts (1-based line, column)."""
    newlines = [i for i, char in enumerate(text) if char == "\n"]
    marks: dict[Pointer, tuple[int, int]] = {}
    stack: list[_Open] = []

    def position(offset: int) -> tuple[int, int]:
        line = bisect.bisect_left(newlines, offset)
        return line + 1, offset - (newlines[line - 1] + 1 if line else 0) + 1

    for token in _JSON_TOKEN.finditer(text):
        value = token.group()
        top = stack[-1] if stack else None
        if value in ("}", "]"):
            stack.pop()
        elif value == ",":
            if top is not None and top.is_object:
                top.expecting_key = True
        elif value == ":":
            continue
        elif top is not None and top.is_object and top.expecting_key:
            top.key, top.expecting_key = json.loads(value), False
            marks.setdefault((*top.pointer, top.key), position(token.start()))
        else:
            pointer = _value_pointer(top)
            marks.setdefault(pointer, position(token.start()))
            if value in ("{", "["):
                stack.append(_Open(pointer, value == "{"))
    return marks


def _value_pointer(top: _Open | None) -> Pointer:
    if top is None:
        return ()
    if top.is_object:
        return (*top.pointer, top.key or "")
    top.index += 1
    return (*top.pointer, top.index - 1)


def _guard(root: yaml.Node) -> None:
    """Refuse recursive aliases and alias bombs before anything walks the data.

    Aliases share nodes, so a few lines can stand for billions of nodes once walked
    (or for an endless loop); sizes are counted per node once, as the walk would see them.
    """
    sizes: dict[int, int] = {}
    path: set[int] = set()  # the nodes on the current walk from the root
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            path.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[id(node)] > MAX_NODES:
                raise DocumentError(TOO_LARGE.format(limit=MAX_NODES), *_start(node))
            continue
        if id(node) in sizes:
            continue
        path.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in path:
                raise DocumentError(RECURSIVE, *_start(child))
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    return " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"


def _collect(
    node: yaml.Node, pointer: Pointer, marks: dict[Pointer, tuple[int, int]], loader: Any
) -> None:
    """Record where ``node`` and everything under it starts. Iterative: no depth limit."""
    stack: list[tuple[yaml.Node, Pointer]] = [(node, pointer)]
    seen: set[int] = set()
    while stack:
        current, path = stack.pop()
        marks.setdefault(path, _start(current))
        if id(current) in seen:
            continue  # an alias of a node walked before: no cycles, no blow-up
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                key = _key(key_node)
                if key is None:
                    continue
                # A key's own line is where a reader looks for it (the value may start
                # on the next line).
                marks.setdefault((*path, key), _start(key_node))
                stack.append((value_node, (*path, key)))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                stack.append((item, (*path, index)))


def _start(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _key(node: yaml.Node) -> str | int | None:
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.tag.endswith(":int"):
        try:
            return int(node.value)
        except ValueError:
            return node.value
    return str(node.value)
