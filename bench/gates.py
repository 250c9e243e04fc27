"""Benchmark: L1 + L5 next to the bare tools on the changed files of real-shaped commits.

For every commit of ``tests/gates/corpus/`` (requests, click, httpx and youtube-dl
shapes), side by side and in alternating order:

- TechLead: ``python -m bot gates --base main --head HEAD --only L1,L5`` on the
  commit, a fresh process each time (start-up, imports, diff, writing the base and
  head sides, both revisions);
- the bare tools on the head versions of the same changed files, one after another as
  a CI job runs them: ruff check, ruff format --check (when the project configures
  ruff), bandit, detect-secrets, and zizmor when a workflow changed.

- TechLead warm: the same run inside this process, its modules already imported, as in
  the bot's job workers (which import once and gate many pull requests).

Prints each commit's median wall-clock seconds and ratios, then the median ratios over
the commits; the CPU seconds are shown too, as they vary less than wall time on a busy
machine. Target: a median wall-clock ratio of at most 1.3 for the fresh process.
``--repeat N`` sets the runs per side (default 5).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Run as a script, bench/ leads sys.path; it goes last, so bench/queue.py does not stand
# in for the standard library's queue.
sys.path.sort(key=lambda entry: Path(entry or ".").resolve() == Path(__file__).resolve().parent)

from gates.config import GateLevel, load_defaults  # noqa: E402
from gates.revision import local_input  # noqa: E402
from gates.ruff_setup import has_ruff_config  # noqa: E402
from gates.runner import run_gates  # noqa: E402
from tests.gates.corpus import Case, build, cases  # noqa: E402

BIN = Path(sys.executable).parent
TARGET = 1.3
# Nothing in the corpus needs the network; a closed proxy keeps it that way.
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}


def techlead(root: Path) -> list[str]:
    argv = ["-m", "bot", "gates", "--repo", str(root), "--base", "main", "--head", "HEAD"]
    argv += ["--only", "L1,L5"]
    return [sys.executable, *argv, "--format", "json"]


def bare_tools(case: Case, root: Path) -> list[list[str]]:
    changed = sorted(p for p in case.head if case.base.get(p) != case.head[p])
    python = [p for p in changed if p.endswith(".py")]
    flows = [p for p in changed if p.startswith(".github/workflows/")]
    commands: list[list[str]] = []
    if python:
        commands.append([str(BIN / "ruff"), "check", "--no-cache", "--output-format", "json"])
        commands[-1] += python
        if has_ruff_config(root, python):
            commands.append([str(BIN / "ruff"), "format", "--check", "--no-cache", *python])
        commands.append([str(BIN / "bandit"), "-q", "-f", "json", *python])
    commands.append([str(BIN / "detect-secrets"), "scan", *changed])
    if flows:
        zizmor = [str(BIN / "zizmor"), "--offline", "--no-exit-codes", "--format", "json"]
        commands.append([*zizmor, *flows])
    return commands


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(commands: Sequence[Sequence[str]], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of running ``commands`` one after another."""
    cpu, start = children_cpu(), time.perf_counter()
    for argv in commands:
        subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter() - start, children_cpu() - cpu


def warm(root: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of the gates run in this process (modules already imported)."""
    config = load_defaults()
    before, start = os.times(), time.perf_counter()
    with local_input(root, base="main", head="HEAD", env=env, sparse_head=True) as inp:
        run_gates(inp, config, levels=[GateLevel.L1, GateLevel.L5])
    after = os.times()
    cpu = sum(after[:4]) - sum(before[:4])
    return time.perf_counter() - start, cpu


Sample = tuple[float, float]


def measure(case: Case, scratch: Path, repeat: int) -> tuple[Sample, Sample, Sample]:
    """Median (wall, CPU) seconds of TechLead (fresh, warm) and the bare tools."""
    root = build(case, scratch / case.name)
    env = {**os.environ, **OFFLINE, "PYTHONPATH": str(ROOT)}
    ours: list[Sample] = []
    warmed: list[Sample] = []
    bare: list[Sample] = []
    tools = bare_tools(case, root)
    warm(root, env)  # the first run imports what the bot's workers have imported
    for run in range(repeat):
        # Alternate which side goes first: a warm cache must not favour one of them.
        order = [(ours, [techlead(root)], ROOT), (bare, tools, root)]
        for samples, commands, cwd in order if run % 2 == 0 else order[::-1]:
            samples.append(timed(commands, cwd, env))
        warmed.append(warm(root, env))
    return _medians(ours), _medians(warmed), _medians(bare)


def _medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    warm_ratios: list[float] = []
    print(
        f"{'commit':<34}{'ours s':>8}{'warm s':>8}{'bare s':>8}{'ratio':>7}{'warm':>6}"
        f"{'ours CPU':>10}{'bare CPU':>10}"
    )
    with tempfile.TemporaryDirectory(prefix="techlead-bench-") as scratch:
        for case in cases():
            ours, warmed, bare = measure(case, Path(scratch), args.repeat)
            ratios.append(ours[0] / bare[0])
            warm_ratios.append(warmed[0] / bare[0])
            cpu_ratios.append(ours[1] / bare[1])
            print(
                f"{case.name:<34}{ours[0]:8.3f}{warmed[0]:8.3f}{bare[0]:8.3f}"
                f"{ratios[-1]:7.2f}{warm_ratios[-1]:6.2f}{ours[1]:10.3f}{bare[1]:10.3f}"
            )
    median = statistics.median(ratios)
    print(f"median wall-clock ratio over {len(ratios)} commits: {median:.2f} (target <= {TARGET})")
    warm_median = statistics.median(warm_ratios)
    print(f"median wall-clock ratio, warm (as in the bot's workers): {warm_median:.2f}")
    print(f"median CPU ratio (fresh process): {statistics.median(cpu_ratios):.2f}")
    return 0 if median <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
