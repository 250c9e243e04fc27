"""What TechLead reads from and writes to GitHub: plain values and narrow Protocols.

Nothing here imports PyGithub; ``bot.github`` implements these Protocols over it and
tests may pass any object with the same methods. Every method raises a
``bot.errors.GitHubError`` subclass on failure (``GitHubNotFound`` for a missing
repository, issue, pull request or comment) and never returns library objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class IssueInfo:
    number: int
    title: str
    body: str
    state: str
    labels: tuple[str, ...]
    author_login: str
    author_type: str  # "User", "Bot" or "Organization"
    is_pull_request: bool


@dataclass(frozen=True)
class CommentInfo:
    id: int
    body: str
    author_login: str
    author_type: str
    html_url: str


@dataclass(frozen=True)
class PullInfo:
    number: int
    title: str
    body: str
    state: str
    draft: bool
    head_sha: str
    head_ref: str
    head_repo: str  # full name "owner/name"; "" when the fork was deleted
    base_ref: str
    base_sha: str
    is_fork: bool
    author_login: str
    html_url: str
    merged: bool = False
    labels: tuple[str, ...] = ()
    maintainer_can_modify: bool = False


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # added, removed, modified, renamed, copied, changed, unchanged
    patch: str | None  # GitHub omits very large patches
    previous_filename: str | None = None


@dataclass(frozen=True)
class CheckRunInfo:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    external_id: str | None
    title: str = ""  # the run's output title and summary (what a gate found)
    summary: str = ""


@dataclass(frozen=True)
class Annotation:
    """One check-run annotation; columns only when ``start_line == end_line``."""

    path: str
    start_line: int
    end_line: int
    annotation_level: str  # notice, warning, failure
    message: str
    title: str | None = None
    start_column: int | None = None
    end_column: int | None = None


@dataclass(frozen=True)
class CheckOutput:
    title: str
    summary: str
    text: str | None = None


@dataclass(frozen=True)
class HookDelivery:
    """One webhook delivery as GitHub's App delivery log lists it."""

    id: int
    guid: str  # the X-GitHub-Delivery value; a redelivery keeps it
    event: str
    action: str | None
    status_code: int
    redelivery: bool
    delivered_at: str


class RepoFiles(Protocol):
    """Reads files at a ref; enough to load a repository's configuration."""

    def default_branch(self, repo: str) -> str: ...

    def read_file(self, repo: str, path: str, ref: str) -> str | None:
        """The file's text at ``ref``, or None when the file does not exist."""
        ...


class PermissionSource(Protocol):
    """A collaborator's permission level on a repository."""

    def permission(self, repo: str, login: str) -> str:
        """One of admin, maintain, write, triage, read, none."""
        ...


class GitHubPort(RepoFiles, PermissionSource, Protocol):
    """Everything TechLead does on GitHub. ``repo`` is always ``"owner/name"``."""

    # issues and comments
    def get_issue(self, repo: str, number: int) -> IssueInfo: ...

    def list_comments(self, repo: str, number: int) -> list[CommentInfo]: ...

    def find_comment(self, repo: str, number: int, marker: str) -> CommentInfo | None:
        """The first comment whose body contains ``marker`` (a hidden HTML comment)."""
        ...

    def get_comment(self, repo: str, comment_id: int) -> CommentInfo: ...

    def create_comment(self, repo: str, number: int, body: str) -> CommentInfo: ...

    def edit_comment(self, repo: str, comment_id: int, body: str) -> CommentInfo: ...

    def add_comment_reaction(self, repo: str, comment_id: int, content: str) -> None: ...

    def add_issue_reaction(self, repo: str, number: int, content: str) -> None: ...

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None: ...

    def remove_label(self, repo: str, number: int, label: str) -> None:
        """Removing a label that is not there is not an error."""
        ...

    # pull requests
    def get_pull(self, repo: str, number: int) -> PullInfo: ...

    def pull_files(self, repo: str, number: int) -> list[FileChange]: ...

    def create_pull(
        self, repo: str, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullInfo: ...

    def find_open_pull(self, repo: str, head_ref: str) -> PullInfo | None:
        """The open pull request from branch ``head_ref`` of ``repo`` itself, if any."""
        ...

    # checks and statuses
    def create_check_run(
        self,
        repo: str,
        head_sha: str,
        name: str,
        *,
        status: str = "queued",
        external_id: str | None = None,
        output: CheckOutput | None = None,
        annotations: Sequence[Annotation] = (),
        conclusion: str | None = None,
        details_url: str | None = None,
    ) -> CheckRunInfo: ...

    def update_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        output: CheckOutput | None = None,
        annotations: Sequence[Annotation] = (),
    ) -> CheckRunInfo:
        """More than 50 annotations are sent in several requests, 50 at a time."""
        ...

    def list_check_runs(
        self, repo: str, ref: str, name: str | None = None
    ) -> list[CheckRunInfo]: ...

    def create_status(
        self,
        repo: str,
        sha: str,
        *,
        state: str,
        context: str,
        description: str = "",
        target_url: str | None = None,
    ) -> None: ...

    # git and App housekeeping
    def git_credentials(self, repo: str) -> tuple[str, str]:
        """(username, token) for HTTPS git; pass as http.extraHeader, never in a URL."""
        ...

    def list_hook_deliveries(self, per_page: int = 100) -> list[HookDelivery]: ...

    def redeliver(self, delivery_id: int) -> None: ...


