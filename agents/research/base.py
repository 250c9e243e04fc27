"""What every research agent is given and must provide."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from agents.research.inventory import Inventory
from agents.research.model import Contribution


@dataclass(frozen=True)
class ResearchContext:
    """One research run: the shared inventory, the issue text, and a stop signal.

    ``focus`` is None while the files are being ranked; agents marked ``focused`` run
    afterwards with the relevant files in it, and look only at those.
    """

    inventory: Inventory
    query: str
    top_n: int = 10
    stop: threading.Event = field(default_factory=threading.Event, compare=False)
    focus: tuple[str, ...] | None = None

    def expired(self) -> bool:
        """True once the agent's budget is spent; long loops check it and return early."""
        return self.stop.is_set()


class ResearchAgent(Protocol):
    """An independent researcher; agents run concurrently and must not share state.

    An agent with a true ``focused`` attribute runs after the others, over
    ``ResearchContext.focus``.
    """

    name: str

    def run(self, context: ResearchContext) -> Contribution: ...
