"""The App manifest asks for exactly what TechLead uses: no event or permission more, none less.

Events: the manifest subscribes to every event some feature routes, and nothing else.
Permissions: the whole demo loop (plan, approval, execution with its task pull requests,
gates, reviews and merges, the integration pull request) runs against a
strict sandbox with an installation holding only the manifest's permissions, so a
missing one fails there (403); every GitHub request TechLead made is mapped to the
permission GitHub documents for it (bot/sandbox/permissions.py), and every permission
in the manifest must be needed by at least one of them.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot import demo, demo_loop
from bot.app_setup import load_manifest
from bot.features import compose
from bot.sandbox.conformance import Spec
from bot.sandbox.permissions import APP_PERMISSIONS, Level

_PLACEHOLDER = re.compile(r"\{[^}]+\}")


def test_the_manifest_subscribes_to_exactly_the_routed_events() -> None:
    routed = {route.event for route in compose().router.routes}
    assert set(load_manifest()["default_events"]) == routed


def test_the_printed_manifest_points_at_the_given_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    assert main(["app", "manifest", "--url", "https://techlead.example.org/"]) == 0
    printed = capsys.readouterr().out
    assert '"url": "https://techlead.example.org/webhook"' in printed
    assert '"redirect_url": "https://techlead.example.org/setup/callback"' in printed


def operation_of(spec: Spec, route: str) -> str:
    """``"GET /repos/{owner}/{repo}/pulls/{pull_number}"`` -> ``pulls/get``."""
    method, _, template = route.partition(" ")
    found = spec.by_key.get((method, template))
    if found is None:
        match = spec.match(method, _PLACEHOLDER.sub("1", template))
        assert match is not None, f"{route} is no documented operation"
        found = match.operation
    return found.operation_id


def restrict_to_manifest(run: demo.DemoRun) -> None:
    """A stage after the App is installed: its installation holds the manifest's grants."""
    assert run.sandbox is not None and run.app is not None
    granted = dict(load_manifest()["default_permissions"])
    with run.sandbox.state.lock:
        for installation in run.sandbox.state.installations.values():
            if installation.app_id == run.app.id:
                installation.permissions = granted


@pytest.mark.slow
@pytest.mark.sandbox
def test_every_manifest_permission_is_used_and_none_is_missing(tmp_path: Path) -> None:
    stages = list(demo_loop.stages())
    stages.insert(stages.index(demo.create_accounts) + 1, restrict_to_manifest)
    run = demo.DemoRun(tmp_path, io.StringIO())
    try:
        for stage in stages:
            stage(run)
    finally:
        for cleanup in reversed(run.cleanups):
            cleanup()
    assert run.github is not None
    counts = run.github.stats.counts()
    refused = sorted(route for (route, status) in counts if status == 403)
    assert refused == [], "the manifest's permissions let every request through"

    spec = Spec.load()
    used: set[tuple[str, Level]] = set()
    for route, _status in counts:
        operation = operation_of(spec, route)
        if operation in APP_PERMISSIONS:
            used.update(APP_PERMISSIONS[operation].options)
    granted = {
        (name, Level(level)) for name, level in load_manifest()["default_permissions"].items()
    }
    unused = {pair for pair in granted if pair not in used and pair[0] != "metadata"}
    assert unused == set(), f"asked for but never used: {sorted(unused)}"
    writes = {name for name, level in used if level is Level.WRITE}
    reads_only = {(name, level) for name, level in granted if level is Level.READ}
    assert not {name for name, _ in reads_only} & writes, "a read grant is used for writing"
