"""The cart service: what the HTTP handlers call."""

from __future__ import annotations

from dataclasses import dataclass

from shop.pricing import COUPONS, PRICES, total
from shop.storage import CartStore


class CartError(Exception):
    """A request the cart cannot honour; ``code`` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CartView:
    cart_id: str
    items: list[tuple[str, int]]
    coupon: str | None
    total_cents: int


class CartService:
    def __init__(self, store: CartStore) -> None:
        self.store = store

    def add(self, cart_id: str, sku: str, qty: int) -> CartView:
        if sku not in PRICES:
            raise CartError("unknown_sku", f"no product {sku!r}")
        if qty < 1:
            raise CartError("bad_quantity", "quantity must be at least 1")
        self.store.add_item(cart_id, sku, qty)
        return self.view(cart_id)

    def apply_coupon(self, cart_id: str, code: str) -> CartView:
        if code not in COUPONS:
            raise CartError("unknown_coupon", f"no coupon {code!r}")
        self.store.set_coupon(cart_id, code)
        return self.view(cart_id)

    def view(self, cart_id: str) -> CartView:
        items = self.store.items(cart_id)
        code = self.store.coupon_code(cart_id)
        coupon = COUPONS.get(code) if code else None
        return CartView(cart_id, items, code, total(items, coupon))
