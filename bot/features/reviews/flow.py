"""Reviewing a pull request head: the ``reviews.run`` job and publishing its comments.

=================================================  ====================  ==============
event                                              when                  job
=================================================  ====================  ==============
pull_request: opened, synchronize, reopened,       the repository's      reviews.run
ready_for_review                                   ``reviews`` config
                                                   admits the pull
                                                   request
=================================================  ====================  ==============

``reviews.run`` does one head. When the L1/L5 gates are enabled it runs once their job
has finished, with the new findings that job hands over (:func:`after_gates`: the tools
run once per head); otherwise it runs those tools itself. It diffs base and head in the
workspace, hands the diff, both revisions and the findings to the pure streams
(:mod:`reviewers`) and publishes, per stream, what is new:

* **one review per stream and head commit**: the review's body carries a hidden run
  marker, so a retried job never posts a second one; at most 30 inline comments, most
  severe first, the rest listed in the body (:mod:`reviewers.publish`);
* **no repeats**: every comment carries a fingerprint; one already on the pull request
  is not posted again, whatever the push; a thread whose finding is gone gets one
  "Fixed in <sha>" reply (REST has no thread resolution; threads are never deleted);
* comments whose lines the diff does not show go on the file (``subject_type: file``),
  or into the body when the file is not in the diff: GitHub refuses a whole review for
  one badly anchored comment, so anchoring happens before sending; if GitHub still
  answers 422, the review is posted again without the comments it refused, which are
  listed in its body;
* **one sticky summary comment**, edited in place: each stream's counts, the gates'
  conclusions on the head, and what to do next.

A newer push makes the job stop before publishing (its head is no longer the pull
request's). Configuration comes from the default branch only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from bot.context import JobContext
from bot.errors import GitHubValidationError, RepoConfigError
from bot.events import CheckRunEvent, PullRequestEvent
from bot.features.reviews import texts
from bot.features.reviews.refining import REFINE_TRAILER, apply_refinement, workspace_for
from bot.gate_runs import PULL_ACTIONS, fetch_refs
from bot.jobs import Job, JobRegistry, JobSpec
from bot.ports import PullInfo, ReviewPort
from bot.repo_config import ReviewsConfig, ReviewScope, fetch_repo_config
from bot.router import Event, Router
from gates.config import GateLevel, GatesConfig
from gates.fingerprint import load_baseline
from gates.model import Finding, GateResult
from gates.revision import checkout_input
from gates.runner import run_gates
from reviewers.anchor import Diff, Placement
from reviewers.model import Comment, ReviewSettings, Stream
from reviewers.publish import Inline, Posted, Review, build, fixed_replies, unsuppressed
from reviewers.refine import fixable
from reviewers.streams import from_gate_input, review_all

router = Router()
jobs = JobRegistry()

RUN_KIND = "reviews.run"
SUMMARY_KIND = "reviews.summary"
RUN_ATTEMPTS = 3
WORKTREE_LABEL = "reviews"
FINDING_LEVELS = (GateLevel.L1, GateLevel.L5)
TECHLEAD_BRANCH = "techlead/"
AUTO_REFINE = "auto"


@dataclass(frozen=True)
class ReviewOrder:
    """One pull request head to review; ``findings`` are the L1/L5 gates' new findings
    when the gates job hands them over (None: the review runs those tools itself)."""

    repo: str
    number: int
    head_sha: str
    findings: tuple[Finding, ...] | None = None

    def to_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"repo": self.repo, "number": self.number, "head_sha": self.head_sha}
        if self.findings is not None:
            data["findings"] = _FINDINGS.dump_python(list(self.findings), mode="json")
        return data

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> ReviewOrder:
        found = data.get("findings")
        findings = tuple(_FINDINGS.validate_python(found)) if found is not None else None
        return cls(str(data["repo"]), int(data["number"]), str(data["head_sha"]), findings)


_FINDINGS: TypeAdapter[list[Finding]] = TypeAdapter(list[Finding])


def after_gates(repo: str, number: int, head_sha: str, results: Sequence[GateResult]) -> JobSpec:
    """The review of a head whose gates just finished, with the L1/L5 findings they found:
    the reviewers explain those rather than running the same tools again."""
    findings = tuple(f for r in results if r.level in FINDING_LEVELS for f in r.new)
    order = ReviewOrder(repo, number, head_sha, findings)
    key = f"{RUN_KIND}:{repo.lower()}#{number}@{head_sha}:gates"
    return JobSpec(RUN_KIND, order.to_payload(), dedupe_key=key)


def finding_gates(gates: GatesConfig) -> tuple[GateLevel, ...]:
    """The enabled gates whose findings the reviewers explain."""
    return tuple(level for level in FINDING_LEVELS if gates.for_level(level) is not None)


# ---------------------------------------------------------------------------- routing


# TechLead's own pull requests are reviewed like anyone's: bots are let through.
@router.register("pull_request", allow_bots=True)
def on_pull_request(event: Event, ctx: JobContext) -> list[JobSpec]:
    if event.action not in PULL_ACTIONS:
        return []
    pull = PullRequestEvent.from_event(event)
    order = ReviewOrder(pull.repo, pull.number, pull.head_sha)
    key = f"{RUN_KIND}:{pull.repo.lower()}#{pull.number}@{pull.head_sha}"
    return [JobSpec(RUN_KIND, order.to_payload(), dedupe_key=key)]


# A gate finishing later than the review refreshes the summary's gate line (App mode:
# TechLead's own check runs report their completion).
@router.register("check_run", action="completed", allow_bots=True)
def on_gate_completed(event: Event, ctx: JobContext) -> list[JobSpec]:
    run = CheckRunEvent.from_event(event)
    if run.tagged is None:
        return []  # another App's run
    order = ReviewOrder(run.repo, run.tagged.number, run.head_sha)
    return [JobSpec(SUMMARY_KIND, order.to_payload())]


def admitted(pull: PullInfo, config: ReviewsConfig, bot_login: str | None) -> bool:
    """Whether the repository's ``reviews`` settings cover this pull request."""
    if not config.enabled or (pull.draft and not config.drafts):
        return False
    if config.pull_requests is ReviewScope.TECHLEAD:
        return pull.head_ref.startswith(TECHLEAD_BRANCH) or pull.author_login == bot_login
    if config.pull_requests is ReviewScope.LABELLED:
        return config.label in pull.labels
    return True


