"""Prices in cents, coupons and cart totals."""

from __future__ import annotations

from dataclasses import dataclass

PRICES = {"tea": 450, "mug": 1200, "kettle": 3900}


@dataclass(frozen=True)
class Coupon:
    code: str
    percent_off: int


COUPONS = {"WELCOME10": Coupon("WELCOME10", 10)}


def price_of(sku: str) -> int:
    """The unit price of ``sku`` in cents; KeyError for an unknown product."""
    return PRICES[sku]


def total(lines: list[tuple[str, int]], coupon: Coupon | None = None) -> int:
    """The cart total in cents, after the coupon (rounded down to a cent)."""
    subtotal = sum(price_of(sku) * qty for sku, qty in lines)
    if coupon is None:
        return subtotal
    return subtotal - subtotal * coupon.percent_off // 100
