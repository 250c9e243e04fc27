"""``techlead action``: do what the App does for the event of a GitHub Actions run, in-process.

A workflow run hands over one event: its name (``GITHUB_EVENT_NAME``), its payload
(the file at ``GITHUB_EVENT_PATH``), a token (``GITHUB_TOKEN``, or a PAT or App token
passed as ``TECHLEAD_GITHUB_TOKEN``), the API (``GITHUB_API_URL``) and the repository
(``GITHUB_REPOSITORY``). The event is stored as a delivery and fed through the same
router, job registry and worker the webhook server uses, in token mode, and the
worker runs until nothing is left to do: gates and reviews on ``pull_request``,
research and the plan on ``issues.labeled``, commands on ``issue_comment``, and the
execution steps those start.

Each run starts with an empty store, so before the event is handled the plan and its
execution record are read back from the hidden blocks of the issue's checklist comment
(the issue is the event's, or the one a task or integration branch names). How far
execution goes in one run depends on the token (:class:`Mode`): with ``GITHUB_TOKEN``
GitHub starts no workflow for TechLead's own writes, so the run carries an approved plan
on by itself to the integration pull request; with a PAT or App token the run stops
once only waiting is left, and the workflow runs its writes start carry it on.
https://docs.github.com/en/actions/reference/workflows-and-actions/variables
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import re
import sys
import time
from collections.abc import Callable, Mapping
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
MSG_MODE = {
    "self": (
        "TechLead: GITHUB_TOKEN mode: GitHub starts no workflow for this token's writes, so "
        "this run carries an approved plan on by itself (task pull requests, gates, merges, "
        "next waves, the integration pull request) until it finishes, fails or times out"
    ),
    "events": (
        "TechLead: own-token mode ({login}): this token's writes start workflows, so this run "
        "stops once only waiting is left and the runs of the events it causes carry on"
    ),
}
MSG_RESTORED = (
    "TechLead: read back the plan of #{issue} (v{version}, {state}){run} from its checklist"
)
MSG_RESTORED_RUN = " and its execution record ({tasks} tasks)"
MSG_NOT_RESTORED = "TechLead: the plan of #{issue} was not read back from its checklist: {problem}"
MSG_NO_COMMENT = "the issue has no checklist comment by TechLead"
MSG_NO_STATE = "its checklist comment has no hidden state block"
MSG_NO_RUN = "TechLead: the execution record of #{issue} was not read back: {problem}"
MSG_ADVANCE = "TechLead: the event concerns a branch of the plan of #{issue}: its execution goes on"
MSG_FED = (
    "TechLead: fed itself {count} events GitHub does not send for pull requests written with "
    "GITHUB_TOKEN: {events}"
)
# Events that may act on an existing plan: its checklist is read back first.
PLAN_EVENTS = frozenset({"issues", "issue_comment"})
# Events about a branch or pull request: one of an execution's moves it on.
BRANCH_EVENTS = frozenset(
    {
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "check_run",
        "check_suite",
        "status",
    }
)
_PR_MARKER = re.compile(r"<!--\s*techlead:(?:task|integration)\s+\S+?#(\d+)\b")


class Mode(enum.StrEnum):
    """How far execution goes in one run, by the token's kind."""

    SELF = "self"  # GITHUB_TOKEN: nothing TechLead writes starts a workflow
    EVENTS = "events"  # a PAT or App token: its writes start the runs that carry on


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
    own_token: bool = False

    @property
    def mode(self) -> Mode:
        return Mode.EVENTS if self.own_token else Mode.SELF

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
    login = env.get("TECHLEAD_BOT_LOGIN", "").strip()
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
        bot_login=login or (None if own_token else ACTIONS_BOT),
        # The workflow's own token always writes as github-actions[bot]: another login
        # (the action's bot-login input) means a PAT or App token was passed.
        own_token=bool(own_token) or (bool(login) and login.lower() != ACTIONS_BOT),
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
class Restored:
    """What was read back from the checklist of the plan an event concerns."""

    issue: int | None = None
    plan: Any = None  # the bot.plan.model.Plan read back
    tasks: int | None = None  # tasks in the execution record read back, if one was
    problem: str = ""
    run_problem: str = ""

    def lines(self) -> list[str]:
        if self.issue is None:
            return []
        if self.problem:
            return [MSG_NOT_RESTORED.format(issue=self.issue, problem=self.problem)]
        lines = []
        if self.plan is not None:
            run = MSG_RESTORED_RUN.format(tasks=self.tasks) if self.tasks is not None else ""
            version, state = self.plan.version, self.plan.state.value
            lines.append(
                MSG_RESTORED.format(issue=self.issue, version=version, state=state, run=run)
            )
        if self.run_problem:
            lines.append(MSG_NO_RUN.format(issue=self.issue, problem=self.run_problem))
        return lines


