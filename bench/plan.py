"""Benchmark of planning on GitHub: from the ``issues.labeled`` delivery to the plan comment.

A generated repository of about 10,000 files (bench/repo_gen.py) is pushed into the
GitHub sandbox; TechLead runs in-process (real webhook intake over HTTP, the worker,
the GitHub port over HTTP with no write pacing). Each run opens an issue, labels it,
and polls the sandbox's state until the plan comment exists. Runs come in three
kinds: ``cold`` (the first: TechLead clones the repository into its mirror),
``same`` (the default branch has not moved: the inventory of its commit is reused)
and ``pushed`` (a commit was pushed just before: fetch, check out and read again).

Per run and as p50/max over the runs:

* total: the sandbox sending the labeled delivery -> the plan comment existing;
* webhook: sending -> TechLead's intake storing the delivery;
* routing: stored -> the plan.run job scheduled (routing job queued and run);
* job phases, as the plan job records them: config, permission and issue reads,
  git (fetch + checkout), research agents, planning, and writing the comment;
* GitHub: requests made during the run and the time spent in API calls.

    .venv/bin/python bench/plan.py [--files 10000] [--same 4] [--pushed 3]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Run as a script, bench/ leads sys.path; it goes last, so bench/queue.py does not stand
# in for the standard library's queue.
sys.path.sort(key=lambda entry: Path(entry or ".").resolve() == Path(__file__).resolve().parent)

from bench.repo_gen import generate
from bot.demo import LocalBot, Person, app_settings, sandbox_modules, wait_for, wait_idle
from bot.github import GitHubClient
from bot.log import configure_logging
from bot.plan.checklist import PLAN_MARKER
from bot.sandbox import Sandbox
from bot.sandbox.server import ServerThread
from bot.settings import Settings
from bot.worker import WorkerConfig

SECRET = "bench-secret"
TARGET_SECONDS = 3.0
ISSUE_TITLE = "Checkout total is wrong when a coupon is applied"
ISSUE_BODY = """\
Applying a coupon at checkout shows the old cart total.

