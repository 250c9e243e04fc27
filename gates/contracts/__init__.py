"""L2 · Contracts: changed API descriptions validated and compared with the base for breaks.

Contracts are the changed files matching ``gates.contracts`` globs, or (``sniff``)
YAML/JSON files with a top-level ``openapi:``/``swagger:`` key or a json-schema.org
``$schema``. Per kind:

- OpenAPI 2.0-3.1: validated (openapi-spec-validator, :mod:`.validate`), and compared
  with the base version (:mod:`.openapi_diff`, oasdiff's rule ids). Errors are high,
  warnings medium; compatible changes are listed in the summary.
- JSON Schema: validated against its metaschema.
- GraphQL SDL: graphql-core's breaking (high) and dangerous (medium) changes.
- Protobuf: ``buf breaking`` when buf is on PATH, else a note says it was skipped.

Validation problems on the base version are reported as base findings, so only new ones
count. A removed element is annotated on the head file where it used to be
(:mod:`.places`), the message giving its base line.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from unidiff import PatchedFile

from bot.errors import GateError
from gates.config import ContractsConfig, GateConfig, GateLevel, Severity
from gates.contracts import openapi_diff, places, proto, texts
from gates.contracts.documents import TOO_DEEP, Document, DocumentError, load
from gates.contracts.openapi_diff import Level, Side
from gates.diff import ChangedFile, FileStatus
from gates.model import Finding, Scan
from gates.revision import GateInput
from gates.tools import ToolRunner

if TYPE_CHECKING:
    from gates.contracts.graphql_diff import SdlFile
    from gates.contracts.validate import Validation

# The validators and graphql-core are imported when a contract of theirs changed: most
# pull requests change none, and the imports take a quarter of a second.

LEVEL = GateLevel.L2
TITLE = "Contracts"
VALIDATOR = "openapi-spec-validator"
SCHEMA_VALIDATOR = "jsonschema"
DIFFER = "openapi-diff"
GRAPHQL = "graphql-core"
UNREADABLE_RULE = "unreadable-document"
MAX_BYTES = 5 * 1024 * 1024
MAX_COMPATIBLE_ROWS = 100
MAX_GRAPHQL_FILES = 2000
_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox"})
_SNIFF_SUFFIXES = (".json", ".yaml", ".yml")
_SNIFF_BYTES = 4096
_SEVERITY = {Level.ERR: Severity.HIGH, Level.WARN: Severity.MEDIUM}
# A top-level ``openapi: 3.1.0`` / ``swagger: "2.0"`` in YAML, the same key in JSON, or a
# ``$schema`` naming a json-schema.org metaschema.
_OPENAPI_YAML = re.compile(r"^(?:openapi|swagger)[ \t]*:[ \t]*[\"']?\d", re.MULTILINE)
_OPENAPI_JSON = re.compile(r"\"(?:openapi|swagger)\"\s*:\s*\"\d")
_SCHEMA_KEY = re.compile(r"[\"']?\$schema[\"']?\s*:\s*[\"']?https?://json-schema\.org/")


class Kind(enum.StrEnum):
    OPENAPI = "OpenAPI"
    JSON_SCHEMA = "JSON Schema"
    GRAPHQL = "GraphQL"
    PROTOBUF = "protobuf"


@dataclass
class _Outcome:
    """What the checks of all contracts found, gathered for one Scan."""

    head: list[Finding] = field(default_factory=list)
    base: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compatible: list[str] = field(default_factory=list)
    tools: set[str] = field(default_factory=set)


def scan(inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
    if not isinstance(config, ContractsConfig):
        raise GateError("L2 needs the gates.contracts settings")
    found = discover(inp.changes.present(), inp.head, config)
    outcome = _Outcome(notes=_deleted(inp, config))
    if not found:
        return Scan(not_applicable=texts.NOTHING_TO_CHECK, notes=tuple(outcome.notes))
    _documents(inp, found, outcome)
    graphqls = [changed for changed, kind in found if kind is Kind.GRAPHQL]
    if graphqls:
        _graphql(inp, graphqls, config, outcome)
    protos = [changed for changed, kind in found if kind is Kind.PROTOBUF]
    if protos:
        _protobuf(inp, protos, tools, outcome)
    return Scan(
        head=tuple(outcome.head),
        base=tuple(outcome.base),
        notes=tuple(outcome.notes),
        tools=tuple(sorted(outcome.tools)),
        report=_report(outcome.compatible, [changed.path for changed, _ in found]),
    )


def _deleted(inp: GateInput, config: ContractsConfig) -> list[str]:
    """Notes on deleted contracts (a deleted file has no line to annotate)."""
    return [
        texts.DELETED.format(path=changed.path, kind=kind)
        for changed in inp.changes.files.values()
        if changed.status is FileStatus.DELETED and (kind := _by_glob(changed.path, config))
    ]


def _documents(inp: GateInput, found: list[tuple[ChangedFile, Kind]], outcome: _Outcome) -> None:
    """Check each OpenAPI and JSON Schema document on its own."""
    checks: dict[Kind, Callable[[GateInput, ChangedFile, _Outcome], None]] = {
        Kind.OPENAPI: _openapi,
        Kind.JSON_SCHEMA: _json_schema,
    }
    for changed, kind in found:
        if kind not in checks:
            continue
        try:
            checks[kind](inp, changed, outcome)
        except RecursionError:  # the differ and copies recurse per nesting level
            message = texts.UNREADABLE.format(kind=kind, reason=TOO_DEEP)
            outcome.head.append(_finding(changed.path, 1, UNREADABLE_RULE, message, VALIDATOR))


# ---------------------------------------------------------------------------- discovery


def discover(
    files: Sequence[ChangedFile], head: Path, config: ContractsConfig
) -> list[tuple[ChangedFile, Kind]]:
    """The changed files that are contracts, and of which kind."""
    found = []
    for changed in files:
        kind = _by_glob(changed.path, config)
        if kind is None and config.sniff and changed.path.endswith(_SNIFF_SUFFIXES):
            kind = _by_content(head / changed.path)
        if kind is not None:
            found.append((changed, kind))
    return found


def _by_glob(path: str, config: ContractsConfig) -> Kind | None:
    for kind, patterns in (
        (Kind.OPENAPI, config.openapi),
        (Kind.JSON_SCHEMA, config.json_schema),
        (Kind.GRAPHQL, config.graphql),
        (Kind.PROTOBUF, config.protobuf),
    ):
        if places.matches(path, patterns):
            return kind
    return None


def _by_content(path: Path) -> Kind | None:
    """OpenAPI or JSON Schema by a glance at the top of the file (no full parse)."""
    try:
        with path.open("rb") as handle:
            start = handle.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    if _OPENAPI_YAML.search(start) or _OPENAPI_JSON.search(start):
        return Kind.OPENAPI
    if _SCHEMA_KEY.search(start):
        return Kind.JSON_SCHEMA
    return None


# ---------------------------------------------------------------------------- per kind


def _texts(
    inp: GateInput, changed: ChangedFile, outcome: _Outcome
) -> tuple[str | None, str | None]:
    head = _read(inp.head / changed.path)
    if head is None:
        outcome.notes.append(texts.NOT_READ.format(path=changed.path, limit=MAX_BYTES // 2**20))
    base = None
    if inp.base is not None and changed.old_path:
        base = _read(inp.base / changed.old_path)
    return head, base


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _document(
    text: str | None, kind: Kind, changed: ChangedFile, outcome: _Outcome, *, base: bool
) -> Document | None:
    if text is None:
        return None
    try:
        return load(text)
    except DocumentError as exc:
        message = texts.UNREADABLE.format(kind=kind, reason=exc)
        finding = _finding(changed.path, exc.line, UNREADABLE_RULE, message, VALIDATOR)
        (outcome.base if base else outcome.head).append(finding)
        return None


def _openapi(inp: GateInput, changed: ChangedFile, outcome: _Outcome) -> None:
    from gates.contracts.validate import is_openapi, validate_openapi

    head_text, base_text = _texts(inp, changed, outcome)
    head = _document(head_text, Kind.OPENAPI, changed, outcome, base=False)
    base = _document(base_text, Kind.OPENAPI, changed, outcome, base=True)
    outcome.tools.add(VALIDATOR)
    if head is not None:
        _validation(validate_openapi(head), head, changed.path, VALIDATOR, outcome.head, outcome)
    if base is not None and is_openapi(base.data):
        _validation(validate_openapi(base), base, changed.path, VALIDATOR, outcome.base, None)
    if head is None or base is None or not is_openapi(base.data):
        return
    outcome.tools.add(DIFFER)
    patched = places.patched_file(inp.diff, changed.path)
    for change in openapi_diff.compare(base, head):
        message = _change_text(change.operation, change.text, change.rule)
        if change.level is Level.INFO:
            outcome.compatible.append(
                texts.COMPATIBLE_ROW.format(path=changed.path, message=message)
            )
            continue
        doc = base if change.side is Side.BASE else head
        line = doc.line(change.pointer)
        outcome.head.append(
            _placed(
                changed.path, change.side, line, patched, change.rule, message, DIFFER, change.level
            )
        )


def _json_schema(inp: GateInput, changed: ChangedFile, outcome: _Outcome) -> None:
    from gates.contracts.validate import validate_json_schema

    head_text, base_text = _texts(inp, changed, outcome)
    head = _document(head_text, Kind.JSON_SCHEMA, changed, outcome, base=False)
    base = _document(base_text, Kind.JSON_SCHEMA, changed, outcome, base=True)
    outcome.tools.add(SCHEMA_VALIDATOR)
    if head is not None:
        validation = validate_json_schema(head)
        _validation(validation, head, changed.path, SCHEMA_VALIDATOR, outcome.head, outcome)
    if base is not None:
        validation = validate_json_schema(base)
        _validation(validation, base, changed.path, SCHEMA_VALIDATOR, outcome.base, None)


def _validation(
    validation: Validation,
    doc: Document,
    path: str,
    tool: str,
    into: list[Finding],
    outcome: _Outcome | None,
) -> None:
    for problem in validation.problems:
        line, column = doc.position(problem.pointer)
        into.append(_finding(path, line, problem.rule, problem.message, tool, column))
    if outcome is not None and validation.external_refs:
        refs = ", ".join(f"`{ref}`" for ref in validation.external_refs[:5])
        outcome.notes.append(texts.EXTERNAL_REFS.format(path=path, refs=refs))


def _graphql(
    inp: GateInput, files: list[ChangedFile], settings: ContractsConfig, outcome: _Outcome
) -> None:
    """The whole schema (every schema file of the tree) built and compared with the base's."""
    from gates.contracts import graphql_diff

    outcome.tools.add(GRAPHQL)
    changed = {f.path: f for f in files}
    head, base, old_paths = _sdl_sets(inp, changed, settings, outcome)
    if not any(f.path in changed for f in head):
        return  # only client operations changed: no schema to check
    head_ok = _graphql_valid(head, outcome.head, {})
    base_ok = bool(base) and _graphql_valid(base, outcome.base, old_paths)
    if not (head_ok and base_ok):
        return
    for change in graphql_diff.compare(base, head):
        path = old_paths.get(change.path, change.path) if change.side is Side.BASE else change.path
        patched = places.patched_file(inp.diff, path)
        message = texts.CHANGE_NO_OPERATION.format(text=change.text)
        outcome.head.append(
            _placed(
                path, change.side, change.line, patched, change.rule, message, GRAPHQL, change.level
            )
        )


