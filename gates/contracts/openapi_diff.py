"""Breaking changes between two OpenAPI documents (2.0, 3.0, 3.1), named as oasdiff names them.

A pure differ: two :class:`~gates.contracts.documents.Document` in, :class:`Change` out.
Rule ids and levels follow oasdiff's published checks
(https://github.com/oasdiff/oasdiff/blob/main/docs/BREAKING-CHANGES.md): ``error`` is a
definite break, ``warning`` a change that may break clients, ``info`` a compatible one.

What it compares, per endpoint (paths match with parameter names ignored, as
``/items/{id}`` and ``/items/{itemId}`` are one endpoint):

- paths and operations removed (deprecation first: removing a deprecated operation is
  ``info``, unless its ``x-sunset`` date is still ahead) and added;
- parameters removed, added (required ones break), made required, and their schema;
- the request body made required, its media types, and its schema in the request
  direction (new required properties, narrowed types, enum values removed, ...);
- responses: success statuses and media types removed, required headers removed, and
  schemas in the response direction (properties removed or made optional, types
  changed, enum values added);
- security: requirements removed and scopes added break. Adding a requirement is
  ``info`` as in oasdiff, except on an endpoint that had none: every client calling it
  without credentials breaks, so it is reported as an ``error`` there.

An operation marked ``x-stability-level: draft`` or ``alpha`` on the base is exempt:
its changes are listed as ``info``. ``$ref`` inside the document are followed (with the
place of the referenced node kept, so a change in a shared component is reported at the
component); references to other files are not.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gates.contracts import texts
from gates.contracts.documents import Document, Pointer

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
EXEMPT_STABILITY = ("draft", "alpha")
MAX_DEPTH = 40
_PATH_PARAM = re.compile(r"\{[^{}/]*\}")


class Level(enum.StrEnum):
    """oasdiff's three levels."""

    ERR = "error"
    WARN = "warning"
    INFO = "info"


class Side(enum.StrEnum):
    """Which document a change's pointer points into (removals point into the base)."""

    BASE = "base"
    HEAD = "head"


@dataclass(frozen=True)
class Change:
    """One difference: oasdiff rule id, level, the endpoint, what changed and where."""

    rule: str
    level: Level
    operation: str
    text: str
    side: Side
    pointer: Pointer