def settings_of(config: ReviewsConfig) -> ReviewSettings:
    return ReviewSettings(
        complexity_threshold=config.complexity_threshold,
        max_function_lines=config.max_function_lines,
        docs_required=config.docs_required,
    )


# ------------------------------------------------------------------------------- the job


@jobs.register(RUN_KIND, max_attempts=RUN_ATTEMPTS)
def review_head(job: Job, ctx: JobContext) -> None:
    """Review one head and publish what is new (nothing, if a newer push superseded it)."""
    order = ReviewOrder.from_payload(job.payload)
    github: ReviewPort = ctx.github
    pull = github.get_pull(order.repo, order.number)
    if pull.head_sha != order.head_sha:
        return
    try:
        config = fetch_repo_config(github, order.repo)
    except RepoConfigError:
        return  # the gates' check runs already say what is wrong with the file
    if not admitted(pull, config.reviews, ctx.settings.bot_login):
        return
    if order.findings is None and finding_gates(config.gates):
        return  # the gates job reviews this head once its tools ran (after_gates)
    streams = [Stream(name) for name in config.reviews.streams]
    found = review_pull(
        ctx, github, order.repo, pull, config.gates, config.reviews, streams, order.findings
    )
    if github.get_pull(order.repo, order.number).head_sha != order.head_sha:
        return  # a newer push came while the tools ran: its own job reviews it
    Publication(github, order.repo, pull, config.reviews, found.diff).publish(found)
    if is_task_pull(pull, ctx.settings.bot_login) and auto_refines(ctx, github, order.repo, pull):
        fixes = fixable(unsuppressed(found.all(), found.accepted))
        apply_refinement(ctx, github, order.repo, pull, fixes, AUTO_REFINE)


def is_task_pull(pull: PullInfo, bot_login: str | None) -> bool:
    """One of TechLead's own task (or integration) pull requests."""
    own = pull.author_login == bot_login and pull.head_ref.startswith(TECHLEAD_BRANCH)
    return own and not pull.is_fork


def auto_refines(ctx: JobContext, github: ReviewPort, repo: str, pull: PullInfo) -> bool:
    """A task pull request is refined once per push: not a refine's own push, and not
    while a gate failed (the execution retries the task with the findings then, and a
    refine pushed meanwhile would race that retry for the branch)."""
    if any(c == "failure" for _, c in gate_outcomes(github, repo, pull.head_sha)):
        return False
    return f"{REFINE_TRAILER}:" not in head_message(ctx, github, repo, pull)


