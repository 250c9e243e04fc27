"""L4 · Performance: the repository's benchmarks on the base and the head, compared fairly.

Both revisions are exported to private trees and the configured command runs on each,
``warmup`` times to warm caches, then ``repeats`` times per side, base and head
interleaved in an order drawn at random for every pair (randomized multiple interleaved
trials: a slow minute on a shared machine hits both sides alike). Each run is a fresh
process and yields one value per benchmark (:mod:`.results`).

A benchmark fails the check only when :mod:`.stats` finds it slower (Mann-Whitney and a
bootstrap interval past the threshold) in the first round and again in a second one.
Anything else is neutral, never a pass: measurements cannot prove the absence of a
slowdown. The command runs the pull request's code, so it runs in the same jail as the
tests (:mod:`gates.jail`), without credentials.
"""

from __future__ import annotations

import enum
import hashlib
import random
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import GateError, ToolFailed
from gates.config import GateConfig, GateLevel, PerformanceConfig, Severity
from gates.jail import JAIL_HOME, Jail, Limits, find_jail, interpreter_dirs, jailed
from gates.model import Finding, Scan
from gates.perf import texts
from gates.perf.results import SECONDS, Measurement, read
from gates.perf.stats import Comparison, Verdict, compare
from gates.revision import EMPTY_TREE, GateInput, export_tree
from gates.tools import ToolRunner

LEVEL = GateLevel.L4
TITLE = "Performance"
# Measures time: the runner starts it after the other gates have finished.
RUNS_ALONE = True
TOOL = "benchmarks"
RULE = "performance-regression"
OUTPUT_NAME = ".techlead-benchmark.json"
CONFIG_FILE = ".github/techlead.yml"
MEMORY_BYTES = 4 * 1024**3
FILE_SIZE_BYTES = 1024**3
_COPY_IGNORE = (".git", ".venv", "__pycache__", ".*_cache", ".tox", ".benchmarks")


class Side(enum.StrEnum):
    BASE = "base"
    HEAD = "head"


# Per side, per benchmark: the values of every run.
Samples = dict[Side, dict[str, list[float]]]
RunSide = Callable[[Side], Mapping[str, Measurement]]


@dataclass
class Round:
    """One round of measurements: the samples, and what the benchmarks are."""

    samples: Samples = field(default_factory=lambda: {Side.BASE: {}, Side.HEAD: {}})
    seen: dict[str, Measurement] = field(default_factory=dict)