def _sdl_sets(
    inp: GateInput, changed: dict[str, ChangedFile], settings: ContractsConfig, outcome: _Outcome
) -> tuple[list[SdlFile], list[SdlFile], dict[str, str]]:
    """(head schema files, base schema files, base path -> head path of renamed ones).

    A changed file that is not GraphQL at all is a finding (on the side it is broken).
    """
    head: list[SdlFile] = []
    base: list[SdlFile] = []
    old_paths: dict[str, str] = {}
    for path in _graphql_files(inp.head, settings):
        file = _sdl(inp.head / path, path, outcome.head if path in changed else None)
        if file is not None:
            head.append(file)
        if path not in changed:
            if file is not None:
                base.append(file)  # unchanged: the same on both sides
            continue
        old = changed[path].old_path
        if old and inp.base is not None:
            before = _sdl(inp.base / old, old, outcome.base)
            if before is not None:
                base.append(before)
                old_paths[old] = path
    return head, base, old_paths


def _graphql_files(root: Path, settings: ContractsConfig) -> list[str]:
    found = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in _SKIP_DIRS]
        for name in names:
            path = (Path(directory) / name).relative_to(root).as_posix()
            if places.matches(path, settings.graphql):
                found.append(path)
                if len(found) >= MAX_GRAPHQL_FILES:
                    return sorted(found)
    return sorted(found)


