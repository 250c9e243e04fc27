"""Benchmark: L1 + L5 on a 20-file pull request against a ~100k-line repository.

Prints the time of each gate and of the whole pull-request run, next to the same tools
(ruff check, ruff format --check, bandit, detect-secrets) run over the whole repository
and over just the changed files. Targets: the pull-request run under 25% of the
whole-repository time, and L1 + L5 at most 20% slower than the bare tools on the
changed files.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gates.config import load_defaults  # noqa: E402
from gates.revision import local_input  # noqa: E402
from gates.runner import run_gates  # noqa: E402

FILES = 300
FUNCTIONS_PER_FILE = 18
CHANGED = 20
REPEAT = 3
BIN = Path(sys.executable).parent
PYPROJECT = """[project]
name = "bench"
version = "0"

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "W", "B", "UP"]
"""
HEADER = '''"""Module {index}: generated for the gates benchmark."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
'''
CLASS = '''

@dataclass
class Record{index}:
    """A record with a few fields."""

    name: str
    size: int = 0
    tags: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [self.name, str(self.size)]
        for tag in self.tags:
            if tag.startswith("_"):
                continue
            parts.append(tag.upper())
        return ", ".join(parts)

    def to_json(self) -> str:
        return json.dumps({{"name": self.name, "size": self.size, "tags": list(self.tags)}})
'''
FUNCTION = '''

def compute_{index}(values: list[int], limit: int = {limit}) -> dict[str, int]:
    """Summarise values under a limit."""
    total = 0
    largest = 0
    for value in values:
        if value > limit:
            continue
        total += value
        largest = max(largest, value)
    count = len([v for v in values if v <= limit])
    result = {{"total": total, "largest": largest, "count": count}}
    if os.environ.get("BENCH_DEBUG"):
        result["debug"] = 1
    return result
'''
RISKY = '''

def run_{index}(command: str) -> int:
    """Run a shell command (a pre-existing finding)."""
    return subprocess.run(command, shell=True, check=False).returncode
'''
ADDED = '''

def added_{index}(items: list[str]) -> list[str]:
    """Added by the pull request."""
    seen: set[str] = set()
    kept = []
    for item in items:
        if item in seen:
            continue
        seen.add(item)
        kept.append(item.strip())
    return kept
