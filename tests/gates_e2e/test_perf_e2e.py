"""L4 · Performance end to end: the repository's benchmark on the base and the head."""

from __future__ import annotations

import pytest

from gates.config import GateLevel
from gates.templates import check_run_name
from tests.gates.test_perf import BENCH
from tests.gates_e2e.conftest import PullWorldFactory, TechLeadFactory
from tests.gates_e2e.test_checks import TECHLEAD_YML, opened, outcome

pytestmark = pytest.mark.sandbox

PERFORMANCE = check_run_name(GateLevel.L4)
# Read from the default branch, as every gate setting is.
CONFIG = """\
version: 1
gates:
  performance:
    command: "{python} bench.py {output}"
    repeats: 8
"""
FILES = {TECHLEAD_YML: CONFIG, "bench.py": BENCH}


def test_an_a_a_run_is_neutral_with_the_measurements(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for(FILES)
    techlead = techlead_for(pr.world)
    head, _ = opened(pr, techlead, {"README.md": "# Project\n\nSame code, new words.\n"})

    run = pr.run_named(head, PERFORMANCE)
    assert outcome(run) == ("completed", "neutral")
    assert run["output"]["title"] == "No significant slowdown past 10% in 1 benchmark(s)"
    assert "| `test_work` |" in run["output"]["summary"]
    assert "8 + 8" in run["output"]["summary"]
    assert pr.annotations(run) == []


def test_a_two_fold_slowdown_fails_at_the_benchmark(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for(FILES)
    techlead = techlead_for(pr.world)
    slower = BENCH.replace("WORK = 150_000", "WORK = 300_000")
    head, _ = opened(pr, techlead, {"bench.py": slower})

    run = pr.run_named(head, PERFORMANCE)
    assert outcome(run) == ("completed", "failure"), run["output"]["summary"]
    annotations = pr.annotations(run)
    line = slower.splitlines().index("def test_work():") + 1
    assert [(a["path"], a["start_line"], a["title"]) for a in annotations] == [
        ("bench.py", line, "performance-regression (benchmarks, high)")
    ]
    assert "A second round agreed" in annotations[0]["message"]
    assert "**slower** (confirmed)" in run["output"]["summary"]


def test_without_a_benchmark_command_l4_is_neutral_and_says_how(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for()
    techlead = techlead_for(pr.world)
    head, _ = opened(pr, techlead, {"app.py": "x = 1\n"})

    run = pr.run_named(head, PERFORMANCE)
    assert outcome(run) == ("completed", "neutral")
    assert run["output"]["title"].startswith("Not applicable: no benchmark command configured")
    assert "### How to turn on the performance gate" in run["output"]["summary"]
