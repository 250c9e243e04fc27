"""The runner never leaves a gate stuck: time limits, crashes and cancellation."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from unidiff import PatchSet

from gates.config import GateConfig, GateLevel, GatesConfig, load_defaults
from gates.model import Conclusion, GateResult, Scan
from gates.registry import REGISTRY
from gates.revision import GateInput
from gates.runner import run_gates
from gates.tools import CancelToken, ToolRunner

L1, L5 = GateLevel.L1, GateLevel.L5


class SleepingTool:
    """A gate whose tool never finishes; it records the tool's process id."""

    LEVEL = L1
    TITLE = "Lint"

    def __init__(self, pid_file: Path) -> None:
        self.pid_file = pid_file

    def scan(self, inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
        tools.run(["sh", "-c", f"echo $$ > {self.pid_file}; exec sleep 30"], cwd=inp.head)
        return Scan()


class Crashing:
    LEVEL = L5
    TITLE = "Security"

    def scan(self, inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
        raise ValueError("the parser met something new")


class StuckInPython:
    """A gate stuck in its own code, where no tool can be killed."""

    LEVEL = L1
    TITLE = "Lint"

    def scan(self, inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
        time.sleep(3)
        return Scan()


class Clean:
    LEVEL = L1
    TITLE = "Lint"

    def scan(self, inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
        return Scan()


class Failing:
    LEVEL = L1
    TITLE = "Lint"

    def scan(self, inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
        tools.run(["sh", "-c", "echo 'boom: bad settings' >&2; exit 3"], cwd=inp.head)
        return Scan()


def _input(tmp_path: Path) -> GateInput:
    return GateInput(head=tmp_path, base=None, diff=PatchSet(""))


def _config(seconds: float) -> GatesConfig:
    return load_defaults().with_overrides(
        {"lint": {"timeout_seconds": seconds}, "security": {"timeout_seconds": seconds}}
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pid(path: Path) -> int:
    for _ in range(100):
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.02)
    raise AssertionError("the tool never started")


def test_a_gate_past_its_time_limit_fails_saying_so_and_its_tool_is_killed(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()

    (result,) = run_gates(
        _input(tmp_path), _config(0.5), gates={L1: SleepingTool(pid_file)}, grace=0.5
    )

    assert time.monotonic() - started < 5
    assert result.conclusion is Conclusion.FAILURE
    assert result.reason == "timed out after 0.5 s and was stopped"
    assert not _alive(_pid(pid_file))


def test_a_crashing_gate_fails_with_the_error_and_others_still_run(tmp_path: Path) -> None:
    results = run_gates(
        _input(tmp_path),
        _config(5),
        gates={L1: Clean(), L5: Crashing()},
    )

    by_level = {r.level: r for r in results}
    assert by_level[L1].conclusion is Conclusion.SUCCESS
    crashed = by_level[L5]
    assert crashed.conclusion is Conclusion.FAILURE
    assert crashed.reason == "could not run: ValueError: the parser met something new"


def test_a_failing_tool_fails_the_gate_quoting_its_error(tmp_path: Path) -> None:
    (result,) = run_gates(_input(tmp_path), _config(5), gates={L1: Failing()})

    assert result.conclusion is Conclusion.FAILURE
    assert result.reason == "could not run: sh failed (exit 3): boom: bad settings"


def test_a_gate_stuck_in_its_own_code_is_abandoned_after_the_grace(tmp_path: Path) -> None:
    started = time.monotonic()

    (result,) = run_gates(_input(tmp_path), _config(0.2), gates={L1: StuckInPython()}, grace=0.2)

    assert time.monotonic() - started < 2
    assert result.conclusion is Conclusion.FAILURE
    assert "timed out after 0.2 s" in result.reason


def test_cancelling_stops_the_tools_and_reports_cancelled(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    cancel = CancelToken()
    results: list[GateResult] = []
    worker = threading.Thread(
        target=lambda: results.extend(
            run_gates(
                _input(tmp_path), _config(30), gates={L1: SleepingTool(pid_file)}, cancel=cancel
            )
        )
    )
    worker.start()
    pid = _pid(pid_file)

    cancel.cancel("a newer commit was pushed")
    worker.join(5)

    assert not worker.is_alive()
    (result,) = results
    assert result.conclusion is Conclusion.CANCELLED
    assert result.reason == "cancelled: a newer commit was pushed"
    assert not _alive(pid)


@pytest.mark.parametrize(
    ("levels", "expected"),
    [(None, set(REGISTRY)), ([L5], {L5}), ([], set())],
    ids=["all", "only-L5", "none"],
)
def test_levels_select_the_gates(
    tmp_path: Path, levels: list[GateLevel] | None, expected: set[GateLevel]
) -> None:
    results = run_gates(_input(tmp_path), _config(5), levels=levels)

    assert {r.level for r in results} == expected
    assert all(r.conclusion is Conclusion.NEUTRAL for r in results)  # nothing changed


def test_tools_never_see_credentials(tmp_path: Path) -> None:
    class PrintsEnv:
        LEVEL = L1
        TITLE = "Lint"
        seen = ""

        def scan(self, inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
            PrintsEnv.seen = tools.run(["env"], cwd=inp.head).stdout
            return Scan()

    inp = GateInput(
        head=tmp_path,
        base=None,
        diff=PatchSet(""),
        env={"PATH": os.environ["PATH"], "TECHLEAD_GITHUB_TOKEN": "ghs_x", "GH_TOKEN": "y"},
    )
    run_gates(inp, _config(5), gates={L1: PrintsEnv()})

    assert "PATH=" in PrintsEnv.seen
    assert "TOKEN" not in PrintsEnv.seen
