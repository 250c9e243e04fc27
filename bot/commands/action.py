"""``techlead action``: do what the App does for the event of a GitHub Actions run, in-process.

A workflow run hands over one event: its name (``GITHUB_EVENT_NAME``), its payload
(the file at ``GITHUB_EVENT_PATH``), a token (``GITHUB_TOKEN``, or a PAT or App token
passed as ``TECHLEAD_GITHUB_TOKEN``), the API (``GITHUB_API_URL``) and the repository
(``GITHUB_REPOSITORY``). The event is stored as a delivery and fed through the same
router, job registry and worker the webhook server uses, in token mode, and the
worker runs until nothing is left to do: gates and reviews on ``pull_request``,
research and the plan on ``issues.labeled``, commands on ``issue_comment``, and the
execution steps those start.
https://docs.github.com/en/actions/reference/workflows-and-actions/variables
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.errors import SettingsError
from bot.intake import Delivery, envelope
from bot.jobs import Job, JobState
from bot.settings import DEFAULT_API_URL, AuthMode, Settings

HELP = "handle the event of a GitHub Actions run (token mode, no webhook server)"
DEFAULT_TIMEOUT = 3000.0
POLL_SECONDS = 0.05
# The login GitHub shows for writes made with a workflow's GITHUB_TOKEN: TechLead
# ignores events it caused itself, so it must know its own name.
ACTIONS_BOT = "github-actions[bot]"
DATA_DIR = "techlead"

MSG_MISSING = "is not set; `techlead action` runs inside a GitHub Actions job"
MSG_NO_TOKEN = (
    "no token: pass `github-token: ${{ secrets.GITHUB_TOKEN }}` (or a PAT / App token "  # noqa: S105 - a message, not a secret
    "as TECHLEAD_GITHUB_TOKEN)"
)
MSG_UNREADABLE = "cannot read the event payload {path}: {reason}"
MSG_NOT_OBJECT = "the event payload {path} is not a JSON object"
MSG_STARTED = "TechLead: {event} on {repo} (delivery {delivery})"
MSG_DONE = "TechLead: {done} jobs done, {dead} failed, {waiting} unfinished in {seconds:.1f} s"
MSG_DEAD = "  failed: {kind} (job {id}): {error}"
MSG_TIMEOUT = "TechLead: gave up waiting after {seconds:g} s; unfinished jobs are listed above"
SUMMARY_TITLE = "### TechLead"
# Events that may act on an existing plan: its checklist is read back first.
PLAN_EVENTS = frozenset({"issues", "issue_comment"})


@dataclass(frozen=True)
class ActionEvent:
    """The facts of one Actions run that TechLead needs, read from its environment."""

    name: str
    payload: dict[str, Any]
    token: str
    api_url: str
    repository: str
    delivery_id: str
    data_dir: Path
    bot_login: str | None

    @property
    def delivery(self) -> Delivery:
        body = json.dumps(self.payload, separators=(",", ":")).encode("utf-8")
        return Delivery(self.delivery_id, self.name, body, self.payload, envelope(self.payload))


def read_event(env: Mapping[str, str]) -> ActionEvent:
    """The run's event; raises :class:`SettingsError` naming the variable that is wrong."""
    name = _required(env, "GITHUB_EVENT_NAME")
    repository = _required(env, "GITHUB_REPOSITORY")
    payload = read_payload(Path(_required(env, "GITHUB_EVENT_PATH")), repository)
    own_token = env.get("TECHLEAD_GITHUB_TOKEN", "").strip()
    token = own_token or env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise SettingsError("GITHUB_TOKEN", MSG_NO_TOKEN)
    return ActionEvent(
        name=name,
        payload=payload,
        token=token,
        api_url=env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL,
        repository=repository,
        delivery_id=delivery_id(env),
        data_dir=data_dir(env),
        bot_login=env.get("TECHLEAD_BOT_LOGIN", "").strip() or (None if own_token else ACTIONS_BOT),
    )


def read_payload(path: Path, repository: str) -> dict[str, Any]:
    """The payload file; events without a repository (``schedule``) get the run's."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        problem = MSG_UNREADABLE.format(path=path, reason=reason)
        raise SettingsError("GITHUB_EVENT_PATH", problem) from exc
    if not isinstance(payload, dict):
        raise SettingsError("GITHUB_EVENT_PATH", MSG_NOT_OBJECT.format(path=path))
    if not isinstance(payload.get("repository"), dict):
        owner, _, name = repository.partition("/")
        payload["repository"] = {"full_name": repository, "name": name, "owner": {"login": owner}}
    return payload


def delivery_id(env: Mapping[str, str]) -> str:
    """One id per run attempt: a re-run is a new delivery, a retried step the same one."""
    run_id = env.get("GITHUB_RUN_ID", "").strip() or str(int(time.time()))
    attempt = env.get("GITHUB_RUN_ATTEMPT", "").strip() or "1"
    return f"actions-{run_id}-{attempt}"


def data_dir(env: Mapping[str, str]) -> Path:
    """``TECHLEAD_DATA_DIR``, else a directory in the runner's temporary space."""
    given = env.get("TECHLEAD_DATA_DIR", "").strip()
    if given:
        return Path(given)
    temp = env.get("RUNNER_TEMP", "").strip()
    return Path(temp) / DATA_DIR if temp else Path(".techlead")


