"""Renderers respect GitHub's limits and never show a secret."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import jsonschema
import pytest

from gates.config import FilterMode, GateLevel, Severity
from gates.model import Conclusion, Finding, Fix, GateResult
from gates.report import (
    MAX_OUTPUT_CHARS,
    summary_comment,
    to_check_run,
    to_json,
    to_sarif,
    to_status,
    to_text,
)
from gates.templates import MARKER
from tests.gates.conftest import Repo

# The parts of the SARIF 2.1.0 schema code scanning relies on.
SARIF_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool", "results", "invocations"],
                "properties": {
                    # SARIF 2.1.0: an invocation requires executionSuccessful; each
                    # notification requires a message.
                    "invocations": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["executionSuccessful"],
                            "properties": {
                                "executionSuccessful": {"type": "boolean"},
                                "toolExecutionNotifications": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["message"],
                                        "properties": {
                                            "message": {
                                                "type": "object",
                                                "required": ["text"],
                                            },
                                            "level": {"enum": ["none", "note", "warning", "error"]},
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {"type": "object", "required": ["id"]},
                                    }
                                },
                            }
                        },
                    },
                    "results": {"type": "array", "items": {"$ref": "#/$defs/result"}},
                },
            },
        },
    },
    "$defs": {
        "result": {
            "type": "object",
            "required": ["ruleId", "message", "locations", "baselineState", "level"],
            "properties": {
                "message": {"type": "object", "required": ["text"]},
                "level": {"enum": ["none", "note", "warning", "error"]},
                "baselineState": {"enum": ["new", "unchanged", "updated", "absent"]},
                "partialFingerprints": {"type": "object"},
                "locations": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["physicalLocation"],
                        "properties": {
                            "physicalLocation": {
                                "type": "object",
                                "required": ["artifactLocation", "region"],
                                "properties": {
                                    "region": {
                                        "type": "object",
                                        "required": ["startLine"],
                                        "properties": {
                                            "startLine": {"type": "integer", "minimum": 1},
                                            "startColumn": {"type": "integer", "minimum": 1},
                                        },
                                    }
                                },
                            }
                        },
                    },
                },
            },
        }
    },
}


def _finding(line: int, **changes: Any) -> Finding:
    values: dict[str, Any] = {
        "path": "app/x.py",
        "start_line": line,
        "end_line": line,
        "severity": Severity.MEDIUM,
        "rule": "F401",
        "message": "unused import",
        "tool": "ruff",
        "start_column": 1,
        "end_column": 5,
        "fingerprint": f"fp{line}",
    }
    values.update(changes)
    return Finding(**values)


def _result(new: Sequence[Finding], old: Sequence[Finding] = (), **changes: Any) -> GateResult:
    values: dict[str, Any] = {
        "level": GateLevel.L1,
        "name": "TechLead L1 · Lint",
        "conclusion": Conclusion.FAILURE if new else Conclusion.SUCCESS,
        "required": True,
        "fail_on": Severity.LOW,
        "filter_mode": FilterMode.ADDED,
        "new": tuple(new),
        "preexisting": tuple(old),
    }
    values.update(changes)
    return GateResult(**values)


def test_outputs_are_cut_to_githubs_limit_saying_what_was_cut() -> None:
    long = "x" * 300
    result = _result([_finding(i, message=long) for i in range(1, 3001)])

    plan = to_check_run(result)

    assert len(plan.text) <= MAX_OUTPUT_CHARS
    assert len(plan.summary) <= MAX_OUTPUT_CHARS
    assert "more row(s) not shown" in plan.text
    assert plan.annotation_count == 3000  # annotations are not cut, only batched
    assert {len(b) for b in plan.annotation_batches} == {50}


@pytest.mark.parametrize(
    ("finding", "expected"),
    [
        (_finding(3), {"start_column": 1, "end_column": 5}),
        (_finding(3, end_line=4), {}),
        (_finding(3, start_column=None, end_column=None), {}),
    ],
    ids=["single-line-has-columns", "multi-line-has-none", "no-columns-known"],
)
def test_columns_only_on_single_line_annotations(
    finding: Finding, expected: dict[str, int]
) -> None:
    (annotation,) = to_check_run(_result([finding])).annotation_batches[0]

    columns = {k: v for k, v in annotation.items() if k.endswith("_column")}
    assert columns == expected


def test_annotation_title_and_message_are_clipped() -> None:
    finding = _finding(1, rule="R" * 400, message="m" * (70 * 1024))

    (annotation,) = to_check_run(_result([finding])).annotation_batches[0]

    assert len(annotation["title"]) <= 255
    assert len(annotation["message"].encode("utf-8")) <= 64 * 1024


@pytest.mark.parametrize(
    ("severity", "required", "level"),
    [
        (Severity.HIGH, True, "failure"),
        (Severity.LOW, True, "failure"),
        (Severity.HIGH, False, "warning"),
        (Severity.LOW, False, "notice"),
    ],
    ids=["blocking-high", "blocking-low", "advisory-high", "advisory-low"],
)
def test_annotation_level_follows_what_blocks(
    severity: Severity, required: bool, level: str
) -> None:
    result = _result([_finding(1, severity=severity)], required=required)

    (annotation,) = to_check_run(result).annotation_batches[0]

    assert annotation["annotation_level"] == level


def test_summary_lists_new_before_preexisting_and_most_severe_first() -> None:
    new = [_finding(1, severity=Severity.LOW), _finding(2, severity=Severity.HIGH, tool="bandit")]
    result = _result(sorted(new, key=lambda f: f.sort_key), [_finding(9)])

    plan = to_check_run(result)

    assert plan.title == "2 new findings (1 high, 1 low)"
    assert plan.summary.index("| high | bandit | 1 | 0 |") < plan.summary.index("| low | ruff")
    assert "| medium | ruff | 0 | 1 |" in plan.summary
    assert plan.text.index("### New findings") < plan.text.index("### Pre-existing")


@pytest.mark.parametrize(
    ("result", "state"),
    [
        (_result([_finding(1)]), "failure"),
        (_result([], conclusion=Conclusion.FAILURE, reason="could not run: x" * 50), "error"),
        (_result([], conclusion=Conclusion.NEUTRAL, reason="not applicable: none"), "success"),
        (_result([], conclusion=Conclusion.CANCELLED, reason="cancelled: newer"), "error"),
        (_result([]), "success"),
    ],
    ids=["findings", "crashed", "not-applicable", "cancelled", "clean"],
)
def test_commit_status_for_token_mode(result: GateResult, state: str) -> None:
    status = to_status(result)

    assert status.state == state
    assert status.context == "TechLead L1 · Lint"
    assert 0 < len(status.description) <= 140


def test_summary_comment_carries_its_marker_and_stays_under_the_limit() -> None:
    results = [
        _result([_finding(i, message="y" * 500) for i in range(1, 2001)]),
        _result([], level=GateLevel.L5, name="TechLead L5 · Security"),
    ]

    comment = summary_comment(results, head_sha="abc123")

    assert comment.startswith(MARKER)
    assert len(comment) <= 65_536
    assert "TechLead L5 · Security" in comment
    assert "abc123" in comment


def test_sarif_is_structurally_valid_with_baseline_state() -> None:
    result = _result([_finding(1)], [_finding(7, rule="E501")])

    sarif = to_sarif([result])

    jsonschema.validate(sarif, SARIF_SHAPE)
    states = {r["ruleId"]: r["baselineState"] for run in sarif["runs"] for r in run["results"]}
    assert states == {"F401": "new", "E501": "unchanged"}
    (run,) = sarif["runs"]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["F401", "E501"]
    assert all(r["partialFingerprints"]["techlead/v2"] for r in run["results"])


LINT_TOOLS = ("ruff",)
SECURITY_TOOLS = ("bandit", "secrets", "detect-secrets")


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        (
            [_result([], tools=LINT_TOOLS), _result([], level=GateLevel.L5, tools=SECURITY_TOOLS)],
            {
                "ruff": (True, 0),
                "bandit": (True, 0),
                "secrets": (True, 0),
                "detect-secrets": (True, 0),
            },
        ),
        (
            [
                _result(
                    [],
                    conclusion=Conclusion.FAILURE,
                    reason="could not run: ruff 0.17.6 refused the repository's configuration",
                    tools=LINT_TOOLS,
                )
            ],
            {"ruff": (False, 0)},
        ),
        (
            [_result([], conclusion=Conclusion.CANCELLED, reason="superseded", tools=LINT_TOOLS)],
            {"ruff": (False, 0)},
        ),
        ([_result([_finding(2)], tools=LINT_TOOLS)], {"ruff": (True, 1)}),
        ([_result([_finding(2, tool="bandit")])], {"bandit": (True, 1)}),
        (
            [_result([], level=GateLevel.L2, name="TechLead L2 · Contracts")],
            {"TechLead L2 · Contracts": (True, 0)},
        ),
    ],
    ids=["clean", "errored", "cancelled", "findings", "tools-from-findings", "no-tools-named"],
)
def test_sarif_has_a_run_per_tool_saying_whether_it_finished(
    results: list[GateResult], expected: dict[str, tuple[bool, int]]
) -> None:
    sarif = to_sarif(results)

    jsonschema.validate(sarif, SARIF_SHAPE)
    runs = {
        run["tool"]["driver"]["name"]: (
            run["invocations"][0]["executionSuccessful"],
            len(run["results"]),
        )
        for run in sarif["runs"]
    }
    assert runs == expected
    for run in sarif["runs"]:
        if not run["invocations"][0]["executionSuccessful"]:
            (note,) = run["invocations"][0]["toolExecutionNotifications"]
            assert results[0].reason in note["message"]["text"]


SECRETS = {
    "aws": "AKIAZ3MSJV4WWQK7XB2P",
    "github": "ghp_" + "Ab1" * 12,
    "password": "correct-horse-battery-staple-42",
}


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def test_secrets_are_redacted_in_every_rendered_output(repo: Repo) -> None:
    repo.branch("leak")
    code = (
        f'AWS_KEY = "{SECRETS["aws"]}"\n'
        f'TOKEN = "{SECRETS["github"]}"\n'
        # Unformatted on purpose: a format fix would repeat the secret.
        f'password="{SECRETS["password"]}"\n'
    )
    repo.commit({"config_values.py": code})
    results = list(repo.run(levels=[GateLevel.L1, GateLevel.L5]).values())
    assert all(r.conclusion is Conclusion.FAILURE for r in results)  # both saw the lines

    plans = [to_check_run(r) for r in results]
    rendered = [
        _dump([p.completing_update() for p in plans] + [p.append_updates() for p in plans]),
        _dump([to_status(r).payload() for r in results]),
        summary_comment(results),
        _dump(to_sarif(results)),
        to_text(results),
        _dump(to_json(results)),
    ]

    for output in rendered:
        for value in SECRETS.values():
            assert value not in output
    assert "AKIA…" in rendered[0]
    assert "ghp_…" in rendered[4]
    lint = next(r for r in results if r.level is GateLevel.L1)
    assert [f.fix for f in lint.new if f.rule == "format"] == [None]


def test_fix_is_rendered_in_json_for_suggestions() -> None:
    finding = _finding(2, fix=Fix(2, 2, "", "Remove unused import"))

    (body,) = to_json([_result([finding])])["results"][0]["new"]

    assert body["fix"] == {
        "start_line": 2,
        "end_line": 2,
        "replacement": "",
        "description": "Remove unused import",
        "safe": True,
    }
