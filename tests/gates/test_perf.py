"""L4 · Performance: the statistics, the interleaved runs, the verdicts, and real runs."""

from __future__ import annotations

import random
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from bot.errors import ToolFailed
from gates.config import (
    BenchmarkStatistic,
    GateConfig,
    GateLevel,
    GatesConfig,
    PerformanceConfig,
    load_defaults,
)
from gates.model import Conclusion, Scan
from gates.perf import Side, judge, measure, seed_for
from gates.perf.results import Measurement, parse
from gates.perf.stats import Verdict, bootstrap_ratio, compare, mann_whitney_p
from gates.revision import GateInput
from gates.runner import run_gates
from gates.tools import ToolRunner
from tests.gates.conftest import Repo

L4 = [GateLevel.L4]
SEEDS = range(300)


def timings(rng: random.Random, scale: float, *, n: int = 10, spread: float = 0.1) -> list[float]:
    """Run times as a busy machine gives them: log-normal, with one run in twenty twice
    as slow (another job took the core)."""
    return [
        scale * rng.lognormvariate(0, spread) * (2 if rng.random() < 0.05 else 1) for _ in range(n)
    ]


def verdict(base_scale: float, head_scale: float, seed: int, spread: float = 0.1) -> Verdict:
    rng = random.Random(seed)
    base, head = timings(rng, base_scale, spread=spread), timings(rng, head_scale, spread=spread)
    return compare(
        base, head, rng, threshold=0.1, alpha=0.01, confidence=0.95, resamples=300
    ).verdict


# ---------------------------------------------------------------------------- statistics


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # Worked by hand. Separated: U = 0, mean 12.5, variance 25/12 * 11, z = 12/4.787.
        # With ties: ranks 1.5 1.5 4 4 7 | 4 7 7 9.5 9.5, U = 3, tie term 60,
        # variance 25/12 * (11 - 60/90), z = 9/4.6398.
        ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0.012185780355344818),
        ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 1.0),
        ([1, 1, 2, 2, 3], [2, 3, 3, 4, 4], 0.05241162867102868),
        ([5, 5, 5], [5, 5, 5], 1.0),
    ],
    ids=["separated", "identical", "with-ties", "all-equal"],
)
def test_mann_whitney_p_values(first: list[float], second: list[float], expected: float) -> None:
    assert mann_whitney_p(first, second) == pytest.approx(expected, rel=1e-9)


def test_an_a_a_comparison_is_never_a_slowdown_across_many_seeds() -> None:
    verdicts = {verdict(1.0, 1.0, seed, spread=0.2) for seed in SEEDS}
    assert verdicts == {Verdict.UNCHANGED}


def test_a_noisy_five_percent_difference_never_fails_a_ten_percent_threshold() -> None:
    assert {verdict(1.0, 1.05, seed) for seed in SEEDS} == {Verdict.UNCHANGED}


def test_a_two_fold_slowdown_is_found_nearly_always() -> None:
    found = [verdict(1.0, 2.0, seed) for seed in SEEDS]
    assert found.count(Verdict.SLOWER) >= 0.98 * len(found)
    assert Verdict.FASTER not in found


def test_a_two_fold_speed_up_is_faster_not_slower() -> None:
    assert verdict(2.0, 1.0, seed=7) is Verdict.FASTER


def test_the_bootstrap_interval_holds_the_true_ratio() -> None:
    rng = random.Random(11)
    base, head = timings(rng, 1.0, n=30), timings(rng, 1.5, n=30)
    low, high = bootstrap_ratio(base, head, rng, resamples=1000, confidence=0.95)
    assert low < 1.5 < high
    assert high - low < 0.5


def test_the_same_seed_gives_the_same_verdict_and_interval() -> None:
    def once() -> tuple[float, float]:
        rng = random.Random(3)
        result = compare(
            timings(rng, 1.0),
            timings(rng, 1.2),
            rng,
            threshold=0.1,
            alpha=0.01,
            confidence=0.95,
            resamples=500,
        )
        return result.low, result.high

    assert once() == once()


