"""A TechLead plugin used by the crash tests: its effect is one line in a file.

Loaded with ``TECHLEAD_PLUGINS=tests.intake.effects_plugin``. ``issues`` deliveries
schedule an ``effects.append`` job. The job records that it started, waits until the
file ``gate`` exists in the data directory (so a test can kill the process while the
job runs), then appends its key to ``effects.log`` unless it is already there: the
check-before-write every TechLead effect uses to stay single under retries.
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.context import JobContext
from bot.jobs import Job, JobRegistry, JobSpec
from bot.router import Event, Router

KIND = "effects.append"
GATE = "gate"
STARTED = "started.log"
EFFECTS = "effects.log"
GATE_TIMEOUT = 60.0

router = Router()
jobs = JobRegistry()


@router.register("issues")
def on_issue(event: Event, ctx: JobContext) -> list[JobSpec]:
    return [JobSpec(KIND, {"action": event.action}, dedupe_key=f"{KIND}:{event.delivery_id}")]


@jobs.register(KIND)
def append(job: Job, ctx: JobContext) -> None:
    data = ctx.settings.data_dir
    _append(data / STARTED, f"{job.dedupe_key} attempt={job.attempts}")
    deadline = time.monotonic() + GATE_TIMEOUT
    while not (data / GATE).exists():
        if time.monotonic() > deadline or ctx.stopping.is_set():
            raise TimeoutError("gate never opened")
        time.sleep(0.02)
    effects = data / EFFECTS
    done = effects.read_text().splitlines() if effects.exists() else []
    if job.dedupe_key not in done:
        _append(effects, job.dedupe_key)


def _append(path: Path, line: str) -> None:
    with path.open("a") as handle:
        handle.write(line + "\n")
