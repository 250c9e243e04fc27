"""A TechLead plugin whose job never stops computing: a parser gone quadratic, say.

Loaded with ``TECHLEAD_PLUGINS=tests.intake.spin_plugin``. ``issues`` deliveries
schedule a ``spin.cpu`` job that records it started, then loops in pure Python (it
holds the GIL and never looks at ``ctx.stopping``). Its ``on_dead`` hook records the
error in ``spin-dead.log``.
"""

from __future__ import annotations

from pathlib import Path

from bot.context import JobContext
from bot.jobs import Job, JobRegistry, JobSpec
from bot.router import Event, Router

KIND = "spin.cpu"
STARTED = "spin-started.log"
DEAD = "spin-dead.log"

router = Router()
jobs = JobRegistry()


@router.register("issues")
def on_issue(event: Event, ctx: JobContext) -> list[JobSpec]:
    return [JobSpec(KIND, dedupe_key=f"{KIND}:{event.delivery_id}")]


def record_death(job: Job, error: str, ctx: JobContext) -> None:
    _append(ctx.settings.data_dir / DEAD, f"{job.id} attempts={job.attempts} {error}")


@jobs.register(KIND, on_dead=record_death)
def spin(job: Job, ctx: JobContext) -> None:
    _append(ctx.settings.data_dir / STARTED, f"{job.id} attempt={job.attempts}")
    total = 0
    while True:  # runs until the kernel stops the process for its CPU budget
        total = (total * 31 + 7) % 1_000_003


def _append(path: Path, line: str) -> None:
    with path.open("a") as handle:
        handle.write(line + "\n")
