"""Committing reviewers' suggested fixes on a pull request's branch (refine, by hand or
automatically on TechLead's own task pull requests)."""

from __future__ import annotations

from bot.context import JobContext
from bot.errors import LeaseMismatch
from bot.ports import PullInfo, ReviewPort
from bot.workspace import Identity, Workspace
from reviewers import texts
from reviewers.model import Comment
from reviewers.refine import apply_suggestions

COMMITTER = Identity("TechLead", "techlead@users.noreply.github.com")
REFINE_TRAILER = "TechLead-Refine"


def head_remote(pull: PullInfo) -> str | None:
    """Where the head branch lives: a fork (pushed to with this repository's credentials,
    as its author allows edits by maintainers), else None for this repository."""
    return pull.head_repo if pull.is_fork else None


def workspace_for(ctx: JobContext, github: ReviewPort) -> Workspace:
    return Workspace(ctx.settings, committer=COMMITTER, credentials=github.git_credentials)


def apply_refinement(
    ctx: JobContext,
    github: ReviewPort,
    repo: str,
    pull: PullInfo,
    comments: list[Comment],
    requested_by: str,
) -> str:
    """Commit the suggestions on the head and push with a lease; what to tell people."""
    if not comments:
        return texts.REFINE_NOTHING
    workspace = workspace_for(ctx, github)
    with workspace.worktree(repo, pull.head_sha, label="refine") as tree:
        current = {c.path: (tree.path / c.path).read_text(encoding="utf-8") for c in comments}
        refined = apply_suggestions(current, comments)
        if not refined.applied:
            return texts.REFINE_NOTHING
        for path, text in refined.texts.items():
            (tree.path / path).write_text(text, encoding="utf-8")
        message = texts.REFINE_COMMIT.format(count=len(refined.applied))
        sha = tree.commit_all(message, author=COMMITTER, trailers=[(REFINE_TRAILER, requested_by)])
        if sha is None:
            return texts.REFINE_NOTHING
        try:
            tree.push(pull.head_ref, expected=pull.head_sha, remote=head_remote(pull))
        except LeaseMismatch:
            return texts.REFINE_MOVED.format(sha=pull.head_sha[:7])
    items = "\n".join(
        texts.REFINE_ITEM.format(path=c.path, line=c.line, title=c.title) for c in refined.applied
    )
    return texts.REFINE_DONE.format(count=len(refined.applied), sha=sha[:7], items=items)
