"""The research results: frozen, JSON-serialisable records the planner reads."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter


class ApiSpecKind(enum.StrEnum):
    OPENAPI = "openapi"
    SWAGGER = "swagger"
    JSON_SCHEMA = "json-schema"


class NoteKind(enum.StrEnum):
    """What a specialist's note is about."""

    AUTH = "auth"
    SECRETS = "secrets"
    CRYPTO = "crypto"
    PAYMENTS = "payments"
    SQL = "sql"
    SHELL = "shell"
    DESERIALISATION = "deserialisation"
    CI = "ci"
    HOT_PATH = "hot-path"
    DB_QUERY = "db-query"
    IO_IN_LOOP = "io-in-loop"
    N_PLUS_ONE = "n-plus-one"


@dataclass(frozen=True)
class LanguageShare:
    name: str
    bytes: int
    percent: float


@dataclass(frozen=True)
class ApiSpec:
    path: str
    kind: ApiSpecKind


@dataclass(frozen=True)
class ProjectProfile:
    """What the project analyst learnt about the repository as a whole."""

    languages: tuple[LanguageShare, ...] = ()
    frameworks: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    test_framework: str | None = None
    test_command: str | None = None
    top_dirs: tuple[str, ...] = ()
    src_layout: bool = False
    manifests: tuple[str, ...] = ()
    api_specs: tuple[ApiSpec, ...] = ()

    @property
    def primary_language(self) -> str | None:
        return self.languages[0].name if self.languages else None


@dataclass(frozen=True)
class RelevantFile:
    """A file ranked relevant to the issue; ``owners`` come from CODEOWNERS.

    ``pinned`` files are the ones the issue names (a path, a traceback frame, a module,
    a symbol or route they define) and come first; ``reasons`` say why in words;
    ``symbols`` are the definitions the issue names in the file, or else the file's main
    ones; ``tests`` are the test files that exercise it, by name; ``kind`` is
    ``code``, ``test``, ``doc`` or ``config``.
    """

    path: str
    score: float
    owners: tuple[str, ...] = ()
    kind: str = "code"
    pinned: bool = False
    reasons: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()


@dataclass(frozen=True)
class Note:
    """A specialist's short remark about one place in the code."""

    kind: NoteKind
    path: str
    line: int
    message: str

    @property
    def ref(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Degradation:
    """An agent that failed or ran out of time; the findings lack its part."""

    agent: str
    reason: str


@dataclass(frozen=True)
class AgentTiming:
    agent: str
    seconds: float


@dataclass(frozen=True)
class Contribution:
    """What one agent adds to the findings; the runner merges contributions."""

    profile: ProjectProfile | None = None
    relevant: tuple[RelevantFile, ...] = ()
    docs: tuple[RelevantFile, ...] = ()
    security: tuple[Note, ...] = ()
    performance: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Findings:
    """Everything research learnt, aggregated from the agents that finished in time.

    ``relevant`` holds the files to change, pinned ones first (code, or prose when the
    issue is about documentation); ``docs`` ranks the prose files on their own.
    Security and performance notes are only about relevant files and only on the
    issue's topic; each note's ``path`` names the file it is about. When the worktree
    was too large, ``skipped_files`` files were not read, mostly in ``skipped_dirs``.
    """

    profile: ProjectProfile = field(default_factory=ProjectProfile)
    relevant: tuple[RelevantFile, ...] = ()
    security: tuple[Note, ...] = ()
    performance: tuple[Note, ...] = ()
    degraded: tuple[Degradation, ...] = ()
    file_count: int = 0
    timings: tuple[AgentTiming, ...] = ()
    docs: tuple[RelevantFile, ...] = ()
    skipped_files: int = 0
    skipped_dirs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (enums as strings, tuples as lists)."""
        result: dict[str, Any] = _adapter().dump_python(self, mode="json")
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Findings:
        return _adapter().validate_python(data)

    def relevant_paths(self) -> tuple[str, ...]:
        return tuple(item.path for item in self.relevant)

    def pinned_paths(self) -> tuple[str, ...]:
        """The files the issue names, strongest evidence first."""
        return tuple(item.path for item in self.relevant if item.pinned)

    def notes_on(self, path: str) -> tuple[Note, ...]:
        """The security and performance notes about one file, for the task that touches it."""
        return tuple(note for note in (*self.security, *self.performance) if note.path == path)


@functools.cache
def _adapter() -> TypeAdapter[Findings]:
    return TypeAdapter(Findings)