@dataclass(frozen=True)
class RunResult:
    """What the worker left behind: every job of the run, and whether it settled."""

    jobs: tuple[Job, ...]
    settled: bool
    seconds: float
    mode: Mode = Mode.SELF
    restored: Restored = Restored()
    advanced: bool = False
    fed: tuple[str, ...] = ()  # deliveries fed for its own pull requests (FollowUps)

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


def event_branches(event: ActionEvent) -> list[str]:
    """The branches a pull request, review, check or status event is about."""
    payload = event.payload
    pull = _dict(payload.get("pull_request"))
    check_run = _dict(payload.get("check_run"))
    suite = _dict(payload.get("check_suite")) or _dict(check_run.get("check_suite"))
    found = [
        _dict(pull.get("head")).get("ref"),
        suite.get("head_branch"),
        check_run.get("head_branch"),
        *(_dict(item).get("name") for item in _list(payload.get("branches"))),
        *(
            _dict(_dict(item).get("head")).get("ref")
            for item in _list(check_run.get("pull_requests"))
        ),
    ]
    return [name for name in dict.fromkeys(found) if isinstance(name, str) and name]


def branch_issue(template: str, branch: str) -> int | None:
    """The issue number a branch made from ``template`` carries (``{issue}`` in it)."""
    pattern = re.escape(template)
    pattern = pattern.replace(re.escape("{issue}"), "(?P<issue>[0-9]+)", 1)
    pattern = pattern.replace(re.escape("{issue}"), "[0-9]+")
    for name in ("task_slug", "slug", "task"):
        pattern = pattern.replace(re.escape("{" + name + "}"), ".*?")
    match = re.fullmatch(pattern, branch)
    return int(match["issue"]) if match and "issue" in match.groupdict() else None


def plan_issue(event: ActionEvent, github: Any) -> int | None:
    """The issue whose plan the event may act on: its own, or the one its branch names."""
    if event.name in PLAN_EVENTS:
        return issue_number(event)
    if event.name not in BRANCH_EVENTS:
        return None
    branches = event_branches(event)
    if branches:
        from bot.features.planning.flows import load_config

        config = load_config(github, event.repository)[0].execution
        for branch in branches:
            for template in (config.task_branch, config.integration_branch):
                number = branch_issue(template, branch)
                if number is not None:
                    return number
    body = _dict(event.payload.get("pull_request")).get("body")
    match = _PR_MARKER.search(body) if isinstance(body, str) else None
    return int(match.group(1)) if match else None


def restore_plan(event: ActionEvent, settings: Settings, github: Any) -> Restored:
    """Seed the run's empty store with the issue's plan and execution record.

    Each workflow run starts with an empty data directory; the checklist's hidden blocks
    mirror the plan and its execution record, so an approval, a command or an event of a
    task pull request in a later run finds them. A store that already holds the plan
    (a kept ``TECHLEAD_DATA_DIR``) is left as it is.
    """
    from bot.errors import ChecklistStateError
    from bot.features.execution.render import parse_run_state
    from bot.plan.checklist import is_plan_comment, parse_state

    number = plan_issue(event, github)
    if number is None:
        return Restored()
    login = (settings.bot_login or "").lower()
    comments = github.list_comments(event.repository, number)
    found = [
        c
        for c in comments
        if is_plan_comment(c.body) and (not login or c.author_login.lower() == login)
    ]
    if not found:
        return Restored() if event.name in PLAN_EVENTS else Restored(number, problem=MSG_NO_COMMENT)
    try:
        plan = parse_state(found[0].body)
    except ChecklistStateError as exc:
        return Restored(number, problem=str(exc))
    if plan is None:
        return Restored(number, problem=MSG_NO_STATE)
    try:
        run = parse_run_state(found[0].body, event.repository, number)
    except ChecklistStateError as exc:
        run, run_problem = None, str(exc)
    else:
        run_problem = ""
    _seed(settings, event.repository, number, plan, run, found[0].id)
    tasks = len(run.tasks) if run is not None else None
    return Restored(number, plan, tasks, run_problem=run_problem)


