"""Gates in token mode (no App, so no check runs): commit statuses and one summary comment."""

from __future__ import annotations

import pytest

from gates.config import GateLevel
from gates.templates import MARKER, check_run_name
from tests.gates_e2e.conftest import PullWorldFactory, TechLeadFactory, comments, statuses
from tests.gates_e2e.test_checks import ONE_MORE, RISKY

pytestmark = pytest.mark.sandbox

LINT = check_run_name(GateLevel.L1)
SECURITY = check_run_name(GateLevel.L5)


def test_statuses_per_gate_and_one_comment_edited_on_the_next_push(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for(app=False)
    techlead = techlead_for(pr.world)
    first = pr.push("change", {"app.py": RISKY})
    number = pr.open_pull("change")
    techlead.settle()

    on_first = statuses(pr, first)
    assert {name: on_first[name]["state"] for name in (LINT, SECURITY)} == {
        LINT: "failure",
        SECURITY: "failure",
    }
    assert on_first[SECURITY]["description"] == "3 new findings (2 high, 1 low)"
    [comment] = comments(pr, number)
    assert comment["body"].startswith(MARKER)
    assert f"Head commit: `{first}`" in comment["body"]

    second = pr.push("change", {"app.py": RISKY + ONE_MORE})
    techlead.settle()

    [edited] = comments(pr, number)
    assert edited["id"] == comment["id"]
    assert f"Head commit: `{second}`" in edited["body"]
    assert "4 new findings" in edited["body"]
    assert "hunter2-very-secret" not in edited["body"], "the secret is never shown"
    assert statuses(pr, second)[SECURITY]["description"] == "4 new findings (3 high, 1 low)"
    assert pr.runs(second) == []


def test_an_invalid_configuration_shows_in_the_statuses_and_the_comment(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    bad = "version: 1\ngates:\n  security:\n    timeout_seconds: 0\n"
    pr = pull_world_for({".github/techlead.yml": bad}, app=False)
    techlead = techlead_for(pr.world)
    head = pr.push("change", {"app.py": RISKY})
    number = pr.open_pull("change")
    techlead.settle()

    where = ".github/techlead.yml:4 (gates.security.timeout_seconds)"
    found = statuses(pr, head)
    for name in (LINT, SECURITY):
        assert found[name]["state"] == "error"
        assert found[name]["description"] == f"invalid configuration: {where}"
    [comment] = comments(pr, number)
    assert comment["body"].startswith(MARKER)
    assert "| `.github/techlead.yml` | 4 | `gates.security.timeout_seconds` |" in comment["body"]
    assert techlead.jobs("gates.run") == []
