"""Benchmark: N independent tasks fanned out by a real TechLead over the sandbox GitHub.

A repository whose only specialist runs a ``command:`` executor that sleeps a fixed
time and writes one file; an issue with N independent tasks is planned, approved and
carried out end to end (branches, task PRs, merges, the integration PR) by the app as
``techlead serve`` composes it, on worker threads. Gates and reviews are off unless ``--gates``.

Prints, from the execution record TechLead keeps:

- parallel efficiency = Σ task time (start to merged) ÷ (wall x parallelism), the
  figure the checklist shows; target ≥ 0.85 at ``max_parallel`` 4;
- executor share = Σ executor time ÷ (wall x parallelism), and its complement, the
  coordination overhead (worktrees, pushes, PRs, merges, checklist edits);
- GitHub requests per task (every request TechLead sent, planning included, ÷ N).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Run as a script, bench/ leads sys.path; it goes last, so bench/queue.py does not stand
# in for the standard library's queue.
sys.path.sort(key=lambda entry: Path(entry or ".").resolve() == Path(__file__).resolve().parent)

from bot.demo import LocalBot, Person, app_settings, sandbox_modules, wait_idle  # noqa: E402
from bot.features.execution.schedule import metrics  # noqa: E402
from bot.github import GitHubClient  # noqa: E402
from bot.sandbox import Sandbox  # noqa: E402
from bot.sandbox.server import ServerThread  # noqa: E402
from bot.state import open_run_store  # noqa: E402
from bot.worker import WorkerConfig  # noqa: E402

SECRET = "bench-fanout-secret"
TARGET = 0.85
AGENT = """import os, pathlib, sys, time
time.sleep(float(sys.argv[1]))
folder = pathlib.Path("work")
folder.mkdir(exist_ok=True)
(folder / (os.environ["TECHLEAD_TASK_ID"] + ".txt")).write_text("done")
"""
GATES_OFF = """reviews: {enabled: false}
gates:
  lint: {enabled: false}
  contracts: {enabled: false}
  integration: {enabled: false}
  performance: {enabled: false}
  security: {enabled: false}
"""
GATES_L1 = """gates:
  contracts: {enabled: false}
  integration: {enabled: false}
  performance: {enabled: false}
  security: {enabled: false}
"""


def config(agent: Path, seconds: float, parallel: int, gates: bool) -> str:
    return f"""agents_replace: true
agents:
  - name: worker
    description: Sleeps and writes a file.
    keywords: [task]
    executor: "command:{sys.executable} {agent} {seconds}"
execution:
  max_parallel: {parallel}
{GATES_L1 if gates else GATES_OFF}"""


def issue_body(tasks: int) -> str:
    items = "\n".join(f"- [ ] Task number {n} of the fan-out" for n in range(1, tasks + 1))
    return f"Independent work.\n\n{items}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=3.0, help="each executor's sleep")
    parser.add_argument("--parallel", type=int, default=4, help="execution.max_parallel")
    parser.add_argument("--gates", action="store_true", help="keep the lint gate on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="techlead-fanout-") as folder:
        return run(Path(folder), args.tasks, args.seconds, args.parallel, args.gates)


def run(root: Path, tasks: int, seconds: float, parallel: int, gates: bool) -> int:
    agent = root / "agent.py"
    agent.write_text(AGENT)
    sandbox = Sandbox(root / "github", modules=sandbox_modules())
    server = ServerThread(sandbox)
    server.start()
    owner = sandbox.create_user("bench-owner")
    files = {
        "README.md": "# Fan-out\n",
        ".github/techlead.yml": config(agent, seconds, parallel, gates),
    }
    repo = sandbox.create_repo(owner.login, "fanout", files=files)
    app = sandbox.create_app(owner.login, "techlead-fanout")
    sandbox.install_app(app.id, owner.login, repositories=[repo.name])
    settings = app_settings(sandbox, app, root / "techlead", SECRET)
    github = GitHubClient(settings)
    threads = parallel * 2 + 2
    bot = LocalBot(settings, github, worker=WorkerConfig(threads=threads, poll_seconds=0.02))
    bot.start()
    sandbox.set_app_webhook(app.id, bot.webhook_url, SECRET)
    person = Person(sandbox.api_url, owner.login, owner.token)
    try:
        before = github.stats.total()
        issue = person.open_issue(repo.full_name, "Fan-out", issue_body(tasks))
        person.label(repo.full_name, issue, "techlead")
        assert wait_idle(sandbox, bot, 120), "planning did not settle"
        started = time.monotonic()
        person.comment(repo.full_name, issue, "/techlead approve")
        assert wait_idle(sandbox, bot, 60 + tasks * seconds * 4), "execution did not settle"
        elapsed = time.monotonic() - started
        requests = github.stats.total() - before
        routes: dict[str, int] = {}
        for (route, _), count in github.stats.counts().items():
            routes[route] = routes.get(route, 0) + count
        with open_run_store(settings) as runs:
            record = runs.load(repo.full_name, issue)
        kinds: dict[str, int] = {}
        for job in bot.services.queue.list(limit=100_000):
            kinds[job.kind] = kinds.get(job.kind, 0) + 1
    finally:
        person.close()
        bot.stop()
        server.stop()
    merged = sum(1 for task in record.tasks.values() if task.phase.done)
    if not merged:
        print("no task was merged: see the plan comment of the issue")
        return 1
    ended = max(task.finished_at or 0.0 for task in record.tasks.values())
    m = metrics(record.tasks.values(), record.started_at, ended, parallel)
    executor_share = m.executor_seconds / (m.wall_seconds * m.parallelism)
    ideal = -(-tasks // parallel) * seconds
    print(f"tasks {tasks} (merged {merged}) · executor {seconds:g}s each · max_parallel {parallel}")
    print(f"wall (first start to last merge) {m.wall_seconds:.2f}s · ideal {ideal:.2f}s")
    print(f"approve to settled {elapsed:.2f}s · integration PR #{record.integration_pr}")
    print(f"parallel efficiency {m.efficiency:.3f} (target >= {TARGET})")
    print(f"executor share {executor_share:.3f} · coordination overhead {m.overhead:.3f}")
    done = [task for task in record.tasks.values() if task.phase.done]
    before_run = sum(
        (t.executed_at or 0) - (t.started_at or 0) - t.executor_seconds for t in done
    ) / len(done)
    merging = sum((t.finished_at or 0) - (t.executed_at or 0) for t in done) / len(done)
    queued = sum((t.started_at or 0) - (t.queued_at or 0) for t in done) / len(done)
    print(
        f"per task: queued {queued:.2f}s · worktree, commit, push and PR {before_run:.2f}s "
        f"· gates and merge {merging:.2f}s"
    )
    print(f"GitHub requests {requests} · per task {requests / tasks:.1f}")
    print("jobs: " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
    busiest = sorted(routes.items(), key=lambda item: -item[1])[:8]
    print("busiest routes: " + ", ".join(f"{route} {count}" for route, count in busiest))
    return 0 if merged == tasks and m.efficiency >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
