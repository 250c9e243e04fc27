"""The files an agent may leave for TechLead in ``.techlead/`` of its worktree.

``.techlead/messages.json``: a list of messages to other tasks::

    [{"to": "T3", "kind": "warning", "text": "the cart total is now in cents"}]

``kind`` is ``information``, ``change_request``, ``warning`` or ``confirmation``; ``to``
is a task id or ``*`` (every task). ``.techlead/report.json``: what the task hands on::

    {"summary": "...", "interfaces": ["GET /coupons -> {code, percent}"],
     "notes": ["..."], "new_tasks": ["Document coupons"]}

Both are optional; malformed entries are dropped. The directory is removed before
the change is committed, so it never reaches a branch.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.executors.base import AgentMessage, MessageKind

OUTBOX = ".techlead"
MESSAGES = "messages.json"
REPORT = "report.json"
MAX_ITEMS = 20
MAX_TEXT = 2000


@dataclass(frozen=True)
class Report:
    summary: str = ""
    interfaces: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    new_tasks: tuple[str, ...] = ()


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(item)[:MAX_TEXT] for item in value[:MAX_ITEMS] if isinstance(item, str))


def _message(item: Any, sender: str) -> AgentMessage | None:
    if not isinstance(item, dict):
        return None
    try:
        kind = MessageKind(str(item.get("kind", "information")))
    except ValueError:
        return None
    to, text = str(item.get("to") or ""), str(item.get("text") or "")
    if not to or not text:
        return None
    return AgentMessage(to=to, kind=kind, text=text[:MAX_TEXT], sender=sender)


def collect(worktree: Path, sender: str) -> tuple[tuple[AgentMessage, ...], Report]:
    """Read and remove the outbox of ``worktree``."""
    folder = worktree / OUTBOX
    raw_messages = _load(folder / MESSAGES)
    raw_report = _load(folder / REPORT)
    shutil.rmtree(folder, ignore_errors=True)
    items = raw_messages if isinstance(raw_messages, list) else []
    messages = tuple(m for m in (_message(i, sender) for i in items[:MAX_ITEMS]) if m)
    if not isinstance(raw_report, dict):
        return messages, Report()
    report = Report(
        summary=str(raw_report.get("summary") or "")[:MAX_TEXT],
        interfaces=_texts(raw_report.get("interfaces")),
        notes=_texts(raw_report.get("notes")),
        new_tasks=_texts(raw_report.get("new_tasks")),
    )
    return messages, report
