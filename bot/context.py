"""The injected clock and the context a job (or a delivery handler) runs with."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from bot.errors import SettingsError

if TYPE_CHECKING:
    from bot.jobs import Job, JobSpec
    from bot.settings import Settings

# Builds the GitHub port for one installation (None: token mode or no installation).
# The port is plugged in by the composition root; any object is accepted here.
GitHubFactory = Callable[[int | None], object]
Enqueue = Callable[["JobSpec"], "Job"]


class Clock(Protocol):
    """Wall-clock time as epoch seconds; injected so tests never sleep."""

    def now(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()


def no_github(installation_id: int | None) -> object:
    """The factory used when no GitHub credentials are configured."""
    raise SettingsError(
        "TECHLEAD_GITHUB_TOKEN",
        "this job needs GitHub access; set TECHLEAD_GITHUB_TOKEN or TECHLEAD_APP_ID "
        "with TECHLEAD_PRIVATE_KEY",
    )


@dataclass
class JobContext:
    """What a running job (and a delivery handler, which runs inside one) can use.

    ``github`` is built on first use by the injected factory, so jobs that never
    touch GitHub run without credentials. ``enqueue`` schedules a child job that
    inherits this job's delivery id, trace id and installation.
    """

    job: Job
    settings: Settings
    clock: Clock
    log: Any
    enqueue: Enqueue
    github_factory: GitHubFactory = no_github
    stopping: threading.Event = field(default_factory=threading.Event)
    _github: object | None = field(default=None, init=False, repr=False)

    @property
    def github(self) -> Any:
        if self._github is None:
            self._github = self.github_factory(self.job.installation_id)
        return self._github

    @property
    def delivery_id(self) -> str | None:
        return self.job.delivery_id

    @property
    def trace_id(self) -> str:
        return self.job.trace_id

    def now(self) -> float:
        return self.clock.now()


def child_spec(parent: Job, spec: JobSpec, index: int) -> JobSpec:
    """``spec`` as a child of ``parent``: lineage inherited, a deterministic dedupe key.

    The default key depends only on the parent and the position, so re-running the
    parent (after a crash or a retry) schedules the same children, not new ones.
    """
    key = spec.dedupe_key or f"{parent.dedupe_key}>{spec.kind}#{index}"
    return replace(
        spec,
        dedupe_key=key,
        delivery_id=spec.delivery_id or parent.delivery_id,
        trace_id=spec.trace_id or parent.trace_id,
        parent_id=parent.id,
        installation_id=(
            spec.installation_id if spec.installation_id is not None else parent.installation_id
        ),
    )