# The rule ids this differ emits, with their default level.
RULES: dict[str, Level] = {
    "api-path-removed-without-deprecation": Level.ERR,
    "api-path-removed-with-deprecation": Level.INFO,
    "api-path-removed-before-sunset": Level.ERR,
    "api-removed-without-deprecation": Level.ERR,
    "api-removed-with-deprecation": Level.INFO,
    "api-removed-before-sunset": Level.ERR,
    "endpoint-added": Level.INFO,
    "endpoint-deprecated": Level.INFO,
    "request-parameter-removed": Level.WARN,
    "new-required-request-parameter": Level.ERR,
    "new-optional-request-parameter": Level.INFO,
    "request-parameter-became-required": Level.ERR,
    "request-parameter-became-optional": Level.INFO,
    "request-parameter-type-changed": Level.ERR,
    "request-parameter-type-generalized": Level.INFO,
    "request-parameter-became-enum": Level.ERR,
    "request-parameter-enum-value-removed": Level.ERR,
    "request-parameter-enum-value-added": Level.INFO,
    "request-parameter-max-length-decreased": Level.ERR,
    "request-parameter-max-length-set": Level.ERR,
    "request-parameter-max-length-increased": Level.INFO,
    "request-body-added-required": Level.ERR,
    "request-body-added-optional": Level.INFO,
    "request-body-became-required": Level.ERR,
    "request-body-became-optional": Level.INFO,
    "request-body-media-type-removed": Level.ERR,
    "request-body-media-type-added": Level.INFO,
    "request-body-type-changed": Level.ERR,
    "request-property-removed": Level.WARN,
    "new-required-request-property": Level.ERR,
    "new-optional-request-property": Level.INFO,
    "request-property-became-required": Level.ERR,
    "request-property-became-optional": Level.INFO,
    "request-property-type-changed": Level.ERR,
    "request-property-type-generalized": Level.INFO,
    "request-property-became-enum": Level.ERR,
    "request-property-enum-value-removed": Level.ERR,
    "request-property-enum-value-added": Level.INFO,
    "request-property-max-length-decreased": Level.ERR,
    "request-property-max-length-set": Level.ERR,
    "request-property-max-length-increased": Level.INFO,
    "response-success-status-removed": Level.ERR,
    "response-non-success-status-removed": Level.WARN,
    "response-success-status-added": Level.INFO,
    "response-non-success-status-added": Level.INFO,
    "response-media-type-removed": Level.ERR,
    "response-media-type-added": Level.INFO,
    "required-response-header-removed": Level.ERR,
    "optional-response-header-removed": Level.WARN,
    "response-header-added": Level.INFO,
    "response-body-type-changed": Level.ERR,
    "response-required-property-removed": Level.ERR,
    "response-optional-property-removed": Level.WARN,
    "response-required-property-added": Level.INFO,
    "response-optional-property-added": Level.INFO,
    "response-property-became-optional": Level.ERR,
    "response-property-became-required": Level.INFO,
    "response-property-type-changed": Level.ERR,
    "response-property-enum-value-added": Level.WARN,
    "response-property-enum-value-removed": Level.INFO,
    "request-property-became-not-nullable": Level.ERR,
    "request-body-became-not-nullable": Level.ERR,
    "request-property-became-nullable": Level.INFO,
    "request-body-became-nullable": Level.INFO,
    "response-property-became-nullable": Level.ERR,
    "response-body-became-nullable": Level.ERR,
    "response-property-became-not-nullable": Level.INFO,
    "response-body-became-not-nullable": Level.INFO,
    "api-security-removed": Level.ERR,
    "api-security-added": Level.INFO,
    "api-security-scope-added": Level.ERR,
    "api-security-scope-removed": Level.INFO,
}
# oasdiff's own wording of each check, for people who look the id up.
RULES_URL = "https://github.com/oasdiff/oasdiff/blob/main/docs/BREAKING-CHANGES.md"


class Direction(enum.StrEnum):
    REQUEST = "request"
    RESPONSE = "response"


def compare(base: Document, head: Document, *, today: dt.date | None = None) -> list[Change]:
    """Every change from ``base`` to ``head``, breaking ones and compatible ones."""
    differ = _Differ(base, head, today or dt.date.today())
    return list(differ.run())


@dataclass(frozen=True)
class _Node:
    """A (resolved) value and where it is: its own pointer in its document."""

    value: Any
    pointer: Pointer


