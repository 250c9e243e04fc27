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
    """A file ranked relevant to the issue; ``owners`` come from CODEOWNERS."""

    path: str
    score: float
    owners: tuple[str, ...] = ()


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
    security: tuple[Note, ...] = ()
    performance: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Findings:
    """Everything research learnt, aggregated from the agents that finished in time."""

    profile: ProjectProfile = field(default_factory=ProjectProfile)
    relevant: tuple[RelevantFile, ...] = ()
    security: tuple[Note, ...] = ()
    performance: tuple[Note, ...] = ()
    degraded: tuple[Degradation, ...] = ()
    file_count: int = 0
    timings: tuple[AgentTiming, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (enums as strings, tuples as lists)."""
        result: dict[str, Any] = _adapter().dump_python(self, mode="json")
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Findings:
        return _adapter().validate_python(data)

    def relevant_paths(self) -> tuple[str, ...]:
        return tuple(item.path for item in self.relevant)


@functools.cache
def _adapter() -> TypeAdapter[Findings]:
    return TypeAdapter(Findings)
