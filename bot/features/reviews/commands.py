"""Commands where reviewers talk: ``refine``, ``explain`` and ``ignore`` on pull requests.

=====================================  ================================  ===============
event                                  when                              job
=====================================  ================================  ===============
issue_comment.created                  on a pull request, a line         reviews.command
                                       ``/techlead refine``
pull_request_review_comment.created    a line ``/techlead refine``,      reviews.command
                                       ``explain`` or ``ignore <why>``
=====================================  ================================  ===============

Every command is checked against the repository's ``permissions`` (``refine`` and
``ignore`` need write access by default, ``explain`` read access), like any command.

* ``refine`` applies the reviewers' suggested fixes (ruff's safe fixes, docstring stubs)
  as one new commit on the pull request's branch: all of them from a pull request
  comment, the thread's own from a review thread. TechLead pushes to branches of the
  repository (the command needs write access), and to a fork's branch only when its
  author allows edits by maintainers; the push is leased on the head it reviewed, so it
  never overwrites a newer push. The push runs the gates and reviewers again.
* ``explain`` answers in the thread with the rule's rationale and reference.
* ``ignore <reason>`` records the finding as reviewed in the baseline file on the pull
  request's branch (with the reason and who said so); the reviewers leave it out from
  then on, and once merged the gates do too.

Answers are idempotent: a reply carries the command comment's id, and a job that runs
again finds it instead of answering twice.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from typing import Any, NamedTuple

from bot.actions import ReplyComment
from bot.context import JobContext
from bot.errors import LeaseMismatch, RepoConfigError
from bot.events import IssueCommentEvent, ReviewCommentEvent
from bot.executor import Executor
from bot.features.reviews.flow import review_pull
from bot.features.reviews.refining import COMMITTER, apply_refinement, head_remote, workspace_for
from bot.jobs import Job, JobRegistry, JobSpec
from bot.permissions import check_sender
from bot.ports import PullInfo, ReviewPort
from bot.repo_config import RepoConfig, fetch_repo_config
from bot.router import Event, Router
from gates.fingerprint import load_baseline
from gates.tools import tool_command, tool_env
from reviewers import texts
from reviewers.model import Stream
from reviewers.publish import Posted, unsuppressed
from reviewers.refine import fixable

router = Router()
jobs = JobRegistry()

KIND = "reviews.command"
COMMANDS = ("refine", "explain", "ignore")
_LINE = re.compile(
    r"^[ \t]{0,10}(/[\w.-]{1,50})[ \t]{1,10}(refine|explain|ignore)\b[ \t]{0,10}(.{0,500})$", re.M
)
REPLY_MARKER = "<!-- techlead:review-reply to={comment_id} -->"
RULE_TIMEOUT = 10.0


@dataclass(frozen=True)
class CommandRequest:
    """One command comment: where, which thread (review comments), by whom."""

    repo: str
    number: int
    comment_id: int
    command: str
    prefix: str
    argument: str
    login: str
    sender_type: str
    thread: int | None = None  # the review thread's first comment; None: a PR comment

    def to_payload(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> CommandRequest:
        return cls(**data)


def parse_command(body: str) -> tuple[str, str, str] | None:
    """(prefix, command, argument) of the first reviewer command line, or None."""
    found = _LINE.search(body[:10_000])
    return (found.group(1), found.group(2), found.group(3).strip()) if found else None


def _spec(request: CommandRequest) -> list[JobSpec]:
    return [JobSpec(KIND, request.to_payload())]


@router.register("issue_comment", action="created")
def on_pull_comment(event: Event, ctx: JobContext) -> list[JobSpec]:
    comment = IssueCommentEvent.from_event(event)
    parsed = parse_command(comment.body) if comment.issue.is_pull_request else None
    if parsed is None or parsed[1] != "refine":
        return []
    prefix, command, argument = parsed
    login, kind = event.sender_login or "ghost", event.sender_type or "User"
    number = comment.issue.number
    return _spec(
        CommandRequest(
            comment.repo, number, comment.comment_id, command, prefix, argument, login, kind
        )
    )


@router.register("pull_request_review_comment", action="created")
def on_review_comment(event: Event, ctx: JobContext) -> list[JobSpec]:
    comment = ReviewCommentEvent.from_event(event)
    parsed = parse_command(comment.body)
    if parsed is None or comment.in_reply_to is None:
        return []  # commands answer a thread; a new thread is nobody's finding
    prefix, command, argument = parsed
    login, kind = event.sender_login or "ghost", event.sender_type or "User"
    request = CommandRequest(
        comment.repo,
        comment.number,
        comment.comment_id,
        command,
        prefix,
        argument,
        login,
        kind,
        thread=comment.thread,
    )
    return _spec(request)


# ------------------------------------------------------------------------------- the job


@jobs.register(KIND, max_attempts=3)
def run_command(job: Job, ctx: JobContext) -> None:
    request = CommandRequest.from_payload(job.payload)
    github: ReviewPort = ctx.github
    try:
        config = fetch_repo_config(github, request.repo)
    except RepoConfigError:
        return  # the gates' runs say what is wrong with the file
    if request.prefix.lower() != config.trigger.command.lower():
        return
    decision = check_sender(
        github,
        request.repo,
        request.login,
        request.command,
        config.permissions,
        sender_type=request.sender_type,
    )
    answer = Answer(github, request)
    if not decision.allowed:
        answer.say(decision.reason)
        return
    pull = github.get_pull(request.repo, request.number)
    handler = {"refine": refine, "explain": explain, "ignore": ignore}[request.command]
    handler(Run(ctx, github, config, request, pull, answer))


class Run(NamedTuple):
    """One command being carried out: what every command handler works with."""

    ctx: JobContext
    github: ReviewPort
    config: RepoConfig
    request: CommandRequest
    pull: PullInfo
    answer: Answer


@dataclass(frozen=True)
class Answer:
    """Replies once per command comment: in its thread, or on the pull request."""

    github: ReviewPort
    request: CommandRequest

    def say(self, text: str) -> None:
        request = self.request
        marker = REPLY_MARKER.format(comment_id=request.comment_id)
        body = f"{text}\n\n{marker}"
        if request.thread is None:
            reply = ReplyComment(request.repo, request.number, f"review-{request.comment_id}", text)
            Executor(self.github).apply_one(reply)
            return
        listed = self.github.list_review_comments(request.repo, request.number)
        if any(marker in comment.body for comment in listed):
            return
        self.github.reply_review_comment(request.repo, request.number, request.thread, body)


def _thread_root(github: ReviewPort, request: CommandRequest) -> Posted | None:
    """TechLead's comment that starts the thread, or None (someone else's thread)."""
    for comment in github.list_review_comments(request.repo, request.number):
        if comment.id == request.thread:
            posted = Posted(comment.id, comment.body, comment.in_reply_to)
            return posted if posted.marker is not None else None
    return None


# ---------------------------------------------------------------------------------- refine


def may_push(pull: PullInfo) -> bool:
    """Branches of this repository (the requester was checked for write access), and a
    fork's branch only when its author allows edits by maintainers."""
    return not pull.is_fork or pull.maintainer_can_modify