def action_settings(event: ActionEvent, base: Settings) -> Settings:
    """Token mode on the run's API and token; other settings as ``TECHLEAD_*`` gave them."""
    return dataclasses.replace(
        base,
        app_id=None,
        private_key=None,
        github_token=event.token,
        api_url=event.api_url.rstrip("/"),
        data_dir=event.data_dir,
        bot_login=event.bot_login,
    )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(name, MSG_MISSING)
    return value


# ------------------------------------------------------------------------------ running


@dataclass(frozen=True)
class RunResult:
    """What the worker left behind: every job of the run, and whether it settled."""

    jobs: tuple[Job, ...]
    settled: bool
    seconds: float

    def count(self, state: JobState) -> int:
        return sum(1 for job in self.jobs if job.state is state)

    @property
    def dead(self) -> list[Job]:
        return [job for job in self.jobs if job.state is JobState.DEAD]

    @property
    def ok(self) -> bool:
        return self.settled and not self.dead


def issue_number(event: ActionEvent) -> int | None:
    """The issue (or pull request) an ``issues`` or ``issue_comment`` event is about."""
    issue = event.payload.get("issue")
    number = issue.get("number") if isinstance(issue, dict) else None
    return number if isinstance(number, int) else None


def restore_plan(event: ActionEvent, settings: Settings, github: Any) -> bool:
    """Seed the run's empty store with the issue's plan, read from its checklist comment.

    Each workflow run starts with an empty data directory; the checklist's hidden state
    block mirrors the plan, so an approval or a command in a later run finds it. True
    when a plan was restored.
    """
    from bot.errors import ChecklistStateError
    from bot.plan.checklist import is_plan_comment, parse_state
    from bot.plans import PlanRecord, PlanStore

    number = issue_number(event)
    if event.name not in PLAN_EVENTS or number is None:
        return False
    login = (settings.bot_login or "").lower()
    comments = github.list_comments(event.repository, number)
    found = [
        c
        for c in comments
        if is_plan_comment(c.body) and (not login or c.author_login.lower() == login)
    ]
    if not found:
        return False
    try:
        plan = parse_state(found[0].body)
    except ChecklistStateError:
        return False  # planning says so when it reads the comment itself
    with PlanStore.open(settings.data_dir) as store:
        if plan is None or store.load(event.repository, number).plan is not None:
            return False
        store.save(PlanRecord(event.repository, number, plan=plan, comment_id=found[0].id))
    return True


def handle(event: ActionEvent, settings: Settings, timeout: float) -> RunResult:
    """Store the event as a delivery, then run every job it leads to."""
    from bot.app import build_services, route_spec
    from bot.features import github_factory
    from bot.metrics import Metrics
    from bot.worker import WorkerConfig

    metrics = Metrics()
    factory = github_factory(settings, metrics)
    restore_plan(event, settings, factory(None))
    services = build_services(
        settings,
        github_factory=factory,
        metrics=metrics,
        checkpoints=False,
        worker_config=WorkerConfig(threads=2, poll_seconds=POLL_SECONDS),
    )
    started = time.perf_counter()
    try:
        delivery = event.delivery
        route = route_spec(delivery, services.new_id())
        services.store.accept_delivery(delivery, route, services.clock.now())
        services.runner.start()
        try:
            settled = _wait_idle(services.queue, timeout)
        finally:
            services.runner.stop()
        jobs = tuple(services.queue.list(limit=100_000))
    finally:
        services.close()
    return RunResult(jobs, settled, time.perf_counter() - started)


def _wait_idle(queue: Any, timeout: float) -> bool:
    """True once no job waits or runs twice in a row (a finishing job may enqueue more)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        by_state = queue.stats().by_state
        busy = by_state[JobState.PENDING] + by_state[JobState.RUNNING]
        quiet = quiet + 1 if busy == 0 else 0
        if quiet == 2:
            return True
        time.sleep(POLL_SECONDS)
    return False


def report(result: RunResult, out: TextIO, timeout: float) -> list[str]:
    """Print what happened; returns the lines (also written to the step summary)."""
    waiting = len(result.jobs) - result.count(JobState.DONE) - result.count(JobState.DEAD)
    lines = [
        MSG_DONE.format(
            done=result.count(JobState.DONE),
            dead=len(result.dead),
            waiting=waiting,
            seconds=result.seconds,
        )
    ]
    lines += [
        MSG_DEAD.format(kind=job.kind, id=job.id, error=(job.last_error or "")[:300])
        for job in result.dead
    ]
    if not result.settled:
        lines.append(MSG_TIMEOUT.format(seconds=timeout))
    for line in lines:
        print(line, file=out)
    return lines


def write_summary(env: Mapping[str, str], lines: list[str]) -> None:
    """Append the report to the job's summary page when the runner offers one."""
    path = env.get("GITHUB_STEP_SUMMARY", "").strip()
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as summary:
        summary.write("\n".join([SUMMARY_TITLE, "", *(f"- {line.strip()}" for line in lines)]))
        summary.write("\n")


# ------------------------------------------------------------------------------ command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for every job to finish (default {DEFAULT_TIMEOUT:g})",
    )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.log import configure_logging

    event = read_event(env)
    settings = action_settings(event, Settings.from_env(env))
    assert settings.auth_mode is AuthMode.TOKEN
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(settings, stream=sys.stderr)
    print(MSG_STARTED.format(event=event.name, repo=event.repository, delivery=event.delivery_id))
    result = handle(event, settings, args.timeout)
    lines = report(result, sys.stdout, args.timeout)
    write_summary(env, lines)
    return 0 if result.ok else 1