def head_message(ctx: JobContext, github: ReviewPort, repo: str, pull: PullInfo) -> str:
    return workspace_for(ctx, github).commit_message(repo, pull.head_sha)


@dataclass(frozen=True)
class Found:
    """One head's review: the diff, each stream's comments, and the fingerprints of the
    comments a reviewed suppression (``/techlead ignore``) keeps out."""

    diff: Diff
    comments: dict[Stream, list[Comment]]
    accepted: frozenset[str] = frozenset()

    def all(self) -> list[Comment]:
        return [comment for comments in self.comments.values() for comment in comments]


@jobs.register(SUMMARY_KIND, max_attempts=3)
def refresh_summary(job: Job, ctx: JobContext) -> None:
    """Bring the summary's gate line up to date on the head it describes."""
    order = ReviewOrder.from_payload(job.payload)
    github: ReviewPort = ctx.github
    existing = github.find_comment(order.repo, order.number, texts.SUMMARY_MARKER)
    if existing is None or f"review of {order.head_sha[:7]}" not in existing.body:
        return  # no summary yet (the review job writes it), or one about another head
    gates = gate_outcomes(github, order.repo, order.head_sha)
    body = with_gates(existing.body, gates)
    if body != existing.body:
        github.edit_comment(order.repo, existing.id, body)


def gate_outcomes(github: ReviewPort, repo: str, sha: str) -> list[tuple[str, str]]:
    """The gates' outcomes on a head: check runs (App mode), else commit statuses (token
    mode reports gates as statuses)."""
    runs = github.list_check_runs(repo, sha)
    if runs:
        return sorted((run.name, run.conclusion or run.status) for run in runs)
    return sorted(github.commit_statuses(repo, sha).items())


def with_gates(body: str, gates: list[tuple[str, str]]) -> str:
    """The summary ``body`` with its gate line rewritten for ``gates``."""
    line = texts.GATES_LINE.format(gates=_gates_text(gates))
    return "\n".join(
        line if row.startswith(texts.GATES_PREFIX) else row for row in body.split("\n")
    )


def _gates_text(gates: list[tuple[str, str]]) -> str:
    shown = ", ".join(texts.GATE_ITEM.format(name=n, conclusion=c) for n, c in gates)
    return shown or texts.GATES_NONE


def review_pull(
    ctx: JobContext,
    github: ReviewPort,
    repo: str,
    pull: PullInfo,
    gates: GatesConfig,
    reviews: ReviewsConfig,
    streams: list[Stream],
    findings: Sequence[Finding] | None = None,
) -> Found:
    """Fetch, check the head out, run the finding gates, run the streams.

    Suppressions come from the baseline file at base and at head: reviews only advise,
    and ``/techlead ignore`` records them on the pull request's branch. (The gates read
    the baseline at base only: a pull request cannot excuse its own findings there.)
    """
    workspace = workspace_for(ctx, github)
    workspace.fetch(repo, fetch_refs(pull))
    with workspace.worktree(repo, pull.head_sha, label=WORKTREE_LABEL) as tree:
        text = workspace.diff(repo, pull.base_sha, pull.head_sha, merge_base=True)
        paths = frozenset(entry.path for entry in workspace.list_files(repo, pull.head_sha))
        with checkout_input(tree.path, pull.base_sha, text, baseline=gates.baseline, env={}) as inp:
            if findings is None:  # no gates job handed its findings over: run the tools
                results = run_gates(inp, gates, levels=list(finding_gates(gates)))
                findings = [finding for result in results for finding in result.new]
            review = from_gate_input(inp, findings, settings_of(reviews), head_paths=paths)
            accepted = _accepted(tree.path / gates.baseline)
            if inp.base is not None:
                accepted |= _accepted(inp.base / gates.baseline)
            return Found(review.diff, review_all(review, streams), accepted)


def _accepted(file: Path) -> frozenset[str]:
    try:
        return load_baseline(file)
    except ValueError:
        return frozenset()  # an unreadable baseline: the gates report it


# ---------------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class Tally:
    """One stream's numbers for the summary."""

    total: int
    new: int
    fixed: int
    blocking: int