- [ ] Define the coupon API schema (high)
- [ ] Fix the cart total computation in the checkout service (after 1)
- [ ] Show the discounted total on the cart page (after 2)
- [ ] Add regression tests for coupons (after 2)
- [ ] Update the docs (after 3)
"""
# Job phases as the plan job records them, in the order they happen.
PHASES = (
    ("config", "config"),
    ("permission", "permission"),
    ("github_issue", "issue"),
    ("research_git", "git"),
    ("research_agents", "agents"),
    ("planning", "planning"),
    ("github_comment", "comment"),
)
GITHUB_PHASES = ("config", "permission", "github_issue", "github_comment")
KINDS = ("cold", "same", "pushed")


@dataclass
class Run:
    kind: str
    columns: dict[str, float] = field(default_factory=dict)
    requests: int = 0


@dataclass
class Rig:
    sandbox: Sandbox
    bot: LocalBot
    github: GitHubClient
    person: Person
    repo: str


def build(root: Path, files: int) -> tuple[Rig, Callable[[], None]]:
    source = generate(root / "source", files=files)
    sandbox = Sandbox(root / "github", modules=sandbox_modules())
    server = ServerThread(sandbox)
    server.start()
    owner = sandbox.create_user("bench-owner")
    repo = sandbox.create_repo(owner.login, "big-shop", source=source)
    app = sandbox.create_app(owner.login, "techlead-bench")
    sandbox.install_app(app.id, owner.login, repositories=[repo.name])
    settings = app_settings(sandbox, app, root / "techlead", SECRET)
    github = GitHubClient(settings)
    bot = LocalBot(settings, github, worker=WorkerConfig(poll_seconds=0.05))
    bot.start()
    sandbox.set_app_webhook(app.id, bot.webhook_url, SECRET)
    person = Person(sandbox.api_url, owner.login, owner.token)

    def stop() -> None:
        person.close()
        bot.stop()
        server.stop()

    return Rig(sandbox, bot, github, person, repo.full_name), stop


def one_run(rig: Rig, kind: str) -> Run:
    if kind == "pushed":
        push_commit(rig)
    before = rig.github.stats.total()
    issue = rig.person.open_issue(rig.repo, ISSUE_TITLE, ISSUE_BODY)
    assert wait_idle(rig.sandbox, rig.bot), "the opened event was not handled"
    rig.person.label(rig.repo, issue, "techlead")
    assert wait_for(lambda: comment_exists(rig, issue), timeout=60), "no plan comment"
    seen = time.time()
    assert wait_idle(rig.sandbox, rig.bot), "TechLead did not settle"
    sent = labeled_sent_at(rig, issue)
    received, scheduled = stored_at(rig, issue)
    timings = rig.bot.plan(rig.repo, issue).timings
    run = Run(kind, requests=rig.github.stats.total() - before)
    run.columns["total"] = seen - sent
    run.columns["webhook"] = received - sent
    run.columns["routing"] = scheduled - received
    for key, name in PHASES:
        run.columns[name] = timings.get(key, 0.0)
    run.columns["github api"] = sum(timings.get(key, 0.0) for key in GITHUB_PHASES)
    return run


def push_commit(rig: Rig) -> None:
    """A commit on the default branch (through the contents API, as a web edit would)."""
    stamp = base64.b64encode(f"changed at {time.time()}\n".encode()).decode()
    path = f"/repos/{rig.repo}/contents/CHANGELOG.txt"
    body: dict[str, str] = {"message": "Update the changelog", "content": stamp}
    with contextlib.suppress(httpx.HTTPStatusError):  # the first push creates the file
        body["sha"] = rig.person.call("GET", path)["sha"]
    rig.person.call("PUT", path, body)
    assert wait_idle(rig.sandbox, rig.bot), "the push was not handled"


def comment_exists(rig: Rig, issue: int) -> bool:
    with rig.sandbox.state.lock:
        comments = list(rig.sandbox.repo(rig.repo).comments.values())
    return any(c.issue_number == issue and c.body.startswith(PLAN_MARKER) for c in comments)


def labeled_sent_at(rig: Rig, issue: int) -> float:
    sent = [
        d.delivered_at
        for d in rig.sandbox.webhook_deliveries()
        if d.event == "issues" and d.action == "labeled" and d.payload["issue"]["number"] == issue
    ]
    return sent[-1]


def stored_at(rig: Rig, issue: int) -> tuple[float, float]:
    """When intake stored the labeled delivery, and when its plan.run job was scheduled."""
    with rig.bot.services.store.reading() as conn:
        received, delivery = conn.execute(
            "SELECT received_at, delivery_id FROM deliveries WHERE event = 'issues' "
            "AND action = 'labeled' ORDER BY received_at DESC LIMIT 1"
        ).fetchone()
        (scheduled,) = conn.execute(
            "SELECT created_at FROM jobs WHERE kind = 'plan.run' AND delivery_id = ?", (delivery,)
        ).fetchone()
    return float(received), float(scheduled)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--same", type=int, default=4, help="runs on an unchanged branch")
    parser.add_argument("--pushed", type=int, default=3, help="runs right after a push")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="techlead-bench-plan-") as tmp,
        open(os.devnull, "w") as quiet,
    ):
        # TechLead's log lines would cost time on the terminal; they are not measured.
        configure_logging(Settings(), stream=quiet)
        rig, stop = build(Path(tmp), args.files)
        try:
            kinds = ["cold"] + ["same"] * args.same + ["pushed"] * args.pushed
            runs = [one_run(rig, kind) for kind in kinds]
            files = rig.bot.plans()[-1].findings
        finally:
            stop()
    report(runs, files.file_count if files else 0)
    return 0


def report(runs: list[Run], file_count: int) -> None:
    names = list(runs[0].columns)
    print(f"repository: {file_count} files researched; {len(runs)} runs")
    print(f"{'run':<10}" + "".join(f"{name:>11}" for name in names) + f"{'requests':>10}")
    for index, run in enumerate(runs, start=1):
        cells = "".join(f"{run.columns[name] * 1000:>9.0f}ms" for name in names)
        print(f"{index:<3}{run.kind:<7}{cells}{run.requests:>10}")
    groups = [("all", runs), *((kind, [r for r in runs if r.kind == kind]) for kind in KINDS)]
    for group, members in groups:
        if not members:
            continue
        for label, pick in (("p50", statistics.median), ("max", max)):
            cells = "".join(
                f"{pick([r.columns[n] for r in members]) * 1000:>9.0f}ms" for n in names
            )
            requests = pick([r.requests for r in members])
            print(f"{label:<4}{group:<6}{cells}{requests:>10.0f}")
    totals = [run.columns["total"] for run in runs]
    p50 = statistics.median(totals)
    print(
        f"label -> plan comment: p50 {p50:.2f} s, max {max(totals):.2f} s "
        f"(target {TARGET_SECONDS:.0f} s)"
    )


if __name__ == "__main__":
    sys.exit(main())
