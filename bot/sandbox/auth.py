"""Who is calling and what they may do: personal tokens, App JWTs, installation tokens.

JWT rules follow GitHub's "Generating a JSON Web Token (JWT) for a GitHub App":
RS256, ``iss`` is the App's id (or client id), ``iat`` may be at most 60 s in the
future (clock drift), ``exp`` at most 10 minutes ahead.
https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from typing import Any

import jwt

from bot.sandbox.conformance import Operation
from bot.sandbox.permissions import APP_ONLY, APP_PERMISSIONS, user_role_needed
from bot.sandbox.protocol import ApiError, Msg, not_found
from bot.sandbox.state import App, Installation, Repo, Role, State, Token, TokenKind, User

JWT_MAX_LIFETIME = 600
JWT_IAT_DRIFT = 60
INSTALLATION_TOKEN_LIFETIME = 3600
# Operations only an App's JWT may call (plus everything under /app).
JWT_ONLY_OPERATIONS = frozenset({"apps/get-repo-installation"})
# Operations about "the authenticated user": people only.
USER_ONLY_OPERATIONS = frozenset({"users/get-authenticated", "users/update-authenticated"})
INSTALLATION_ONLY_OPERATIONS = frozenset({"apps/list-repos-accessible-to-installation"})


class Kind(enum.StrEnum):
    ANONYMOUS = "anonymous"
    USER = "user"
    APP = "app"
    INSTALLATION = "installation"


@dataclass(frozen=True)
class Principal:
    """The caller. ``user`` is the person, or the App's bot user for installation tokens."""

    kind: Kind
    user: User | None = None
    app: App | None = None
    installation: Installation | None = None
    token: Token | None = None

    @property
    def rate_key(self) -> str:
        if self.kind is Kind.INSTALLATION and self.installation:
            return f"installation:{self.installation.id}"
        if self.kind is Kind.APP and self.app:
            return f"app:{self.app.id}"
        if self.kind is Kind.USER and self.user:
            return f"user:{self.user.id}"
        return "anonymous"


ANONYMOUS = Principal(Kind.ANONYMOUS)


def new_token(prefix: str) -> str:
    """A token in GitHub's format (``ghp_`` personal, ``ghs_`` installation)."""
    return prefix + secrets.token_urlsafe(27).replace("-", "A").replace("_", "B")[:36]


def authenticate(state: State, authorization: str | None) -> Principal:
    """The caller named by an ``Authorization`` header; 401 in GitHub's words if invalid."""
    if not authorization:
        return ANONYMOUS
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() not in ("token", "bearer") or not credential:
        raise ApiError(401, Msg.BAD_CREDENTIALS)
    if credential.count(".") == 2 and credential.startswith("eyJ"):
        return _app_from_jwt(state, credential)
    return _from_token(state, credential)


def _from_token(state: State, value: str) -> Principal:
    token = state.tokens.get(value)
    if token is None:
        raise ApiError(401, Msg.BAD_CREDENTIALS)
    if token.expires_at is not None and token.expires_at <= state.now():
        raise ApiError(401, Msg.BAD_CREDENTIALS)
    if token.kind is TokenKind.USER:
        assert token.user_id is not None
        return Principal(Kind.USER, user=state.users[token.user_id], token=token)
    assert token.installation_id is not None
    installation = state.installations.get(token.installation_id)
    if installation is None or installation.suspended_at is not None:
        raise ApiError(401, Msg.BAD_CREDENTIALS)
    app = state.apps[installation.app_id]
    return Principal(
        Kind.INSTALLATION,
        user=state.users[app.bot_user_id],
        app=app,
        installation=installation,
        token=token,
    )


