"""GraphQL schema changes (graphql-core's ``find_breaking_changes``) at their SDL file and line.

A schema is often split over several files (``type Query`` in one, the types it uses in
others), so the schema is built from every schema file of the tree together; files of
client operations (queries, fragments) are not schema and are left out. The base
schema is the same set of files with the changed ones as they were on the base.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_ast_schema, parse
from graphql.language import ast as gql_ast
from graphql.utilities import find_breaking_changes, find_dangerous_changes

from gates.contracts.openapi_diff import Level, Side

_COORDINATE = re.compile(r"[_A-Za-z]\w*\.[_A-Za-z]\w*(?:\([_A-Za-z]\w*:\))?")
_NAME = re.compile(r"@?[_A-Za-z]\w*")
_QUOTED = re.compile(r"'([_A-Za-z]\w*)'")
# graphql-core reports a standard scalar that is no longer referenced as "removed";
# it is built in, so no client can lose it.
_STANDARD_SCALAR = "Standard scalar"
_SCHEMA_NODES = (gql_ast.TypeSystemDefinitionNode, gql_ast.TypeSystemExtensionNode)


class SchemaInvalid(ValueError):
    """The SDL does not parse or does not build; ``path``/``line`` say where."""

    def __init__(self, message: str, path: str, line: int) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


@dataclass(frozen=True)
class SdlFile:
    path: str
    text: str


@dataclass(frozen=True)
class GraphChange:
    rule: str
    level: Level
    text: str
    side: Side
    path: str
    line: int


def is_schema(file: SdlFile) -> bool:
    """Whether the file defines schema (types, directives) rather than client operations.

    Raises SchemaInvalid when it is not GraphQL at all.
    """
    document = _parse(file)
    definitions = document.definitions
    return bool(definitions) and all(isinstance(d, _SCHEMA_NODES) for d in definitions)


def build(files: Sequence[SdlFile]) -> GraphQLSchema:
    """One schema from all ``files`` (errors name the file and line they are in)."""
    text, starts = _joined(files)
    try:
        return build_ast_schema(parse(text))
    except GraphQLError as exc:
        line = exc.locations[0].line if exc.locations else 1
        path, local = _locate(files, starts, line)
        raise SchemaInvalid(exc.message, path, local) from exc
    except TypeError as exc:  # graphql-core's "Unknown type 'X'." carries no location
        raise SchemaInvalid(str(exc), *_mention(files, str(exc))) from exc


def compare(base: Sequence[SdlFile], head: Sequence[SdlFile]) -> list[GraphChange]:
    """Breaking (error) and dangerous (warning) changes, each at its file and line."""
    base_schema, head_schema = build(base), build(head)
    base_lines, head_lines = _lines(base), _lines(head)
    found: list[GraphChange] = []
    for change, level in _changes(base_schema, head_schema):
        if change.description.startswith(_STANDARD_SCALAR):
            continue
        side, (path, line) = _place(change.description, base_lines, head_lines)
        rule = change.type.name.lower().replace("_", "-")
        found.append(GraphChange(rule, level, change.description, side, path, line))
    return found


def _parse(file: SdlFile) -> gql_ast.DocumentNode:
    try:
        return parse(file.text)
    except GraphQLError as exc:
        line = exc.locations[0].line if exc.locations else 1
        raise SchemaInvalid(exc.message, file.path, line) from exc


def _joined(files: Sequence[SdlFile]) -> tuple[str, list[int]]:
    """The files one after the other, and the line each starts on (1-based)."""
    parts, starts, line = [], [], 1
    for file in files:
        text = file.text if file.text.endswith("\n") else file.text + "\n"
        parts.append(text)
        starts.append(line)
        line += text.count("\n")
    return "".join(parts), starts


def _locate(files: Sequence[SdlFile], starts: list[int], line: int) -> tuple[str, int]:
    for file, start in reversed(list(zip(files, starts, strict=True))):
        if line >= start:
            return file.path, line - start + 1
    return (files[0].path if files else ""), line


def _mention(files: Sequence[SdlFile], message: str) -> tuple[str, int]:
    """Where the name quoted in ``message`` first appears, else the first file's start."""
    quoted = _QUOTED.search(message)
    if quoted is not None:
        word = re.compile(rf"\b{re.escape(quoted[1])}\b")
        for file in files:
            for number, line in enumerate(file.text.splitlines(), 1):
                if word.search(line):
                    return file.path, number
    return (files[0].path if files else ""), 1


def _changes(base: GraphQLSchema, head: GraphQLSchema) -> Iterator[tuple[Any, Level]]:
    for breaking in find_breaking_changes(base, head):
        yield breaking, Level.ERR
    for dangerous in find_dangerous_changes(base, head):
        yield dangerous, Level.WARN


Place = tuple[str, int]


def _place(text: str, base: dict[str, Place], head: dict[str, Place]) -> tuple[Side, Place]:
    """Where the first thing the description names is on the head, else on the base."""
    candidates = [*_COORDINATE.findall(text), *_NAME.findall(text)]
    removal = "was removed" in text or "no longer" in text
    for name in candidates:
        if name in head and not removal:
            return Side.HEAD, head[name]
        if name in base:
            return Side.BASE, base[name]
    for name in candidates:
        if name in head:
            return Side.HEAD, head[name]
    return Side.HEAD, next(iter(head.values()), ("", 1))


def _lines(files: Sequence[SdlFile]) -> dict[str, Place]:
    """File and line of each type (``Query``), field (``Query.a``), value and argument."""
    lines: dict[str, Place] = {}
    for file in files:
        for definition in _parse(file).definitions:
            name = getattr(definition, "name", None)
            if name is None:
                continue
            owner = name.value
            if isinstance(definition, gql_ast.DirectiveDefinitionNode):
                owner = f"@{owner}"
            lines.setdefault(owner, (file.path, _line(definition)))
            for member in _members(definition):
                key = f"{owner}.{member.name.value}"
                lines.setdefault(key, (file.path, _line(member)))
                for argument in getattr(member, "arguments", None) or ():
                    lines.setdefault(f"{key}({argument.name.value}:)", (file.path, _line(argument)))
    return lines


def _members(definition: Any) -> list[Any]:
    fields = getattr(definition, "fields", None) or ()
    values = getattr(definition, "values", None) or ()
    return [*fields, *values]


def _line(node: Any) -> int:
    loc = getattr(node, "loc", None)
    return int(loc.start_token.line) if loc is not None else 1
