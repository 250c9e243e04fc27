"""Benchmark: L1 + L5 next to the bare tools on the changed files of real-shaped commits.

For every commit of ``tests/gates/corpus/`` (requests, click, httpx and youtube-dl
shapes), side by side and in alternating order:

- TechLead: ``python -m bot gates --base main --only L1,L5`` in the commit's working
  tree, a fresh process each time (start-up, imports, diff, base side, both revisions);
- the bare tools on the head versions of the same changed files, one after another as
  a CI job runs them: ruff check, ruff format --check (when the project configures
  ruff), bandit, detect-secrets, and zizmor when a workflow changed.

Prints each commit's median wall-clock seconds and ratio, then the median ratio over
the commits. Target: at most 1.3 times the bare tools. ``--repeat N`` sets the runs per
side (default 5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gates.ruff_setup import has_ruff_config  # noqa: E402
from tests.gates.corpus import Case, build, cases  # noqa: E402

BIN = Path(sys.executable).parent
TARGET = 1.3
# Nothing in the corpus needs the network; a closed proxy keeps it that way.
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}


def techlead(root: Path) -> list[str]:
    argv = ["-m", "bot", "gates", "--repo", str(root), "--base", "main", "--only", "L1,L5"]
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


def timed(commands: Sequence[Sequence[str]], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    for argv in commands:
        subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter() - start


def measure(case: Case, scratch: Path, repeat: int) -> tuple[float, float]:
    """Median seconds of (TechLead, bare tools) on one commit."""
    root = build(case, scratch / case.name)
    env = {**os.environ, **OFFLINE, "PYTHONPATH": str(ROOT)}
    ours: list[float] = []
    bare: list[float] = []
    tools = bare_tools(case, root)
    for run in range(repeat):
        # Alternate which side goes first: a warm cache must not favour one of them.
        order = [(ours, [techlead(root)], ROOT), (bare, tools, root)]
        for samples, commands, cwd in order if run % 2 == 0 else order[::-1]:
            samples.append(timed(commands, cwd, env))
    return statistics.median(ours), statistics.median(bare)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    ratios: list[float] = []
    print(f"{'commit':<36}{'TechLead s':>11}{'bare s':>9}{'ratio':>8}")
    with tempfile.TemporaryDirectory(prefix="techlead-bench-") as scratch:
        for case in cases():
            ours, bare = measure(case, Path(scratch), args.repeat)
            ratios.append(ours / bare)
            print(f"{case.name:<36}{ours:11.3f}{bare:9.3f}{ours / bare:8.2f}")
    median = statistics.median(ratios)
    print(f"median ratio over {len(ratios)} commits: {median:.2f} (target <= {TARGET})")
    return 0 if median <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
