"""The gates' check-run lifecycle decisions: what a delivery asks, which runs, which heads.

Everything here is pure except :class:`HeadRegistry`, the in-process record of the gate
runs under way, which cancels the older heads of a pull request when a newer one arrives
(here, or on another machine when the heads are shared through Redis).
What a dead gate job's runs (or statuses) say is decided here too (:class:`DeadJob`).

Identity of a gate's check run: its name (``TechLead L1 · Lint``) and its
``external_id`` (``techlead:L1:<pull request number>``) on a head SHA. GitHub keeps
check runs per head SHA, so runs of an older head stay attached to that commit.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.errors import QueueError
from bot.ports import CheckRunInfo, PullInfo
from gates import templates
from gates.config import GateLevel, GatesConfig, SelectionConfig
from gates.redact import redact_text
from gates.registry import REGISTRY
from gates.report import CheckRunPlan, CommitStatus
from gates.tools import CancelToken

PULL_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
SUITE_ACTIONS = ("requested", "rerequested")
RUN_ACTIONS = ("rerequested",)
EXTERNAL_PREFIX = "techlead"
COMPLETED = "completed"
QUEUED = "queued"
OPEN = "open"
FAILURE = "failure"
STATUS_ERROR = "error"

_NAMES = {templates.check_run_name(level): level for level in GateLevel}

# What a gate's check run (or status) says when its job was dead-lettered. GitHub's
# limits: title 255 characters, status description 140, summary 65,535.
# https://docs.github.com/en/rest/checks/runs#update-a-check-run
DEAD_TITLE = "Did not finish: gave up after {attempts} attempt(s): {error}"
DEAD_SUMMARY = (
    "❌ **The gates did not finish for commit `{sha}`.**\n\n"
    "TechLead's `{kind}` job (id {job}) gave up after {attempts} attempt(s). "
    "The last error:\n\n```\n{error}\n```\n\n{todo}"
)
DEAD_TODO_CHECKS = (
    "**What to do:** re-run this check from the Checks tab, or push a new commit. "
    "If it keeps failing, a maintainer can find job {job} with `techlead jobs list --dead`."
)
DEAD_TODO_STATUSES = (
    "**What to do:** push a new commit to run the gates again; a maintainer can also "
    "re-drive the job with `techlead jobs retry {job}`."
)
DEAD_COMMENT_ROW = "| {name} | ❌ failure: did not finish | - | - |"
DEAD_ERROR_CHARS = 2000
MAX_TITLE_CHARS = 255
MAX_STATUS_CHARS = 140


@dataclass(frozen=True)
class GateRequest:
    """What one delivery asks for: gate ``head_sha`` of these pull requests.

    ``numbers`` empty: the pull requests whose head branch is ``head_branch`` (a
    ``check_suite`` payload lists none for forks, nor in the sandbox). ``levels`` empty:
    every enabled gate. ``rerun``: make new check runs even where some exist.
    ``ok_to_test``: the head a maintainer let a fork's code run on (``/techlead
    ok-to-test``, see :mod:`bot.fork_trust`).
    """

    repo: str
    head_sha: str
    head_branch: str = ""
    numbers: tuple[int, ...] = ()
    levels: tuple[GateLevel, ...] = ()
    rerun: bool = False
    ok_to_test: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "head_sha": self.head_sha,
            "head_branch": self.head_branch,
            "numbers": list(self.numbers),
            "levels": [level.value for level in self.levels],
            "rerun": self.rerun,
            "ok_to_test": self.ok_to_test,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> GateRequest:
        return cls(
            repo=str(data["repo"]),
            head_sha=str(data["head_sha"]),
            head_branch=str(data.get("head_branch") or ""),
            numbers=tuple(int(n) for n in data.get("numbers") or ()),
            levels=tuple(GateLevel(level) for level in data.get("levels") or ()),
            rerun=bool(data.get("rerun")),
            ok_to_test=str(data.get("ok_to_test") or ""),
        )


# ---------------------------------------------------------------------------- identity


def external_id(level: GateLevel, number: int) -> str:
    return f"{EXTERNAL_PREFIX}:{level.value}:{number}"


def parse_external_id(text: str) -> tuple[GateLevel, int] | None:
    prefix, _, rest = text.partition(":")
    level, _, number = rest.partition(":")
    # isdigit() alone accepts "²", which int() refuses; 18 digits always fit an id.
    digits = number.isascii() and number.isdigit() and len(number) <= 18
    if prefix != EXTERNAL_PREFIX or level not in GateLevel.__members__ or not digits:
        return None
    return GateLevel(level), int(number)


def level_of(name: str, external: str = "") -> GateLevel | None:
    """The gate a check run belongs to, by external id, else by name."""
    parsed = parse_external_id(external)
    return parsed[0] if parsed else _NAMES.get(name)


# ---------------------------------------------------------------------------- selection


class Skip(enum.StrEnum):
    """Why a pull request gets no gates for a head (logged, never shown)."""

    CLOSED = "the pull request is closed"
    MOVED_ON = "the pull request's head is a newer commit"
    DRAFT = "drafts are not gated (gates.pull_requests.drafts)"
    BOT = "pull requests by bots are not gated (gates.pull_requests.bots)"
    BASE = "its base branch is not gated (gates.pull_requests.base_branches)"


def skip_reason(
    pull: PullInfo, head_sha: str, select: SelectionConfig, *, author_is_bot: bool
) -> Skip | None:
    """None when ``pull`` at ``head_sha`` gets gates, else why not."""
    if pull.state != OPEN:
        return Skip.CLOSED
    if pull.head_sha != head_sha:
        return Skip.MOVED_ON
    if pull.draft and not select.drafts:
        return Skip.DRAFT
    if author_is_bot and not select.bots:
        return Skip.BOT
    if select.base_branches and pull.base_ref not in select.base_branches:
        return Skip.BASE
    return None


def author_is_bot(pull: PullInfo, bot_login: str | None) -> bool:
    login = pull.author_login.lower()
    return login.endswith("[bot]") or (bool(bot_login) and login == (bot_login or "").lower())


def enabled_levels(config: GatesConfig, wanted: Iterable[GateLevel] = ()) -> list[GateLevel]:
    """The levels to run: every enabled gate with a module, or only ``wanted`` of them."""
    chosen = set(wanted)
    return [
        level
        for level in sorted(REGISTRY)
        if (settings := config.for_level(level)) is not None
        and settings.enabled
        and (not chosen or level in chosen)
    ]


# ---------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunPlan:
    """Check runs for one head: ours to reuse (by level) and levels needing a new run."""

    reuse: Mapping[GateLevel, CheckRunInfo]
    create: tuple[GateLevel, ...]


def plan_runs(
    existing: Sequence[CheckRunInfo], levels: Sequence[GateLevel], number: int, *, rerun: bool
) -> RunPlan:
    """Reuse the newest run of each gate on this head (a repeated delivery, a
    ``check_suite.requested`` after ``pull_request.opened``); a re-run makes new ones."""
    if rerun:
        return RunPlan({}, tuple(levels))
    ours: dict[GateLevel, CheckRunInfo] = {}
    for run in sorted(existing, key=lambda r: r.id):
        parsed = parse_external_id(run.external_id or "")
        # Only runs carrying our external id: another App may use the same name.
        if parsed is not None and parsed[0] in levels and parsed[1] == number:
            ours[parsed[0]] = run  # the newest wins
    return RunPlan(ours, tuple(level for level in levels if level not in ours))


def unfinished(runs: Mapping[GateLevel, CheckRunInfo]) -> dict[GateLevel, int]:
    """Runs still waiting for results, by level (their ids)."""
    return {level: run.id for level, run in runs.items() if run.status != COMPLETED}


def run_job_key(repo: str, number: int, head_sha: str, runs: Mapping[GateLevel, int]) -> str:
    """One run job per set of check runs (token mode: per head), whoever asks again."""
    ids = ",".join(str(runs[level]) for level in sorted(runs))
    return f"gates.run:{repo}#{number}@{head_sha}:{ids}"


def superseded_reason(current_head: str) -> str:
    return templates.SUPERSEDED.format(sha=current_head[:7])


def fetch_refs(pull: PullInfo) -> list[str]:
    """What to fetch from the base repository for ``pull``: its base and its head.

    A fork's head is fetched as ``refs/pull/N/head`` of the base repository, where GitHub
    keeps it: nothing is fetched from (or authenticated against) the fork itself.
    """
    head = f"refs/pull/{pull.number}/head" if pull.is_fork else pull.head_sha
    return [pull.base_sha, head]


# ---------------------------------------------------------------------------- heads


# Heads remembered per pull request; older ones without live runs are forgotten.
MAX_HEADS = 32
# How often runs under way ask the shared record whether another machine saw a newer head.
SHARED_POLL_SECONDS = 2.0


class SharedHeads(Protocol):
    """The newest head of each pull request as every machine saw it (Redis, see
    :mod:`bot.state`): ``accept`` returns the current head, ``newer`` the one that
    superseded ``head``, if any."""

    def accept(self, repo: str, number: int, head: str) -> str: ...

    def newer(self, repo: str, number: int, head: str) -> str | None: ...


@dataclass
class _Pull:
    order: list[str] = field(default_factory=list)  # heads, in the order first seen
    tokens: dict[str, list[CancelToken]] = field(default_factory=dict)
    current: str = ""


class HeadRegistry:
    """Which head of each pull request is current in this process, and the gate runs to stop.

    A head is current once GitHub said so (the pull request's head SHA when its gates
    were queued); runs of heads first seen before it are cancelled. Ordering by first
    sighting keeps a late report about an older head from cancelling a newer one.

    With ``shared`` heads (workers on several machines), a head accepted on any machine
    is recorded there too; a run that starts checks it, and while runs are under way a
    watcher thread asks every ``poll_seconds`` whether another machine accepted a newer
    head, and cancels them if so. The process's own record stays the fast path.
    """

    def __init__(self, poll_seconds: float = SHARED_POLL_SECONDS) -> None:
        self._lock = threading.Lock()
        self._pulls: dict[tuple[str, int], _Pull] = {}
        self._poll_seconds = poll_seconds
        self._watched: dict[tuple[str, int], SharedHeads] = {}
        self._watcher: threading.Thread | None = None

    def supersede(
        self, repo: str, number: int, head: str, shared: SharedHeads | None = None
    ) -> int:
        """``head`` is the pull request's head now; cancel older heads' runs (how many).

        With ``shared`` heads, a newer head another machine accepted first stays current.
        """
        current = shared.accept(repo, number, head) if shared is not None else head
        return self._supersede(repo, number, current)

    def start(
        self, repo: str, number: int, head: str, shared: SharedHeads | None = None
    ) -> CancelToken:
        """A token for a run on ``head``, already cancelled if a newer head is current
        (here or, with ``shared`` heads, on any machine)."""
        token = CancelToken()
        with self._lock:
            pull = self._pull(repo, number, head)
            pull.tokens.setdefault(head, []).append(token)
            current = pull.current
            stale = bool(current) and pull.order.index(current) > pull.order.index(head)
        if stale:
            token.cancel(superseded_reason(current))
        elif shared is not None:
            newer = shared.newer(repo, number, head)
            if newer is not None:
                self._superseded_elsewhere(repo, number, head, newer)
            else:
                self._watch(repo, number, shared)
        return token

    def finish(self, repo: str, number: int, head: str, token: CancelToken) -> None:
        with self._lock:
            pull = self._pulls.get((repo, number))
            if pull is not None and token in pull.tokens.get(head, []):
                pull.tokens[head].remove(token)

    def known(self, repo: str, number: int) -> int:
        """How many heads of one pull request are remembered (bounded by MAX_HEADS)."""
        with self._lock:
            pull = self._pulls.get((repo, number))
            return len(pull.order) if pull else 0

    def live(self, repo: str, number: int) -> dict[str, int]:
        """Runs under way per head of one pull request (for logs and tests)."""
        with self._lock:
            pull = self._pulls.get((repo, number), _Pull())
            return {head: len(tokens) for head, tokens in pull.tokens.items() if tokens}

    def _supersede(self, repo: str, number: int, head: str) -> int:
        with self._lock:
            pull = self._pull(repo, number, head)
            if pull.order.index(head) < pull.order.index(pull.current or head):
                return 0  # an older head reported late: the newer one stays current
            pull.current = head
            older = pull.order[: pull.order.index(head)]
            tokens = [token for old in older for token in pull.tokens.get(old, [])]
            _forget_old(pull)
        reason = superseded_reason(head)
        for token in tokens:
            token.cancel(reason)
        return len(tokens)

    def _pull(self, repo: str, number: int, head: str) -> _Pull:
        pull = self._pulls.setdefault((repo, number), _Pull())
        if head not in pull.order:
            pull.order.append(head)
        return pull

    # -- the shared record, while runs are under way

    def _watch(self, repo: str, number: int, shared: SharedHeads) -> None:
        with self._lock:
            self._watched[(repo, number)] = shared
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch_loop, name="gate-heads", daemon=True
                )
                self._watcher.start()

    def _watch_loop(self) -> None:
        while True:
            time.sleep(self._poll_seconds)
            for (repo, number), shared, heads in self._live_watches():
                self._check_shared(repo, number, shared, heads)
            with self._lock:
                if not self._watched:
                    self._watcher = None
                    return

    def _live_watches(self) -> list[tuple[tuple[str, int], SharedHeads, list[str]]]:
        """The watched pulls with runs under way (and their heads); forgets the others."""
        found = []
        with self._lock:
            for key, shared in list(self._watched.items()):
                pull = self._pulls.get(key, _Pull())
                heads = [head for head, tokens in pull.tokens.items() if tokens]
                if heads:
                    found.append((key, shared, heads))
                else:
                    del self._watched[key]
        return found

    def _check_shared(self, repo: str, number: int, shared: SharedHeads, heads: list[str]) -> None:
        for head in heads:
            try:
                newer = shared.newer(repo, number, head)
            except QueueError:
                return  # Redis unreachable: the run's own check of GitHub's head still holds
            if newer is not None:
                self._superseded_elsewhere(repo, number, head, newer)

    def _superseded_elsewhere(self, repo: str, number: int, head: str, newer: str) -> None:
        """Another machine accepted ``newer`` after ``head``: it is current here too, and
        ``head``'s runs stop even if this process happened to see the two in another order."""
        self._supersede(repo, number, newer)
        with self._lock:
            tokens = list(self._pulls.get((repo, number), _Pull()).tokens.get(head, []))
        for token in tokens:
            token.cancel(superseded_reason(newer))