# ---------------------------------------------------------------------------- results


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {
                "benchmarks": [
                    {
                        "name": "test_parse",
                        "fullname": "tests/test_bench.py::test_parse",
                        "stats": {"median": 0.002, "min": 0.001, "mean": 0.003},
                    }
                ]
            },
            {"tests/test_bench.py::test_parse": (0.002, "tests/test_bench.py")},
        ),
        (
            {"benchmarks": [{"name": "parse", "value": 12, "unit": "instructions"}]},
            {"parse": (12.0, "")},
        ),
        (
            {"benchmarks": [{"name": "render", "samples": [3, 1, 2], "file": "bench/r.py"}]},
            {"render": (2.0, "bench/r.py")},
        ),
        (
            {"benchmarks": [{"name": "bad", "value": "fast"}, {"name": "neg", "value": -1}]},
            {},
        ),
    ],
    ids=["pytest-benchmark", "value-with-unit", "samples", "unusable-values-skipped"],
)
def test_benchmark_json_shapes(data: object, expected: dict[str, tuple[float, str]]) -> None:
    found = parse(data, BenchmarkStatistic.MEDIAN)
    assert {name: (m.value, m.file) for name, m in found.items()} == expected


def test_results_without_a_benchmarks_list_are_an_error() -> None:
    with pytest.raises(ToolFailed, match='no "benchmarks" list'):
        parse({"results": []}, BenchmarkStatistic.MEDIAN)


# ---------------------------------------------------------------------------- runs


def settings(**overrides: object) -> PerformanceConfig:
    base = load_defaults().performance.model_dump()
    return PerformanceConfig.model_validate({**base, "command": "bench", **overrides})