@dataclass
class Publication:
    """Posts one head's reviews, replies and summary; every step looks before it writes."""

    github: ReviewPort
    repo: str
    pull: PullInfo
    config: ReviewsConfig
    diff: Diff

    @property
    def sha(self) -> str:
        return self.pull.head_sha

    def publish(self, found: Found) -> None:
        listed = self.github.list_review_comments(self.repo, self.pull.number)
        posted = [Posted(c.id, c.body, c.in_reply_to) for c in listed]
        runs = {review.body for review in self.github.list_reviews(self.repo, self.pull.number)}
        tallies = {}
        for stream, current in found.comments.items():
            comments = unsuppressed(current, found.accepted)
            marker = texts.RUN_MARKER.format(stream=stream.value, sha=self.sha)
            done = any(marker in body for body in runs)
            new = self._review(stream, comments, posted, marker, done)
            fixed = self._fixed(stream, current, posted)
            blocking = sum(1 for c in comments if c.blocking)
            tallies[stream] = Tally(len(comments), new, fixed, blocking)
        self._summary(tallies)

    def _review(
        self, stream: Stream, comments: list[Comment], posted: list[Posted], marker: str, done: bool
    ) -> int:
        review = build(
            stream,
            self.sha,
            self.diff,
            comments,
            posted,
            request_changes=self.config.request_changes,
        )
        if review is None:
            return 0
        lines = [item for item in review.inline if item.anchor.placement is Placement.LINE]
        files = [item for item in review.inline if item.anchor.placement is Placement.FILE]
        if not done:
            self._post_review(review, lines, marker)
        else:
            files += lines  # a retried job: the review is there, add only what is missing
        for item in files:
            self._file_comment(item)
        return len(review.new)

    def _post_review(self, review: Review, lines: list[Inline], marker: str) -> None:
        """Post the review; if GitHub refuses it anyway (422), try again without ranges
        (one line is always inside its hunk), then without inline comments, listing the
        refused ones in the body: the review is never lost for one comment."""
        single = [replace(i, anchor=replace(i.anchor, start_line=None)) for i in lines]
        for kept in (lines, single, []):
            refused = [] if kept else lines
            try:
                self._create(review, _with_refused(review, refused, marker), kept)
                return
            except GitHubValidationError:
                if not kept:
                    raise

    def _create(self, review: Review, body: str, lines: list[Inline]) -> None:
        self.github.create_review(
            self.repo,
            self.pull.number,
            commit_id=self.sha,
            body=body,
            event=review.event.value,
            comments=[item.api() for item in lines],
        )

    def _file_comment(self, item: Inline) -> None:
        self.github.create_file_comment(
            self.repo, self.pull.number, commit_id=self.sha, path=item.anchor.path, body=item.body
        )

    def _fixed(self, stream: Stream, comments: list[Comment], posted: list[Posted]) -> int:
        replies = fixed_replies(stream, self.sha[:7], comments, posted)
        for reply in replies:
            self.github.reply_review_comment(self.repo, self.pull.number, reply.to, reply.body)
        return len(replies)

    def _summary(self, tallies: dict[Stream, Tally]) -> None:
        body = summary_body(self.sha, tallies, self._gates())
        existing = self.github.find_comment(self.repo, self.pull.number, texts.SUMMARY_MARKER)
        if existing is None:
            self.github.create_comment(self.repo, self.pull.number, body)
        elif existing.body != body:
            self.github.edit_comment(self.repo, existing.id, body)

    def _gates(self) -> list[tuple[str, str]]:
        return gate_outcomes(self.github, self.repo, self.sha)


def _with_refused(review: Review, refused: list[Inline], marker: str) -> str:
    """The review's body, listing the comments GitHub refused inline, and the run marker."""
    if not refused:
        return f"{review.body}\n\n{marker}"
    items = "\n".join(f"- `{i.comment.path}:{i.comment.line}` {i.comment.title}" for i in refused)
    extra = texts.FALLBACK_BODY.format(count=len(refused), items=items)
    return f"{review.body}{extra}\n\n{marker}"


def summary_body(sha: str, tallies: dict[Stream, Tally], gates: list[tuple[str, str]]) -> str:
    """The sticky summary: counts per stream, the gates on this head, what to do next."""
    rows = "\n".join(
        texts.SUMMARY_ROW.format(stream=s.heading, total=t.total, new=t.new, fixed=t.fixed)
        for s, t in tallies.items()
    )
    blocking = sum(t.blocking for t in tallies.values())
    if blocking:
        advice = texts.NEXT_BLOCKING.format(count=blocking)
    elif any(t.total for t in tallies.values()):
        advice = texts.NEXT_FINDINGS
    else:
        advice = texts.NEXT_CLEAN
    return texts.SUMMARY.format(
        marker=texts.SUMMARY_MARKER,
        sha=sha[:7],
        rows=rows,
        gates=_gates_text(gates),
        next=advice,
    )
