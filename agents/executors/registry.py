"""Which executor does a task: from the specialist's ``executor:`` key in the roster.

``builtin`` looks the specialist up in ``agents.builtin.BUILTINS`` (name -> factory),
imported lazily so TechLead runs without it; a specialist with no built-in agent, and
``llm`` until a model is configured, become hand-offs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from agents.executors.base import Executor
from agents.executors.command import CommandExecutor
from agents.executors.handoff import HandoffExecutor

COMMAND_PREFIX = "command:"
NO_BUILTIN = "no built-in agent does {agent}'s work"
NO_MODEL = "no model is configured for the llm executor"


def builtins() -> Mapping[str, Callable[..., Executor]]:
    try:
        module = importlib.import_module("agents.builtin")
    except ImportError:
        return {}
    found = getattr(module, "BUILTINS", {})
    return found if isinstance(found, Mapping) else {}


def builtin_executor(
    agent_name: str, resolve_action: Callable[[str, str], str | None] | None = None
) -> Executor | None:
    """The built-in agent for ``agent_name``, or None when there is none.

    ``resolve_action`` ((owner/repo, ref) -> commit SHA) lets the workflow hardener pin
    actions through TechLead's own GitHub port.
    """
    factory = builtins().get(agent_name)
    if factory is None:
        return None
    if resolve_action is None:
        return factory()
    return factory(resolve_action=resolve_action)


def executor_for(
    spec: str,
    agent_name: str,
    base_env: Mapping[str, str] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resolve_action: Callable[[str, str], str | None] | None = None,
) -> Executor:
    """The executor a roster entry names; a hand-off when nothing can do the work.

    ``should_stop`` is polled while a command runs: True kills it (a cancelled plan).
    """
    if spec.startswith(COMMAND_PREFIX):
        command = spec[len(COMMAND_PREFIX) :]
        return CommandExecutor(command, base_env=base_env, should_stop=should_stop)
    if spec == "builtin":
        found = builtin_executor(agent_name, resolve_action)
        return found or HandoffExecutor(NO_BUILTIN.format(agent=agent_name))
    if spec == "llm":
        return HandoffExecutor(NO_MODEL)
    return HandoffExecutor()
