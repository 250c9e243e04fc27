"""The one exception tree of TechLead.

Every error TechLead raises on purpose derives from :class:`TechLeadError`, so the
dispatcher can catch one type, log it with the delivery id, and turn it into
something a person sees (a failed check run, a comment saying what to do next)::

    TechLeadError
    ├── SettingsError              process environment is invalid (names the variable)
    ├── RepoConfigError            .github/techlead.yml is invalid (key + line)
    ├── WebhookError               a delivery cannot be accepted
    │   ├── SignatureError         missing/invalid X-Hub-Signature-256        -> 401
    │   ├── MissingHeaderError     a required X-GitHub-* header is missing    -> 400
    │   ├── PayloadError           body is not a JSON object                   -> 400
    │   │   └── UnsupportedMediaTypeError  body not declared as JSON              -> 415
    │   └── PayloadTooLargeError   body over the size cap                      -> 413
    ├── MalformedEvent             an accepted delivery lacks or mistypes a field a handler
    │                              reads (logged with the field's path and skipped, not retried)
    ├── QueueError                 the durable store or job queue failed
    │   ├── PlanStoreConflict      an issue's plan changed while a job worked on it (re-run)
    │   └── PlanBusy               another job held the issue's lease too long
    ├── GitHubError                a GitHub API call failed (never carries a token)
    │   ├── GitHubAuthError        401: bad credentials, expired JWT/token
    │   ├── GitHubPermissionError  403 without rate limiting: not allowed
    │   ├── GitHubNotFound         404
    │   ├── GitHubValidationError  422: GitHub rejected the request body
    │   ├── GitHubRateLimited      403/429 rate limit; carries retry_after / reset_at
    │   └── GitHubUnavailable      5xx or connection failure after retries
    ├── WorkspaceError             a git operation failed (never carries a token)
    │   ├── RefNotFound            a ref or commit is neither in the mirror nor on the remote
    │   └── LeaseMismatch          a push found the branch moved since it was read
    ├── PlanError                  a plan cannot be built or run
    │   ├── CyclicPlanError        tasks depend on each other in a cycle
    │   ├── DanglingDependencyError  a task waits for a task that does not exist
    │   ├── TooManyTasksError      more tasks than planning.max_tasks allows
    │   ├── ChecklistStateError    the plan comment's hidden state is unreadable
    │   └── ChecklistTooLargeError the checklist cannot fit in one comment
    ├── AgentError                 a research or coding agent failed
    │   └── AgentTimeout           ... by running out of its time budget
    ├── GateError                  a quality gate could not run
    │   ├── GateTimeout            ... by running out of its time limit
    │   │   └── ToolTimeout        one tool call ran past its own limit
    │   ├── GateCancelled          a newer push superseded the head being checked
    │   └── ToolFailed             a tool exited with an error (named, with its stderr)
    ├── ModelError                 a call to the model endpoint failed (never carries the key)
    │   ├── ModelTimeout           ... by running out of its time limit
    │   ├── ModelRateLimited       429 still answered after the retries; carries retry_after
    │   ├── ModelUnavailable       5xx or connection failure after the retries
    │   └── ModelReplyError        the reply is not what was asked (bad JSON, wrong shape)
    └── SandboxError               the local GitHub sandbox was misused (test set-up)

Raise with ``raise X(...) from exc`` so the cause is kept.
"""

from __future__ import annotations


class TechLeadError(Exception):
    """Base of every error TechLead raises on purpose."""


