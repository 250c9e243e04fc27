"""What a GitHub API answer is made of: replies, errors in GitHub's shape, message texts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DOCS_URL = "https://docs.github.com/rest"
RATE_LIMIT_DOCS_URL = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
SECONDARY_RATE_LIMIT_DOCS_URL = (
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)


class Msg:
    """GitHub's own wording for the errors the sandbox produces."""

    NOT_FOUND = "Not Found"
    BAD_CREDENTIALS = "Bad credentials"
    REQUIRES_AUTH = "Requires authentication"
    JWT_UNDECODABLE = "A JSON web token could not be decoded"
    JWT_EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
    JWT_EXPIRED = (
        "'Expiration time' claim ('exp') must be a numeric value representing the future "
        "time at which the assertion expires"
    )
    JWT_IAT_FUTURE = (
        "'Issued at' claim ('iat') must be an Integer representing the time that the "
        "assertion was issued"
    )
    JWT_ISS_INVALID = "'Issuer' claim ('iss') must be an Integer"
    INTEGRATION_FORBIDDEN = "Resource not accessible by integration"
    MUST_BE_APP = "You must authenticate via a GitHub App."
    MUST_HAVE_ACCESS = "Must have {level} access to repository"
    PROBLEMS_PARSING_JSON = "Problems parsing JSON"
    BODY_NOT_OBJECT = "Body should be a JSON object"
    VALIDATION_FAILED = "Validation Failed"
    INVALID_REQUEST = "Invalid request.\n\n{details}"
    RATE_LIMITED_INSTALLATION = (
        "API rate limit exceeded for installation ID {id}. If you reach out to GitHub "
        "Support for help, please include the request ID {request_id}."
    )
    RATE_LIMITED_USER = (
        "API rate limit exceeded for user ID {id}. If you reach out to GitHub Support for "
        "help, please include the request ID {request_id}."
    )
    RATE_LIMITED_ANONYMOUS = (
        "API rate limit exceeded for {ip}. (But here's the good news: Authenticated "
        "requests get a higher rate limit. Check out the documentation for more details.)"
    )
    SECONDARY_RATE_LIMIT = (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you "
        "try again. If you reach out to GitHub Support for help, please include the "
        "request ID {request_id}."
    )
    INJECTED_FAULT = "Server Error"
    INSTALLATION_SUSPENDED = "This installation has been suspended"
    BRANCH_NOT_FOUND = "Branch not found"
    COMMENT_NEEDS_TRIAGE = "Must have triage access to change other people's comments"
    ISSUE_LOCKED = "Unable to create comment because issue is locked."
    NO_COMMIT_FOR_REF = "No commit found for the ref {ref}"
    NO_COMMIT_FOR_SHA = "No commit found for SHA: {sha}"
    NAMED_BRANCH_NOT_FOUND = "Branch {branch} not found"
    PATH_IS_DIRECTORY = "{path} is a directory"
    SHA_MISMATCH = "{path} does not match {sha}"
    REF_NAME_INVALID = "Reference name is invalid"
    REF_EXISTS = "Reference already exists"
    OBJECT_MISSING = "Object does not exist"
    REF_MISSING = "Reference does not exist"
    NOT_FAST_FORWARD = "Update is not a fast forward"
    REF_UPDATE_FAILED = "Reference update failed"
    BAD_BASE64 = "content is not valid Base64"
    BAD_ENCODING = "encoding must be utf-8 or base64, got {encoding!r}"
    BAD_BASE_TREE = "base_tree is not a valid tree oid"
    BAD_TREE_ENTRY = "tree.sha {sha} is not a valid {kind}"
    TREE_MISSING = "Tree SHA does not exist"
    PARENT_MISSING = "Parent SHA does not exist or is not a commit object"
    ISSUE_NEEDS_TRIAGE = "Must have triage access to edit other people's issues"
    LABEL_NOT_ON_ISSUE = "Label does not exist"
    ANNOTATION_COLUMNS = (
        "start_column and end_column may only be set when start_line equals end_line"
    )
    CONCLUSION_REQUIRED = "conclusion is required when status is completed"
    OUTPUT_TOO_BIG = "{name} exceeds a maximum bytesize of {limit}"
    OWNER_NOT_COLLABORATOR = "Repository owner cannot be a collaborator"
    PERMISSIONS_NOT_GRANTED = "The permissions requested are not granted to this installation."
    REPOS_NOT_ACCESSIBLE = (
        "There is at least one repository that does not exist or is not accessible to the "
        "parent installation."
    )
    NOT_IMPLEMENTED = "Not Found (this operation is not implemented by the GitHub sandbox)"


@dataclass
class Reply:
    """A response before it is serialised: status, JSON body (None = empty) and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by any layer to answer with a GitHub-shaped error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        documentation_url: str = DOCS_URL,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.documentation_url = documentation_url
        self.headers = dict(headers or {})

    def reply(self) -> Reply:
        body: dict[str, Any] = {
            "message": self.message,
            "documentation_url": self.documentation_url,
            "status": str(self.status),
        }
        if self.errors is not None:
            body = {"message": self.message, "errors": self.errors} | body
        return Reply(self.status, body, dict(self.headers))


def not_found() -> ApiError:
    return ApiError(404, Msg.NOT_FOUND)


def validation_failed(
    resource: str, field_name: str, code: str, *, message: str | None = None, value: Any = None
) -> ApiError:
    """GitHub's 422 for a semantically invalid value (``already_exists``, ``invalid``...)."""
    error: dict[str, Any] = {"resource": resource, "code": code, "field": field_name}
    if message is not None:
        error["message"] = message
    if value is not None:
        error["value"] = value
    return ApiError(422, Msg.VALIDATION_FAILED, errors=[error])
