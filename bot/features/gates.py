"""Quality gates on pull requests: deliveries -> gate jobs -> check runs (or statuses + a comment).

=================================================  ====================  ============
event                                              when                  job
=================================================  ====================  ============
pull_request: opened, synchronize, reopened,       always (bots' pull    gates.queue
ready_for_review                                   requests too)
check_suite: requested, rerequested                a head to gate        gates.queue
check_run: rerequested                             one of the gates'     gates.queue
                                                   runs (that gate)
=================================================  ====================  ============

``gates.queue`` is quick: it reads the pull request and the configuration (from the
default branch only), marks this head current (older heads' runs in this process are
cancelled), creates one check run per enabled gate as ``queued`` (token mode: a
``pending`` commit status per gate) and schedules ``gates.run``.

``gates.run`` does the work for one head: it fetches the base and head commits into the
workspace mirror (a fork's head as ``refs/pull/N/head`` of the base repository), checks
the head out, diffs ``base...head`` and runs the head's gates side by side with
:func:`gates.runner.run_gates` (threads, each gate under its time limit, one
:class:`~gates.tools.CancelToken`), then completes every run with its conclusion,
summary and annotations. The tools' environment carries no credentials. Only L3/L4 run
the pull request's code, inside a jail; for a pull request from a fork they complete
``neutral`` with the how-to until a maintainer comments ``/techlead ok-to-test``
(:mod:`bot.fork_trust`, :mod:`bot.features.ok_to_test`), for that head only.

Design decisions:

* **One run job per head**, not per gate: the gates share one fetch, one checkout and
  one diff; ``run_gates`` already runs them concurrently, each under its own limit; a
  secret found by one gate is redacted from every gate's output, which needs all scans
  before any result leaves; token mode's single comment needs every result. Heads
  (and pull requests) run concurrently on the worker's threads.
* **Idempotency**: a delivery routed twice schedules its jobs once (dedupe keys);
  ``gates.queue`` looks for this head's runs (name and ``external_id``) under a per-head
  file lock before creating any, so a ``check_suite.requested`` and a
  ``pull_request.synchronize`` for the same push make one set of runs; the run job's
  dedupe key is the set of runs it completes; a retried run job skips runs already
  completed. Re-runs (``rerequested``) make new runs, as GitHub asks Apps to. When
  that key names a run job that already finished while its runs (token mode: the
  statuses just set ``pending``) wait again, a follow-up job is scheduled after it.
* **Cancellation**: a newer head cancels the older heads' run jobs in this process
  (their tools are killed); in any process a run job compares its head with the pull
  request's before starting and before publishing, and completes its runs
  ``cancelled`` ("a newer push superseded this commit") instead of posting stale
  results. Runs stay on their own head SHA, where GitHub shows them.
* **Never stuck**: a gate that crashes or times out completes as ``failure`` saying
  why (the runner); a job that keeps failing or whose worker keeps dying is retried,
  then dead-lettered, and its kind's ``on_dead`` hook completes what it left open as
  ``failure``, naming the error and what to do: ``gates.run`` its runs, ``gates.queue``
  the runs still ``queued`` on its head (token mode: ``error`` statuses and the summary
  comment). The hook runs however the job died, its handler never having to guess
  which attempt is the last.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.context import JobContext
from bot.errors import GitHubNotFound, RepoConfigError
from bot.events import CheckRunEvent, CheckSuiteEvent, PullRequestEvent
from bot.features.reviews.flow import after_gates, finding_gates
from bot.fork_trust import held_levels, held_result
from bot.gate_runs import (
    PULL_ACTIONS,
    RUN_ACTIONS,
    SUITE_ACTIONS,
    DeadJob,
    GateRequest,
    HeadRegistry,
    abandoned_runs,
    author_is_bot,
    dead_check_run,
    dead_comment,
    dead_status,
    enabled_levels,
    external_id,
    fetch_refs,
    level_of,
    plan_runs,
    run_job_key,
    skip_reason,
    superseded_reason,
    unfinished,
)
from bot.jobs import Job, JobRegistry, JobSpec, JobState
from bot.ports import Annotation, CheckOutput, GitHubPort, PullInfo
from bot.repo_config import fetch_repo_config
from bot.router import Event, Router
from bot.settings import AuthMode
from bot.state import shared_heads
from bot.workspace import Identity, Workspace
from gates import templates
from gates.config import GateLevel, GatesConfig, load_defaults
from gates.model import Conclusion, GateResult
from gates.report import (
    CheckRunPlan,
    CommitStatus,
    config_error_comment,
    config_error_plan,
    config_error_status,
    summary_comment,
    to_check_run,
    to_status,
)
from gates.revision import checkout_input
from gates.runner import run_gates
from gates.tools import CancelToken
from gates.verdict import errored

router = Router()
jobs = JobRegistry()

QUEUE_KIND = "gates.queue"
RUN_KIND = "gates.run"
QUEUE_ATTEMPTS = 5
# Two tries at the work; then the job is dead-lettered and its hook fails what is left.
RUN_ATTEMPTS = 2
FINISHED = (JobState.DONE, JobState.DEAD)
WORKTREE_LABEL = "gates"
# Gates never commit; the workspace wants an identity all the same.
COMMITTER = Identity("TechLead", "techlead@users.noreply.github.com")
LOCK_STRIPES = 64

# The heads under way in this process (see HeadRegistry); one per process, like the worker.
HEADS = HeadRegistry()


# ---------------------------------------------------------------------------- routing
# Pure: typed views in (bot.events), at most one gate request out.


def pull_request_gates(pull: PullRequestEvent) -> GateRequest:
    """``pull_request.{opened,synchronize,reopened,ready_for_review}``: its head."""
    return GateRequest(pull.repo, pull.head_sha, pull.head_ref, (pull.number,))


def suite_gates(suite: CheckSuiteEvent, *, rerun: bool) -> GateRequest | None:
    """``check_suite.{requested,rerequested}``: the suite's head, every gate."""
    if not suite.pull_numbers and not suite.head_branch:
        return None  # neither a pull request nor a branch to find one by
    return GateRequest(
        suite.repo, suite.head_sha, suite.head_branch, suite.pull_numbers, rerun=rerun
    )