'''
NEW_PROBLEMS = """

def leak_{index}(command: str) -> int:
    import sys

    token = "ghp_{token}"
    return subprocess.run(command + token, shell=True, check=False).returncode
"""


def generate(root: Path) -> list[str]:
    rng = random.Random(7)
    (root / "pyproject.toml").write_text(PYPROJECT)
    paths = []
    for index in range(FILES):
        package = root / "src" / f"pkg{index % 12}"
        package.mkdir(parents=True, exist_ok=True)
        parts = [HEADER.format(index=index)]
        for j in range(FUNCTIONS_PER_FILE):
            number = index * 100 + j
            parts.append(
                CLASS.format(index=number)
                if j % 2
                else FUNCTION.format(index=number, limit=rng.randint(10, 999))
            )
        if index % 5 == 0:
            parts.append(RISKY.format(index=index))
        path = package / f"module_{index}.py"
        path.write_text("".join(parts))
        paths.append(path.relative_to(root).as_posix())
    return paths


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def make_pull_request(root: Path, paths: list[str]) -> list[str]:
    changed = paths[:: len(paths) // CHANGED][:CHANGED]
    for number, path in enumerate(changed):
        target = root / path
        addition = ADDED.format(index=number)
        if number == 0:
            addition += NEW_PROBLEMS.format(index=number, token="Zx9" * 12)
        target.write_text(target.read_text() + addition)
    return changed


def cpu_seconds() -> float:
    """CPU used so far by this process and the subprocesses it waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of ``action`` over REPEAT runs."""
    walls, cpus = [], []
    for _ in range(REPEAT):
        cpu, start = cpu_seconds(), time.perf_counter()
        action()
        walls.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def tool(root: Path, argv: Sequence[str]) -> Callable[[], object]:
    return lambda: subprocess.run(list(argv), cwd=root, capture_output=True, check=False)


def bare_tools(targets: Sequence[str]) -> dict[str, list[str]]:
    return {
        "ruff check": [
            str(BIN / "ruff"),
            "check",
            "--no-cache",
            "--output-format",
            "json",
            *targets,
        ],
        "ruff format --check": [str(BIN / "ruff"), "format", "--check", "--no-cache", *targets],
        "bandit": [str(BIN / "bandit"), "-q", "-f", "json", "-r", *targets],
        "detect-secrets": [str(BIN / "detect-secrets"), "scan", *targets],
    }


def measure_tools(root: Path, targets: Sequence[str]) -> dict[str, tuple[float, float]]:
    return {name: timed(tool(root, argv)) for name, argv in bare_tools(targets).items()}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="techlead-bench-") as scratch:
        root = Path(scratch) / "repo"
        root.mkdir()
        paths = generate(root)
        subprocess.run([str(BIN / "ruff"), "format", "-q", "."], cwd=root, check=True)
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "base")
        git(root, "checkout", "-q", "-b", "feature")
        changed = make_pull_request(root, paths)
        git(root, "commit", "-q", "-am", "pull request")
        lines = sum(len((root / p).read_text().splitlines()) for p in paths)
        print(
            f"repository: {len(paths)} files, {lines:,} lines of Python; "
            f"pull request: {len(changed)} files"
        )

        whole = measure_tools(root, ["."])
        bare = measure_tools(root, changed)
        config = load_defaults()
        per_gate: dict[str, list[float]] = {}
        prepare: list[float] = []
        outcome: list[str] = []

        def pull_request() -> None:
            start = time.perf_counter()
            with local_input(root, base="main", baseline=config.baseline, env=os.environ) as inp:
                prepare.append(time.perf_counter() - start)
                results = run_gates(inp, config)
            outcome[:] = [
                f"{r.name}: {r.conclusion}, {len(r.new)} new, {len(r.preexisting)} pre-existing"
                for r in results
            ]
            for result in results:
                per_gate.setdefault(result.name, []).append(result.duration_seconds)

        run_wall, run_cpu = timed(pull_request)
        report(whole, bare, per_gate, statistics.median(prepare), (run_wall, run_cpu))
        print("  " + "\n  ".join(outcome))
        whole_wall = sum(wall for wall, _ in whole.values())
        bare_wall = sum(wall for wall, _ in bare.values())
        bare_cpu = sum(cpu for _, cpu in bare.values())
        share = run_wall / whole_wall
        overhead = run_wall / bare_wall - 1
        print(f"pull request / whole repository (wall): {share:.1%} (target < 25%)")
        print(
            f"L1+L5 over the bare tools on the changed files (wall): {overhead:+.1%} (target < 20%)"
        )
        print(
            f"L1+L5 over the bare tools on the changed files (CPU): {run_cpu / bare_cpu - 1:+.1%}"
        )
        return 0 if share < 0.25 and overhead < 0.20 else 1


def report(
    whole: dict[str, tuple[float, float]],
    bare: dict[str, tuple[float, float]],
    per_gate: dict[str, list[float]],
    prepare: float,
    run: tuple[float, float],
) -> None:
    print(f"  {'':<20}{'':<24}{'wall s':>8}{'CPU s':>8}")
    for label, measured in (("whole repository", whole), ("changed files only", bare)):
        for name, (wall, cpu) in measured.items():
            print(f"  {label:<20}{name:<24}{wall:8.3f}{cpu:8.3f}")
        wall_total = sum(w for w, _ in measured.values())
        cpu_total = sum(c for _, c in measured.values())
        print(f"  {label:<20}{'total (one after another)':<24}{wall_total:8.3f}{cpu_total:8.3f}")
    for name, samples in per_gate.items():
        print(f"  {'pull request gate':<20}{name:<24}{statistics.median(samples):8.3f}")
    print(f"  {'pull request':<20}{'diff + base files':<24}{prepare:8.3f}")
    print(f"  {'pull request':<20}{'total (L1 + L5)':<24}{run[0]:8.3f}{run[1]:8.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