def refine(run: Run) -> None:
    ctx, github, config, request, pull, answer = run
    if not may_push(pull):
        answer.say(texts.REFINE_NOT_OURS)
        return
    only: str | None = None
    if request.thread is not None:
        root = _thread_root(github, request)
        if root is None or root.marker is None:
            answer.say(texts.NOT_OUR_THREAD.format(command=request.command))
            return
        only = root.marker[1]
    streams = [Stream(name) for name in config.reviews.streams]
    found = review_pull(ctx, github, request.repo, pull, config.gates, config.reviews, streams)
    shown = unsuppressed(found.all(), found.accepted)
    comments = [c for c in shown if only in (None, c.fingerprint)]
    text = apply_refinement(ctx, github, request.repo, pull, fixable(comments), request.login)
    answer.say(text)


# --------------------------------------------------------------------------------- explain


def explain(run: Run) -> None:
    github, request, answer = run.github, run.request, run.answer
    root = _thread_root(github, request)
    if root is None or root.rule is None:
        answer.say(texts.NOT_OUR_THREAD.format(command=request.command))
        return
    answer.say(explanation(root.rule, root.body))


def explanation(rule: str, body: str) -> str:
    """The rule's rationale: ruff's own docs for its codes, ours for our rules."""
    rationale = texts.RULES.get(rule) or ruff_rule_text(rule) or texts.GENERIC_RATIONALE
    url = next(iter(re.findall(r"\((https://[^)\s]{1,300})\)", body)), "")
    reference = texts.EXPLAIN_REFERENCE.format(url=url) if url else ""
    return texts.EXPLAIN.format(rule=rule, rationale=rationale, reference=reference)


