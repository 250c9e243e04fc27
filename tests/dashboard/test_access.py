"""Who may read the dashboard: a direct loopback peer, or whoever carries the configured token."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from bot.app import build_services
from bot.dashboard import MSG_REFUSED, Access, access
from bot.log import secrets_of
from bot.settings import Settings
from tests.dashboard.conftest import serving

TOKEN = "dashboard-token-0123456789"


@pytest.mark.parametrize(
    ("peer", "headers", "query", "token", "expected"),
    [
        ("127.0.0.1", {}, None, None, Access.LOCAL),
        ("127.8.9.10", {}, None, None, Access.LOCAL),
        ("::1", {}, None, None, Access.LOCAL),
        ("::ffff:127.0.0.1", {}, None, None, Access.LOCAL),
        ("192.0.2.7", {}, None, None, Access.REFUSED),
        ("10.0.0.1", {}, None, TOKEN, Access.REFUSED),
        ("192.0.2.7", {"Authorization": f"Bearer {TOKEN}"}, None, TOKEN, Access.TOKEN),
        ("192.0.2.7", {"authorization": f"bearer {TOKEN}"}, None, TOKEN, Access.TOKEN),
        ("192.0.2.7", {}, TOKEN, TOKEN, Access.TOKEN),
        ("192.0.2.7", {"Authorization": "Bearer wrong"}, None, TOKEN, Access.REFUSED),
        ("192.0.2.7", {}, TOKEN[:-1], TOKEN, Access.REFUSED),
        ("192.0.2.7", {"Authorization": f"token {TOKEN}"}, None, TOKEN, Access.REFUSED),
        ("192.0.2.7", {"Authorization": "Bearer "}, "", None, Access.REFUSED),
        ("127.0.0.1", {"X-Forwarded-For": "127.0.0.1"}, None, None, Access.REFUSED),
        ("127.0.0.1", {"Forwarded": "for=127.0.0.1"}, None, None, Access.REFUSED),
        ("127.0.0.1", {"X-Real-IP": "127.0.0.1"}, None, None, Access.REFUSED),
        ("127.0.0.1", {"X-Forwarded-For": "192.0.2.7"}, TOKEN, TOKEN, Access.TOKEN),
        ("192.0.2.7", {"X-Forwarded-For": "127.0.0.1"}, None, None, Access.REFUSED),
        (None, {}, None, None, Access.REFUSED),
        ("localhost", {}, None, None, Access.REFUSED),
    ],
    ids=[
        "loopback",
        "loopback-range",
        "ipv6-loopback",
        "ipv4-mapped-loopback",
        "remote",
        "remote-without-the-token",
        "remote-bearer",
        "remote-bearer-any-case",
        "remote-query-token",
        "wrong-bearer",
        "wrong-query-token",
        "other-scheme",
        "empty-token-configured-none",
        "proxied-loopback-x-forwarded-for",
        "proxied-loopback-forwarded",
        "proxied-loopback-x-real-ip",
        "proxied-with-token",
        "remote-claiming-loopback",
        "no-peer",
        "peer-not-an-address",
    ],
)
def test_access_decision(
    peer: str | None,
    headers: dict[str, str],
    query: str | None,
    token: str | None,
    expected: Access,
) -> None:
    assert access(peer, headers, query, token) is expected


def test_the_token_is_masked_in_logs_like_other_secrets() -> None:
    settings = Settings.from_env({"TECHLEAD_DASHBOARD_TOKEN": f" {TOKEN} "})
    assert settings.dashboard_token == TOKEN
    assert TOKEN in secrets_of(settings)
    assert TOKEN not in repr(settings)


def test_over_http_from_this_machine_the_page_and_json_answer(tmp_path: Path) -> None:
    with serving(Settings(data_dir=tmp_path)) as url:
        page = httpx.get(f"{url}/dashboard", timeout=10)
        data = httpx.get(f"{url}/dashboard.json", timeout=10)
        proxied = httpx.get(f"{url}/dashboard", headers={"X-Forwarded-For": "1.2.3.4"}, timeout=10)

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>TechLead dashboard</h1>" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert data.status_code == 200 and data.json()["timelines"] == []
    assert {"pending", "running", "done", "dead"} <= set(data.json()["queue"])
    assert proxied.status_code == 403 and proxied.text == MSG_REFUSED


# Documentation and private addresses: connecting a UDP socket sends nothing, it only
# asks the kernel which local address would be used to reach them.
PROBES = ("198.51.100.1", "192.0.2.1", "203.0.113.1", "10.255.255.254")


def _outward_address() -> str | None:
    """This machine's address on a non-loopback interface, if it has one."""
    for target in PROBES:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((target, 9))
            except OSError:
                continue
            address = str(probe.getsockname()[0])
        if not address.startswith("127."):
            return address
    return None


def test_over_http_from_another_address_only_the_token_opens_it(tmp_path: Path) -> None:
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    settings = Settings(data_dir=tmp_path, dashboard_token=TOKEN)

    with serving(settings, host=address) as url:
        refused = httpx.get(f"{url}/dashboard", timeout=10)
        refused_json = httpx.get(f"{url}/dashboard.json", timeout=10)
        wrong = httpx.get(f"{url}/dashboard", headers={"Authorization": "Bearer nope"}, timeout=10)
        bearer = httpx.get(
            f"{url}/dashboard.json", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        query = httpx.get(f"{url}/dashboard", params={"token": TOKEN}, timeout=10)

    assert refused.status_code == 403 and "TECHLEAD_DASHBOARD_TOKEN" in refused.text
    assert refused_json.status_code == 403 and refused_json.json()["error"] == "forbidden"
    assert wrong.status_code == 403
    assert bearer.status_code == 200 and "queue" in bearer.json()
    assert query.status_code == 200 and "<h1>TechLead dashboard</h1>" in query.text


def test_when_the_store_cannot_be_read_the_page_says_so_and_keeps_refreshing(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    services = build_services(settings, checkpoints=False)
    with serving(settings, services=services) as url:
        services.store.close()
        page = httpx.get(f"{url}/dashboard", timeout=10)
        data = httpx.get(f"{url}/dashboard.json", timeout=10)

    assert page.status_code == 503
    assert "could not read TechLead's state: store failed" in page.text
    assert '<meta http-equiv="refresh" content="5">' in page.text
    assert data.status_code == 503 and data.json()["error"] == "unavailable"