def _sdl(file: Path, path: str, into: list[Finding] | None) -> SdlFile | None:
    """The file when it is schema SDL; None for client operations or unreadable files."""
    from gates.contracts import graphql_diff

    text = _read(file)
    if text is None:
        return None
    sdl = graphql_diff.SdlFile(path, text)
    try:
        return sdl if graphql_diff.is_schema(sdl) else None
    except graphql_diff.SchemaInvalid as exc:
        if into is not None:
            message = texts.INVALID_GRAPHQL.format(reason=exc)
            into.append(_finding(path, exc.line, "invalid-graphql", message, GRAPHQL))
        return None


def _graphql_valid(files: list[SdlFile], into: list[Finding], head_paths: dict[str, str]) -> bool:
    """Whether the files build a schema; if not, the problem is a finding (head paths)."""
    from gates.contracts import graphql_diff

    try:
        graphql_diff.build(files)
    except graphql_diff.SchemaInvalid as exc:
        message = texts.INVALID_GRAPHQL.format(reason=exc)
        path = head_paths.get(exc.path, exc.path)
        into.append(_finding(path, exc.line, "invalid-graphql", message, GRAPHQL))
        return False
    return True


def _protobuf(
    inp: GateInput, files: list[ChangedFile], tools: ToolRunner, outcome: _Outcome
) -> None:
    buf = proto.buf_path(tools.env.get("PATH"))
    if buf is None:
        outcome.notes.append(texts.BUF_MISSING.format(count=len(files)))
        return
    outcome.tools.add(proto.TOOL)
    for change in proto.breaking(tools, buf, inp.head, inp.base, files):
        outcome.head.append(
            _finding(
                change.path, change.line, change.rule, change.message, proto.TOOL, change.column
            )
        )