def rerun_gate(run: CheckRunEvent) -> GateRequest | None:
    """``check_run.rerequested``: that one gate again, if the run is one of ours.

    The gate comes from the run's ``external_id``, else from its name; a tag naming no
    gate of this version (a newer TechLead wrote it) falls back to the name too.
    """
    tagged = run.tagged
    by_id = GateLevel.__members__.get(tagged.tag) if tagged else None
    level = by_id or level_of(run.name)
    if level is None:
        return None
    numbers = (tagged.number,) if tagged and by_id else run.pull_numbers
    if not numbers and not run.head_branch:
        return None
    return GateRequest(run.repo, run.head_sha, run.head_branch, numbers, (level,), rerun=True)


def _queue(request: GateRequest | None) -> list[JobSpec]:
    return [JobSpec(QUEUE_KIND, payload=request.to_payload())] if request else []


def on_pull_request(event: Event, ctx: JobContext) -> list[JobSpec]:
    return _queue(pull_request_gates(PullRequestEvent.from_event(event)))


def on_check_suite(event: Event, ctx: JobContext) -> list[JobSpec]:
    suite = CheckSuiteEvent.from_event(event)
    return _queue(suite_gates(suite, rerun=event.action == "rerequested"))


def on_check_run(event: Event, ctx: JobContext) -> list[JobSpec]:
    return _queue(rerun_gate(CheckRunEvent.from_event(event)))


# TechLead's own pull requests are gated like anyone's: bots are let through.
for _action in PULL_ACTIONS:
    router.register("pull_request", action=_action, allow_bots=True)(on_pull_request)
