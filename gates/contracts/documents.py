"""Loads YAML/JSON contract documents with the line and column of every node.

Validators and the differ speak JSON paths (``['paths', '/items', 'get']``); people
read lines. :class:`Document` keeps both: the data, and the position of each path
taken from ``yaml.compose`` node marks (1-based here, 0-based in PyYAML).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Pointer = tuple[str | int, ...]


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
    """Parse YAML (JSON is read as YAML so that it has marks too)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise DocumentError(_yaml_problem(exc), line, column) from exc
    except yaml.YAMLError as exc:
        return _json_fallback(text, exc)
    finally:
        loader.dispose()
    marks: dict[Pointer, tuple[int, int]] = {}
    if node is not None:
        _collect(node, (), marks, loader)
    return Document(data, marks)


def _json_fallback(text: str, error: yaml.YAMLError) -> Document:
    try:
        return Document(json.loads(text))
    except json.JSONDecodeError as exc:
        raise DocumentError(f"not YAML or JSON: {error}", exc.lineno, exc.colno) from exc


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
