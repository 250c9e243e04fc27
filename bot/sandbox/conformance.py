"""Checks requests and responses against GitHub's OpenAPI description (rest-api.json).

Every request is matched to one operation (method + path template); its path and
query parameters and JSON body are validated against the operation's schemas, and
every response the sandbox sends is validated against the schema documented for its
status code. One validator is built per schema, lazily, and cached: the description
is about 1 MB and most of it is never needed by a given test run.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry
from referencing.jsonschema import DRAFT4

from bot.sandbox.protocol import ApiError, Msg

SPEC_PATH = Path(__file__).resolve().parent / "spec" / "rest-api.json"
_SPEC_URI = "urn:github:rest-api"
_METHODS = ("get", "post", "put", "patch", "delete")
# Parameters whose values may contain "/" (git refs, file paths, "base...head").
_GREEDY_PARAMS = frozenset({"ref", "path", "basehead"})
_MAX_ERRORS = 10
# Request bodies GitHub accepts that the description's schema leaves out. Adding and
# setting issue labels take a bare array too ("You can also pass an array of labels
# directly", says the operation's own text); clients such as PyGithub send that form.
_BARE_ARRAY_BODIES = {"issues/add-labels": "labels", "issues/set-labels": "labels"}
# Operations whose 422 GitHub sends with plain-string ``errors``, which its description
# does not allow: {"message": "Unprocessable Entity", "errors": ["Pull request review
# thread line must be part of the diff"]} when creating or submitting a review.
_STRING_ERRORS = frozenset({"pulls/create-review", "pulls/submit-review"})
# Older paths GitHub still serves for a documented operation (clients such as PyGithub
# call them): (method, old template) -> (documented template, renamed parameters).
_ALIASES = {
    ("GET", "/repos/{owner}/{repo}/statuses/{sha}"): (
        "/repos/{owner}/{repo}/commits/{ref}/statuses",
        {"sha": "ref"},
    ),
}


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    pointer: str  # JSON pointer of the parameter's schema inside the document
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class Operation:
    """One documented operation: ``GET /repos/{owner}/{repo}/issues`` and its schemas."""

    method: str
    template: str
    operation_id: str
    docs_url: str
    parameters: tuple[Parameter, ...]
    body_pointer: str | None
    body_required: bool
    # status code ("200", "default") -> JSON pointer of the body schema, or None (no body)
    responses: Mapping[str, str | None]
    pattern: re.Pattern[str] = field(compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.template)


@dataclass(frozen=True)
class Match:
    operation: Operation
    path_params: dict[str, str]


@dataclass(frozen=True)
class Violation:
    """A response the sandbox sent that GitHub's description does not allow."""

    method: str
    path: str
    operation_id: str
    status: int
    problems: tuple[str, ...]

    def __str__(self) -> str:
        head = f"{self.method} {self.path} -> {self.status} ({self.operation_id})"
        return head + "".join(f"\n  - {problem}" for problem in self.problems)


