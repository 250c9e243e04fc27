"""A TechLead plugin for the crash-loop test: a job that never finishes, and its dead hook.

Loaded with ``TECHLEAD_PLUGINS=tests.intake.dying_plugin``. ``issues`` deliveries
schedule a ``dying.wait`` job (two attempts). Each attempt records that it started and
then waits (the test kills the process meanwhile). Its ``on_dead`` hook records the
job, the attempts it was charged and the error in ``dead.log``.
"""

from __future__ import annotations

from pathlib import Path

from bot.context import JobContext
from bot.jobs import Job, JobRegistry, JobSpec
from bot.router import Event, Router

KIND = "dying.wait"
ATTEMPTS = 2
STARTED = "dying-started.log"
DEAD = "dead.log"
WAIT_SECONDS = 60.0

router = Router()
jobs = JobRegistry()


@router.register("issues")
def on_issue(event: Event, ctx: JobContext) -> list[JobSpec]:
    return [JobSpec(KIND, dedupe_key=f"{KIND}:{event.delivery_id}")]


def record_death(job: Job, error: str, ctx: JobContext) -> None:
    _append(ctx.settings.data_dir / DEAD, f"{job.id} attempts={job.attempts} {error}")


@jobs.register(KIND, max_attempts=ATTEMPTS, on_dead=record_death)
def wait(job: Job, ctx: JobContext) -> None:
    _append(ctx.settings.data_dir / STARTED, f"{job.id} attempt={job.attempts}")
    ctx.stopping.wait(WAIT_SECONDS)
    raise TimeoutError("nobody killed this process")


def _append(path: Path, line: str) -> None:
    with path.open("a") as handle:
        handle.write(line + "\n")