def ruff_rule_text(rule: str) -> str | None:
    """``ruff rule CODE``'s explanation (its "Why is this bad?" part), offline."""
    if not re.fullmatch(r"[A-Z]{1,4}[0-9]{1,4}", rule):
        return None
    try:
        done = subprocess.run(
            [*tool_command("ruff"), "rule", rule, "--output-format", "json"],
            capture_output=True,
            text=True,
            timeout=RULE_TIMEOUT,
            check=False,
            env=tool_env({}),
        )
        data = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return None
    text = str(data.get("explanation") or "") if isinstance(data, dict) else ""
    why = text.split("## Why is this bad?", 1)[-1].split("##", 1)[0].strip()
    return why[:1500] or None


# ---------------------------------------------------------------------------------- ignore


def ignore(run: Run) -> None:
    ctx, github, config, request, pull, answer = run
    if not request.argument:
        answer.say(texts.IGNORE_NEEDS_REASON)
        return
    root = _thread_root(github, request)
    if root is None or root.marker is None:
        answer.say(texts.NOT_OUR_THREAD.format(command=request.command))
        return
    if not may_push(pull):
        answer.say(texts.REFINE_NOT_OURS)
        return
    stream, fingerprint = root.marker
    baseline = config.gates.baseline
    workspace = workspace_for(ctx, github)
    with workspace.worktree(request.repo, pull.head_sha, label="ignore") as tree:
        file = tree.path / baseline
        entry = {
            "fingerprint": fingerprint,
            "rule": root.rule or "",
            "tool": f"techlead-{stream}",
            "reason": request.argument,
            "by": request.login,
        }
        if fingerprint not in _accepted(file):
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(with_entry(file, entry), encoding="utf-8")
        message = f"Record a reviewed {root.rule or 'finding'} as accepted"
        sha = tree.commit_all(
            message, author=COMMITTER, trailers=[("TechLead-Ignored-By", request.login)]
        )
        if sha is not None:
            try:
                tree.push(pull.head_ref, expected=pull.head_sha, remote=head_remote(pull))
            except LeaseMismatch:
                answer.say(texts.REFINE_MOVED.format(sha=pull.head_sha[:7]))
                return
    shown = (sha or pull.head_sha)[:7]
    answer.say(
        texts.IGNORED.format(login=request.login, file=baseline, sha=shown, reason=request.argument)
    )


def _accepted(file: Any) -> frozenset[str]:
    try:
        return load_baseline(file)
    except ValueError:
        return frozenset()


def with_entry(file: Any, entry: dict[str, str]) -> str:
    """The baseline file with ``entry`` added (a new file when absent or unreadable)."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        data = {"version": 1, "findings": []}
    data["findings"].append(entry)
    return json.dumps(data, indent=2) + "\n"