class _Differ:
    def __init__(self, base: Document, head: Document, today: dt.date) -> None:
        self.base = base
        self.head = head
        self.today = today

    # ------------------------------------------------------------------ documents

    def resolve(self, doc: Document, value: Any, pointer: Pointer) -> _Node:
        """Follow local ``$ref`` chains (a cycle or a dangling one stays unresolved)."""
        seen: set[str] = set()
        while isinstance(value, Mapping) and isinstance(value.get("$ref"), str):
            ref = value["$ref"]
            if not ref.startswith("#/") or ref in seen:
                break
            seen.add(ref)
            target = _ref_pointer(ref)
            found = doc.get(target)
            if found is None:
                break
            value, pointer = found, target
        return _Node(value, pointer)

    def run(self) -> Iterator[Change]:
        base_paths = _paths(self.base.data)
        head_paths = _paths(self.head.data)
        for key, (raw, base_item) in base_paths.items():
            if key not in head_paths:
                yield from self.path_removed(raw, base_item)
        for key, (raw, head_item) in head_paths.items():
            if key not in base_paths:
                yield from self.path_added(raw, head_item)
            else:
                yield from self.path_changed(base_paths[key][0], raw)

    # ------------------------------------------------------------------ paths

    def path_removed(self, raw: str, item: Mapping[str, Any]) -> Iterator[Change]:
        pointer = ("paths", raw)
        ops = [item[m] for m in METHODS if isinstance(item.get(m), Mapping)]
        deprecated = bool(ops) and all(op.get("deprecated") is True for op in ops)
        rule = "api-path-removed-without-deprecation"
        if deprecated:
            ahead = any(self._sunset_ahead(op) for op in ops)
            rule = (
                "api-path-removed-before-sunset" if ahead else "api-path-removed-with-deprecation"
            )
        yield _change(rule, raw, Side.BASE, pointer, path=raw)

    def path_added(self, raw: str, item: Mapping[str, Any]) -> Iterator[Change]:
        for method in METHODS:
            if isinstance(item.get(method), Mapping):
                operation = f"{method.upper()} {raw}"
                yield _change("endpoint-added", operation, Side.HEAD, ("paths", raw, method))

    def path_changed(self, base_raw: str, head_raw: str) -> Iterator[Change]:
        base_item = self.resolve(self.base, self.base.get(("paths", base_raw)), ("paths", base_raw))
        head_item = self.resolve(self.head, self.head.get(("paths", head_raw)), ("paths", head_raw))
        for method in METHODS:
            b_op = _mapping(base_item.value).get(method)
            h_op = _mapping(head_item.value).get(method)
            operation = f"{method.upper()} {head_raw}"
            b_ptr = (*base_item.pointer, method)
            h_ptr = (*head_item.pointer, method)
            if isinstance(b_op, Mapping) and not isinstance(h_op, Mapping):
                yield self.operation_removed(operation, b_op, b_ptr)
            elif isinstance(h_op, Mapping) and not isinstance(b_op, Mapping):
                yield _change("endpoint-added", operation, Side.HEAD, h_ptr)
            elif isinstance(b_op, Mapping) and isinstance(h_op, Mapping):
                context = _Operation(
                    operation, base_item, head_item, _Node(b_op, b_ptr), _Node(h_op, h_ptr)
                )
                changes = list(self.operation_changed(context))
                if str(b_op.get("x-stability-level", "")).lower() in EXEMPT_STABILITY:
                    changes = [replace(c, level=Level.INFO) for c in changes]
                yield from changes

    def operation_removed(self, operation: str, op: Mapping[str, Any], pointer: Pointer) -> Change:
        rule = "api-removed-without-deprecation"
        if op.get("deprecated") is True:
            ahead = self._sunset_ahead(op)
            rule = "api-removed-before-sunset" if ahead else "api-removed-with-deprecation"
        return _change(rule, operation, Side.BASE, pointer, endpoint=operation)

    def _sunset_ahead(self, op: Mapping[str, Any]) -> bool:
        sunset = op.get("x-sunset")
        if isinstance(sunset, dt.date):
            return sunset > self.today
        try:
            return dt.date.fromisoformat(str(sunset)[:10]) > self.today
        except ValueError:
            return False

    # ------------------------------------------------------------------ operations

    def operation_changed(self, op: _Operation) -> Iterator[Change]:
        if op.head.value.get("deprecated") is True and op.base.value.get("deprecated") is not True:
            yield _change("endpoint-deprecated", op.name, Side.HEAD, op.head.pointer)
        yield from self.parameters(op)
        yield from self.request_body(op)
        yield from self.responses(op)
        yield from self.security(op)

    def _parameters(self, doc: Document, item: _Node, op: _Node) -> dict[tuple[str, str], _Node]:
        found: dict[tuple[str, str], _Node] = {}
        for owner in (item, op):
            params = _mapping(owner.value).get("parameters")
            for index, raw in enumerate(params if isinstance(params, list) else []):
                node = self.resolve(doc, raw, (*owner.pointer, "parameters", index))
                param = _mapping(node.value)
                if "name" in param and "in" in param:
                    found[_param_key(param, item.pointer)] = node
        return found

    def parameters(self, op: _Operation) -> Iterator[Change]:
        base = self._parameters(self.base, op.base_item, op.base)
        head = self._parameters(self.head, op.head_item, op.head)
        for (where, key), node in base.items():
            if (where, key) not in head:
                name = _mapping(node.value).get("name")
                yield _change(
                    "request-parameter-removed",
                    op.name,
                    Side.BASE,
                    node.pointer,
                    where=where,
                    name=name,
                )
        for (where, key), node in head.items():
            name = str(_mapping(node.value).get("name"))
            required = _required_param(node.value)
            if (where, key) not in base:
                kind = "required" if required else "optional"
                rule = f"new-{kind}-request-parameter"
                yield _change(rule, op.name, Side.HEAD, node.pointer, where=where, name=name)
                continue
            old = base[(where, key)]
            was = _required_param(old.value)
            if required != was:
                state = "required" if required else "optional"
                rule = f"request-parameter-became-{state}"
                yield _change(rule, op.name, Side.HEAD, node.pointer, where=where, name=name)
            yield from self.parameter_schema(op.name, where, name, old, node)

    def parameter_schema(
        self, operation: str, where: str, name: str, base: _Node, head: _Node
    ) -> Iterator[Change]:
        b = _param_schema(self.base, base, self.resolve)
        h = _param_schema(self.head, head, self.resolve)
        if where == "body":  # Swagger 2.0: the body is a parameter
            yield from self.schema(operation, b, h, Direction.REQUEST, "", "")
            return
        subject = {"where": where, "name": name}
        family = "request-parameter"
        yield from _type_change(operation, b, h, family, subject, Direction.REQUEST)
        yield from _enum_change(operation, b, h, family, subject, Direction.REQUEST)
        yield from _max_length_change(operation, b, h, family, subject)

    # ------------------------------------------------------------------ request body

    def request_body(self, op: _Operation) -> Iterator[Change]:
        b_raw, h_raw = op.base.value.get("requestBody"), op.head.value.get("requestBody")
        if h_raw is None and b_raw is None:
            return
        b = self.resolve(self.base, b_raw, (*op.base.pointer, "requestBody"))
        h = self.resolve(self.head, h_raw, (*op.head.pointer, "requestBody"))
        h_required = _mapping(h.value).get("required") is True
        if b_raw is None:
            rule = "request-body-added-required" if h_required else "request-body-added-optional"
            yield _change(rule, op.name, Side.HEAD, h.pointer)
            return
        if h_raw is None:
            return  # a body the server no longer reads: clients still send it harmlessly
        b_required = _mapping(b.value).get("required") is True
        if h_required != b_required:
            state = "required" if h_required else "optional"
            yield _change(f"request-body-became-{state}", op.name, Side.HEAD, h.pointer)
        yield from self.content(op.name, b, h, Direction.REQUEST, "")

    def content(
        self, operation: str, base: _Node, head: _Node, direction: Direction, status: str
    ) -> Iterator[Change]:
        b_content = _mapping(_mapping(base.value).get("content"))
        h_content = _mapping(_mapping(head.value).get("content"))
        prefix = "request-body" if direction is Direction.REQUEST else "response"
        for media in b_content:
            if media not in h_content:
                pointer = (*base.pointer, "content", media)
                rule = f"{prefix}-media-type-removed"
                yield _change(rule, operation, Side.BASE, pointer, media=media, status=status)
        for media in h_content:
            h_ptr = (*head.pointer, "content", media)
            if media not in b_content:
                rule = f"{prefix}-media-type-added"
                yield _change(rule, operation, Side.HEAD, h_ptr, media=media, status=status)
                continue
            b_schema = self.resolve(
                self.base,
                _mapping(b_content[media]).get("schema"),
                (*base.pointer, "content", media, "schema"),
            )
            h_schema = self.resolve(
                self.head, _mapping(h_content[media]).get("schema"), (*h_ptr, "schema")
            )
            yield from self.schema(operation, b_schema, h_schema, direction, "", status)

    # ------------------------------------------------------------------ responses

    def responses(self, op: _Operation) -> Iterator[Change]:
        b_all = _mapping(op.base.value.get("responses"))
        h_all = _mapping(op.head.value.get("responses"))
        h_by_code = {str(code): code for code in h_all}
        b_by_code = {str(code): code for code in b_all}
        for code, raw in b_by_code.items():
            if code not in h_by_code:
                kind = "success" if code.startswith("2") else "non-success"
                pointer = (*op.base.pointer, "responses", raw)
                rule = f"response-{kind}-status-removed"
                yield _change(rule, op.name, Side.BASE, pointer, status=code)
        for code, raw in h_by_code.items():
            h_ptr = (*op.head.pointer, "responses", raw)
            if code not in b_by_code:
                kind = "success" if code.startswith("2") else "non-success"
                rule = f"response-{kind}-status-added"
                yield _change(rule, op.name, Side.HEAD, h_ptr, status=code)
                continue
            b = self.resolve(
                self.base, b_all[b_by_code[code]], (*op.base.pointer, "responses", b_by_code[code])
            )
            h = self.resolve(self.head, h_all[raw], h_ptr)
            yield from self.headers(op.name, b, h, code)
            if "schema" in _mapping(b.value) or "schema" in _mapping(h.value):  # Swagger 2.0
                b_schema = self.resolve(
                    self.base, _mapping(b.value).get("schema"), (*b.pointer, "schema")
                )
                h_schema = self.resolve(
                    self.head, _mapping(h.value).get("schema"), (*h.pointer, "schema")
                )
                yield from self.schema(op.name, b_schema, h_schema, Direction.RESPONSE, "", code)
            else:
                yield from self.content(op.name, b, h, Direction.RESPONSE, code)

    def headers(self, operation: str, base: _Node, head: _Node, status: str) -> Iterator[Change]:
        b_headers = _mapping(_mapping(base.value).get("headers"))
        h_headers = _mapping(_mapping(head.value).get("headers"))
        for name, raw in b_headers.items():
            if name in h_headers:
                continue
            header = _mapping(self.resolve(self.base, raw, (*base.pointer, "headers", name)).value)
            kind = "required" if header.get("required") is True else "optional"
            pointer = (*base.pointer, "headers", name)
            rule = f"{kind}-response-header-removed"
            yield _change(rule, operation, Side.BASE, pointer, name=name, status=status)
        for name in h_headers:
            if name not in b_headers:
                pointer = (*head.pointer, "headers", name)
                rule = "response-header-added"
                yield _change(rule, operation, Side.HEAD, pointer, name=name, status=status)

    # ------------------------------------------------------------------ schemas

    def schema(
        self,
        operation: str,
        base: _Node,
        head: _Node,
        direction: Direction,
        prop: str,
        status: str,
        depth: int = 0,
        seen: frozenset[tuple[Pointer, Pointer]] = frozenset(),
    ) -> Iterator[Change]:
        key = (base.pointer, head.pointer)
        if depth > MAX_DEPTH or key in seen or base.value is None or head.value is None:
            return
        seen = seen | {key}
        b, h = self._flat(self.base, base), self._flat(self.head, head)
        yield from self.schema_value(operation, b, h, direction, prop, status)
        yield from self.properties(operation, b, h, direction, prop, status, depth, seen)
        b_items, h_items = _mapping(b.value).get("items"), _mapping(h.value).get("items")
        if isinstance(b_items, Mapping) and isinstance(h_items, Mapping):
            yield from self.schema(
                operation,
                self.resolve(self.base, b_items, (*b.pointer, "items")),
                self.resolve(self.head, h_items, (*h.pointer, "items")),
                direction,
                f"{prop}/items" if prop else "items",
                status,
                depth + 1,
                seen,
            )

    def _flat(self, doc: Document, node: _Node) -> _Node:
        """``allOf`` members merged into one view (properties and required lists)."""
        value = _mapping(node.value)
        parts = value.get("allOf")
        if not isinstance(parts, list):
            return node
        merged: dict[str, Any] = {k: v for k, v in value.items() if k != "allOf"}
        properties: dict[str, Any] = dict(_mapping(value.get("properties")))
        required: list[Any] = list(value.get("required") or [])
        for index, part in enumerate(parts):
            resolved = _mapping(self.resolve(doc, part, (*node.pointer, "allOf", index)).value)
            properties.update(_mapping(resolved.get("properties")))
            required += list(resolved.get("required") or [])
            for field_name in ("type", "enum", "items", "format"):
                if field_name in resolved:
                    merged.setdefault(field_name, resolved[field_name])
        merged["properties"] = properties
        merged["required"] = required
        return _Node(merged, node.pointer)

    def schema_value(
        self, operation: str, b: _Node, h: _Node, direction: Direction, prop: str, status: str
    ) -> Iterator[Change]:
        side = "request" if direction is Direction.REQUEST else "response"
        family = f"{side}-property" if prop else f"{side}-body"
        subject = {"property": prop, "status": status}
        yield from _type_change(operation, b, h, family, subject, direction)
        yield from _nullable_change(operation, b, h, family, subject)
        if prop:
            yield from _enum_change(operation, b, h, family, subject, direction)
            if direction is Direction.REQUEST:
                yield from _max_length_change(operation, b, h, family, subject)

    def properties(
        self,
        operation: str,
        b: _Node,
        h: _Node,
        direction: Direction,
        prop: str,
        status: str,
        depth: int,
        seen: frozenset[tuple[Pointer, Pointer]],
    ) -> Iterator[Change]:
        b_props = _mapping(_mapping(b.value).get("properties"))
        h_props = _mapping(_mapping(h.value).get("properties"))
        b_required = set(_mapping(b.value).get("required") or [])
        h_required = set(_mapping(h.value).get("required") or [])
        for name in b_props:
            path = f"{prop}/{name}" if prop else str(name)
            if name not in h_props:
                yield self.property_removed(
                    operation, b, name, path, name in b_required, direction, status
                )
        for name, raw in h_props.items():
            path = f"{prop}/{name}" if prop else str(name)
            h_node = self.resolve(self.head, raw, (*h.pointer, "properties", name))
            if name not in b_props:
                yield from self.property_added(
                    operation, h_node, path, name in h_required, direction, status
                )
                continue
            yield from self.property_required(
                operation, h_node, path, name in b_required, name in h_required, direction, status
            )
            b_node = self.resolve(self.base, b_props[name], (*b.pointer, "properties", name))
            yield from self.schema(
                operation, b_node, h_node, direction, path, status, depth + 1, seen
            )

    def property_removed(
        self,
        operation: str,
        b: _Node,
        name: str,
        path: str,
        required: bool,
        direction: Direction,
        status: str,
    ) -> Change:
        pointer = (*b.pointer, "properties", name)
        kind = "required" if required else "optional"
        rule = (
            "request-property-removed"
            if direction is Direction.REQUEST
            else f"response-{kind}-property-removed"
        )
        return _change(rule, operation, Side.BASE, pointer, property=path, status=status)

    def property_added(
        self, operation: str, h: _Node, path: str, required: bool, direction: Direction, status: str
    ) -> Iterator[Change]:
        value = _mapping(h.value)
        if direction is Direction.REQUEST:
            if value.get("readOnly") is True:
                return
            kind = "required" if required else "optional"
            rule = f"new-{kind}-request-property"
            yield _change(rule, operation, Side.HEAD, h.pointer, property=path)
            return
        if value.get("writeOnly") is True:
            return
        kind = "required" if required else "optional"
        rule = f"response-{kind}-property-added"
        yield _change(rule, operation, Side.HEAD, h.pointer, property=path, status=status)

    def property_required(
        self,
        operation: str,
        h: _Node,
        path: str,
        was: bool,
        now: bool,
        direction: Direction,
        status: str,
    ) -> Iterator[Change]:
        if was == now:
            return
        side = "request" if direction is Direction.REQUEST else "response"
        state = "required" if now else "optional"
        rule = f"{side}-property-became-{state}"
        yield _change(rule, operation, Side.HEAD, h.pointer, property=path, status=status)

    # ------------------------------------------------------------------ security

    def security(self, op: _Operation) -> Iterator[Change]:
        b_reqs, b_ptr = _security(self.base.data, op.base)
        h_reqs, h_ptr = _security(self.head.data, op.head)
        b_keys = {frozenset(req): req for req in b_reqs}
        h_keys = {frozenset(req): req for req in h_reqs}
        public = not b_reqs or any(not req for req in b_reqs)
        for key in b_keys:
            if key not in h_keys and key:
                schemes = _schemes(key)
                yield _change("api-security-removed", op.name, Side.BASE, b_ptr, schemes=schemes)
        for key, req in h_keys.items():
            if key not in b_keys and key:
                schemes = _schemes(key)
                change = _change("api-security-added", op.name, Side.HEAD, h_ptr, schemes=schemes)
                yield replace(change, level=Level.ERR) if public else change
                continue
            for scheme, scopes in req.items():
                before = set(b_keys.get(key, {}).get(scheme, ()))
                for scope in sorted(set(scopes) - before):
                    rule = "api-security-scope-added"
                    yield _change(rule, op.name, Side.HEAD, h_ptr, scope=scope, scheme=scheme)
                for scope in sorted(before - set(scopes)):
                    rule = "api-security-scope-removed"
                    yield _change(rule, op.name, Side.HEAD, h_ptr, scope=scope, scheme=scheme)


