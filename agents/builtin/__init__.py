"""Built-in agents: deterministic fixes done without a model and without the network.

``BUILTINS`` maps a roster specialist's name to a factory of its executor; the executor
picks, per task, the built-in agent that fits (:func:`choose_builtin`) or hands the task
to a person. Call a factory with no arguments, or with ``resolve_action=`` (owner/repo,
ref -> commit SHA) so the workflow hardener can pin actions.
"""

from __future__ import annotations

from agents.builtin.choose import ALL, choose_builtin
from agents.builtin.roster import (
    SPECIALISTS,
    ActionResolver,
    BuiltinFactory,
    Specialist,
    builtins,
    make_builtin,
)

BUILTINS: dict[str, BuiltinFactory] = builtins()

__all__ = [
    "ALL",
    "BUILTINS",
    "SPECIALISTS",
    "ActionResolver",
    "BuiltinFactory",
    "Specialist",
    "choose_builtin",
    "make_builtin",
]
