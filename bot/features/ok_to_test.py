"""``/techlead ok-to-test`` on a pull request from a fork: let its code-running gates run once.

=====================  ========================================  =================
event                  when                                      job
=====================  ========================================  =================
issue_comment.created  on a pull request, a line that is         gates.ok_to_test
                       ``/techlead ok-to-test``
=====================  ========================================  =================

The job asks GitHub for the commenter's permission and the pull request's head, decides
with :func:`bot.fork_trust.decide`, answers on the pull request (one reply per comment,
edited if the job runs again) and, when a maintainer approved a fork's head, queues the
code-running gates for that head as a re-run carrying the approval
(:class:`~bot.gate_runs.GateRequest` ``ok_to_test``). A later push is a new head
without approval: its L3/L4 wait again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.actions import ReplyComment
from bot.context import JobContext
from bot.errors import GitHubNotFound
from bot.events import IssueCommentEvent
from bot.executor import Executor
from bot.features.gates import QUEUE_KIND, load_gates_config
from bot.fork_trust import RUNS_CODE, Answer, asks_ok_to_test, decide
from bot.gate_runs import GateRequest, enabled_levels
from bot.jobs import Job, JobRegistry, JobSpec
from bot.ports import GitHubPort
from bot.repo_config import PermissionLevel
from bot.router import Event, Router

router = Router()
jobs = JobRegistry()

KIND = "gates.ok_to_test"


@dataclass(frozen=True)
class OkToTest:
    """One ok-to-test comment: where, by whom."""

    repo: str
    number: int
    comment_id: int
    login: str
    sender_type: str

    def to_payload(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "number": self.number,
            "comment_id": self.comment_id,
            "login": self.login,
            "sender_type": self.sender_type,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> OkToTest:
        return cls(
            repo=str(data["repo"]),
            number=int(data["number"]),
            comment_id=int(data["comment_id"]),
            login=str(data["login"]),
            sender_type=str(data.get("sender_type") or "User"),
        )


def ok_to_test_spec(comment: IssueCommentEvent, login: str, sender_type: str) -> list[JobSpec]:
    """Pure: a job for an ok-to-test comment on a pull request, else nothing."""
    if not comment.issue.is_pull_request or not asks_ok_to_test(comment.body):
        return []
    request = OkToTest(comment.repo, comment.issue.number, comment.comment_id, login, sender_type)
    return [JobSpec(KIND, payload=request.to_payload())]


@router.register("issue_comment", action="created")
def on_comment(event: Event, ctx: JobContext) -> list[JobSpec]:
    comment = IssueCommentEvent.from_event(event)
    return ok_to_test_spec(comment, event.sender_login or "ghost", event.sender_type or "User")


@jobs.register(KIND)
def answer_ok_to_test(job: Job, ctx: JobContext) -> None:
    request = OkToTest.from_payload(dict(job.payload))
    github: GitHubPort = ctx.github
    pull = github.get_pull(request.repo, request.number)
    config, _ = load_gates_config(github, request.repo)
    enabled = enabled_levels(config, RUNS_CODE)
    decision = decide(
        pull, request.login, request.sender_type, _permission(github, request), enabled
    )
    ctx.log.info("ok_to_test", pull=request.number, login=request.login, answer=decision.answer)
    if decision.answer is Answer.RUN:
        gates = GateRequest(
            request.repo,
            pull.head_sha,
            pull.head_ref,
            (pull.number,),
            levels=tuple(level for level in enabled if level in RUNS_CODE),
            rerun=True,
            ok_to_test=pull.head_sha,
        )
        key = f"ok-to-test:{request.repo}#{request.number}:{request.comment_id}@{pull.head_sha}"
        ctx.enqueue(JobSpec(QUEUE_KIND, payload=gates.to_payload(), dedupe_key=key))
    reply = ReplyComment(
        request.repo, request.number, f"ok-to-test-{request.comment_id}", decision.reply
    )
    Executor(github).apply_one(reply)


def _permission(github: GitHubPort, request: OkToTest) -> str:
    try:
        return github.permission(request.repo, request.login)
    except GitHubNotFound:
        return PermissionLevel.NONE.value
