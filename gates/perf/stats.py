"""The statistics of the performance gate: pure functions over two samples of timings.

A head is slower only when both say so:

- **Mann-Whitney U** (two-sided, normal approximation with the tie correction and a
  continuity correction): the two samples differ in location, p < alpha. It assumes no
  distribution, so the long right tail of timings on a shared machine does no harm.
- **Bootstrap interval of the ratio of medians** (head / base, percentile method): the
  whole interval lies past ``1 + threshold``, so the slowdown is large enough to matter,
  not only detectable.

Neither alone would do: with many runs a 1% difference is significant, and with few
runs an interval can sit past the threshold by chance. A slower verdict is confirmed
by a second, independent round before it fails a check (the caller runs it).
Randomness comes in as a ``random.Random``, so a seed reproduces a verdict.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median


class Verdict(enum.StrEnum):
    SLOWER = "slower"
    FASTER = "faster"
    UNCHANGED = "no significant change"


@dataclass(frozen=True)
class Comparison:
    """Head against base for one benchmark.

    ``ratio`` is median(head) / median(base) (above 1: slower), ``low``/``high`` its
    bootstrap interval, ``p`` Mann-Whitney's two-sided p-value.
    """

    base_median: float
    head_median: float
    ratio: float
    low: float
    high: float
    p: float
    base_runs: int
    head_runs: int
    verdict: Verdict


def mann_whitney_p(first: Sequence[float], second: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation)."""
    n1, n2 = len(first), len(second)
    if n1 == 0 or n2 == 0:
        return 1.0
    ranks, ties = _ranks([*first, *second])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0  # every value equal: no evidence of a difference
    z = max(0.0, abs(u1 - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return math.erfc(z / math.sqrt(2))


def _ranks(values: Sequence[float]) -> tuple[list[float], float]:
    """Average ranks (1-based) and the tie term sum(t^3 - t) over groups of ties."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        rank = (start + end) / 2 + 1
        for index in order[start : end + 1]:
            ranks[index] = rank
        size = end - start + 1
        ties += size**3 - size
        start = end + 1
    return ranks, ties


def bootstrap_ratio(
    base: Sequence[float],
    head: Sequence[float],
    rng: random.Random,
    *,
    resamples: int,
    confidence: float,
) -> tuple[float, float]:
    """Percentile bootstrap interval of median(head) / median(base)."""
    ratios = []
    for _ in range(resamples):
        base_median = median(rng.choices(base, k=len(base)))
        head_median = median(rng.choices(head, k=len(head)))
        ratios.append(head_median / base_median if base_median > 0 else math.inf)
    ratios.sort()
    tail = (1 - confidence) / 2
    return _quantile(ratios, tail), _quantile(ratios, 1 - tail)


def _quantile(ordered: Sequence[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    if math.isinf(ordered[low]) or math.isinf(ordered[high]):
        return ordered[high] if position > low else ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def compare(
    base: Sequence[float],
    head: Sequence[float],
    rng: random.Random,
    *,
    threshold: float,
    alpha: float,
    confidence: float,
    resamples: int,
) -> Comparison:
    """The verdict on ``head`` against ``base`` (lower values are better)."""
    base_median, head_median = median(base), median(head)
    ratio = head_median / base_median if base_median > 0 else math.inf
    low, high = bootstrap_ratio(base, head, rng, resamples=resamples, confidence=confidence)
    p = mann_whitney_p(base, head)
    verdict = Verdict.UNCHANGED
    if p < alpha and low > 1 + threshold:
        verdict = Verdict.SLOWER
    elif p < alpha and high < 1 / (1 + threshold):
        verdict = Verdict.FASTER
    return Comparison(base_median, head_median, ratio, low, high, p, len(base), len(head), verdict)