for _action in SUITE_ACTIONS:
    router.register("check_suite", action=_action, allow_bots=True)(on_check_suite)
for _action in RUN_ACTIONS:
    router.register("check_run", action=_action, allow_bots=True)(on_check_run)


# ---------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class RunOrder:
    """What ``gates.run`` completes: these runs (by level) of one pull request's head.

    ``runs`` maps each level to its check run id (0 in token mode); ``gates`` is the
    configuration ``gates.queue`` read, so both jobs judge by the same rules.
    ``approved_sha``: the head a maintainer let a fork's code run on (ok-to-test).
    """

    repo: str
    number: int
    head_sha: str
    runs: Mapping[GateLevel, int]
    gates: Mapping[str, Any]
    approved_sha: str = ""

    @property
    def levels(self) -> list[GateLevel]:
        return sorted(self.runs)

    def config(self) -> GatesConfig:
        return GatesConfig.model_validate(dict(self.gates))

    def to_payload(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "number": self.number,
            "head_sha": self.head_sha,
            "runs": {level.value: run_id for level, run_id in self.runs.items()},
            "gates": dict(self.gates),
            "approved_sha": self.approved_sha,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> RunOrder:
        return cls(
            repo=str(data["repo"]),
            number=int(data["number"]),
            head_sha=str(data["head_sha"]),
            runs={GateLevel(level): int(run_id) for level, run_id in data["runs"].items()},
            gates=dict(data["gates"]),
            approved_sha=str(data.get("approved_sha") or ""),
        )


# ---------------------------------------------------------------------------- publishing


class Publisher(Protocol):
    """Where gate results go: check runs (App) or commit statuses and a comment (token)."""

    def queue(
        self, repo: str, pull: PullInfo, levels: Sequence[GateLevel], *, rerun: bool
    ) -> dict[GateLevel, int]:
        """Show the gates as queued on the head; the levels still to run (and run ids)."""
        ...

    def config_error(
        self, repo: str, pull: PullInfo, runs: Mapping[GateLevel, int], error: RepoConfigError
    ) -> None: ...

    def start(self, order: RunOrder) -> None: ...

    def finish(self, order: RunOrder, results: Sequence[GateResult], *, current: bool) -> None:
        """Publish ``results``; ``current``: the head is still the pull request's head."""
        ...

    def give_up(self, repo: str, number: int, runs: Mapping[GateLevel, int], dead: DeadJob) -> None:
        """Complete what is still open of ``runs`` as failed: the job died, say what to do."""
        ...


class CheckRuns:
    """App mode: one check run per gate, found again by name and external id."""

    def __init__(self, github: GitHubPort) -> None:
        self.github = github

    def queue(
        self, repo: str, pull: PullInfo, levels: Sequence[GateLevel], *, rerun: bool
    ) -> dict[GateLevel, int]:
        existing = self.github.list_check_runs(repo, pull.head_sha)
        plan = plan_runs(existing, levels, pull.number, rerun=rerun)
        runs = dict(plan.reuse)
        for level in plan.create:
            runs[level] = self.github.create_check_run(
                repo,
                pull.head_sha,
                templates.check_run_name(level),
                status="queued",
                external_id=external_id(level, pull.number),
                output=CheckOutput(
                    templates.TITLE_QUEUED, templates.SUMMARY_QUEUED.format(sha=pull.head_sha)
                ),
            )
        return unfinished(runs)

    def config_error(
        self, repo: str, pull: PullInfo, runs: Mapping[GateLevel, int], error: RepoConfigError
    ) -> None:
        for level, run_id in runs.items():
            self._complete(repo, run_id, config_error_plan(_name(level), error))

    def start(self, order: RunOrder) -> None:
        output = CheckOutput(
            templates.TITLE_RUNNING,
            templates.SUMMARY_RUNNING.format(sha=order.head_sha, number=order.number),
        )
        for run_id in self._open(order).values():
            self.github.update_check_run(order.repo, run_id, status="in_progress", output=output)

    def finish(self, order: RunOrder, results: Sequence[GateResult], *, current: bool) -> None:
        open_runs = self._open(order)
        for result in results:
            if result.level in open_runs:
                self._complete(order.repo, open_runs[result.level], to_check_run(result))

    def give_up(self, repo: str, number: int, runs: Mapping[GateLevel, int], dead: DeadJob) -> None:
        for level, run_id in self._still_open(repo, dead.head_sha, runs).items():
            self._complete(repo, run_id, dead_check_run(level, dead))

    def _open(self, order: RunOrder) -> dict[GateLevel, int]:
        """The order's runs not completed yet (a retried job skips the finished ones)."""
        return self._still_open(order.repo, order.head_sha, order.runs)

    def _still_open(
        self, repo: str, head_sha: str, runs: Mapping[GateLevel, int]
    ) -> dict[GateLevel, int]:
        live = {run.id: run for run in self.github.list_check_runs(repo, head_sha)}
        return {
            level: run_id
            for level, run_id in runs.items()
            if run_id not in live or live[run_id].status != "completed"
        }

    def _complete(self, repo: str, run_id: int, plan: CheckRunPlan) -> None:
        # One call: the port sends the conclusion with the first 50 annotations and
        # appends the rest 50 per request, so batching happens in exactly one place.
        self.github.update_check_run(
            repo,
            run_id,
            conclusion=plan.conclusion,
            output=CheckOutput(plan.title, plan.summary, plan.text or None),
            annotations=[_annotation(item) for item in plan.annotations],
        )


class Statuses:
    """Token mode (tokens cannot create check runs): a commit status per gate and one
    summary comment on the pull request, found by its marker and edited on every push."""

    def __init__(self, github: GitHubPort, locks: Path) -> None:
        self.github = github
        self.locks = locks

    def queue(
        self, repo: str, pull: PullInfo, levels: Sequence[GateLevel], *, rerun: bool
    ) -> dict[GateLevel, int]:
        for level in levels:
            self._status(repo, pull.head_sha, level, "pending", templates.STATUS_QUEUED)
        return {level: 0 for level in levels}

    def config_error(
        self, repo: str, pull: PullInfo, runs: Mapping[GateLevel, int], error: RepoConfigError
    ) -> None:
        names = [_name(level) for level in sorted(runs)]
        for name in names:
            self._post(repo, pull.head_sha, config_error_status(name, error))
        body = config_error_comment(names, error, pull.head_sha)
        self._comment(repo, pull.number, body)

    def start(self, order: RunOrder) -> None:
        for level in order.levels:
            self._status(order.repo, order.head_sha, level, "pending", templates.STATUS_RUNNING)

    def finish(self, order: RunOrder, results: Sequence[GateResult], *, current: bool) -> None:
        for result in results:
            self._post(order.repo, order.head_sha, to_status(result))
        if current:
            self._comment(order.repo, order.number, summary_comment(results, order.head_sha))

    def give_up(self, repo: str, number: int, runs: Mapping[GateLevel, int], dead: DeadJob) -> None:
        """Statuses cannot be read back: every gate of the head gets ``error``; the
        comment is written only while the head is the pull request's."""
        levels = sorted(runs)
        for level in levels:
            self._post(repo, dead.head_sha, dead_status(level, dead))
        if self.github.get_pull(repo, number).head_sha == dead.head_sha:
            self._comment(repo, number, dead_comment(levels, dead))

    def _status(self, repo: str, sha: str, level: GateLevel, state: str, text: str) -> None:
        self._post(repo, sha, CommitStatus(_name(level), state, text))

    def _post(self, repo: str, sha: str, status: CommitStatus) -> None:
        self.github.create_status(
            repo, sha, state=status.state, context=status.context, description=status.description
        )

    def _comment(self, repo: str, number: int, body: str) -> None:
        # Serialised per pull request: two heads' jobs never both create the comment.
        with file_lock(self.locks, f"comment:{repo}#{number}"):
            found = self.github.find_comment(repo, number, templates.MARKER)
            if found is None:
                self.github.create_comment(repo, number, body)
            elif found.body != body:
                self.github.edit_comment(repo, found.id, body)


def publisher_for(ctx: JobContext, github: GitHubPort) -> Publisher:
    if ctx.settings.auth_mode is AuthMode.TOKEN:
        return Statuses(github, lock_dir(ctx))
    return CheckRuns(github)


def _name(level: GateLevel) -> str:
    return templates.check_run_name(level)


def _annotation(item: Mapping[str, Any]) -> Annotation:
    return Annotation(
        path=item["path"],
        start_line=item["start_line"],
        end_line=item["end_line"],
        annotation_level=item["annotation_level"],
        message=item["message"],
        title=item.get("title"),
        start_column=item.get("start_column"),
        end_column=item.get("end_column"),
    )


# ---------------------------------------------------------------------------- locks


def lock_dir(ctx: JobContext) -> Path:
    return ctx.settings.data_dir / "gates" / "locks"


@contextlib.contextmanager
def file_lock(directory: Path, key: str) -> Iterator[None]:
    """An exclusive ``flock`` for ``key`` shared by every process on this data dir.

    Keys hash onto a fixed set of lock files, so the directory never grows.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{zlib.crc32(key.encode()) % LOCK_STRIPES}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# ---------------------------------------------------------------------------- gates.queue


def queue_died(job: Job, error: str, ctx: JobContext) -> None:
    """``on_dead`` of ``gates.queue``: fail what it queued that no run job took over."""
    request = GateRequest.from_payload(job.payload)
    github: GitHubPort = ctx.github
    dead = DeadJob.of(job.kind, job.id, job.attempts, error, request.head_sha)
    publisher = publisher_for(ctx, github)
    for number, runs in left_waiting(ctx, github, request).items():
        publisher.give_up(request.repo, number, runs, dead)


def left_waiting(
    ctx: JobContext, github: GitHubPort, request: GateRequest
) -> dict[int, dict[GateLevel, int]]:
    """What a dead ``gates.queue`` may have left waiting, by pull request.

    App mode: our runs on the head still ``queued``. Token mode: commit statuses cannot
    be read back, so every gate the job would have queued for each pull request.
    """
    if ctx.settings.auth_mode is not AuthMode.TOKEN:
        existing = github.list_check_runs(request.repo, request.head_sha)
        return abandoned_runs(existing, request.numbers, request.levels)
    waiting: dict[int, dict[GateLevel, int]] = {}
    for pull in pulls_of(github, request):
        chosen = select_gates(ctx, github, request, pull)
        if chosen is not None and chosen.levels:
            waiting[pull.number] = dict.fromkeys(chosen.levels, 0)
    return waiting


@jobs.register(QUEUE_KIND, max_attempts=QUEUE_ATTEMPTS, on_dead=queue_died)
def queue_gates(job: Job, ctx: JobContext) -> None:
    """Show the gates as queued on the head of each pull request asked for; schedule them."""
    request = GateRequest.from_payload(job.payload)
    github: GitHubPort = ctx.github
    for pull in pulls_of(github, request):
        queue_pull(ctx, github, request, pull)


def pulls_of(github: GitHubPort, request: GateRequest) -> list[PullInfo]:
    """The pull requests named in the delivery, else the open one of its head branch."""
    if not request.numbers:
        found = github.find_open_pull(request.repo, request.head_branch)
        return [found] if found is not None else []
    pulls = []
    for number in request.numbers:
        with contextlib.suppress(GitHubNotFound):
            pulls.append(github.get_pull(request.repo, number))
    return pulls


@dataclass(frozen=True)
class Selection:
    """The gates one pull request's head gets, by the configuration on the default branch."""

    config: GatesConfig
    problem: RepoConfigError | None
    levels: list[GateLevel]


def select_gates(
    ctx: JobContext, github: GitHubPort, request: GateRequest, pull: PullInfo
) -> Selection | None:
    """None when this pull request's head is not gated (logged: closed, draft...)."""
    config, problem = load_gates_config(github, request.repo)
    is_bot = author_is_bot(pull, ctx.settings.bot_login)
    skip = skip_reason(pull, request.head_sha, config.pull_requests, author_is_bot=is_bot)
    if skip is not None:
        ctx.log.info("gates_skipped", pull=pull.number, reason=skip.value)
        return None
    return Selection(config, problem, enabled_levels(config, request.levels))


def queue_pull(ctx: JobContext, github: GitHubPort, request: GateRequest, pull: PullInfo) -> None:
    repo = request.repo
    chosen = select_gates(ctx, github, request, pull)
    if chosen is None:
        return
    stopped = HEADS.supersede(repo, pull.number, pull.head_sha, shared_heads(ctx.settings))
    if not chosen.levels:
        ctx.log.info("gates_none_enabled", pull=pull.number)
        return
    publisher = publisher_for(ctx, github)
    with file_lock(lock_dir(ctx), f"head:{repo}@{pull.head_sha}"):
        runs = publisher.queue(repo, pull, chosen.levels, rerun=request.rerun)
    if chosen.problem is not None:
        publisher.config_error(repo, pull, runs, chosen.problem)
        return
    if runs:
        gates = chosen.config.model_dump(mode="json")
        approved = request.ok_to_test if request.ok_to_test == pull.head_sha else ""
        schedule_run(ctx, RunOrder(repo, pull.number, pull.head_sha, runs, gates, approved))
    ctx.log.info("gates_queued", pull=pull.number, runs=len(runs), cancelled_older=stopped)


def schedule_run(ctx: JobContext, order: RunOrder) -> Job:
    """The run job for ``order``'s runs: the one scheduled already, unless it finished.

    A finished job with the same runs means they wait again (token mode marks every
    queued head ``pending``; a dead job's hook may have failed): a follow-up job keyed
    after the finished one settles them, and every asker finds that same follow-up.
    """
    key = run_job_key(order.repo, order.number, order.head_sha, order.runs)
    job = ctx.enqueue(JobSpec(RUN_KIND, payload=order.to_payload(), dedupe_key=key))
    while job.state in FINISHED:
        after = f"{key}>after:{job.id}"
        job = ctx.enqueue(JobSpec(RUN_KIND, payload=order.to_payload(), dedupe_key=after))
    return job


def load_gates_config(github: GitHubPort, repo: str) -> tuple[GatesConfig, RepoConfigError | None]:
    """The ``gates:`` settings from the default branch, or the defaults and the error."""
    try:
        return fetch_repo_config(github, repo).gates, None
    except RepoConfigError as exc:
        return load_defaults(), exc


# ---------------------------------------------------------------------------- gates.run


def run_died(job: Job, error: str, ctx: JobContext) -> None:
    """``on_dead`` of ``gates.run``: complete its runs still open as failed, saying why."""
    order = RunOrder.from_payload(job.payload)
    dead = DeadJob.of(job.kind, job.id, job.attempts, error, order.head_sha)
    publisher_for(ctx, ctx.github).give_up(order.repo, order.number, order.runs, dead)


@jobs.register(RUN_KIND, max_attempts=RUN_ATTEMPTS, on_dead=run_died)
def run_head(job: Job, ctx: JobContext) -> None:
    """Run one head's gates and complete their runs (or cancel them, if superseded)."""
    order = RunOrder.from_payload(job.payload)
    github: GitHubPort = ctx.github
    publisher = publisher_for(ctx, github)
    config = order.config()
    pull = github.get_pull(order.repo, order.number)
    if pull.head_sha != order.head_sha:
        reason = superseded_reason(pull.head_sha)
        publisher.finish(order, stopped(order, config, Conclusion.CANCELLED, reason), current=False)
        return
    token = HEADS.start(order.repo, order.number, order.head_sha, shared_heads(ctx.settings))
    try:
        publisher.start(order)
        results = gate_pull(ctx, github, pull, order, config, token)
        if publish(github, publisher, order, config, results, token):
            _hand_to_reviewers(ctx, order, config, results)
    finally:
        HEADS.finish(order.repo, order.number, order.head_sha, token)


def publish(
    github: GitHubPort,
    publisher: Publisher,
    order: RunOrder,
    config: GatesConfig,
    results: Sequence[GateResult],
    token: CancelToken,
) -> bool:
    """Complete the runs, unless a newer push came meanwhile: then they are cancelled.

    True when the results were published for the pull request's current head.
    """
    head = github.get_pull(order.repo, order.number).head_sha
    if token.cancelled or head != order.head_sha:
        reason = superseded_reason(head) if head != order.head_sha else token.reason
        results = stopped(order, config, Conclusion.CANCELLED, reason)
        publisher.finish(order, results, current=False)
        return False
    publisher.finish(order, results, current=True)
    return True


def _hand_to_reviewers(
    ctx: JobContext, order: RunOrder, config: GatesConfig, results: Sequence[GateResult]
) -> None:
    """The reviewers explain L1/L5's findings; hand them over instead of running the
    tools twice. Only a run that covered every enabled finding gate can: a re-run of one
    gate would make the other's findings look fixed."""
    wanted = finding_gates(config)
    if wanted and set(wanted) <= set(order.levels):
        ctx.enqueue(after_gates(order.repo, order.number, order.head_sha, results))


def stopped(
    order: RunOrder, config: GatesConfig, conclusion: Conclusion, reason: str
) -> list[GateResult]:
    """Results for gates that did not run to the end (cancelled by a newer head)."""
    text = (
        templates.GATE_CANCELLED.format(reason=reason)
        if conclusion is Conclusion.CANCELLED
        else reason
    )
    results = []
    for level in order.levels:
        settings = config.for_level(level)
        if settings is not None:
            results.append(errored(level, settings, conclusion, text, 0.0))
    return results


def gate_pull(
    ctx: JobContext,
    github: GitHubPort,
    pull: PullInfo,
    order: RunOrder,
    config: GatesConfig,
    token: CancelToken,
) -> list[GateResult]:
    """Fetch base and head, check the head out, diff ``base...head`` and run the gates."""
    workspace = Workspace(ctx.settings, committer=COMMITTER, credentials=github.git_credentials)
    workspace.fetch(order.repo, fetch_refs(pull))
    with workspace.worktree(order.repo, order.head_sha, label=WORKTREE_LABEL) as tree:
        diff = workspace.diff(order.repo, pull.base_sha, order.head_sha, merge_base=True)
        held = held_levels(pull, order.levels, order.approved_sha)
        running = [level for level in order.levels if level not in held]
        with checkout_input(
            tree.path, pull.base_sha, diff, baseline=config.baseline, env=tool_environment()
        ) as inp:
            results = run_gates(inp, config, levels=running, cancel=token)
    return sorted([*results, *_held(config, held, pull)], key=lambda result: result.level)


def _held(config: GatesConfig, levels: Sequence[GateLevel], pull: PullInfo) -> list[GateResult]:
    """A fork's code-running gates without a maintainer's ok-to-test for this head."""
    found = [(level, config.for_level(level)) for level in levels]
    return [held_result(level, settings, pull) for level, settings in found if settings]


def tool_environment() -> dict[str, str]:
    """The process environment the gate tools start from.

    ``gates.tools.tool_env`` passes on only an allow-list (PATH, HOME, locale, proxies,
    CA bundles): tokens, keys and the webhook secret never reach a tool.
    """
    return dict(os.environ)
