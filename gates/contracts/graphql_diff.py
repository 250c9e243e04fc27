"""GraphQL schema changes (graphql-core's ``find_breaking_changes``) with their SDL lines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema, parse
from graphql.language import ast as gql_ast
from graphql.utilities import find_breaking_changes, find_dangerous_changes

from gates.contracts.openapi_diff import Level, Side

_COORDINATE = re.compile(r"[_A-Za-z]\w*\.[_A-Za-z]\w*(?:\([_A-Za-z]\w*:\))?")
_NAME = re.compile(r"@?[_A-Za-z]\w*")
# graphql-core reports a standard scalar that is no longer referenced as "removed";
# it is built in, so no client can lose it.
_STANDARD_SCALAR = "Standard scalar"


class SchemaInvalid(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class GraphChange:
    rule: str
    level: Level
    text: str
    side: Side
    line: int


def build(text: str) -> GraphQLSchema:
    try:
        return build_schema(text)
    except GraphQLError as exc:
        line = exc.locations[0].line if exc.locations else 1
        raise SchemaInvalid(exc.message, line) from exc


def compare(base_text: str, head_text: str) -> list[GraphChange]:
    """Breaking (error) and dangerous (warning) changes, each at its line."""
    base, head = build(base_text), build(head_text)
    base_lines, head_lines = _lines(base_text), _lines(head_text)
    found: list[GraphChange] = []
    for change, level in _changes(base, head):
        if change.description.startswith(_STANDARD_SCALAR):
            continue
        side, line = _place(change.description, base_lines, head_lines)
        rule = change.type.name.lower().replace("_", "-")
        found.append(GraphChange(rule, level, change.description, side, line))
    return found


def _changes(base: GraphQLSchema, head: GraphQLSchema) -> Iterator[tuple[Any, Level]]:
    for breaking in find_breaking_changes(base, head):
        yield breaking, Level.ERR
    for dangerous in find_dangerous_changes(base, head):
        yield dangerous, Level.WARN


def _place(text: str, base: dict[str, int], head: dict[str, int]) -> tuple[Side, int]:
    """The head line of the first thing the description names, else its base line."""
    candidates = [*_COORDINATE.findall(text), *_NAME.findall(text)]
    for name in candidates:
        if name in head and not _removal(text):
            return Side.HEAD, head[name]
        if name in base:
            return Side.BASE, base[name]
    for name in candidates:
        if name in head:
            return Side.HEAD, head[name]
    return Side.HEAD, 1


def _removal(text: str) -> bool:
    return "was removed" in text or "no longer" in text


def _lines(text: str) -> dict[str, int]:
    """Line of each type (``Query``), field (``Query.a``), value and argument."""
    lines: dict[str, int] = {}
    for definition in parse(text, no_location=False).definitions:
        name = getattr(definition, "name", None)
        if name is None:
            continue
        owner = name.value
        if isinstance(definition, gql_ast.DirectiveDefinitionNode):
            owner = f"@{owner}"
        lines.setdefault(owner, _line(definition))
        for member in _members(definition):
            key = f"{owner}.{member.name.value}"
            lines.setdefault(key, _line(member))
            for argument in getattr(member, "arguments", None) or ():
                lines.setdefault(f"{key}({argument.name.value}:)", _line(argument))
    return lines


def _members(definition: Any) -> list[Any]:
    return [
        *(getattr(definition, "fields", None) or ()),
        *(getattr(definition, "values", None) or ()),
    ]


def _line(node: Any) -> int:
    loc = getattr(node, "loc", None)
    return int(loc.start_token.line) if loc is not None else 1
