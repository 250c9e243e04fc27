"""Signed deliveries with values the store cannot bind: intake answers and goes on.

Each input below once killed the delivery writer thread, after which every delivery
waited for ever while /healthz still said 200.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bot.app import create_app
from tests.intake.conftest import (
    Services,
    TestClient,
    drain,
    payload_bytes,
    signed_headers,
)
from tests.intake.writer_support import refuse_poison_rows

FORM = "application/x-www-form-urlencoded"
GOOD = payload_bytes({"action": "opened", "installation": {"id": 42}})

# The exact inputs measured, then their neighbours: the class, not the two cases.
UNBINDABLE = [
    ("installation-id-2**63", b'{"action":"opened","installation":{"id":9223372036854775808}}'),
    ("installation-id-2**70", payload_bytes({"action": "opened", "installation": {"id": 2**70}})),
    ("installation-id-negative", payload_bytes({"installation": {"id": -(2**64)}})),
    ("installation-id-boolean", payload_bytes({"installation": {"id": True}})),
    ("installation-id-float", b'{"installation":{"id":1e400}}'),
    ("action-lone-surrogate", b'{"action":"\\ud800"}'),
    ("repo-lone-surrogate", b'{"repository":{"full_name":"\\ud800"}}'),
    ("repo-low-surrogate", b'{"repository":{"full_name":"a/\\udfff"}}'),
    ("action-huge", payload_bytes({"action": "a" * 100_000})),
    ("repo-object", payload_bytes({"repository": {"full_name": {"a": 1}}})),
    ("sender-surrogate", b'{"sender":{"login":"\\ud800","type":"User"}}'),
]


def post(client: TestClient, body: bytes, delivery_id: str, **headers: str):
    sent = {**signed_headers(body, "issues", delivery_id), **headers}
    return client.post("/webhook", content=body, headers=sent)


@pytest.mark.parametrize(("body"), [case[1] for case in UNBINDABLE], ids=[c[0] for c in UNBINDABLE])
def test_a_value_sqlite_cannot_bind_is_stored_raw_and_intake_goes_on(
    body: bytes, client: TestClient, services: Services
) -> None:
    response = post(client, body, "odd")
    assert response.status_code == 202, response.text
    stored = services.store.get_delivery("odd")
    assert stored is not None and stored.body == body  # the raw body keeps every value
    assert post(client, GOOD, "next").status_code == 202
    assert services.store.get_delivery("next") is not None
    assert services.writer.alive()
    assert drain(services) == 2  # both route: "nothing to do", no retry loop
    assert services.store.count("deliveries") == 2


def test_a_row_the_store_refuses_is_answered_400_alone(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_poison_rows(monkeypatch)
    response = post(client, GOOD, "poison")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_payload"
    assert "cannot be stored" in response.json()["message"]
    assert services.store.get_delivery("poison") is None
    assert services.store.count("jobs") == 0, "nothing half-stored"
    assert post(client, GOOD, "after").status_code == 202
    assert services.writer.alive()


def test_healthz_fails_once_the_intake_writer_is_dead(services: Services) -> None:
    with TestClient(create_app(services.settings, services)) as client:
        assert post(client, GOOD, "first").status_code == 202
        assert client.get("/healthz").status_code == 200
        services.writer.close()  # the thread ends, as a crash would end it
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["intake_writer"] == "not running"


def form_body(*fields: tuple[str, str]) -> bytes:
    return urlencode(fields).encode()


def test_a_form_encoded_delivery_is_verified_over_its_raw_body_and_routed(
    client: TestClient, services: Services
) -> None:
    document = json.dumps({"action": "opened", "issue": {"title": "a+b & c=d%"}})
    body = form_body(("payload", document))
    response = post(client, body, "form-1", **{"Content-Type": FORM})
    assert response.status_code == 202, response.text
    stored = services.store.get_delivery("form-1")
    assert stored is not None
    assert stored.payload()["issue"]["title"] == "a+b & c=d%"
    assert drain(services) == 1


def test_a_form_delivery_signed_over_its_json_is_refused(client: TestClient) -> None:
    document = GOOD.decode()
    body = form_body(("payload", document))
    headers = {**signed_headers(GOOD, "issues", "form-2"), "Content-Type": FORM}
    response = client.post("/webhook", content=body, headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        form_body(("other", "1")),
        form_body(("payload", "{}"), ("payload", "{}")),
        form_body(("payload", "not json")),
        form_body(("payload", "[1]")),
        b"payload=%ff%fe",
        b"&".join([b"a=1"] * 100),
        b"",
    ],
    ids=[
        "no-payload",
        "two-payloads",
        "not-json",
        "json-array",
        "not-utf8",
        "many-fields",
        "empty",
    ],
)
def test_a_bad_form_body_is_refused_400_and_nothing_is_stored(
    body: bytes, client: TestClient, services: Services
) -> None:
    response = post(client, body, "form-bad", **{"Content-Type": f"{FORM}; charset=utf-8"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_payload"
    assert services.store.count("deliveries") == 0
