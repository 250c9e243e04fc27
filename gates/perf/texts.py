"""Every text the performance gate shows people."""

from __future__ import annotations

NOT_CONFIGURED = "no benchmark command configured (gates.performance.command)"
HOW_TO = """\
### How to turn on the performance gate

Add a benchmark command to `.github/techlead.yml` on the default branch:

```yaml
gates:
  performance:
    command: "{python} -m pytest benchmarks -q --benchmark-json {output}"
```

TechLead runs it on the base and on the head of each pull request, several times each,
interleaved in random order, and fails the check only when a benchmark is slower past
`threshold` (10% by default) with Mann-Whitney p < `alpha` and a bootstrap interval of
the ratio past the threshold, confirmed by a second round.

`{python}` is TechLead's Python, `{output}` the JSON file the command writes (its path
is also in `$TECHLEAD_BENCHMARK_JSON`). pytest-benchmark's `--benchmark-json` works as
it is; any other harness can write
`{"benchmarks": [{"name": "parse", "value": 0.0123, "unit": "s"}]}` (lower is better;
`samples: [...]` instead of `value` stands for their median).
"""
NO_BASE = "no base revision to compare with"
BASE_FAILED = "the benchmark command does not run on the base revision: {reason}"
NOTHING_COMMON = "no benchmark reported results on both the base and the head"
NO_SLOWDOWN = "no significant slowdown past {threshold:.0%} in {count} benchmark(s)"
NOT_CONFIRMED = "a slowdown of {names} was not confirmed by a second round"
UNSANDBOXED = "benchmarks ran unsandboxed: {problem}"
JAILED = "benchmarks ran in a bubblewrap jail without network"
RUNS = (
    "{repeats} runs per side, interleaved in random order (seed {seed}), "
    "after {warmup} warm-up run(s) per side"
)
SLOWER = (
    "`{name}` is {ratio:.2f}x slower: median {base} → {head}, {confidence:.0%} interval "
    "of the ratio {low:.2f}x-{high:.2f}x, Mann-Whitney p = {p:.2g} ({runs} runs). "
    "{confirmation}"
)
CONFIRMED = "A second round agreed: {ratio:.2f}x ({low:.2f}x-{high:.2f}x), p = {p:.2g}."
NOT_RECHECKED = "Not measured again (gates.performance.confirm is off)."
TABLE_HEAD = (
    "### Benchmarks (head / base)\n\n"
    "| Benchmark | Base (median) | Head (median) | Head / base | {confidence:.0%} interval | "
    "p (Mann-Whitney) | Runs | Verdict |\n|---|---:|---:|---:|---|---:|---:|---|"
)
TABLE_ROW = (
    "| `{name}` | {base} | {head} | {ratio:.3f}x | {low:.3f}x-{high:.3f}x | {p:.2g} | "
    "{runs} | {verdict} |"
)
ROUND_TWO = "second round"
ONLY_HEAD = "Not compared, only on the head (new): {names}"
ONLY_BASE = "Not compared, only on the base (removed or failing): {names}"
VERDICT_CONFIRMED = "**slower** (confirmed)"