def _seed(settings: Settings, repo: str, issue: int, plan: Any, run: Any, comment_id: int) -> None:
    from bot.features.execution.store import RunStore
    from bot.plans import PlanRecord, PlanStore

    with PlanStore.open(settings.data_dir) as store:
        if store.load(repo, issue).plan is not None:
            return
        store.save(PlanRecord(repo, issue, plan=plan, comment_id=comment_id))
    if run is None:
        return
    with RunStore.open(settings.data_dir) as runs:
        if runs.load(repo, issue).revision == 0:
            runs.save(run)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


class FollowUps:
    """In :attr:`Mode.SELF`: the ``pull_request`` deliveries GitHub does not send for
    the pull requests TechLead opens or pushes with ``GITHUB_TOKEN``.

    For an App, its own task and integration pull requests' ``opened`` and
    ``synchronize`` events bring the gates and the reviewers; here each new head in the
    plan's execution record becomes such a delivery, stored and routed like the run's
    own event, under the same trace. Pull requests already in the record when the run
    started were fed by the run that made them.
    """

    def __init__(self, event: ActionEvent, settings: Settings, issue: int, trace_id: str) -> None:
        self.event = event
        self.settings = settings
        self.issue = issue
        self.trace_id = trace_id
        self.fed: list[str] = []
        run = self._run()
        self._seen = set(_task_heads(run))
        self._integration_done = run.integration_pr is not None

    def _run(self) -> Any:
        from bot.features.execution.store import RunStore

        with RunStore.open(self.settings.data_dir) as runs:
            return runs.load(self.event.repository, self.issue)

    def feed(self, services: Any, github: Any) -> int:
        """Store a delivery for every head not seen yet; how many were stored."""
        from bot.app import route_spec

        run = self._run()
        heads = _task_heads(run)
        if run.integration_pr and not self._integration_done:
            self._integration_done = True
            pull = github.get_pull(self.event.repository, run.integration_pr)
            heads.append((run.integration_pr, pull.head_sha))
        fresh = [head for head in heads if head not in self._seen]
        for number, sha in fresh:
            known = any(seen == number for seen, _ in self._seen)
            action = "synchronize" if known else "opened"
            self._seen.add((number, sha))
            delivery = self._delivery(number, sha, action, github)
            services.store.accept_delivery(
                delivery, route_spec(delivery, self.trace_id), services.clock.now()
            )
            self.fed.append(f"pull_request.{action} #{number}")
        return len(fresh)

    def _delivery(self, number: int, sha: str, action: str, github: Any) -> Delivery:
        pull = github.get_pull(self.event.repository, number)
        payload = {
            "action": action,
            "number": number,
            "pull_request": {
                "number": number,
                "state": pull.state,
                "draft": pull.draft,
                "title": pull.title,
                "user": {"login": pull.author_login, "type": "Bot"},
                "head": {"sha": sha, "ref": pull.head_ref},
                "base": {"sha": pull.base_sha, "ref": pull.base_ref},
            },
            "repository": self.event.payload["repository"],
            "sender": {"login": self.event.bot_login or ACTIONS_BOT, "type": "Bot"},
        }
        delivery_id = f"{self.event.delivery_id}-pr{number}-{sha[:12]}"
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return Delivery(delivery_id, "pull_request", body, payload, envelope(payload))


def _task_heads(run: Any) -> list[tuple[int, str]]:
    return [(task.pr, task.head_sha) for task in run.tasks.values() if task.pr and task.head_sha]


