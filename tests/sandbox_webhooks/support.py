"""Test support for the sandbox's pull requests and webhooks: a receiver, schemas, git.

- :class:`Receiver`: a tiny real HTTP server on 127.0.0.1 recording every webhook POST.
- :class:`WebhookSchemas`: GitHub's published webhook JSON Schemas, one per event$action.
- :class:`Git`: the git client of :mod:`tests.support.gitcli` as ``run``-must-succeed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

SCHEMAS = Path(__file__).resolve().parent.parent / "fixtures" / "webhook-schemas"
SECRET = "sandbox-webhook-secret"


@dataclass(frozen=True)
class Received:
    """One POST the receiver got: lower-case header names and the raw body."""

    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> str:
        return self.headers.get("x-github-event", "")

    @property
    def guid(self) -> str:
        return self.headers.get("x-github-delivery", "")

    @cached_property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def action(self) -> str | None:
        return self.payload.get("action")

    def signed_with(self, secret: str) -> bool:
        """Both signatures GitHub sends match ``secret`` (compared in constant time)."""
        sha256 = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        sha1 = "sha1=" + hmac.new(secret.encode(), self.body, hashlib.sha1).hexdigest()
        return hmac.compare_digest(
            self.headers.get("x-hub-signature-256", ""), sha256
        ) and hmac.compare_digest(self.headers.get("x-hub-signature", ""), sha1)


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 answering ``status`` to every POST."""

    status: int = 200
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.received.append(Received(headers, body))
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def all(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def of(self, event: str, action: str | None = None) -> list[Received]:
        return [
            r for r in self.all() if r.event == event and (action is None or r.action == action)
        ]

    def kinds(self) -> list[tuple[str, str | None]]:
        return [(r.event, r.action) for r in self.all()]


class WebhookSchemas:
    """Validators for GitHub's webhook payload schemas, built once per ``event$action``."""

    def __init__(self, path: Path = SCHEMAS / "webhook-schemas.json") -> None:
        self.document = json.loads(path.read_text(encoding="utf-8"))
        self._validators: dict[str, Draft7Validator] = {}

    def name(self, event: str, payload: dict[str, Any]) -> str:
        action = payload.get("action")
        return f"{event}${action}" if action else f"{event}$event"

    def problems(self, event: str, payload: dict[str, Any]) -> list[str]:
        name = self.name(event, payload)
        if name not in self.document["definitions"]:
            return [f"no schema {name}"]
        if name not in self._validators:
            schema = {
                "$schema": self.document["$schema"],
                "definitions": self.document["definitions"],
                "$ref": f"#/definitions/{name}",
            }
            self._validators[name] = Draft7Validator(schema)
        errors = self._validators[name].iter_errors(payload)
        return [f"{name} {list(e.absolute_path)}: {e.message[:300]}" for e in errors]
