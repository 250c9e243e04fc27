"""Composition point: every feature module's router and job kinds, plus configured plugins.

A feature module (``bot/features/<name>.py``) owns a ``router = Router()`` and/or a
``jobs = JobRegistry()``; add it to :data:`FEATURES` and the app picks it up.

Plugins use the same shape from outside the package: ``TECHLEAD_PLUGINS`` (or
``techlead serve --plugin``) names importable modules, comma-separated, each exposing
``router`` and/or ``jobs``. They run in the same worker with the same guarantees
(durable jobs, retries, bot filtering) as built-in features.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

from bot.context import GitHubFactory, no_github
from bot.errors import SettingsError
from bot.jobs import JobRegistry
from bot.router import Router
from bot.settings import AuthMode, Settings

PLUGINS_VARIABLE = "TECHLEAD_PLUGINS"

# Built-in feature modules, imported by name so a feature is one line here.
FEATURES: tuple[str, ...] = (
    "bot.features.planning",
    "bot.features.gates",
    "bot.features.reviews",
    "bot.features.execution",
    "bot.features.ok_to_test",
)


@dataclass(frozen=True)
class Composition:
    """The app's routing table and job kinds, composed from features and plugins."""

    router: Router
    jobs: JobRegistry


def routers() -> list[Router]:
    return [_router_of(module) for module in _modules(FEATURES) if hasattr(module, "router")]


def job_handlers() -> JobRegistry:
    registries = [module.jobs for module in _modules(FEATURES) if hasattr(module, "jobs")]
    return JobRegistry.compose(*registries)


class GitHubObserver(Protocol):
    """Where the port reports each request and the rate limit left (``bot.metrics``)."""

    def record_github_request(self, route: str, status: int | str) -> None: ...

    def set_rate_limit_remaining(
        self,
        installation: int | str | None,
        remaining: int,
        limit: int | None = None,
        reset_at: float | None = None,
    ) -> None: ...


def github_factory(settings: Settings, observer: GitHubObserver | None = None) -> GitHubFactory:
    """How jobs get a GitHub port: one client (caches, pacing, counters) for the process.

    App mode hands each job the port of its delivery's installation (None: looked up
    per repository); token mode ignores the installation. Without credentials
    ``ctx.github`` raises a :class:`SettingsError` naming the variable to set.
    ``observer`` (the app's metrics) counts requests by route and status and keeps the
    rate limit left per identity.
    """
    if settings.auth_mode is AuthMode.NONE:
        return no_github
    # Imported here: the client pulls in PyGithub, which only GitHub-using runs need.
    from bot.github import GitHubClient

    if observer is None:
        return GitHubClient(settings).port
    client = GitHubClient(
        settings,
        on_request=observer.record_github_request,
        on_rate_limit=observer.set_rate_limit_remaining,
    )
    return client.port


def plugin_names(env: Mapping[str, str], extra: Sequence[str] = ()) -> tuple[str, ...]:
    listed = [name.strip() for name in env.get(PLUGINS_VARIABLE, "").split(",")]
    return tuple(dict.fromkeys(name for name in [*listed, *extra] if name))


def compose(plugins: Sequence[str] = ()) -> Composition:
    """Features first, then plugins in the order given."""
    loaded = [_load_plugin(name) for name in plugins]
    plugin_routers = [_router_of(module) for module in loaded if hasattr(module, "router")]
    plugin_jobs = [module.jobs for module in loaded if hasattr(module, "jobs")]
    try:
        jobs = JobRegistry.compose(job_handlers(), *plugin_jobs)
    except ValueError as exc:
        raise SettingsError(PLUGINS_VARIABLE, str(exc)) from exc
    return Composition(Router.compose(*routers(), *plugin_routers), jobs)


def _modules(names: Sequence[str]) -> list[ModuleType]:
    return [importlib.import_module(name) for name in names]


def _load_plugin(name: str) -> ModuleType:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise SettingsError(PLUGINS_VARIABLE, f"cannot import plugin {name!r}: {exc}") from exc
    if not hasattr(module, "router") and not hasattr(module, "jobs"):
        raise SettingsError(PLUGINS_VARIABLE, f"plugin {name!r} exposes neither router nor jobs")
    if hasattr(module, "jobs") and not isinstance(module.jobs, JobRegistry):
        raise SettingsError(PLUGINS_VARIABLE, f"{name}.jobs is not a JobRegistry")
    return module


def _router_of(module: ModuleType) -> Router:
    router = module.router
    if not isinstance(router, Router):
        raise SettingsError(PLUGINS_VARIABLE, f"{module.__name__}.router is not a Router")
    return router
