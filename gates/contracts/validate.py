"""Validates OpenAPI (2.0, 3.0, 3.1) and JSON Schema documents; problems come with a JSON path.

openapi-spec-validator and jsonschema report ``absolute_path``; the caller turns that
into a line through :class:`~gates.contracts.documents.Document`. References inside the
document that point nowhere are found here first (the validator stops at the first
one); references to other files or URLs are never fetched: they are validated as
empty schemas and listed, so a contract can neither read local files nor reach the
network.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import exceptions as schema_exceptions
from jsonschema import validators
from referencing.exceptions import Unresolvable

from gates.contracts.documents import Document, Pointer

INVALID_OPENAPI = "invalid-openapi"
INVALID_SCHEMA = "invalid-json-schema"
UNRESOLVED_REF = "unresolved-ref"
MAX_ERRORS = 200
NOT_OPENAPI = "not an OpenAPI document: no top-level openapi: or swagger: key"
VALIDATOR_STOPPED = "the document is too malformed to validate further ({error})"
_VERSION_KEYS = ("openapi", "swagger")


@dataclass(frozen=True)
class Problem:
    """One validation error: rule, message, and the JSON path of the offending node."""

    rule: str
    message: str
    pointer: Pointer


@dataclass(frozen=True)
class Validation:
    problems: tuple[Problem, ...]
    external_refs: tuple[str, ...] = ()


def is_openapi(data: Any) -> bool:
    return isinstance(data, Mapping) and any(key in data for key in _VERSION_KEYS)


def validate_openapi(doc: Document) -> Validation:
    """Problems of an OpenAPI document, its version detected from ``openapi``/``swagger``."""
    if not is_openapi(doc.data):
        return Validation((Problem(INVALID_OPENAPI, NOT_OPENAPI, ()),))
    local, external = _references(doc)
    problems = list(local)
    # Dangling and external references become empty schemas: the validator would stop
    # at the first one it cannot resolve.
    dangling = [(problem.message, problem.pointer[:-1]) for problem in local]
    data = _blanked(doc.data, [*external, *dangling])
    try:
        for error in _spec_errors(data):
            problems.append(_problem(INVALID_OPENAPI, error))
            if len(problems) >= MAX_ERRORS:
                break
    except Unresolvable as exc:  # a reference our walk could not see (e.g. in a key)
        problems.append(Problem(UNRESOLVED_REF, f"unresolvable reference: {exc}", ()))
    except schema_exceptions.ValidationError as exc:  # raised by version detection
        problems.append(Problem(INVALID_OPENAPI, exc.message, tuple(exc.absolute_path)))
    except Exception as exc:
        # The validator walks what it expects and trips (TypeError, even assert) over
        # some malformed documents: that is an invalid document, not a crash of the gate.
        problems.append(Problem(INVALID_OPENAPI, VALIDATOR_STOPPED.format(error=exc), ()))
    return Validation(tuple(problems), tuple(sorted({ref for ref, _ in external})))


def _spec_errors(data: Any) -> Iterator[schema_exceptions.ValidationError]:
    # Imported when a contract is found: it takes a quarter of a second.
    from openapi_spec_validator.shortcuts import SPEC2VALIDATOR
    from openapi_spec_validator.versions.exceptions import OpenAPIVersionNotFound
    from openapi_spec_validator.versions.shortcuts import get_spec_version

    try:
        validator_cls = SPEC2VALIDATOR[get_spec_version(data)]
    except OpenAPIVersionNotFound as exc:
        raise schema_exceptions.ValidationError(
            f"not a supported OpenAPI version ({exc})", path=[_version_key(data)]
        ) from exc
    yield from validator_cls(data).iter_errors()


def _version_key(data: Mapping[str, Any]) -> str:
    return next((key for key in _VERSION_KEYS if key in data), "openapi")


def validate_json_schema(doc: Document) -> Validation:
    """Problems of a JSON Schema against its own metaschema (``$schema``, else the latest)."""
    if not isinstance(doc.data, Mapping | bool):
        return Validation((Problem(INVALID_SCHEMA, "a JSON Schema is an object or a boolean", ()),))
    local, external = _references(doc)
    cls = validators.validator_for(doc.data, default=validators.Draft202012Validator)
    meta = cls(cls.META_SCHEMA)
    problems = list(local)
    for error in meta.iter_errors(doc.data):
        problems.append(_problem(INVALID_SCHEMA, error))
        if len(problems) >= MAX_ERRORS:
            break
    return Validation(tuple(problems), tuple(sorted({ref for ref, _ in external})))


def _problem(rule: str, error: schema_exceptions.ValidationError) -> Problem:
    best = schema_exceptions.best_match([error, *error.context]) if error.context else error
    path = tuple(error.absolute_path)
    if best is not error and len(best.absolute_path) > len(path):
        path = tuple(best.absolute_path)
    return Problem(rule, _message(error, best), path)


def _message(
    error: schema_exceptions.ValidationError, best: schema_exceptions.ValidationError
) -> str:
    text = best.message if best is not error else error.message
    return text if len(text) <= 300 else text[:299] + "…"


def _references(doc: Document) -> tuple[list[Problem], list[tuple[str, Pointer]]]:
    """(dangling local references as problems, external references with their place)."""
    problems: list[Problem] = []
    external: list[tuple[str, Pointer]] = []
    for ref, pointer in _refs(doc.data):
        if ref.startswith("#"):
            if ref != "#" and not _resolves(doc, ref):
                message = f"$ref {ref} points to nothing in this document"
                problems.append(Problem(UNRESOLVED_REF, message, (*pointer, "$ref")))
        else:
            external.append((ref, pointer))
    return problems, external


def _refs(data: Any) -> Iterator[tuple[str, Pointer]]:
    stack: list[tuple[Any, Pointer]] = [(data, ())]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str):
                yield ref, pointer
            stack.extend((value, (*pointer, key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, (*pointer, index)) for index, value in enumerate(node))


def _resolves(doc: Document, ref: str) -> bool:
    if not ref.startswith("#/"):
        return False  # "#anchor" forms are not followed: treat as dangling to be safe
    parts = tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))
    node = doc.data
    for part in parts:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _blanked(data: Any, refs: list[tuple[str, Pointer]]) -> Any:
    """A copy where the objects holding ``refs`` are empty (nothing is fetched)."""
    if not refs:
        return data
    result = copy.deepcopy(data)
    for _, pointer in refs:
        node = result
        for part in pointer:
            node = node[part]
        node.clear()
    return result
