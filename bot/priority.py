"""Background processes (workers, the journal loader) below the webhook answers.

Under a burst of deliveries the answers want every core; jobs and loading can wait a
few seconds and catch up. ``nice`` alone leaves them a share, and their wake-ups still
take cores from the answers: SCHED_IDLE gives them only the CPU time nothing at normal
priority wants (``TECHLEAD_BACKGROUND_PRIORITY=idle``, the default). On a machine shared
with other busy services, ``low`` keeps only the ``nice``.
https://man7.org/linux/man-pages/man7/sched.7.html
"""

from __future__ import annotations

import os
from contextlib import suppress

from bot.settings import BackgroundPriority


def run_in_background(niceness: int, priority: BackgroundPriority) -> None:
    """Lower this process's priority (its threads and children inherit it)."""
    os.nice(niceness)
    if priority is BackgroundPriority.IDLE and hasattr(os, "SCHED_IDLE"):
        with suppress(OSError):  # not allowed here: the nice stays
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
