"""Webhook deliveries from the sandbox: see tests/sandbox_webhooks/fixtures.py."""

from tests.sandbox_webhooks.fixtures import (  # noqa: F401 - fixtures
    clone,
    delivered_payloads_are_valid,
    git,
    hook_receiver,
    receiver,
    sandbox_session,
    schemas,
)
