"""Background processes run below the webhook answers: SCHED_IDLE by default, or only nice."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.settings import BackgroundPriority, Settings

PROBE = """
import json, os, sys
from bot.priority import run_in_background
from bot.settings import BackgroundPriority
run_in_background(10, BackgroundPriority(sys.argv[1]))
print(json.dumps([os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0)]))
"""


def probe(priority: str) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, priority], capture_output=True, text=True, check=True
    )
    policy, niceness = json.loads(done.stdout)
    return policy, niceness


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_idle_is_sched_idle_and_nice() -> None:
    policy, niceness = probe("idle")
    assert policy == os.SCHED_IDLE
    assert niceness == min(os.getpriority(os.PRIO_PROCESS, 0) + 10, 19)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_low_keeps_the_normal_policy_with_a_nice() -> None:
    policy, niceness = probe("low")
    assert policy == os.SCHED_OTHER
    assert niceness == min(os.getpriority(os.PRIO_PROCESS, 0) + 10, 19)


def test_idle_is_the_default_and_low_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).background_priority is BackgroundPriority.IDLE
    chosen = Settings.from_env({"TECHLEAD_BACKGROUND_PRIORITY": "low"})
    assert chosen.background_priority is BackgroundPriority.LOW
