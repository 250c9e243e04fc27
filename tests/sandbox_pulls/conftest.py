"""Pull requests in the sandbox: the fixtures of tests/sandbox_webhooks/fixtures.py."""

from tests.sandbox_webhooks.fixtures import *  # noqa: F403 - its __all__ lists the fixtures
