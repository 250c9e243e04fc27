"""Gates on pull requests end to end: webhooks in, check runs with annotations out."""

from __future__ import annotations

import time

import pytest

from gates.config import GateLevel
from gates.templates import check_run_name
from tests.gates_e2e.conftest import PullWorldFactory, TechLeadFactory

pytestmark = pytest.mark.sandbox

LINT = check_run_name(GateLevel.L1)
SECURITY = check_run_name(GateLevel.L5)
RISKY = """import os
import subprocess

PASSWORD = "hunter2-very-secret"


def run(cmd):
    return subprocess.run(cmd, shell=True)
"""


def lines(annotations: list[dict]) -> set[tuple[str, int]]:
    return {(a["path"], a["start_line"]) for a in annotations}


def test_new_findings_fail_with_annotations_on_exactly_their_lines(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    head = pr.push("risky", {"app.py": RISKY})
    started = time.monotonic()
    pr.open_pull("risky")
    techlead.settle()
    print(f"pull_request.opened -> completed runs: {time.monotonic() - started:.2f} s")

    lint, security = pr.run_named(head, LINT), pr.run_named(head, SECURITY)
    assert (lint["status"], lint["conclusion"]) == ("completed", "failure")
    assert (security["status"], security["conclusion"]) == ("completed", "failure")
    assert lines(pr.annotations(lint)) == {("app.py", 1)}
    assert lines(pr.annotations(security)) == {("app.py", 4), ("app.py", 8)}
    assert len(pr.runs(head)) == 2, "one run per gate on the head"