class Spec:
    """The loaded description: operation lookup plus cached request/response validators."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        _allow_null_in_nullable_enums(document)
        _allow_null_in_nullable_choices(document)
        _drop_array_discriminators(document, document)
        self.document = document
        self._registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, DRAFT4.create_resource(document)
        )
        self._validators: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> Spec:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @cached_property
    def operations(self) -> tuple[Operation, ...]:
        found = [
            self._operation(method, template, item)
            for template, item in self.document["paths"].items()
            for method in _METHODS
            if method in item
        ]
        # Literal routes win over templated ones: fewer parameters first, then longer text.
        return tuple(sorted(found, key=lambda op: (op.template.count("{"), -len(op.template))))

    @cached_property
    def by_key(self) -> dict[tuple[str, str], Operation]:
        return {op.key: op for op in self.operations}

    @cached_property
    def by_id(self) -> dict[str, Operation]:
        return {op.operation_id: op for op in self.operations}

    def match(self, method: str, path: str) -> Match | None:
        """The operation serving ``method path`` (path without the /api/v3 prefix)."""
        method = method.upper()
        for op in self.operations:
            if op.method != method:
                continue
            found = op.pattern.fullmatch(path)
            if found:
                params = {name: unquote(value) for name, value in found.groupdict().items()}
                return Match(op, params)
        return self._match_alias(method, path)

    def _match_alias(self, method: str, path: str) -> Match | None:
        for (verb, template), (target, renames) in _ALIASES.items():
            found = _compile(template).fullmatch(path) if verb == method else None
            if found:
                params = {
                    renames.get(name, name): unquote(value)
                    for name, value in found.groupdict().items()
                }
                return Match(self.by_key[(method, target)], params)
        return None

    # --- request validation ---------------------------------------------------------

    def coerce_path_params(self, op: Operation, raw: Mapping[str, str]) -> dict[str, Any]:
        """Typed path parameters; a value of the wrong type means no such route (404)."""
        typed: dict[str, Any] = {}
        for param in op.parameters:
            if param.location != "path" or param.name not in raw:
                continue
            value = _coerce(raw[param.name], param.schema)
            if value is _INVALID or self._errors_for(param.pointer, value, write=True):
                raise ApiError(404, Msg.NOT_FOUND)
            typed[param.name] = value
        return typed

    def coerce_query(self, op: Operation, raw: Mapping[str, str]) -> dict[str, Any]:
        """Typed query parameters the operation documents; others are ignored, as GitHub does."""
        typed: dict[str, Any] = {}
        problems: list[dict[str, Any]] = []
        for param in op.parameters:
            if param.location != "query" or param.name not in raw:
                continue
            value = _coerce(raw[param.name], param.schema)
            errors = [] if value is _INVALID else self._errors_for(param.pointer, value, True)
            if value is _INVALID or errors:
                problems.append(
                    {
                        "field": param.name,
                        "code": "invalid",
                        "value": raw[param.name],
                        "message": f"{param.name} is invalid: {raw[param.name]!r}",
                    }
                )
                continue
            typed[param.name] = value
        if problems:
            details = "\n".join(problem["message"] for problem in problems)
            raise ApiError(422, Msg.INVALID_REQUEST.format(details=details), errors=problems)
        return typed

    def validate_body(self, op: Operation, body: Any, present: bool) -> None:
        """422 in GitHub's ``Invalid request.`` shape when the JSON body breaks the schema."""
        if op.body_pointer is None:
            return
        if not present:
            if op.body_required:
                problem = _problem("missing_field", "", "Request body is required.")
                raise _invalid_request([problem])
            return
        if isinstance(body, list) and op.operation_id in _BARE_ARRAY_BODIES:
            body = {_BARE_ARRAY_BODIES[op.operation_id]: body}
        errors = self._errors_for(op.body_pointer, body, write=True)
        if errors:
            raise _invalid_request([_describe(error) for error in errors[:_MAX_ERRORS]])

    # --- response validation --------------------------------------------------------

    def response_problems(self, op: Operation, status: int, body: Any) -> list[str]:
        """What is wrong with a response body for ``status`` (empty when it conforms).

        Error answers (4xx/5xx) are checked against GitHub's error shapes (basic-error,
        or validation-error when they carry ``errors``): several operations describe
        their errors as a ``oneOf`` that any error body matches twice.
        """
        if status >= 400:
            if body is None:
                return []
            errors = body.get("errors")
            strings = isinstance(errors, list) and all(isinstance(e, str) for e in errors)
            if op.operation_id in _STRING_ERRORS and strings:
                body = {key: value for key, value in body.items() if key != "errors"}
            shape = "validation-error" if "errors" in body else "basic-error"
            return self._problems(f"/components/schemas/{shape}", body)
        key = str(status) if str(status) in op.responses else "default"
        if key not in op.responses:
            return [f"status {status} is not documented for {op.operation_id}"]
        pointer = op.responses[key]
        if pointer is None:
            return [] if body is None else ["a body was sent where none is documented"]
        if body is None:
            return [] if status == 304 else ["no body was sent"]
        return self._problems(pointer, body)

    def _problems(self, pointer: str, body: Any) -> list[str]:
        return [_where(error) for error in self._errors_for(pointer, body, write=False)[:20]]

    # --- internals -------------------------------------------------------------------

    def _errors_for(self, pointer: str, instance: Any, write: bool) -> list[ValidationError]:
        validator = self._validator(pointer, write)
        return sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))

    def _validator(self, pointer: str, write: bool) -> Any:
        key = (pointer, "write" if write else "read")
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                kind = OAS30WriteValidator if write else OAS30ReadValidator
                validator = kind(
                    {"$ref": f"{_SPEC_URI}#{pointer}"},
                    registry=self._registry,
                    format_checker=oas30_format_checker,
                )
                self._validators[key] = validator
            return validator

    def _operation(self, method: str, template: str, item: Mapping[str, Any]) -> Operation:
        raw = item[method]
        base = f"/paths/{_escape(template)}/{method}"
        params = [
            self._parameter(p, f"{base}/parameters/{i}")
            for i, p in enumerate(raw.get("parameters", []))
        ]
        body = raw.get("requestBody")
        body_pointer = None
        if body is not None:
            body, body_base = self._deref(body, f"{base}/requestBody")
            if "application/json" in body.get("content", {}):
                body_pointer = f"{body_base}/content/application~1json/schema"
        return Operation(
            method=method.upper(),
            template=template,
            operation_id=raw["operationId"],
            docs_url=raw.get("externalDocs", {}).get("url", "https://docs.github.com/rest"),
            parameters=tuple(params),
            body_pointer=body_pointer,
            body_required=bool(body and body.get("required")),
            responses=self._responses(raw.get("responses", {}), f"{base}/responses"),
            pattern=_compile(template),
        )

    def _parameter(self, raw: Mapping[str, Any], pointer: str) -> Parameter:
        param, where = self._deref(raw, pointer)
        return Parameter(
            name=param["name"],
            location=param["in"],
            required=bool(param.get("required")),
            pointer=f"{where}/schema",
            schema=param.get("schema", {}),
        )

    def _responses(self, raw: Mapping[str, Any], base: str) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for status, response in raw.items():
            resolved, where = self._deref(response, f"{base}/{status}")
            content = resolved.get("content", {})
            if "application/json" in content and "schema" in content["application/json"]:
                found[status] = f"{where}/content/application~1json/schema"
            else:
                found[status] = None
        return found

    def _deref(self, node: Mapping[str, Any], pointer: str) -> tuple[Mapping[str, Any], str]:
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.document
            for part in pointer.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, pointer