@dataclass(frozen=True)
class _Operation:
    name: str
    base_item: _Node
    head_item: _Node
    base: _Node
    head: _Node


# ---------------------------------------------------------------------------- helpers


def _change(rule: str, operation: str, side: Side, pointer: Pointer, **fields: Any) -> Change:
    return Change(rule, RULES[rule], operation, message(rule, **fields), side, tuple(pointer))


def message(rule: str, **fields: Any) -> str:
    """What a change says (:mod:`gates.contracts.texts`): its own text, or a schema change
    of a subject (``request-property`` + ``enum-value-removed``)."""
    if rule in texts.OPENAPI:
        return texts.OPENAPI[rule].format(**fields)
    family = next(f for f in sorted(texts.SUBJECTS, key=len, reverse=True) if rule.startswith(f))
    subject = texts.SUBJECTS[family].format_map(_Blank(fields))
    return texts.SCHEMA_CHANGES[rule[len(family) + 1 :]].format(subject=subject, **fields)


class _Blank(dict[str, Any]):
    """Fields a subject names but a change lacks read as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _paths(data: Any) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Paths by their shape (parameter names blanked): shape -> (as written, item)."""
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for raw, item in _mapping(_mapping(data).get("paths")).items():
        if isinstance(raw, str) and isinstance(item, Mapping):
            found.setdefault(_PATH_PARAM.sub("{}", raw), (raw, item))
    return found