def _forget_old(pull: _Pull) -> None:
    """Keep at most MAX_HEADS heads; a forgotten head's late run job still checks
    GitHub's head before it publishes, so forgetting never lets stale results out."""
    while len(pull.order) > MAX_HEADS:
        oldest = next((h for h in pull.order if not pull.tokens.get(h)), None)
        if oldest is None or oldest == pull.current:
            return
        pull.order.remove(oldest)
        pull.tokens.pop(oldest, None)


# ---------------------------------------------------------------------------- dead jobs


@dataclass(frozen=True)
class DeadJob:
    """A gate job that was dead-lettered, as its runs tell people: what, why, what to do."""

    kind: str
    job_id: int
    attempts: int
    error: str
    head_sha: str

    @classmethod
    def of(cls, kind: str, job_id: int, attempts: int, error: str, head_sha: str) -> DeadJob:
        """Redacted (token shapes), fence-safe and cut to a length a summary can hold."""
        text = redact_text(error).replace("`", "'").strip()[-DEAD_ERROR_CHARS:]
        return cls(kind, job_id, attempts, text, head_sha)

    @property
    def headline(self) -> str:
        first = self.error.splitlines()[0] if self.error else ""
        return DEAD_TITLE.format(attempts=self.attempts, error=first)

    def summary(self, todo: str) -> str:
        return DEAD_SUMMARY.format(
            sha=self.head_sha,
            kind=self.kind,
            job=self.job_id,
            attempts=self.attempts,
            error=self.error,
            todo=todo.format(job=self.job_id),
        )


