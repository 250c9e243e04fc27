import pytest
from shop.cart import CartError, CartService
from shop.storage import CartStore


def test_adding_items_updates_the_total() -> None:
    service = CartService(CartStore())
    service.add("c1", "tea", 1)
    view = service.add("c1", "tea", 2)
    assert view.items == [("tea", 3)]
    assert view.total_cents == 1350


def test_unknown_products_are_refused() -> None:
    with pytest.raises(CartError, match="no product"):
        CartService(CartStore()).add("c1", "spoon", 1)
