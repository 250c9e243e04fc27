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
