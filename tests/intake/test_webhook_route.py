"""POST /webhook end to end through the app: accept real payloads, refuse bad ones."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.app import create_app
from bot.jobs import Job, JobRegistry, JobSpec, JobState
from bot.router import Event, Router
from bot.settings import Settings
from tests.intake.conftest import (
    SECRET,
    ServicesFactory,
    TestClient,
    drain,
    event_of,
    fixture_files,
    payload_bytes,
    signed_headers,
)


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    response = client.post("/webhook", content=body, headers=headers)
    return response.status_code, response.json()


def counts(client: TestClient) -> tuple[int, int]:
    store = client.app.state.services.store  # type: ignore[attr-defined]
    return store.count("deliveries"), store.count("jobs")


@pytest.mark.parametrize("path", fixture_files(), ids=lambda path: path.name)
def test_every_real_payload_is_accepted_and_routed(
    path: Path, make_services: ServicesFactory
) -> None:
    router = Router()
    seen: list[Event] = []

    @router.register(event_of(path), allow_bots=True)
    def record(event: Event, ctx: object) -> list[JobSpec]:
        seen.append(event)
        return []

    services = make_services(router=router)
    client = TestClient(create_app(services.settings, services, start_worker=False))
    body = path.read_bytes()
    status, answer = post(client, body, signed_headers(body, event_of(path), "delivery-1"))
    assert status == (200 if path.name == "ping.json" else 202)
    assert answer["delivery_id"] == "delivery-1"
    assert drain(services) == 1
    assert [event.delivery_id for event in seen] == ["delivery-1"]
    routed = services.queue.list()
    assert [(job.kind, job.state) for job in routed] == [("delivery.route", JobState.DONE)]
    stored = services.store.get_delivery("delivery-1")
    assert stored is not None and stored.body == body
    assert stored.outcome == "nothing to do"


def _sha1_only(body: bytes) -> dict[str, str]:
    headers = signed_headers(body, "issues", "d-1")
    del headers["X-Hub-Signature-256"]
    headers["X-Hub-Signature"] = "sha1=" + "0" * 40
    return headers


def _without(body: bytes, name: str) -> dict[str, str]:
    headers = signed_headers(body, "issues", "d-1")
    del headers[name]
    return headers


GOOD = payload_bytes({"action": "opened", "sender": {"login": "octocat", "type": "User"}})
NOT_JSON = b"<xml/>"
CASES = [
    ("tampered", GOOD + b" ", signed_headers(GOOD, "issues", "d-1"), 401, "bad_signature"),
    ("wrong-secret", GOOD, signed_headers(GOOD, "issues", "d-1", "nope"), 401, "bad_signature"),
    ("sha1-only", GOOD, _sha1_only(GOOD), 401, "bad_signature"),
    ("no-event", GOOD, _without(GOOD, "X-GitHub-Event"), 400, "missing_header"),
    ("no-delivery", GOOD, _without(GOOD, "X-GitHub-Delivery"), 400, "missing_header"),
    ("no-signature", GOOD, _without(GOOD, "X-Hub-Signature-256"), 400, "missing_header"),
    ("not-json", NOT_JSON, signed_headers(NOT_JSON, "issues", "d-1"), 400, "bad_payload"),
    ("json-array", b"[]", signed_headers(b"[]", "issues", "d-1"), 400, "bad_payload"),
    (
        "form-encoded-json",
        GOOD,
        {
            **signed_headers(GOOD, "issues", "d-1"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
        400,
        "bad_payload",
    ),
    (
        "text-plain",
        GOOD,
        {**signed_headers(GOOD, "issues", "d-1"), "Content-Type": "text/plain"},
        415,
        "unsupported_media_type",
    ),
]


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_deliveries_are_refused_and_nothing_is_stored(
    client: TestClient, body: bytes, headers: dict[str, str], status: int, error: str
) -> None:
    answer_status, answer = post(client, body, headers)
    assert (answer_status, answer["error"]) == (status, error)
    assert answer["message"]
    assert counts(client) == (0, 0)


def client_with(make_services: ServicesFactory, env: dict[str, str]) -> TestClient:
    """A client over services built from ``env`` rather than the default settings."""
    settings = Settings.from_env(env)
    return TestClient(create_app(settings, make_services(settings_=settings), start_worker=False))


def declared(body: bytes) -> bytes:
    return body


def streamed(body: bytes) -> Iterator[bytes]:
    """A streamed body declares no Content-Length: only the bytes read can tell its size."""
    yield body[:50]
    yield body[50:]


@pytest.mark.parametrize("send", [declared, streamed], ids=["declared-length", "streamed"])
def test_oversize_body_is_refused(
    make_services: ServicesFactory,
    tmp_path: Path,
    send: Callable[[bytes], bytes | Iterator[bytes]],
) -> None:
    client = client_with(
        make_services,
        {
            "TECHLEAD_WEBHOOK_SECRET": SECRET,
            "TECHLEAD_DATA_DIR": str(tmp_path / "small"),
            "TECHLEAD_MAX_PAYLOAD_BYTES": "64",
        },
    )
    body = payload_bytes({"padding": "x" * 100})

    response = client.post(
        "/webhook", content=send(body), headers=signed_headers(body, "issues", "d-1")
    )

    assert (response.status_code, response.json()["error"]) == (413, "payload_too_large")
    assert counts(client) == (0, 0)


def test_only_post_is_allowed(client: TestClient) -> None:
    assert client.get("/webhook").status_code == 405
    assert counts(client) == (0, 0)


def test_both_secrets_are_accepted_during_rotation(
    make_services: ServicesFactory, tmp_path: Path
) -> None:
    client = client_with(
        make_services,
        {"TECHLEAD_WEBHOOK_SECRET": "new-secret,old-secret", "TECHLEAD_DATA_DIR": str(tmp_path)},
    )
    for delivery_id, secret in (("d-old", "old-secret"), ("d-new", "new-secret")):
        status, _ = post(client, GOOD, signed_headers(GOOD, "issues", delivery_id, secret))
        assert status == 202
    status, _ = post(client, GOOD, signed_headers(GOOD, "issues", "d-x", "retired-secret"))
    assert status == 401
    assert counts(client) == (2, 2)


def test_the_same_delivery_twice_is_processed_once(make_services: ServicesFactory) -> None:
    router, jobs = Router(), JobRegistry()
    effects: list[str] = []

    @router.register("issues", action="labeled")
    def on_labeled(event: Event, ctx: object) -> list[JobSpec]:
        return [JobSpec("effect", {"label": event.payload["label"]["name"]})]

    @jobs.register("effect")
    def effect(job: Job, ctx: object) -> None:
        effects.append(job.payload["label"])

    services = make_services(router=router, jobs=jobs)
    client = TestClient(create_app(services.settings, services, start_worker=False))
    body = (fixture_files()[0].parent / "issues.labeled.json").read_bytes()
    headers = signed_headers(body, "issues", "same-id")
    first_status, first = post(client, body, headers)
    drain(services)
    second_status, second = post(client, body, headers)
    drain(services)
    assert (first_status, first["status"]) == (202, "accepted")
    assert (second_status, second["status"]) == (202, "duplicate")
    assert second["trace_id"] == first["trace_id"]
    assert effects == [json.loads(body)["label"]["name"]]
    assert counts(client) == (1, 2)


def test_a_sender_hanging_up_before_its_body_is_read_gets_nothing_stored(
    client: TestClient,
) -> None:
    app = client.app
    sent: list[dict[str, object]] = []
    headers = [
        (name.lower().encode(), value.encode())
        for name, value in signed_headers(GOOD, "issues", "d-1").items()
    ]
    scope = {"type": "http", "method": "POST", "path": "/webhook", "headers": headers}

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert sent == []
    assert counts(client) == (0, 0)


def test_a_store_failure_answers_503_so_github_can_redeliver(client: TestClient) -> None:
    client.app.state.services.store.close()  # type: ignore[attr-defined]
    status, answer = post(client, GOOD, signed_headers(GOOD, "issues", "d-1"))
    assert (status, answer["error"]) == (503, "store_unavailable")