def handle(event: ActionEvent, settings: Settings, timeout: float) -> RunResult:
    """Store the event as a delivery, then run every job it leads to."""
    from bot.app import build_services, route_spec
    from bot.features import github_factory
    from bot.features.execution.flows import advance_spec
    from bot.metrics import Metrics
    from bot.worker import WorkerConfig

    metrics = Metrics()
    factory = github_factory(settings, metrics)
    restored = restore_plan(event, settings, factory(None))
    services = build_services(
        settings,
        github_factory=factory,
        metrics=metrics,
        checkpoints=False,
        worker_config=WorkerConfig(threads=2, poll_seconds=POLL_SECONDS),
    )
    started = time.perf_counter()
    advanced = event.name in BRANCH_EVENTS and restored.plan is not None
    try:
        delivery = event.delivery
        trace_id = services.new_id()
        route = route_spec(delivery, trace_id)
        services.store.accept_delivery(delivery, route, services.clock.now())
        if advanced and restored.issue is not None:
            # An App hears check_run.completed on its branches; a workflow's event of a
            # task or integration pull request (a status, a merge, a review) moves on the
            # same way: the reconciler reads where the branch stands.
            spec = advance_spec(event.repository, restored.issue, f"action:{delivery.delivery_id}")
            lineage = dataclasses.replace(spec, delivery_id=delivery.delivery_id, trace_id=trace_id)
            services.queue.enqueue(lineage)
        issue = restored.issue or issue_number(event)
        follow = None
        if event.mode is Mode.SELF and issue is not None:
            follow = FollowUps(event, settings, issue, trace_id)

        def feed() -> int:
            return follow.feed(services, factory(None)) if follow is not None else 0

        services.runner.start()
        try:
            settled = _wait_idle(services.queue, timeout, event.mode, services.clock, feed)
        finally:
            services.runner.stop()
        jobs = tuple(services.queue.list(limit=100_000))
    finally:
        services.close()
    seconds = time.perf_counter() - started
    fed = tuple(follow.fed) if follow is not None else ()
    return RunResult(jobs, settled, seconds, event.mode, restored, advanced, fed)


def _wait_idle(
    queue: Any,
    timeout: float,
    mode: Mode = Mode.SELF,
    clock: Any = None,
    feed: Callable[[], int] | None = None,
) -> bool:
    """True once no job waits or runs twice in a row (a finishing job may enqueue more).

    ``feed`` stores the deliveries GitHub would have sent for the run's own writes
    (:class:`FollowUps`). In :attr:`Mode.EVENTS` a plan's own delayed re-check
    (``execution.advance`` waiting for gates) does not count: the events of the gates'
    results start the run that carries on.
    """
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        fed = feed() if feed is not None else 0
        busy = fed + _busy(queue, mode, clock.now() if clock is not None else time.time())
        quiet = quiet + 1 if busy == 0 else 0
        if quiet == 2:
            return True
        time.sleep(POLL_SECONDS)
    return False


def _busy(queue: Any, mode: Mode, now: float) -> int:
    from bot.features.execution.flows import ADVANCE

    if mode is Mode.SELF:
        by_state = queue.stats().by_state
        return int(by_state[JobState.PENDING] + by_state[JobState.RUNNING])
    waiting = queue.list(states=(JobState.PENDING, JobState.RUNNING), limit=100_000)
    return sum(
        1
        for job in waiting
        if not (
            job.state is JobState.PENDING
            and job.kind == ADVANCE
            and job.attempts == 0
            and job.run_at > now
        )
    )


def report(result: RunResult, out: TextIO, timeout: float, login: str | None = None) -> list[str]:
    """Print what happened; returns the lines (also written to the step summary)."""
    waiting = len(result.jobs) - result.count(JobState.DONE) - result.count(JobState.DEAD)
    lines = [MSG_MODE[result.mode.value].format(login=login or "-"), *result.restored.lines()]
    if result.advanced:
        lines.append(MSG_ADVANCE.format(issue=result.restored.issue))
    if result.fed:
        lines.append(MSG_FED.format(count=len(result.fed), events=", ".join(result.fed)))
    lines.append(
        MSG_DONE.format(
            done=result.count(JobState.DONE),
            dead=len(result.dead),
            waiting=waiting,
            seconds=result.seconds,
        )
    )
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
    lines = report(result, sys.stdout, args.timeout, event.bot_login)
    write_summary(env, lines)
    return 0 if result.ok else 1
