"""The App's webhook delivery log through the port: list failures, redeliver them."""

from __future__ import annotations

import socket

import pytest

from bot.errors import SettingsError
from bot.sandbox.webhooks import service_of
from tests.conftest import World

from .conftest import Rig, make_rig, token_settings

pytestmark = pytest.mark.sandbox


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"http://127.0.0.1:{port}/webhook"


def test_a_failed_delivery_is_listed_and_redelivered(app_rig: Rig) -> None:
    hooks = service_of(app_rig.sandbox.services)
    hooks.configure(app_rig.world.app.id, _dead_url(), "hook-secret")
    try:
        app_rig.issue("Deliver me")
        assert hooks.drain()
        port = app_rig.port
        failed = [d for d in port.list_hook_deliveries(per_page=50) if d.event == "issues"]
        assert [(d.action, d.redelivery) for d in failed] == [("opened", False)]
        assert not 200 <= failed[0].status_code < 300
        port.redeliver(failed[0].id)
        assert hooks.drain()
        again = [d for d in port.list_hook_deliveries(per_page=50) if d.guid == failed[0].guid]
        assert sorted(d.redelivery for d in again) == [False, True]
    finally:
        hooks.configure(app_rig.world.app.id, None, None)


def test_token_mode_cannot_read_the_app_delivery_log(world: World) -> None:
    port = make_rig(world, token_settings(world)).port
    with pytest.raises(SettingsError, match="TECHLEAD_APP_ID"):
        port.list_hook_deliveries()
