"""Remembers what an agent computed from an inventory, for the next issue on the same commit.

Inventories are immutable and the planning service keeps the last commit's inventory,
so everything research derives from the files alone (documents, indexes, the project
profile) can be kept until the inventory itself is dropped. Entries are keyed by the
inventory's identity and hold it weakly; the few most recent are kept.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from agents.research.inventory import Inventory

T = TypeVar("T")
KEPT = 4


class InventoryMemo(Generic[T]):
    """``get(inventory, build)``: the value built for this inventory, built once."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._items: OrderedDict[int, tuple[weakref.ref[Inventory], T]] = OrderedDict()
        self._lock = threading.Lock()

    def latest(self) -> T | None:
        """The value remembered last, whatever its inventory (for incremental builds)."""
        with self._lock:
            for ref, value in reversed(self._items.values()):
                if ref() is not None:
                    return value
        return None

    def get(self, inventory: Inventory, build: Callable[[], T | None]) -> T | None:
        """The remembered value, or ``build()`` (remembered unless it is None)."""
        with self._lock:
            found = self._items.get(id(inventory))
        if found is not None and found[0]() is inventory:
            return found[1]
        value = build()
        if value is not None:
            with self._lock:
                self._items[id(inventory)] = (weakref.ref(inventory), value)
                while len(self._items) > self.kept:
                    self._items.popitem(last=False)
        return value
