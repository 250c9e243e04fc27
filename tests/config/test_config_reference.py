"""docs/configuration.md is the generated reference: current, complete and with valid examples."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from bot import settings
from bot.cli import main
from bot.config_reference import example_snippets, reference
from bot.repo_config import config_json_schema, load_defaults, parse_repo_config
from bot.settings import ENVIRONMENT

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs" / "configuration.md"
STALE = (
    "docs/configuration.md is out of date with the config models, config/*.yml or "
    "bot/settings.py: run `make docs` and commit the result"
)


def leaf_keys(schema: Mapping[str, Any], node: Mapping[str, Any], path: str) -> Iterator[str]:
    """Keys of the JSON Schema that hold a value: ``gates.lint.fail_on``, ``agents[].name``."""
    for name, prop in node.get("properties", {}).items():
        key = f"{path}.{name}" if path else name
        resolved = resolve(schema, prop)
        items = resolve(schema, resolved.get("items", {}))
        if "properties" in resolved:
            yield from leaf_keys(schema, resolved, key)
        elif resolved.get("type") == "array" and "properties" in items:
            yield from leaf_keys(schema, items, f"{key}[]")
        else:
            yield key


def resolve(schema: Mapping[str, Any], prop: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = prop.get("$ref")
    return schema["$defs"][ref.rsplit("/", 1)[-1]] if ref else prop


@pytest.fixture(scope="module")
def generated() -> str:
    return reference()


def test_the_checked_in_reference_is_current(generated: str) -> None:
    assert DOCS.read_text(encoding="utf-8") == generated, STALE


def test_the_cli_prints_the_reference(capsys: pytest.CaptureFixture[str], generated: str) -> None:
    assert main(["config", "reference"], env={}) == 0
    assert capsys.readouterr().out == generated


SCHEMA = config_json_schema()
LEAVES = sorted(leaf_keys(SCHEMA, SCHEMA, ""))


def test_the_schema_has_the_keys_people_set() -> None:
    # The walk itself must see nested sections and list items, or the next test proves little.
    assert {"version", "agents[].executor", "gates.lint.fail_on", "permissions.commands"} <= set(
        LEAVES
    )
    assert len(LEAVES) > 90


@pytest.mark.parametrize("key", LEAVES, ids=LEAVES)
def test_every_schema_key_has_a_row_with_a_description(generated: str, key: str) -> None:
    row = re.search(rf"^\| `{re.escape(key)}` \|(.*)\|$", generated, flags=re.MULTILINE)
    assert row is not None, f"{key} is missing from the reference"
    kind, default, _allowed, description = (cell.strip() for cell in row.group(1).split(" | "))
    assert kind and default and len(description) > 10, row.group(0)


SNIPPETS = example_snippets(reference())


def test_every_section_has_an_example() -> None:
    headings = re.findall(r"^### ", reference(), flags=re.MULTILINE)
    assert len(SNIPPETS) == len(headings) > 10


@pytest.mark.parametrize(
    "snippet",
    SNIPPETS,
    ids=[snippet.split(":", 1)[0] + f"-{i}" for i, snippet in enumerate(SNIPPETS)],
)
def test_every_example_is_a_valid_techlead_yml(snippet: str) -> None:
    config = parse_repo_config(snippet, path="example")
    # The examples spell out the defaults, so each one changes nothing.
    assert config == load_defaults()


def test_every_variable_settings_reads_is_in_the_environment_table(generated: str) -> None:
    source = Path(settings.__file__).read_text(encoding="utf-8")
    read = set(re.findall(r'"(TECHLEAD_[A-Z_]+)"', source))
    listed = {variable.name for variable in ENVIRONMENT}
    assert read - listed == set(), "add these to bot.settings.ENVIRONMENT"
    for name in listed:
        assert f"| `{name}` |" in generated


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("TECHLEAD_WEBHOOK_SECRET", True),
        ("TECHLEAD_PRIVATE_KEY", True),
        ("TECHLEAD_GITHUB_TOKEN", True),
        ("TECHLEAD_LLM_API_KEY", True),
        ("TECHLEAD_APP_ID", False),
    ],
    ids=["webhook-secret", "private-key", "token", "llm-key", "app-id"],
)
def test_secrets_are_marked_as_never_logged(generated: str, name: str, secret: bool) -> None:
    row = next(line for line in generated.splitlines() if line.startswith(f"| `{name}` |"))
    assert ("never logged" in row) is secret
