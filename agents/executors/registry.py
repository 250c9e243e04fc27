"""Which executor does a task: from the specialist's ``executor:`` key in the roster.

``builtin`` looks the specialist up in ``agents.builtin.BUILTINS`` (name -> factory),
imported lazily so TechLead runs without it; ``llm`` uses the model ``model`` names, or
else the one TECHLEAD_LLM_* in ``base_env`` configures. A specialist with no built-in
agent, and ``llm`` without a model, become hand-offs.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping

from agents.executors.base import Executor
from agents.executors.command import CommandExecutor
from agents.executors.handoff import HandoffExecutor
from agents.executors.llm import LLMExecutor
from bot.errors import SettingsError
from bot.llm import ModelConfig
from bot.settings import Settings

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
    model: ModelConfig | None = None,
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
        model = model or model_from_env(os.environ if base_env is None else base_env)
        if model is None:
            return HandoffExecutor(NO_MODEL)
        return LLMExecutor(model, base_env=base_env, should_stop=should_stop)
    return HandoffExecutor()


def model_from_env(env: Mapping[str, str]) -> ModelConfig | None:
    """The model TECHLEAD_LLM_* configures; None when none is or the settings are invalid."""
    try:
        return ModelConfig.from_settings(Settings.from_env(env))
    except SettingsError:
        return None