def scan(inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
    if not isinstance(config, PerformanceConfig):
        raise GateError("L4 needs the gates.performance settings")
    if not config.command.strip():
        return Scan(not_applicable=texts.NOT_CONFIGURED, report=texts.HOW_TO)
    if inp.repo is None or inp.base_sha in ("", EMPTY_TREE):
        return Scan(incomplete=(texts.NO_BASE,))
    seed = config.seed if config.seed is not None else seed_for(inp.head_sha)
    jail = find_jail()
    notes = [texts.JAILED if jail.isolated else texts.UNSANDBOXED.format(problem=jail.problem)]
    notes.append(texts.RUNS.format(repeats=config.repeats, seed=seed, warmup=config.warmup))
    with tempfile.TemporaryDirectory(prefix="techlead-bench-") as scratch:
        trees = _trees(inp, Path(scratch))
        bench = _Bench(tools, jail, config, trees, Path(scratch))
        rng = random.Random(seed)  # noqa: S311 (run order and resampling, not secrets)
        try:
            _warm_up(bench.run, config.warmup)
            return judge(bench.run, config, rng, inp, notes)
        except _BaseFailed as exc:
            return Scan(incomplete=(texts.BASE_FAILED.format(reason=exc),), notes=tuple(notes))


def seed_for(head_sha: str) -> int:
    """A seed fixed by the head commit: the same commit draws the same order."""
    return int(hashlib.sha256(head_sha.encode("utf-8")).hexdigest()[:8], 16)


# ---------------------------------------------------------------------------- measuring


def measure(run: RunSide, repeats: int, rng: random.Random) -> Round:
    """``repeats`` trials; each runs base and head once, in an order drawn by ``rng``."""
    result = Round()
    for _ in range(repeats):
        order = [Side.BASE, Side.HEAD]
        rng.shuffle(order)
        for side in order:
            for name, measurement in run(side).items():
                result.samples[side].setdefault(name, []).append(measurement.value)
                result.seen.setdefault(name, measurement)
    return result


def _warm_up(run: RunSide, warmup: int) -> None:
    """Run each side (at least once, to know both work) and throw the values away."""
    for _ in range(max(1, warmup)):
        run(Side.BASE)
        run(Side.HEAD)


def comparisons(
    measured: Round, config: PerformanceConfig, rng: random.Random, names: Sequence[str] = ()
) -> dict[str, Comparison]:
    """Every benchmark with at least three runs on both sides, compared."""
    base, head = measured.samples[Side.BASE], measured.samples[Side.HEAD]
    wanted = names or sorted(set(base) & set(head))
    return {
        name: compare(
            base[name],
            head[name],
            rng,
            threshold=config.threshold,
            alpha=config.alpha,
            confidence=config.confidence,
            resamples=config.resamples,
        )
        for name in wanted
        if len(base.get(name, ())) >= 3 and len(head.get(name, ())) >= 3
    }


def judge(
    run: RunSide,
    config: PerformanceConfig,
    rng: random.Random,
    inp: GateInput,
    notes: Sequence[str] = (),
) -> Scan:
    """Measure, compare, and confirm slowdowns with a second round (see module doc)."""
    first = measure(run, config.repeats, rng)
    found = comparisons(first, config, rng)
    if not found:
        return Scan(incomplete=(texts.NOTHING_COMMON,), notes=tuple(notes))
    slower = [name for name, c in found.items() if c.verdict is Verdict.SLOWER]
    second: dict[str, Comparison] = {}
    if slower and config.confirm:
        second = comparisons(measure(run, config.repeats, rng), config, rng, slower)
    confirmed = [n for n in slower if not config.confirm or _slower(second.get(n))]
    findings = [
        _finding(inp, first.seen[name], found[name], second.get(name), config) for name in confirmed
    ]
    report = _table(first.seen, found, second, config) + _unmatched(first, found)
    incomplete: tuple[str, ...] = ()
    if not findings:
        unconfirmed = [f"`{name}`" for name in slower]
        reason = (
            texts.NOT_CONFIRMED.format(names=", ".join(unconfirmed))
            if unconfirmed
            else texts.NO_SLOWDOWN.format(threshold=config.threshold, count=len(found))
        )
        incomplete = (reason,)
    return Scan(head=tuple(findings), notes=tuple(notes), incomplete=incomplete, report=report)


def _slower(comparison: Comparison | None) -> bool:
    return comparison is not None and comparison.verdict is Verdict.SLOWER


# ---------------------------------------------------------------------------- running


class _BaseFailed(Exception):
    """The command fails on the base: nothing to compare with (the head may add it)."""


class _Bench:
    """Runs the command once on one side's tree and reads what it measured."""

    def __init__(
        self,
        tools: ToolRunner,
        jail: Jail,
        config: PerformanceConfig,
        trees: Mapping[Side, Path],
        scratch: Path,
    ) -> None:
        self.tools = tools
        self.jail = jail
        self.config = config
        self.trees = trees
        self.home = scratch / "home"
        self.home.mkdir(exist_ok=True)

    def run(self, side: Side) -> Mapping[str, Measurement]:
        try:
            return self._run(self.trees[side])
        except ToolFailed as exc:
            if side is Side.BASE:
                raise _BaseFailed(str(exc)) from exc
            raise

    def _run(self, tree: Path) -> Mapping[str, Measurement]:
        python = sys.executable
        output = tree / OUTPUT_NAME
        output.unlink(missing_ok=True)
        argv = command_argv(self.config.command, python, output)
        env = self._env(output)
        full = jailed(
            argv,
            jail=self.jail,
            workdir=tree,
            readonly=interpreter_dirs(python),
            limits=Limits(
                cpu_seconds=int(self.config.timeout_seconds) + 1,
                memory_bytes=MEMORY_BYTES,
                file_size_bytes=FILE_SIZE_BYTES,
            ),
            python=python,
            env={**self.tools.env, **env},
        )
        self.tools.run(full, cwd=tree, extra_env=env)
        return read(output, self.config.statistic)

    def _env(self, output: Path) -> dict[str, str]:
        home = JAIL_HOME if self.jail.isolated else str(self.home)
        return {"HOME": home, "TMPDIR": home, "TECHLEAD_BENCHMARK_JSON": str(output)}


def command_argv(command: str, python: str, output: Path) -> list[str]:
    """The configured command with ``{python}`` and ``{output}`` filled in (no shell)."""
    return [
        part.replace("{python}", python).replace("{output}", str(output))
        for part in shlex.split(command)
    ]


def _trees(inp: GateInput, scratch: Path) -> dict[Side, Path]:
    """Private trees of both revisions (the benchmarks may write where they run)."""
    assert inp.repo is not None
    base = scratch / "base"
    export_tree(inp.repo, inp.base_sha, base)
    head = scratch / "head"
    if inp.head_sha:
        export_tree(inp.repo, inp.head_sha, head)
    else:  # the working tree, uncommitted changes included
        shutil.copytree(inp.head, head, symlinks=True, ignore=shutil.ignore_patterns(*_COPY_IGNORE))
    return {Side.BASE: base, Side.HEAD: head}


# ---------------------------------------------------------------------------- reporting


def _finding(
    inp: GateInput,
    seen: Measurement,
    first: Comparison,
    second: Comparison | None,
    config: PerformanceConfig,
) -> Finding:
    confirmation = texts.NOT_RECHECKED
    if second is not None:
        confirmation = texts.CONFIRMED.format(
            ratio=second.ratio, low=second.low, high=second.high, p=second.p
        )
    message = texts.SLOWER.format(
        name=seen.name,
        ratio=first.ratio,
        base=_value(first.base_median, seen.unit),
        head=_value(first.head_median, seen.unit),
        confidence=config.confidence,
        low=first.low,
        high=first.high,
        p=first.p,
        runs=f"{first.base_runs} + {first.head_runs}",
        confirmation=confirmation,
    )
    path, line = _place(inp, seen)
    return Finding(
        path=path,
        start_line=line,
        end_line=line,
        severity=Severity.HIGH,
        rule=RULE,
        message=message,
        tool=TOOL,
    )


def _place(inp: GateInput, seen: Measurement) -> tuple[str, int]:
    """The benchmark's definition, else the gates' settings file, else a changed file."""
    if seen.file and (inp.head / seen.file).is_file():
        return seen.file, _def_line(inp.head / seen.file, seen.name)
    if (inp.head / CONFIG_FILE).is_file():
        return CONFIG_FILE, 1
    present = inp.changes.present()
    return (present[0].path if present else CONFIG_FILE), 1


def _def_line(path: Path, name: str) -> int:
    function = re.escape(name.split("::")[-1].split("[")[0])
    pattern = re.compile(rf"^\s*(?:async\s+)?def\s+{function}\b")
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return 1
    return next((number for number, line in enumerate(lines, 1) if pattern.match(line)), 1)


def _table(
    seen: Mapping[str, Measurement],
    first: Mapping[str, Comparison],
    second: Mapping[str, Comparison],
    config: PerformanceConfig,
) -> str:
    rows = [texts.TABLE_HEAD.format(confidence=config.confidence)]
    for name, comparison in first.items():
        verdict = str(comparison.verdict)
        if name in second and second[name].verdict is Verdict.SLOWER:
            verdict = texts.VERDICT_CONFIRMED
        rows.append(_row(name, seen[name].unit, comparison, verdict))
        if name in second:
            label = f"{name} ({texts.ROUND_TWO})"
            rows.append(_row(label, seen[name].unit, second[name], str(second[name].verdict)))
    return "\n".join(rows)


def _unmatched(measured: Round, compared: Mapping[str, Comparison]) -> str:
    """Benchmarks that ran on one side only (added or removed by the change)."""
    lines = []
    for side, label in ((Side.HEAD, texts.ONLY_HEAD), (Side.BASE, texts.ONLY_BASE)):
        names = sorted(set(measured.samples[side]) - set(compared))
        if names:
            lines.append(label.format(names=", ".join(f"`{name}`" for name in names)))
    return "".join(f"\n\n{line}" for line in lines)


def _row(name: str, unit: str, comparison: Comparison, verdict: str) -> str:
    return texts.TABLE_ROW.format(
        name=name.replace("|", "\\|").replace("`", "'"),
        base=_value(comparison.base_median, unit),
        head=_value(comparison.head_median, unit),
        ratio=comparison.ratio,
        low=comparison.low,
        high=comparison.high,
        p=comparison.p,
        runs=f"{comparison.base_runs} + {comparison.head_runs}",
        verdict=verdict,
    )


_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def _value(value: float, unit: str) -> str:
    if unit != SECONDS:
        return f"{value:.4g} {unit}"
    for scale, name in _TIME_UNITS:
        if value >= scale:
            return f"{value / scale:.3g} {name}"
    return f"{value / 1e-9:.3g} ns"