# ---------------------------------------------------------------------------- findings


def _change_text(operation: str, text: str, rule: str) -> str:
    if operation:
        return texts.CHANGE.format(operation=operation, text=text, rule=rule)
    return texts.CHANGE_NO_OPERATION.format(text=text, rule=rule)


def _placed(
    path: str,
    side: Side,
    line: int,
    patched: PatchedFile | None,
    rule: str,
    message: str,
    tool: str,
    level: Level,
) -> Finding:
    """A change as a head finding; a removal is placed where it used to be."""
    if side is Side.BASE:
        message = texts.REMOVED.format(message=message.rstrip("."), line=line)
        line = places.head_line(patched, line)
    return _finding(path, line, rule, message, tool, severity=_SEVERITY[level], url=_url(tool))


def _url(tool: str) -> str:
    return openapi_diff.RULES_URL if tool == DIFFER else ""


def _finding(
    path: str,
    line: int,
    rule: str,
    message: str,
    tool: str,
    column: int | None = None,
    *,
    severity: Severity = Severity.HIGH,
    url: str = "",
) -> Finding:
    return Finding(
        path=path,
        start_line=max(1, line),
        end_line=max(1, line),
        severity=severity,
        rule=rule,
        message=message,
        tool=tool,
        start_column=column,
        url=url,
    )


def _report(compatible: list[str], compared: list[str]) -> str:
    parts = [texts.COMPARED.format(paths=", ".join(f"`{p}`" for p in compared))]
    if compatible:
        shown = compatible[:MAX_COMPATIBLE_ROWS]
        rows = [*shown]
        if len(compatible) > len(shown):
            rows.append(texts.COMPATIBLE_MORE.format(count=len(compatible) - len(shown)))
        parts.append(
            texts.COMPATIBLE_SECTION.format(count=len(compatible)) + "\n" + "\n".join(rows)
        )
    return "\n\n".join(parts)