class SettingsError(TechLeadError):
    """The process environment is invalid; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class RepoConfigError(TechLeadError):
    """``.github/techlead.yml`` is invalid; carries the key path and line."""

    def __init__(
        self, message: str, *, key: str = "", line: int | None = None, path: str = ""
    ) -> None:
        where = path or ".github/techlead.yml"
        if line is not None:
            where = f"{where}:{line}"
        label = f" ({key})" if key else ""
        super().__init__(f"{where}{label}: {message}")
        self.message = message
        self.key = key
        self.line = line
        self.path = path


class WebhookError(TechLeadError):
    """A webhook delivery cannot be accepted; ``status`` is the HTTP answer."""

    status = 400


class SignatureError(WebhookError):
    status = 401


class MissingHeaderError(WebhookError):
    status = 400


class PayloadError(WebhookError):
    status = 400


class UnsupportedMediaTypeError(PayloadError):
    """The body is not declared as JSON (for example a form-encoded webhook)."""

    status = 415


class PayloadTooLargeError(WebhookError):
    status = 413


class MalformedEvent(TechLeadError):
    """An accepted delivery lacks a field a handler reads, or holds another type there.

    Raised by the payload views (:mod:`bot.events`). It names where (event, action, the
    field's dotted path) and why, never the value: payloads carry people's text, and log
    lines must not. Retrying cannot change a stored payload, so the router logs the event
    and skips it instead of failing the routing job (which would be retried, then
    dead-lettered).
    """

    def __init__(self, event: str, action: str | None, field: str, reason: str) -> None:
        where = f"{event}.{action}" if action else event
        super().__init__(f"{where}: {field}: {reason}")
        self.event = event
        self.action = action
        self.field = field
        self.reason = reason


class QueueError(TechLeadError):
    """The durable store or job queue failed."""


class PlanStoreConflict(QueueError):
    """Another job saved this issue's plan after this job read it; run the job again."""

    def __init__(self, repo: str, issue: int) -> None:
        super().__init__(f"the plan of {repo}#{issue} changed while this job worked on it")


class PlanBusy(QueueError):
    """Another job held this issue's lease for longer than this job would wait."""

    def __init__(self, repo: str, issue: int, waited: float) -> None:
        super().__init__(f"the plan of {repo}#{issue} is busy (waited {waited:.0f} s)")


class GitHubError(TechLeadError):
    """A GitHub API call failed. Messages never include credentials."""

    def __init__(self, message: str, *, status: int | None = None, route: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.route = route


class GitHubAuthError(GitHubError):
    pass


class GitHubPermissionError(GitHubError):
    pass


class GitHubNotFound(GitHubError):
    pass


class GitHubValidationError(GitHubError):
    pass


class GitHubRateLimited(GitHubError):
    """Rate limited; wait ``retry_after`` seconds or until ``reset_at`` (epoch)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        route: str = "",
        retry_after: float | None = None,
        reset_at: float | None = None,
    ) -> None:
        super().__init__(message, status=status, route=route)
        self.retry_after = retry_after
        self.reset_at = reset_at


class GitHubUnavailable(GitHubError):
    pass


class WorkspaceError(TechLeadError):
    """A git operation failed. Messages never include credentials."""


class RefNotFound(WorkspaceError):
    """A branch, ref or commit is neither in the mirror nor on the remote."""


class LeaseMismatch(WorkspaceError):
    """A push was refused because the branch is not where the caller expected it."""

    def __init__(self, repo: str, branch: str, expected: str | None, actual: str | None) -> None:
        want = expected or "absent"
        found = actual or "absent"
        super().__init__(
            f"{repo}: branch {branch!r} moved: expected {want}, found {found}; "
            "fetch it again and rebase before pushing"
        )
        self.branch = branch
        self.expected = expected
        self.actual = actual


class PlanError(TechLeadError):
    """A plan cannot be built or run."""


class CyclicPlanError(PlanError):
    """Tasks depend on each other in a cycle; ``cycle`` lists ids, first repeated last."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__("dependency cycle: " + " → ".join(cycle))
        self.cycle = cycle


class DanglingDependencyError(PlanError):
    """A task waits for a task that does not exist."""

    def __init__(self, task_id: str, missing: str) -> None:
        super().__init__(f"{task_id} waits for {missing}, which is not in the plan")
        self.task_id = task_id
        self.missing = missing


class TooManyTasksError(PlanError):
    """The issue asks for more tasks than ``planning.max_tasks`` allows."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            f"the issue lists {count} tasks; a plan holds at most {limit} (planning.max_tasks). "
            "Split the issue, or raise the limit in .github/techlead.yml"
        )
        self.count = count
        self.limit = limit


class ChecklistStateError(PlanError):
    """The hidden plan state in a checklist comment cannot be read."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"the plan's hidden state in this comment is unreadable: {problem}")
        self.problem = problem


class ChecklistTooLargeError(PlanError):
    """Even fully trimmed, the checklist exceeds GitHub's comment size limit."""

    def __init__(self) -> None:
        super().__init__(
            "the plan does not fit in one GitHub comment even with every detail trimmed"
        )


class AgentError(TechLeadError):
    """A research or coding agent failed."""


class AgentTimeout(AgentError):
    pass


class GateError(TechLeadError):
    """A quality gate could not run."""


class GateTimeout(GateError):
    pass


class ToolTimeout(GateTimeout):
    """One tool call ran past its own limit (the gate itself still has time)."""


class GateCancelled(GateError):
    """The gate's work was cancelled (a newer push superseded this head)."""


class ToolFailed(GateError):
    """A tool exited with an error; the message names it and quotes its error output."""


class ModelError(TechLeadError):
    """A call to the OpenAI-compatible model endpoint failed; the message never holds the key."""


class ModelTimeout(ModelError):
    """The model did not answer within the call's time limit."""


class ModelRateLimited(ModelError):
    """The endpoint still answered 429 after the retries (or asked to wait too long)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelUnavailable(ModelError):
    """5xx or no connection, after the retries."""


class ModelReplyError(ModelError):
    """The model answered, but not in the shape asked for (invalid JSON, wrong fields)."""


class SandboxError(TechLeadError):
    """The local GitHub sandbox was misused."""