def dead_check_run(level: GateLevel, dead: DeadJob) -> CheckRunPlan:
    """A gate's run completed as failed because its job died (not because of findings)."""
    return CheckRunPlan(
        name=templates.check_run_name(level),
        conclusion=FAILURE,
        title=_clip(dead.headline, MAX_TITLE_CHARS),
        summary=dead.summary(DEAD_TODO_CHECKS),
        text="",
        annotation_batches=(),
    )


def dead_status(level: GateLevel, dead: DeadJob) -> CommitStatus:
    """Token mode: ``error`` (the gate did not run), the reason in the description."""
    name = templates.check_run_name(level)
    return CommitStatus(name, STATUS_ERROR, _clip(dead.headline, MAX_STATUS_CHARS))


def dead_comment(levels: Sequence[GateLevel], dead: DeadJob) -> str:
    """Token mode's one summary comment (same marker) when the gates' job died."""
    head = [
        templates.MARKER,
        templates.COMMENT_HEADER,
        templates.COMMENT_HEAD_SHA.format(sha=dead.head_sha),
    ]
    rows = [templates.COMMENT_TABLE_HEAD]
    rows += [DEAD_COMMENT_ROW.format(name=templates.check_run_name(level)) for level in levels]
    return "\n\n".join([*head, "\n".join(rows), dead.summary(DEAD_TODO_STATUSES)])


def abandoned_runs(
    existing: Sequence[CheckRunInfo], numbers: Sequence[int], levels: Sequence[GateLevel]
) -> dict[int, dict[GateLevel, int]]:
    """Our runs on a head still ``queued``, by pull request and level (their ids).

    What a dead ``gates.queue`` job leaves behind: runs it created (or found) and no run
    job started. ``in_progress`` runs belong to a run job, whose own death is handled
    by its hook. Empty ``numbers``/``levels``: any of ours.
    """
    found: dict[int, dict[GateLevel, int]] = {}
    for run in existing:
        parsed = parse_external_id(run.external_id or "")
        if parsed is None or run.status != QUEUED:
            continue
        level, number = parsed
        if (not numbers or number in numbers) and (not levels or level in levels):
            found.setdefault(number, {})[level] = run.id
    return found


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
