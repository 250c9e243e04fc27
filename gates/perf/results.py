"""Reads one benchmark run's JSON: pytest-benchmark's, or TechLead's own small shape.

pytest-benchmark (``--benchmark-json``)::

    {"benchmarks": [{"name": "test_parse", "fullname": "tests/test_bench.py::test_parse",
                     "stats": {"median": 0.0012, "min": ..., "mean": ...}}, ...]}

TechLead's shape, for any other harness (lower is better; ``unit`` defaults to seconds)::

    {"benchmarks": [{"name": "parse", "value": 0.0012, "unit": "s"},
                    {"name": "render", "samples": [0.51, 0.49, 0.50]}]}

``samples`` stand for one value, their median. A benchmark may name its source as
``"file": "bench/parse.py"`` (pytest-benchmark's ``fullname`` gives it already).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from bot.errors import ToolFailed
from gates.config import BenchmarkStatistic

SECONDS = "s"


@dataclass(frozen=True)
class Measurement:
    """One benchmark's value in one run, with its unit and where it is defined."""

    name: str
    value: float
    unit: str = SECONDS
    file: str = ""


def read(path: Path, statistic: BenchmarkStatistic) -> dict[str, Measurement]:
    """The benchmarks of one run's JSON file, by name."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ToolFailed("the benchmark command wrote no JSON results") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ToolFailed(f"the benchmark results are not JSON: {exc}") from exc
    return parse(data, statistic)


def parse(data: Any, statistic: BenchmarkStatistic) -> dict[str, Measurement]:
    entries = data.get("benchmarks") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise ToolFailed('the benchmark results have no "benchmarks" list')
    found: dict[str, Measurement] = {}
    for entry in entries:
        measurement = _measurement(entry, statistic) if isinstance(entry, Mapping) else None
        if measurement is not None:
            found[measurement.name] = measurement
    return found


def _measurement(entry: Mapping[str, Any], statistic: BenchmarkStatistic) -> Measurement | None:
    name = str(entry.get("fullname") or entry.get("name") or "")
    if not name:
        return None
    value = _value(entry, statistic)
    if value is None or not math.isfinite(value) or value < 0:
        return None
    unit = str(entry.get("unit") or SECONDS)
    return Measurement(name, value, unit, _file(entry))


def _value(entry: Mapping[str, Any], statistic: BenchmarkStatistic) -> float | None:
    stats = entry.get("stats")
    if isinstance(stats, Mapping):
        return _number(stats.get(statistic.value))
    samples = entry.get("samples")
    if isinstance(samples, list):
        numbers = [n for n in (_number(s) for s in samples) if n is not None]
        return median(numbers) if numbers else None
    return _number(entry.get("value"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _file(entry: Mapping[str, Any]) -> str:
    if isinstance(entry.get("file"), str):
        return str(entry["file"])
    fullname = str(entry.get("fullname") or "")
    return fullname.split("::", 1)[0] if "::" in fullname else ""
