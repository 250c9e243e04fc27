"""``techlead config schema`` prints a usable JSON Schema; ``check`` exits 1 on errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.cli import main
from bot.defaults import config_file

REPO_ROOT = Path(__file__).resolve().parents[2]


def schema_from_cli(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["config", "schema"], env={}) == 0
    return json.loads(capsys.readouterr().out)


def test_schema_is_a_valid_json_schema_with_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    schema = schema_from_cli(capsys)
    jsonschema.Draft202012Validator.check_schema(schema)
    properties = schema["properties"]
    assert isinstance(properties, dict)
    assert properties["trigger"]["default"] == {"label": "techlead", "command": "/techlead"}
    assert "required" not in schema


@pytest.mark.parametrize(
    ("document", "valid"),
    [
        ({}, True),
        ({"planning": {"max_tasks": 3}}, True),
        ({"agents": [{"name": "docs-writer", "keywords": ["x"]}]}, True),
        ({"planing": {}}, False),
        ({"planning": {"max_tasks": "many"}}, False),
        ({"agents": [{"keywords": ["no name"]}]}, False),
    ],
    ids=["empty", "one-value", "agent-override", "typo", "wrong-type", "agent-without-name"],
)
def test_editors_flag_what_the_loader_rejects(
    capsys: pytest.CaptureFixture[str], document: dict[str, object], valid: bool
) -> None:
    validator = jsonschema.Draft202012Validator(schema_from_cli(capsys))
    assert validator.is_valid(document) is valid


def test_the_shipped_defaults_satisfy_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    validator = jsonschema.Draft202012Validator(schema_from_cli(capsys))
    for name in ("techlead.yml", "agents.yml", "gates.yml"):
        document = yaml.safe_load(config_file(name).read_text(encoding="utf-8"))
        assert list(validator.iter_errors(document)) == [], name


@pytest.mark.parametrize(
    ("text", "code", "out", "err"),
    [
        ("planning:\n  max_tasks: 4\n", 0, "ok\n", ""),
        ("", 0, "ok\n", ""),
        ("planning:\n  max_taks: 4\n", 1, "", ":2 (planning.max_taks): unknown key 'max_taks'"),
        ("planning: [\n", 1, "", ":2: not valid YAML"),
    ],
    ids=["valid", "empty", "unknown-key", "bad-yaml"],
)
def test_check_reports_file_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    code: int,
    out: str,
    err: str,
) -> None:
    path = tmp_path / "techlead.yml"
    path.write_text(text)
    assert main(["config", "check", str(path)], env={}) == code
    captured = capsys.readouterr()
    assert captured.out == out
    if err:
        assert captured.err.startswith(f"{path}{err}")


def test_check_of_a_missing_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(tmp_path / "nope.yml")], env={}) == 1
    assert "cannot read" in capsys.readouterr().err


def test_config_without_an_action_shows_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"], env={}) == 2
    assert "usage" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "code"), [("trigger:\n  label: go\n", 0), ("a: 1\na: 2\n", 1)], ids=["ok", "dup"]
)
def test_check_as_a_real_process(tmp_path: Path, text: str, code: int) -> None:
    path = tmp_path / "techlead.yml"
    path.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "config", "check", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == code, result.stderr
    if code:
        assert f"{path}:2 (a): duplicate key 'a'" in result.stderr
    else:
        assert result.stdout == "ok\n"