_INVALID = object()


def _drop_array_discriminators(node: Any, document: Mapping[str, Any]) -> None:
    """Remove discriminators over alternatives that include an array.

    GET .../contents/{path} is "a directory (array) or a file (object)" with a
    discriminator on ``type``; an array has no property to discriminate on, so plain
    ``oneOf`` matching is the only reading that accepts a real directory listing.
    """
    if isinstance(node, dict):
        branches = node.get("oneOf") or node.get("anyOf") or []
        if "discriminator" in node and any(
            _resolve(document, b).get("type") == "array" for b in branches
        ):
            del node["discriminator"]
        for value in node.values():
            _drop_array_discriminators(value, document)
    elif isinstance(node, list):
        for value in node:
            _drop_array_discriminators(value, document)


def _resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _allow_null_in_nullable_enums(node: Any) -> None:
    """Read ``nullable: true`` + ``enum`` as GitHub means it: null is allowed.

    OpenAPI 3.0.3 says such an enum must list null itself; GitHub's description never
    does, yet GitHub sends ``"conclusion": null`` and ``"state_reason": null``.
    """
    if isinstance(node, dict):
        enum = node.get("enum")
        if node.get("nullable") is True and isinstance(enum, list) and None not in enum:
            enum.append(None)
        for value in node.values():
            _allow_null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _allow_null_in_nullable_enums(value)


