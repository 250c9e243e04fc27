"""Benchmark of the planning core: research, planning and rendering on ~2,000 files.

Generates a repository with bench/repo_gen.py in a temporary directory, then runs
research (per agent timings), the deterministic planner and the checklist renderer
several times and prints the median of each step. Agents run concurrently in threads,
so per-agent times overlap; "research (cpu)" is the process CPU time, which says more
than wall time on a busy machine. No network, no GitHub.

    .venv/bin/python bench/plan_core.py [--files 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Run as a script, bench/ leads sys.path; it goes last, so bench/queue.py does not stand
# in for the standard library's queue.
sys.path.sort(key=lambda entry: Path(entry or ".").resolve() == Path(__file__).resolve().parent)

from agents.research import research
from bench.repo_gen import generate
from bot.plan.checklist import render
from bot.plan.model import IssueInput
from bot.plan.planner import make_plan
from bot.repo_config import load_defaults

ISSUE = IssueInput(
    title="Checkout total is wrong when a coupon is applied",
    body=(
        "Applying a coupon at checkout shows the old cart total.\n\n"
        "- [ ] Define the coupon API schema (high)\n"
        "- [ ] Fix the cart total computation in the checkout service (after 1)\n"
        "- [ ] Show the discounted total on the cart page (after 2)\n"
        "- [ ] Add regression tests for coupons (after 2)\n"
        "- [ ] Update the docs (after 3)\n"
    ),
    number=42,
    labels=("bug",),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    config = load_defaults()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp), files=args.files)
        research(root, ISSUE.text)  # warm imports and the page cache
        samples: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.runs):
            started, cpu = time.perf_counter(), time.process_time()
            findings = research(root, ISSUE.text, budget_seconds=30)
            samples["research (wall)"].append(time.perf_counter() - started)
            samples["research (cpu)"].append(time.process_time() - cpu)
            for timing in findings.timings:
                samples[f"  {timing.agent}"].append(timing.seconds)
            started = time.perf_counter()
            plan = make_plan(ISSUE, findings, config.agents, config.planning)
            samples["plan"].append(time.perf_counter() - started)
            started = time.perf_counter()
            body = render(plan, findings)
            samples["render"].append(time.perf_counter() - started)
            samples["total"].append(
                sum(samples[k][-1] for k in ("research (wall)", "plan", "render"))
            )
    print(
        f"files researched: {findings.file_count}; tasks: {len(plan.tasks)}; "
        f"comment: {len(body)} chars; degraded: {[d.agent for d in findings.degraded]}"
    )
    print(f"{'step':<22}{'median ms':>10}{'max ms':>10}   ({args.runs} runs)")
    for name, values in samples.items():
        print(f"{name:<22}{statistics.median(values) * 1000:>10.1f}{max(values) * 1000:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
