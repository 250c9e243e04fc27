"""Registering TechLead as a GitHub App from its manifest: the manifest, /setup and its callback.

The manifest flow (https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest):
``/setup`` posts the manifest to GitHub (github.com or a GitHub Enterprise Server) in
the browser; the person confirms; GitHub redirects to ``/setup/callback?code=&state=``
and the code is exchanged, once and within an hour, for the App's id, private key and
webhook secret. Those are written to the data directory, readable by this user only,
and never logged or shown. This is the one call TechLead makes to GitHub before it has
credentials, so it does not go through the GitHub port.
"""

from __future__ import annotations

import html
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from bot.defaults import config_file
from bot.errors import SettingsError
from bot.log import get_logger

MANIFEST_FILE = "app-manifest.json"
CREDENTIALS_FILE = "github-app.json"
PRIVATE_KEY_FILE = "github-app.pem"
GITHUB_WEB = "https://github.com"
GITHUB_API = "https://api.github.com"
# GitHub's codes expire after an hour; a state not used within it is forgotten too.
STATE_SECONDS = 3600.0
EXCHANGE_TIMEOUT = 30.0
WEBHOOK_PATH = "/webhook"
CALLBACK_PATH = "/setup/callback"
# Only these fields of GitHub's answer are kept (the answer also describes the owner).
KEPT_FIELDS = ("id", "slug", "name", "client_id", "client_secret", "webhook_secret", "html_url")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TechLead · {title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}}
code,pre{{background:#f4f4f4;padding:.1rem .3rem}}label{{display:block;margin:.8rem 0 .2rem}}
input[type=text],input[type=url]{{width:100%;padding:.3rem}}
button{{margin-top:1rem;padding:.4rem 1rem}}</style>
</head><body><h1>{title}</h1>
{body}
</body></html>
"""
CHOOSE = """<p>Register TechLead as a GitHub App: GitHub shows the permissions and events it
asks for, you confirm, and this server stores the App's credentials.</p>
<form method="get" action="/setup">
<label for="github">GitHub address (github.com, or your GitHub Enterprise Server)</label>
<input type="url" id="github" name="github" value="{github}" required>
<label for="org">Organization that will own the App (empty: your personal account)</label>
<input type="text" id="org" name="org" value="{org}">
<button type="submit">Continue</button>
</form>
<h2>What the App will ask for</h2>
<p>Permissions: {permissions}</p>
<p>Events: {events}</p>
<p>Webhooks will be sent to <code>{hook}</code>.</p>
"""
CONFIRM = """<p>The App will be registered on <code>{github}</code> by {owner}.
GitHub asks you to confirm its name before creating it.</p>
<form method="post" action="{action}">
<input type="hidden" name="manifest" value="{manifest}">
<button type="submit">Create the GitHub App on {host}</button>
</form>
<p><a href="/setup">Back</a></p>
"""
DONE = """<p>The App <strong>{name}</strong> (id {app_id}) was registered.
Its credentials are in <code>{credentials}</code> and its private key in
<code>{key}</code>, readable only by the user running TechLead.</p>
<p>Restart TechLead with:</p>
<pre>TECHLEAD_APP_ID={app_id}
TECHLEAD_PRIVATE_KEY_PATH={key}
TECHLEAD_WEBHOOK_SECRET=(the webhook_secret field of {credentials})
TECHLEAD_GITHUB_API_URL={api}</pre>
<p>Then install it on repositories: <a href="{install}">{install}</a></p>
"""
ALREADY = """<p>This server already has GitHub App credentials ({where}); it registers no
second App. Remove them first to register a new one.</p>
"""
FAILED = '<p>{problem}</p><p><a href="/setup">Start again</a></p>'
MSG_BAD_STATE = "This setup link is unknown or expired. Start the registration again."
MSG_NO_CODE = "GitHub sent no code back."
MSG_EXCHANGE = "GitHub did not hand over the App's credentials: {reason}."
MSG_BAD_GITHUB = "must be an https address such as https://github.com, got {got!r}"


# ---------------------------------------------------------------------------- manifest


def load_manifest() -> dict[str, Any]:
    """The shipped manifest (``config/app-manifest.json``) with placeholder addresses."""
    manifest: dict[str, Any] = json.loads(config_file(MANIFEST_FILE).read_text(encoding="utf-8"))
    return manifest


def manifest_for(public_url: str | None, name: str | None = None) -> dict[str, Any]:
    """The manifest pointing its webhook and redirect at ``public_url`` (this server)."""
    manifest = load_manifest()
    if name:
        manifest["name"] = name
    if public_url:
        base = public_url.rstrip("/")
        manifest["hook_attributes"] = {"url": base + WEBHOOK_PATH, "active": True}
        manifest["redirect_url"] = base + CALLBACK_PATH
    return manifest


@dataclass(frozen=True)
class Target:
    """Where the App is registered: the web address, its API, and the owning organization."""

    web: str
    org: str = ""

    @classmethod
    def parse(cls, raw: str, org: str = "") -> Target:
        url = (raw.strip() or GITHUB_WEB).rstrip("/")
        parsed = urlparse(url)
        local = parsed.hostname in ("127.0.0.1", "localhost")
        if parsed.scheme not in ("https", "http") or not parsed.netloc or parsed.username:
            raise SettingsError("github", MSG_BAD_GITHUB.format(got=raw))
        if parsed.scheme == "http" and not local:
            raise SettingsError("github", MSG_BAD_GITHUB.format(got=raw))
        return cls(url, org.strip())

    @property
    def api(self) -> str:
        """github.com's API is api.github.com; a GHES serves it under /api/v3."""
        return GITHUB_API if self.web == GITHUB_WEB else self.web + "/api/v3"

    def new_app_url(self, state: str) -> str:
        """GitHub's page that takes a manifest form post (personal or organization)."""
        where = f"/organizations/{self.org}/settings/apps/new" if self.org else "/settings/apps/new"
        return f"{self.web}{where}?{urlencode({'state': state})}"


# ------------------------------------------------------------------------------- states


@dataclass
class SetupStates:
    """The ``state`` values handed out by /setup (unguessable; each used once)."""

    clock: Callable[[], float] = time.time
    _issued: dict[str, tuple[Target, float]] = field(default_factory=dict)

    def issue(self, target: Target) -> str:
        now = self.clock()
        self._issued = {k: v for k, v in self._issued.items() if v[1] + STATE_SECONDS > now}
        state = secrets.token_urlsafe(24)
        self._issued[state] = (target, now)
        return state

    def redeem(self, state: str) -> Target | None:
        found = self._issued.pop(state, None)
        if found is None or found[1] + STATE_SECONDS <= self.clock():
            return None
        return found[0]


# -------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class StoredApp:
    app_id: int
    name: str
    slug: str
    credentials: Path
    private_key: Path


def credentials_path(data_dir: Path) -> Path:
    return data_dir / CREDENTIALS_FILE


def exchange(target: Target, code: str, post: Callable[..., httpx.Response] = httpx.post) -> Any:
    """GitHub's answer to ``POST /app-manifests/{code}/conversions`` (the App's secrets)."""
    url = f"{target.api}/app-manifests/{code}/conversions"
    try:
        answer = post(
            url, headers={"Accept": "application/vnd.github+json"}, timeout=EXCHANGE_TIMEOUT
        )
    except httpx.HTTPError as exc:
        raise SettingsError("code", MSG_EXCHANGE.format(reason=type(exc).__name__)) from exc
    if answer.status_code != 201:
        raise SettingsError("code", MSG_EXCHANGE.format(reason=f"HTTP {answer.status_code}"))
    try:
        conversion = answer.json()
    except ValueError as exc:
        raise SettingsError("code", MSG_EXCHANGE.format(reason="not JSON")) from exc
    if not isinstance(conversion, dict) or not {"id", "pem"} <= conversion.keys():
        raise SettingsError("code", MSG_EXCHANGE.format(reason="no id or private key"))
    return conversion


def store_credentials(data_dir: Path, conversion: Mapping[str, Any]) -> StoredApp:
    """Write the App's credentials and private key, each readable by this user only."""
    data_dir.mkdir(parents=True, exist_ok=True)
    kept = {key: conversion[key] for key in KEPT_FIELDS if key in conversion}
    key_path = data_dir / PRIVATE_KEY_FILE
    _write_private(key_path, str(conversion["pem"]))
    _write_private(credentials_path(data_dir), json.dumps(kept, indent=2) + "\n")
    stored = StoredApp(
        int(kept["id"]),
        str(kept.get("name", "")),
        str(kept.get("slug", "")),
        credentials_path(data_dir),
        key_path,
    )
    get_logger().info("github_app_registered", app_id=stored.app_id, slug=stored.slug)
    return stored


def _write_private(path: Path, text: str) -> None:
    """Created with mode 0600 (never world-readable, even for an instant)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


# -------------------------------------------------------------------------------- pages


def page(title: str, body: str) -> str:
    return PAGE.format(title=html.escape(title), body=body)


def choose_page(manifest: Mapping[str, Any], github: str = GITHUB_WEB, org: str = "") -> str:
    permissions = ", ".join(
        f"{name}: {level}" for name, level in sorted(manifest["default_permissions"].items())
    )
    body = CHOOSE.format(
        github=html.escape(github),
        org=html.escape(org),
        permissions=html.escape(permissions),
        events=html.escape(", ".join(manifest["default_events"])),
        hook=html.escape(manifest["hook_attributes"]["url"]),
    )
    return page("Register the GitHub App", body)


def confirm_page(manifest: Mapping[str, Any], target: Target, state: str) -> str:
    body = CONFIRM.format(
        github=html.escape(target.web),
        owner=html.escape(f"the organization {target.org}" if target.org else "your account"),
        action=html.escape(target.new_app_url(state)),
        manifest=html.escape(json.dumps(manifest)),
        host=html.escape(urlparse(target.web).netloc),
    )
    return page("Register the GitHub App", body)


def done_page(stored: StoredApp, target: Target) -> str:
    install = f"{target.web}/apps/{stored.slug}/installations/new"
    body = DONE.format(
        name=html.escape(stored.name or stored.slug),
        app_id=stored.app_id,
        credentials=html.escape(str(stored.credentials)),
        key=html.escape(str(stored.private_key)),
        api=html.escape(target.api),
        install=html.escape(install),
    )
    return page("GitHub App registered", body)


def already_page(where: str) -> str:
    return page("Already set up", ALREADY.format(where=html.escape(where)))


def failed_page(problem: str) -> str:
    return page("Setup failed", FAILED.format(problem=html.escape(problem)))


# ------------------------------------------------------------------------------- routes


def add_routes(app: Any, data_dir: Path, app_id: int | None, states: SetupStates) -> None:
    """``GET /setup`` (the browser then posts the manifest to GitHub) and its callback.

    Refused (409) once this server has App credentials, so nobody can register a
    second App through a running server.
    """

    def configured() -> str | None:
        if app_id is not None:
            return f"TECHLEAD_APP_ID={app_id}"
        stored = credentials_path(data_dir)
        return str(stored) if stored.exists() else None

    @app.get("/setup", include_in_schema=False)
    async def setup(request: Request, github: str = "", org: str = "") -> HTMLResponse:
        where = configured()
        if where is not None:
            return HTMLResponse(already_page(where), status_code=409)
        manifest = manifest_for(str(request.base_url))
        if not github:
            return HTMLResponse(choose_page(manifest))
        try:
            target = Target.parse(github, org)
        except SettingsError as exc:
            return HTMLResponse(failed_page(exc.problem), status_code=400)
        return HTMLResponse(confirm_page(manifest, target, states.issue(target)))

    @app.get(CALLBACK_PATH, include_in_schema=False)
    async def callback(code: str = "", state: str = "") -> HTMLResponse:
        where = configured()
        if where is not None:
            return HTMLResponse(already_page(where), status_code=409)
        target = states.redeem(state)
        if target is None:
            return HTMLResponse(failed_page(MSG_BAD_STATE), status_code=400)
        if not code:
            return HTMLResponse(failed_page(MSG_NO_CODE), status_code=400)
        try:
            conversion = await run_in_threadpool(exchange, target, code)
            stored = store_credentials(data_dir, conversion)
        except SettingsError as exc:
            return HTMLResponse(failed_page(exc.problem), status_code=502)
        return HTMLResponse(done_page(stored, target))
