"""The demo's coding agent: a ``command:`` executor that writes each coupon task's change.

``techlead demo`` gives every specialist this executor (``python -m bot.demo_agent``)
so the whole loop runs without a model: the agent reads the task's title from
``TECHLEAD_TASK_TITLE``, picks the matching change for the demo issue and writes it in
the task's worktree (its working directory). Each change is small, clean for the gates
and passes the project's tests; a task it does not know gets a note file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

OPENAPI = """\
openapi: 3.0.3
info:
  title: shop-service
  version: 0.4.0
paths:
  /carts/{id}/coupon:
    post:
      summary: Apply a coupon to a cart
      parameters:
        - name: id
          in: path
          required: true
          schema:
            type: string
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/CouponRequest"
      responses:
        "200":
          description: The cart with the coupon applied
        "400":
          description: An unknown or expired coupon
components:
  schemas:
    CouponRequest:
      type: object
      required: [code]
      properties:
        code:
          type: string
          description: A percentage coupon (WELCOME10) or a fixed amount (FIVEOFF)
"""

COUPONS = '''\
"""Coupons with an expiry date, stored in SQLite next to the carts."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS coupons (
    code        TEXT PRIMARY KEY,
    percent_off INTEGER NOT NULL DEFAULT 0,
    amount_off  INTEGER NOT NULL DEFAULT 0,
    expires_at  TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredCoupon:
    code: str
    percent_off: int
    amount_off: int
    expires_at: str

    def valid_on(self, day: str) -> bool:
        """Whether the coupon still applies on ``day`` (ISO dates compare as text)."""
        return day <= self.expires_at


class CouponStore:
    """Coupons by code."""

    def __init__(self, path: str = ":memory:") -> None:
        self.conn = sqlite3.connect(path)
        self.conn.executescript(SCHEMA)

    def add(self, coupon: StoredCoupon) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO coupons VALUES (?, ?, ?, ?)",
            (coupon.code, coupon.percent_off, coupon.amount_off, coupon.expires_at),
        )

    def get(self, code: str) -> StoredCoupon | None:
        row = self.conn.execute(
            "SELECT code, percent_off, amount_off, expires_at FROM coupons WHERE code = ?",
            (code,),
        ).fetchone()
        return None if row is None else StoredCoupon(*row)
'''

DISCOUNTS = '''\
"""Cart totals after percentage and fixed-amount coupons."""

from __future__ import annotations

from shop.coupons import StoredCoupon


def discounted(subtotal: int, coupon: StoredCoupon | None, day: str) -> int:
    """The total in cents: a percentage first, then a fixed amount, never below zero."""
    if coupon is None or not coupon.valid_on(day):
        return subtotal
    after_percent = subtotal - subtotal * coupon.percent_off // 100
    return max(after_percent - coupon.amount_off, 0)
'''

TESTS = """\
from shop.coupons import CouponStore, StoredCoupon
from shop.discounts import discounted

WELCOME = StoredCoupon("WELCOME10", 10, 0, "2030-01-01")
FIVE_OFF = StoredCoupon("FIVEOFF", 0, 500, "2030-01-01")


def test_percentage_coupon() -> None:
    assert discounted(3900, WELCOME, "2026-06-01") == 3510


def test_fixed_amount_coupon() -> None:
    assert discounted(3900, FIVE_OFF, "2026-06-01") == 3400


def test_fixed_amount_never_goes_below_zero() -> None:
    assert discounted(300, FIVE_OFF, "2026-06-01") == 0


def test_expired_coupon_changes_nothing() -> None:
    assert discounted(3900, FIVE_OFF, "2031-01-01") == 3900


def test_coupons_are_stored_by_code() -> None:
    store = CouponStore()
    store.add(FIVE_OFF)
    assert store.get("FIVEOFF") == FIVE_OFF
    assert store.get("NOPE") is None
"""

DOCS = """
## Coupons

`POST /carts/{id}/coupon` with `{"code": "WELCOME10"}` (10 % off) or
`{"code": "FIVEOFF"}` (5 EUR off). Coupons expire; an unknown or expired code answers
`400` with `{"error": "unknown_coupon"}`. The schema is in `docs/openapi.yaml`.
"""


def write(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def append(path: str, text: str) -> None:
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(text)


# The first matching word of a task's title chooses its change.
CHANGES: tuple[tuple[str, Callable[[], None]], ...] = (
    ("schema", lambda: write("docs/openapi.yaml", OPENAPI)),
    ("database", lambda: write("src/shop/coupons.py", COUPONS)),
    ("tests", lambda: write("tests/test_coupons.py", TESTS)),
    ("discount", lambda: write("src/shop/discounts.py", DISCOUNTS)),
    ("document", lambda: append("docs/api.md", DOCS)),
)


def main() -> int:
    task = os.environ.get("TECHLEAD_TASK_ID", "T?")
    title = os.environ.get("TECHLEAD_TASK_TITLE", "").lower()
    for word, change in CHANGES:
        if word in title:
            change()
            print(f"{task}: wrote the change for '{word}'")
            return 0
    write(f"notes/{task}.md", f"# {task}\n\nNothing to change for: {title}\n")
    print(f"{task}: no change known, left a note")
    return 0


def roster_config(python: str = sys.executable) -> str:
    """``.github/techlead.yml`` lines giving every default specialist this agent."""
    names = (
        "project-analyst",
        "api-architect",
        "database-expert",
        "backend-developer",
        "frontend-developer",
        "security-guardian",
        "performance-expert",
        "test-engineer",
        "code-reviewer",
        "docs-writer",
        "devops-engineer",
    )
    executor = f"command:{python} -m bot.demo_agent"
    lines = ["agents:"] + [f"  - name: {name}\n    executor: '{executor}'" for name in names]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