class FakeBench:
    """Measures ``scale[side]`` per run (with noise), in the order it is asked."""

    def __init__(self, scales: list[Mapping[Side, float]], repeats: int) -> None:
        self.scales = scales
        self.repeats = repeats
        self.order: list[Side] = []
        self.rng = random.Random(5)

    def __call__(self, side: Side) -> Mapping[str, Measurement]:
        self.order.append(side)
        round_index = min((len(self.order) - 1) // (2 * self.repeats), len(self.scales) - 1)
        value = self.scales[round_index][side] * self.rng.lognormvariate(0, 0.05)
        found = {"parse": Measurement("parse", value, file="bench.py")}
        if side is Side.HEAD:
            found["render"] = Measurement("render", value)  # added by the change
        return found


def test_base_and_head_are_interleaved_in_a_seeded_random_order() -> None:
    def order(seed: int) -> list[Side]:
        bench = FakeBench([{Side.BASE: 1, Side.HEAD: 1}], repeats=12)
        measure(bench, 12, random.Random(seed))
        return bench.order

    pairs = [tuple(order(1)[i : i + 2]) for i in range(0, 24, 2)]
    assert all(set(pair) == {Side.BASE, Side.HEAD} for pair in pairs)
    assert len(set(pairs)) == 2, "both orders are drawn"
    assert order(1) == order(1)
    assert order(1) != order(2)


def head_input(tmp_path: Path) -> GateInput:
    (tmp_path / "bench.py").write_text("def parse():\n    pass\n", encoding="utf-8")
    return GateInput.from_diff_text(head=tmp_path, base=None, diff="")


def test_a_slowdown_confirmed_by_the_second_round_is_a_finding(tmp_path: Path) -> None:
    bench = FakeBench([{Side.BASE: 1.0, Side.HEAD: 2.0}], repeats=10)

    scan = judge(bench, settings(repeats=10), random.Random(1), head_input(tmp_path))

    assert [(f.path, f.start_line, f.rule) for f in scan.head] == [
        ("bench.py", 1, "performance-regression")
    ]
    assert "A second round agreed" in scan.head[0].message
    assert len(bench.order) == 40, "two rounds of ten runs per side"
    assert "| `parse (second round)` |" in scan.report


def test_a_slowdown_the_second_round_does_not_see_is_not_failed(tmp_path: Path) -> None:
    bench = FakeBench([{Side.BASE: 1.0, Side.HEAD: 2.0}, {Side.BASE: 1.0, Side.HEAD: 1.0}], 10)

    scan = judge(bench, settings(repeats=10), random.Random(1), head_input(tmp_path))

    assert scan.head == ()
    assert scan.incomplete == ("a slowdown of `parse` was not confirmed by a second round",)


def test_no_slowdown_is_neutral_with_the_table(tmp_path: Path) -> None:
    bench = FakeBench([{Side.BASE: 1.0, Side.HEAD: 1.0}], repeats=10)

    scan = judge(bench, settings(repeats=10), random.Random(1), head_input(tmp_path))

    assert scan.head == ()
    assert scan.incomplete == ("no significant slowdown past 10% in 1 benchmark(s)",)
    assert len(bench.order) == 20, "no second round without a slowdown"
    assert "| `parse` |" in scan.report
    assert "Not compared, only on the head (new): `render`" in scan.report


def test_the_seed_is_fixed_by_the_head_commit() -> None:
    assert seed_for("a" * 40) == seed_for("a" * 40) != seed_for("b" * 40)


# ---------------------------------------------------------------------------- the gate

BENCH = textwrap.dedent("""\
    import json
    import sys
    import time

    WORK = 150_000


    def test_work():
        total = 0
        for i in range(WORK):
            total += i * i
        return total


    def measure():
        start = time.process_time()
        test_work()
        return time.process_time() - start


    samples = [measure() for _ in range(3)]
    result = {"name": "test_work", "samples": samples, "file": "bench.py"}
    with open(sys.argv[1], "w") as out:
        json.dump({"benchmarks": [result]}, out)
    """)


def perf_config(command: str = "{python} bench.py {output}") -> GatesConfig:
    return load_defaults().with_overrides({"performance": {"command": command, "repeats": 8}})


def test_without_a_command_the_gate_is_neutral_and_says_how(repo: Repo) -> None:
    repo.branch("change")
    repo.commit({"app.py": "x = 1\n"})

    result = repo.run(levels=L4)[GateLevel.L4]

    assert result.conclusion is Conclusion.NEUTRAL
    assert (
        result.reason
        == "not applicable: no benchmark command configured (gates.performance.command)"
    )
    assert 'command: "{python} -m pytest benchmarks' in result.report


def test_a_benchmark_twice_as_slow_fails_at_its_definition(repo: Repo) -> None:
    repo.commit({"bench.py": BENCH}, "bench")
    repo.branch("change")
    repo.commit({"bench.py": BENCH.replace("WORK = 150_000", "WORK = 300_000")})

    result = repo.run(levels=L4, config=perf_config())[GateLevel.L4]

    assert result.conclusion is Conclusion.FAILURE, result.report
    assert [(f.path, f.start_line) for f in result.new] == [("bench.py", 8)]
    assert "slower" in result.new[0].message


def test_a_command_missing_on_the_base_is_neutral_saying_so(repo: Repo) -> None:
    repo.branch("change")
    repo.commit({"bench.py": BENCH})

    result = repo.run(levels=L4, config=perf_config())[GateLevel.L4]

    assert result.conclusion is Conclusion.NEUTRAL
    assert result.reason.startswith("the benchmark command does not run on the base revision")


class Recording:
    """A gate that notes when it ran (on a shared list) and takes a moment."""

    def __init__(self, level: GateLevel, log: list[tuple[str, GateLevel]], alone: bool) -> None:
        self.LEVEL = level
        self.TITLE = "recording"
        self.RUNS_ALONE = alone
        self.log = log

    def scan(self, inp: GateInput, config: GateConfig, tools: ToolRunner) -> Scan:
        self.log.append(("start", self.LEVEL))
        time.sleep(0.2)
        self.log.append(("end", self.LEVEL))
        return Scan()


def test_a_gate_that_measures_time_starts_after_the_others_finished(tmp_path: Path) -> None:
    log: list[tuple[str, GateLevel]] = []
    gates = {
        GateLevel.L1: Recording(GateLevel.L1, log, alone=False),
        GateLevel.L4: Recording(GateLevel.L4, log, alone=True),
        GateLevel.L5: Recording(GateLevel.L5, log, alone=False),
    }
    inp = GateInput.from_diff_text(head=tmp_path, base=None, diff="")

    results = run_gates(inp, load_defaults(), gates=gates)

    assert [r.level for r in results] == [GateLevel.L1, GateLevel.L4, GateLevel.L5]
    assert log[-2:] == [("start", GateLevel.L4), ("end", GateLevel.L4)]
    assert {entry for entry in log[:4]} == {
        (event, level) for event in ("start", "end") for level in (GateLevel.L1, GateLevel.L5)
    }