# Added for the missed-deliveries sweep (bot/deliveries.py): the App's whole recent
# delivery log, every page. Kept apart from GitHubPort so existing fakes stay complete.
class HookDeliveryLog(Protocol):
    """The App's webhook delivery log (needs App credentials)."""

    def hook_deliveries_since(self, since: float) -> list[HookDelivery]:
        """Every delivery attempted at or after ``since`` (epoch seconds), newest first."""
        ...

    def redeliver(self, delivery_id: int) -> None: ...


# Added for plan execution (bot/features/execution): branches, pull requests found in any
# state, merges and reviews. Kept apart from GitHubPort so existing fakes stay complete.
class ExecutionPort(GitHubPort, Protocol):
    """What carrying out a plan needs beyond :class:`GitHubPort`."""

    def branch_sha(self, repo: str, branch: str) -> str | None:
        """Where ``branch`` points, or None when it does not exist."""
        ...

    def create_branch(self, repo: str, branch: str, sha: str) -> None:
        """Create ``branch`` at ``sha``; raises ``GitHubValidationError`` when it exists."""
        ...

    def delete_branch(self, repo: str, branch: str) -> None:
        """Deleting a branch that is not there is not an error."""
        ...

    def find_pull(self, repo: str, head_ref: str, base_ref: str | None = None) -> PullInfo | None:
        """The newest pull request from ``head_ref`` of ``repo`` in any state (merged too)."""
        ...

    def update_pull(
        self,
        repo: str,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: str | None = None,
    ) -> PullInfo: ...

    def merge_pull(self, repo: str, number: int, *, sha: str, title: str | None = None) -> str:
        """Merge (merge commit) if the head is still ``sha``; returns the merge commit's SHA.

        Raises ``GitHubValidationError`` (405/409) when GitHub refuses.
        """
        ...

    def approvals(self, repo: str, number: int) -> tuple[str, ...]:
        """Logins whose latest review of the pull request approves it."""
        ...

    def add_assignees(self, repo: str, number: int, logins: Sequence[str]) -> None: ...

    def commit_statuses(self, repo: str, ref: str) -> dict[str, str]:
        """The latest state (pending, success, failure, error) per status context."""
        ...

    def commit_sha(self, repo: str, ref: str) -> str | None:
        """The commit SHA ``ref`` (branch, tag or SHA) names in ``repo``; None if none."""
        ...


@dataclass(frozen=True)
class ReviewInfo:
    """A pull request review, as listed."""

    id: int
    body: str
    state: str
    commit_id: str
    author_login: str


@dataclass(frozen=True)
class ReviewCommentInfo:
    """A review comment on a pull request's diff (a thread's first comment or a reply)."""

    id: int
    body: str
    author_login: str
    in_reply_to: int | None = None
    path: str = ""


class ReviewPort(GitHubPort, Protocol):
    """What the reviewers need beyond planning and gates: reviews and their comments."""

    def list_reviews(self, repo: str, number: int) -> list[ReviewInfo]: ...

    def create_review(
        self,
        repo: str,
        number: int,
        *,
        commit_id: str,
        body: str,
        event: str,
        comments: Sequence[Mapping[str, object]],
    ) -> ReviewInfo:
        """One review with its inline comments; GitHub refuses the whole review (422)
        when one comment does not anchor on the diff."""
        ...

    def list_review_comments(self, repo: str, number: int) -> list[ReviewCommentInfo]: ...

    def create_file_comment(
        self, repo: str, number: int, *, commit_id: str, path: str, body: str
    ) -> ReviewCommentInfo:
        """A comment on a whole file of the diff (``subject_type: file``)."""
        ...

    def reply_review_comment(
        self, repo: str, number: int, comment_id: int, body: str
    ) -> ReviewCommentInfo: ...

    def commit_statuses(self, repo: str, ref: str) -> dict[str, str]:
        """The newest state of each status context on ``ref`` (token mode's gates)."""
        ...
