"""Cart storage in SQLite."""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS cart_items (
    cart_id TEXT NOT NULL,
    sku     TEXT NOT NULL,
    qty     INTEGER NOT NULL,
    PRIMARY KEY (cart_id, sku)
);
CREATE TABLE IF NOT EXISTS cart_coupons (
    cart_id TEXT PRIMARY KEY,
    code    TEXT NOT NULL
);
"""


class CartStore:
    """Items and coupons per cart."""

    def __init__(self, path: str = ":memory:") -> None:
        self.conn = sqlite3.connect(path)
        self.conn.executescript(SCHEMA)

    def add_item(self, cart_id: str, sku: str, qty: int) -> None:
        self.conn.execute(
            "INSERT INTO cart_items (cart_id, sku, qty) VALUES (?, ?, ?) "
            "ON CONFLICT (cart_id, sku) DO UPDATE SET qty = qty + excluded.qty",
            (cart_id, sku, qty),
        )

    def items(self, cart_id: str) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT sku, qty FROM cart_items WHERE cart_id = ? ORDER BY sku", (cart_id,)
        )
        return [(sku, qty) for sku, qty in rows]

    def set_coupon(self, cart_id: str, code: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO cart_coupons (cart_id, code) VALUES (?, ?)", (cart_id, code)
        )

    def coupon_code(self, cart_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT code FROM cart_coupons WHERE cart_id = ?", (cart_id,)
        ).fetchone()
        return None if row is None else str(row[0])
