"""Composition of features and plugins (TECHLEAD_PLUGINS), with errors naming the variable."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from bot.cli import main
from bot.errors import SettingsError
from bot.features import compose, job_handlers, plugin_names, routers
from bot.jobs import JobRegistry
from bot.router import Router

PLUGIN = "tests.intake.effects_plugin"


def test_plugin_names_come_from_the_environment_and_the_command_line() -> None:
    env = {"TECHLEAD_PLUGINS": f" {PLUGIN}, other.mod ,,"}
    assert plugin_names(env, ["extra", PLUGIN]) == (PLUGIN, "other.mod", "extra")
    assert plugin_names({}) == ()


def test_a_plugin_adds_its_routes_and_job_kinds_after_the_features() -> None:
    features = compose()
    composed = compose([PLUGIN])
    assert composed.router.routes[: len(features.router.routes)] == features.router.routes
    added = composed.router.routes[len(features.router.routes) :]
    assert [route.event for route in added] == ["issues"]
    assert set(composed.jobs.kinds()) - set(features.jobs.kinds()) == {"effects.append"}


def test_without_plugins_the_composition_is_the_features() -> None:
    composed = compose()
    assert list(composed.router.routes) == [
        route for router in routers() for route in router.routes
    ]
    assert composed.jobs.kinds() == job_handlers().kinds()


@pytest.fixture
def fake_module() -> Iterator[ModuleType]:
    module = ModuleType("tests.intake.fake_plugin")
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({}, "exposes neither router nor jobs"),
        ({"router": "not a router"}, "router is not a Router"),
        ({"jobs": {}}, "jobs is not a JobRegistry"),
    ],
    ids=["empty", "bad-router", "bad-jobs"],
)
def test_malformed_plugins_are_refused(
    fake_module: ModuleType, attributes: dict[str, object], message: str
) -> None:
    for name, value in attributes.items():
        setattr(fake_module, name, value)
    with pytest.raises(SettingsError, match=message) as info:
        compose([fake_module.__name__])
    assert info.value.variable == "TECHLEAD_PLUGINS"


def test_a_missing_plugin_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"cannot import plugin 'no\.such\.plugin'"):
        compose(["no.such.plugin"])


def test_a_job_kind_registered_twice_is_refused(fake_module: ModuleType) -> None:
    fake_module.router = Router()
    fake_module.jobs = JobRegistry()
    fake_module.jobs.register("effects.append")(lambda job, ctx: None)
    with pytest.raises(SettingsError, match="registered twice"):
        compose([PLUGIN, fake_module.__name__])


def test_serve_refuses_to_start_without_a_webhook_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", "9"], {"TECHLEAD_DATA_DIR": str(tmp_path)}) == 2
    assert "TECHLEAD_WEBHOOK_SECRET" in capsys.readouterr().err


def test_serve_refuses_a_bad_plugin_before_listening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "TECHLEAD_DATA_DIR": str(tmp_path),
        "TECHLEAD_WEBHOOK_SECRET": "s",
        "TECHLEAD_PLUGINS": "no.such.plugin",
    }
    assert main(["serve", "--port", "9"], env) == 2
    assert "TECHLEAD_PLUGINS" in capsys.readouterr().err