def _ref_pointer(ref: str) -> Pointer:
    parts = ref[2:].split("/") if len(ref) > 2 else []
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in parts)


def _param_key(param: Mapping[str, Any], item_pointer: Pointer) -> tuple[str, str]:
    """Parameters match by place and name; path parameters by position in the path, so
    renaming ``{id}`` to ``{itemId}`` is not a removal plus an addition."""
    where, name = str(param["in"]), str(param["name"])
    path = str(item_pointer[-1]) if item_pointer and item_pointer[0] == "paths" else ""
    if where == "path":
        names = [match[1:-1] for match in _PATH_PARAM.findall(path)]
        if name in names:
            return where, f"#{names.index(name)}"
    return where, name


def _required_param(param: Any) -> bool:
    value = _mapping(param)
    return value.get("in") == "path" or value.get("required") is True


def _param_schema(doc: Document, node: _Node, resolve: Any) -> _Node:
    value = _mapping(node.value)
    if isinstance(value.get("schema"), Mapping):
        resolved: _Node = resolve(doc, value["schema"], (*node.pointer, "schema"))
        return resolved
    return node  # Swagger 2.0: type, enum and maxLength sit on the parameter itself


def _types(schema: Mapping[str, Any]) -> frozenset[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return frozenset(str(k) for k in kind if k != "null")
    return frozenset({str(kind)}) if kind is not None else frozenset()


def _type_label(schema: Mapping[str, Any]) -> str:
    types = "/".join(sorted(_types(schema))) or "any"
    return f"{types} ({schema['format']})" if schema.get("format") else types


def _type_change(
    operation: str,
    b: _Node,
    h: _Node,
    family: str,
    subject: Mapping[str, str],
    direction: Direction,
) -> Iterator[Change]:
    b_schema, h_schema = _mapping(b.value), _mapping(h.value)
    b_types, h_types = _types(b_schema), _types(h_schema)
    if not b_types or not h_types:
        return
    same_format = b_schema.get("format") == h_schema.get("format")
    if b_types == h_types and same_format:
        return
    before, after = _type_label(b_schema), _type_label(h_schema)
    widened = _widens(b_types, h_types, same_format)
    rule = f"{family}-type-changed"
    if direction is Direction.REQUEST and widened and f"{family}-type-generalized" in RULES:
        rule = f"{family}-type-generalized"
    yield _change(rule, operation, Side.HEAD, h.pointer, before=before, after=after, **subject)


def _nullable(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return schema.get("nullable") is True or (isinstance(kind, list) and "null" in kind)


def _nullable_change(
    operation: str, b: _Node, h: _Node, family: str, subject: Mapping[str, str]
) -> Iterator[Change]:
    """null accepted now (breaks response readers) or no longer (breaks request senders)."""
    before, after = _nullable(_mapping(b.value)), _nullable(_mapping(h.value))
    if before != after:
        state = "nullable" if after else "not-nullable"
        yield _change(f"{family}-became-{state}", operation, Side.HEAD, h.pointer, **subject)


def _widens(before: frozenset[str], after: frozenset[str], same_format: bool) -> bool:
    """Whether every value of the old type is a value of the new one."""
    if not same_format:
        return False
    widened = {"number" if kind == "integer" else kind for kind in before}
    return before <= after or widened <= after


def _enum_change(
    operation: str,
    b: _Node,
    h: _Node,
    family: str,
    subject: Mapping[str, str],
    direction: Direction,
) -> Iterator[Change]:
    b_enum, h_enum = _mapping(b.value).get("enum"), _mapping(h.value).get("enum")
    if not isinstance(h_enum, list):
        return
    if not isinstance(b_enum, list):
        if direction is Direction.REQUEST and f"{family}-became-enum" in RULES:
            yield _change(f"{family}-became-enum", operation, Side.HEAD, h.pointer, **subject)
        return
    for verb, values in (
        ("removed", [v for v in b_enum if v not in h_enum]),
        ("added", [v for v in h_enum if v not in b_enum]),
    ):
        rule = f"{family}-enum-value-{verb}"
        for value in values if rule in RULES else ():
            yield _change(rule, operation, Side.HEAD, h.pointer, value=repr(value), **subject)


def _max_length_change(
    operation: str, b: _Node, h: _Node, family: str, subject: Mapping[str, str]
) -> Iterator[Change]:
    before, after = _mapping(b.value).get("maxLength"), _mapping(h.value).get("maxLength")
    if not isinstance(after, int) or before == after:
        return
    if not isinstance(before, int):
        change = "set"
    else:
        change = "decreased" if after < before else "increased"
    rule = f"{family}-max-length-{change}"
    yield _change(rule, operation, Side.HEAD, h.pointer, before=before, after=after, **subject)


def _security(data: Any, op: _Node) -> tuple[list[dict[str, tuple[str, ...]]], Pointer]:
    """The operation's effective security requirements (its own, else the document's)."""
    value = _mapping(op.value)
    if isinstance(value.get("security"), list):
        raw, pointer = value["security"], (*op.pointer, "security")
    else:
        raw, pointer = _mapping(data).get("security"), ("security",)
    reqs = [
        {str(name): tuple(str(s) for s in scopes or ()) for name, scopes in _mapping(req).items()}
        for req in (raw if isinstance(raw, list) else [])
    ]
    return reqs, pointer


def _schemes(key: frozenset[str]) -> str:
    return " + ".join(sorted(key))


def breaking(changes: Sequence[Change]) -> list[Change]:
    return [c for c in changes if c.level is not Level.INFO]