def _allow_null_in_nullable_choices(node: Any) -> None:
    """Read ``nullable: true`` beside ``oneOf``/``anyOf`` (and no ``type``) as allowing null.

    The validator applies ``nullable`` only next to ``type``; GitHub's description puts it
    beside choices, e.g. a commit's ``author`` (an account or ``{}``), which GitHub sends
    as null when the commit's email belongs to no account.
    """
    if isinstance(node, dict):
        if node.get("nullable") is True and "type" not in node:
            for keyword in ("oneOf", "anyOf"):
                choices = node.get(keyword)
                if isinstance(choices, list) and {"enum": [None]} not in choices:
                    choices.append({"enum": [None]})
        for value in node.values():
            _allow_null_in_nullable_choices(value)
    elif isinstance(node, list):
        for value in node:
            _allow_null_in_nullable_choices(value)


def _coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return int(raw) if re.fullmatch(r"-?\d+", raw) else _INVALID
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return _INVALID
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, _INVALID)
    if kind == "array":
        return [part for part in raw.split(",") if part]
    return raw


def _compile(template: str) -> re.Pattern[str]:
    pattern = ""
    for literal, name in re.findall(r"([^{]*)(?:\{([^}]+)\})?", template):
        pattern += re.escape(literal)
        if name:
            body = ".*" if name == "path" else ".+" if name in _GREEDY_PARAMS else "[^/]+"
            pattern += f"(?P<{name}>{body})"
    return re.compile(pattern)


def _escape(template: str) -> str:
    return template.replace("~", "~0").replace("/", "~1")


def _invalid_request(problems: list[dict[str, Any]]) -> ApiError:
    details = "\n".join(problem["message"] for problem in problems)
    return ApiError(422, Msg.INVALID_REQUEST.format(details=details), errors=problems)


def _problem(code: str, field_name: str, message: str) -> dict[str, Any]:
    problem: dict[str, Any] = {"code": code, "message": message}
    if field_name:
        problem["field"] = field_name
    return problem


def _location(path: Iterator[Any] | Any) -> str:
    return "/".join(f"{part}" if isinstance(part, int) else f"properties/{part}" for part in path)


def _ruby(value: Any) -> str:
    """Values as GitHub quotes them in messages (JSON, with ``nil`` for null)."""
    text = json.dumps(value)
    return "nil" if text == "null" else text if len(text) <= 80 else text[:77] + "..."


def _describe(error: ValidationError) -> dict[str, Any]:
    """One jsonschema error in GitHub's wording (``"title" wasn't supplied.``...)."""
    path = list(error.absolute_path)
    field_name = ".".join(str(part) for part in path)
    where = f"For '{_location(path)}', " if path else ""
    keyword = error.validator
    if keyword == "required":
        missing = re.match(r"'([^']+)'", error.message)
        name = missing.group(1) if missing else error.message
        full = ".".join([*map(str, path), name])
        return _problem("missing_field", full, f'"{name}" wasn\'t supplied.')
    if keyword == "maxItems":
        limit, count = error.validator_value, len(error.instance)
        message = f"{where}No more than {limit} items are allowed; {count} were supplied."
        return _problem("invalid", field_name, message)
    if keyword == "maxLength":
        limit, count = error.validator_value, len(error.instance)
        message = f"{where}Only {limit} characters are allowed; {count} were supplied."
        return _problem("invalid", field_name, message)
    if keyword == "additionalProperties":
        return _problem("invalid", field_name, f"{where}{error.message}.")
    if keyword == "enum":
        allowed = ", ".join(json.dumps(item) for item in error.validator_value)
        message = f"{where}{_ruby(error.instance)} is not a member of [{allowed}]."
        return _problem("invalid", field_name, message)
    if keyword == "type":
        kind = error.validator_value
        article = "an" if str(kind)[0] in "aeiou" else "a"
        message = f"{where}{_ruby(error.instance)} is not {article} {kind}."
        return _problem("invalid", field_name, message)
    if keyword in ("oneOf", "anyOf"):
        message = f'{where}No subschema in "{keyword}" matched.'
        return _problem("invalid", field_name, message)
    return _problem("invalid", field_name, f"{where}{error.message}.")


def _where(error: ValidationError) -> str:
    path = "/".join(str(part) for part in error.absolute_path) or "(body)"
    return f"{path}: {error.message[:300]}"
