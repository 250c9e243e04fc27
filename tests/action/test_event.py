"""Reading an Actions run's environment: which variable is wrong, and what is assumed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.commands.action import ACTIONS_BOT, Mode, branch_issue, event_branches, read_event
from bot.errors import SettingsError


def base_env(tmp_path: Path) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "labeled", "sender": {"login": "octocat"}}))
    return {
        "GITHUB_EVENT_NAME": "issues",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_TOKEN": "ghs_workflowtoken",
        "GITHUB_REPOSITORY": "octo/shop",
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "2",
        "RUNNER_TEMP": str(tmp_path / "runner"),
    }


@pytest.mark.parametrize(
    "variable",
    ["GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_TOKEN", "GITHUB_REPOSITORY"],
    ids=str.lower,
)
def test_a_missing_variable_is_named(tmp_path: Path, variable: str) -> None:
    env = base_env(tmp_path)
    del env[variable]
    with pytest.raises(SettingsError) as raised:
        read_event(env)
    assert raised.value.variable == variable


def test_an_unreadable_payload_names_the_file(tmp_path: Path) -> None:
    env = base_env(tmp_path) | {"GITHUB_EVENT_PATH": str(tmp_path / "missing.json")}
    with pytest.raises(SettingsError, match=r"missing\.json"):
        read_event(env)


def test_defaults_of_a_workflow_run(tmp_path: Path) -> None:
    event = read_event(base_env(tmp_path))
    assert event.delivery_id == "actions-42-2"
    assert event.api_url == "https://api.github.com"
    assert event.data_dir == tmp_path / "runner" / "techlead"
    assert event.bot_login == ACTIONS_BOT
    assert event.payload["repository"]["full_name"] == "octo/shop"
    assert event.delivery.envelope.repo == "octo/shop"


@pytest.mark.parametrize(
    ("extra", "login", "mode"),
    [
        ({}, ACTIONS_BOT, Mode.SELF),
        ({"TECHLEAD_GITHUB_TOKEN": "ghp_personal"}, None, Mode.EVENTS),
        (
            {"TECHLEAD_GITHUB_TOKEN": "ghp_personal", "TECHLEAD_BOT_LOGIN": "shop-bot"},
            "shop-bot",
            Mode.EVENTS,
        ),
        ({"TECHLEAD_BOT_LOGIN": "shop-bot"}, "shop-bot", Mode.EVENTS),
        ({"TECHLEAD_BOT_LOGIN": "github-actions[bot]"}, ACTIONS_BOT, Mode.SELF),
    ],
    ids=[
        "workflow-token",
        "pat-without-login",
        "pat-with-login",
        "token-input-with-login",
        "workflow-login",
    ],
)
def test_an_own_token_replaces_the_workflow_token(
    tmp_path: Path, extra: dict[str, str], login: str | None, mode: Mode
) -> None:
    """The action passes its github-token input as GITHUB_TOKEN: a bot-login other than
    the workflow token's own says it is a PAT or App token, whose writes start workflows."""
    event = read_event(base_env(tmp_path) | extra)
    assert event.token == extra.get("TECHLEAD_GITHUB_TOKEN", "ghs_workflowtoken")
    assert event.bot_login == login
    assert event.mode is mode


def test_the_command_exits_2_naming_the_variable(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    del env["GITHUB_TOKEN"]
    done = subprocess.run(
        [sys.executable, "-m", "bot", "action"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "GITHUB_TOKEN" in done.stderr and "secrets.GITHUB_TOKEN" in done.stderr


def test_the_actions_app_step_runs_techlead_action(tmp_path: Path) -> None:
    """The step of action.yml with ``mode: app``, with the environment its ``env:`` gives."""
    import yaml

    action = yaml.safe_load((Path(__file__).parents[2] / "action.yml").read_text())
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "app"]
    assert step["if"] == "inputs.mode == 'app'"
    assert step["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    env = base_env(tmp_path)
    del env["GITHUB_EVENT_NAME"]
    env |= {"TECHLEAD_BIN": str(Path(sys.executable).with_name("techlead")), "TIMEOUT": "5"}
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "GITHUB_EVENT_NAME: is not set" in done.stderr


@pytest.mark.parametrize(
    ("template", "branch", "issue"),
    [
        ("techlead/{issue}/{task}-{task_slug}", "techlead/12/T3-add-tests", 12),
        ("techlead/{issue}-{slug}", "techlead/7-add-coupons-to-the-cart", 7),
        ("techlead/{issue}-{slug}", "techlead/x-add", None),
        ("techlead/{issue}/{task}-{task_slug}", "feature/12/T3-add-tests", None),
        ("bot.{slug}.{issue}", "bot.coupons.40", 40),
        ("bot.{slug}.{issue}", "botXcouponsX40", None),
    ],
    ids=["task", "integration", "no-number", "other-prefix", "custom", "dots-are-literal"],
)
def test_a_branch_names_its_issue_by_the_configured_template(
    template: str, branch: str, issue: int | None
) -> None:
    assert branch_issue(template, branch) == issue


@pytest.mark.parametrize(
    ("name", "payload", "branches"),
    [
        (
            "pull_request",
            {"pull_request": {"head": {"ref": "techlead/1/T1-a"}}},
            ["techlead/1/T1-a"],
        ),
        ("check_suite", {"check_suite": {"head_branch": "techlead/1-a"}}, ["techlead/1-a"]),
        (
            "check_run",
            {
                "check_run": {
                    "check_suite": {"head_branch": "b"},
                    "pull_requests": [{"head": {"ref": "c"}}],
                }
            },
            ["b", "c"],
        ),
        (
            "status",
            {"branches": [{"name": "techlead/1/T1-a"}, {"name": "main"}]},
            ["techlead/1/T1-a", "main"],
        ),
        ("status", {"sha": "abc"}, []),
    ],
    ids=["pull-request", "check-suite", "check-run", "status", "status-without-branches"],
)
def test_the_branches_an_event_is_about(
    tmp_path: Path, name: str, payload: dict[str, object], branches: list[str]
) -> None:
    env = base_env(tmp_path)
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps(payload))
    event = read_event(env | {"GITHUB_EVENT_NAME": name})
    assert event_branches(event) == branches
