"""The planning feature's job kinds and their payloads, as typed values stored as JSON."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, TypeVar

from pydantic import TypeAdapter

from bot.features.planning.decide import Reason
from bot.plan.commands import Command
from bot.plan.model import CancelReason

T = TypeVar("T")


class Kind(enum.StrEnum):
    """Job kinds of the planning feature."""

    RUN = "plan.run"  # research and plan (label, reopen, issue edit)
    COMMAND = "plan.command"  # the commands of one comment
    TICKS = "plan.ticks"  # boxes ticked in the plan comment
    CANCEL = "plan.cancel"  # the issue was closed or the label removed


@dataclasses.dataclass(frozen=True)
class Requester:
    """Who asked, as the webhook's ``sender`` says."""

    login: str
    type: str = "User"


@dataclasses.dataclass(frozen=True)
class PlanRequest:
    """``label``: the label added (labeled); ``labels``: the issue's labels (reopened)."""

    repo: str
    issue: int
    reason: Reason
    actor: Requester
    label: str | None = None
    labels: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class CommandRequest:
    repo: str
    issue: int
    comment_id: int
    actor: Requester
    body: str


@dataclasses.dataclass(frozen=True)
class TickRequest:
    repo: str
    issue: int
    comment_id: int
    actor: Requester
    ticks: tuple[Command, ...]


@dataclasses.dataclass(frozen=True)
class CancelRequest:
    repo: str
    issue: int
    reason: CancelReason
    actor: Requester
    label: str | None = None


def to_payload(request: Any) -> dict[str, Any]:
    """A JSON-compatible job payload for a request dataclass."""
    payload: dict[str, Any] = _adapter(type(request)).dump_python(request, mode="json")
    return payload


def from_payload(kind: type[T], payload: Any) -> T:
    return _adapter(kind).validate_python(payload)


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(kind: type[T]) -> TypeAdapter[T]:
    if kind not in _ADAPTERS:
        _ADAPTERS[kind] = TypeAdapter(kind)
    return _ADAPTERS[kind]