def _app_from_jwt(state: State, encoded: str) -> Principal:
    try:
        header = jwt.get_unverified_header(encoded)
        claims = jwt.decode(encoded, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise ApiError(401, Msg.JWT_UNDECODABLE) from exc
    app = _app_for_issuer(state, claims.get("iss"))
    if app is None or header.get("alg") != "RS256":
        raise ApiError(401, Msg.JWT_UNDECODABLE)
    try:
        jwt.decode(
            encoded,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise ApiError(401, Msg.JWT_UNDECODABLE) from exc
    _check_times(claims, state.now())
    return Principal(Kind.APP, app=app)


def _app_for_issuer(state: State, issuer: Any) -> App | None:
    if isinstance(issuer, int) or (isinstance(issuer, str) and issuer.isdigit()):
        return state.apps.get(int(issuer))
    if isinstance(issuer, str):
        return next((a for a in state.apps.values() if a.client_id == issuer), None)
    raise ApiError(401, Msg.JWT_ISS_INVALID)


def _check_times(claims: dict[str, Any], now: float) -> None:
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or iat > now + JWT_IAT_DRIFT:
        raise ApiError(401, Msg.JWT_IAT_FUTURE)
    if not isinstance(exp, int | float) or exp <= now:
        raise ApiError(401, Msg.JWT_EXPIRED)
    if exp > now + JWT_MAX_LIFETIME:
        raise ApiError(401, Msg.JWT_EXP_TOO_FAR)


def is_jwt_operation(op: Operation) -> bool:
    return (
        op.template == "/app"
        or op.template.startswith("/app/")
        or (op.operation_id in JWT_ONLY_OPERATIONS)
    )


def check_caller(principal: Principal, op: Operation) -> None:
    """Reject callers of the wrong kind before looking at any repository."""
    if is_jwt_operation(op):
        if principal.kind is not Kind.APP:
            raise ApiError(401, Msg.JWT_UNDECODABLE)
        return
    if principal.kind is Kind.APP:
        # An App's JWT only reaches /app endpoints; everything else needs an installation.
        raise ApiError(403, Msg.INTEGRATION_FORBIDDEN)
    if op.operation_id in USER_ONLY_OPERATIONS:
        if principal.kind is Kind.INSTALLATION:
            raise ApiError(403, Msg.INTEGRATION_FORBIDDEN)
        if principal.kind is Kind.ANONYMOUS:
            raise ApiError(401, Msg.REQUIRES_AUTH)
    if op.operation_id in INSTALLATION_ONLY_OPERATIONS and principal.kind is not Kind.INSTALLATION:
        raise ApiError(403, Msg.INTEGRATION_FORBIDDEN)


def authorize_repo(state: State, principal: Principal, op: Operation, repo: Repo) -> None:
    """404 when the caller cannot see ``repo``; 403 when they may not do ``op`` on it."""
    if principal.kind is Kind.INSTALLATION:
        _authorize_installation(principal, op, repo)
    elif principal.kind is Kind.USER:
        assert principal.user is not None
        _authorize_user(state.role_of(repo, principal.user.id), op, repo)
    else:
        if repo.private:
            raise not_found()
        if op.method != "GET":
            raise ApiError(401, Msg.REQUIRES_AUTH)


def _authorize_user(role: Role, op: Operation, repo: Repo) -> None:
    if role is Role.NONE:
        raise not_found()
    if op.operation_id in APP_ONLY:
        raise ApiError(403, Msg.MUST_BE_APP)
    needed = user_role_needed(op.operation_id, op.method)
    if not role.at_least(needed):
        if repo.private and needed is not Role.READ and role is Role.READ:
            raise not_found()
        raise ApiError(403, Msg.MUST_HAVE_ACCESS.format(level=needed.value))


def _authorize_installation(principal: Principal, op: Operation, repo: Repo) -> None:
    token, installation = principal.token, principal.installation
    assert token is not None and installation is not None
    in_scope = repo.owner_id == installation.account_id and (
        token.repository_ids is None or repo.id in token.repository_ids
    )
    if not in_scope:
        # A private repository outside the token's reach does not exist for it;
        # a public one can be read but not changed.
        if repo.private:
            raise not_found()
        if op.method != "GET":
            raise ApiError(403, Msg.INTEGRATION_FORBIDDEN)
        return
    need = APP_PERMISSIONS.get(op.operation_id)
    if need is None or not need.granted(token.permissions):
        raise ApiError(403, Msg.INTEGRATION_FORBIDDEN)


def token_scope(state: State, installation: Installation) -> frozenset[int]:
    """Ids of the repositories an installation currently reaches."""
    return frozenset(r.id for r in state.installation_repos(installation))


def mint_installation_token(
    state: State,
    installation: Installation,
    permissions: dict[str, str] | None = None,
    repository_ids: frozenset[int] | None = None,
) -> Token:
    """A one-hour ``ghs_`` token, optionally narrowed to fewer permissions/repositories."""
    granted = dict(installation.permissions)
    if permissions:  # absent or {} means every permission of the installation
        for name, level in permissions.items():
            if name not in granted or (level == "write" and granted[name] != "write"):
                raise ApiError(422, Msg.PERMISSIONS_NOT_GRANTED)
        granted = dict(permissions) | {"metadata": "read"}
    reachable = token_scope(state, installation)
    if repository_ids is not None and not repository_ids <= reachable:
        raise ApiError(422, Msg.REPOS_NOT_ACCESSIBLE)
    now = state.now()
    selected = repository_ids
    if selected is None and installation.repository_ids is not None:
        selected = reachable
    token = Token(
        value=new_token("ghs_"),
        kind=TokenKind.INSTALLATION,
        created_at=now,
        installation_id=installation.id,
        expires_at=now + INSTALLATION_TOKEN_LIFETIME,
        permissions=granted,
        repository_ids=selected,
    )
    state.tokens[token.value] = token
    return token
