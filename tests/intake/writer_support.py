"""What the writer-process and intake-journal tests share: sample bodies and batch items."""

from __future__ import annotations

from typing import Any

import pytest

import bot.store
from bot.intake import Delivery
from tests.intake.conftest import T0, payload_bytes

GOOD = payload_bytes({"action": "opened", "installation": {"id": 42}})
OTHER = payload_bytes({"action": "closed", "repository": {"full_name": "o/r"}})
# A lone surrogate and an installation id past SQLite's integers: the store refuses both.
ODD = b'{"action":"\\ud800","installation":{"id":9223372036854775808}}'


def items(*deliveries: tuple[str, bytes]) -> list[tuple[int, str, str, float, bytes]]:
    """The writer's inbox items for ``(delivery id, body)`` pairs, numbered in order."""
    return [(seq, did, "issues", T0, body) for seq, (did, body) in enumerate(deliveries)]


def counting_ids(count: int) -> list[str]:
    return [f"trace-{index}" for index in range(count)]


POISON = "poison"


def refuse_poison_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the store refuse the row of delivery ``poison`` as SQLite refuses odd values."""
    real = bot.store._delivery_row

    def picky(delivery: Delivery, trace_id: str, now: float) -> tuple[Any, ...]:
        if delivery.delivery_id == POISON:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return real(delivery, trace_id, now)

    monkeypatch.setattr(bot.store, "_delivery_row", picky)
