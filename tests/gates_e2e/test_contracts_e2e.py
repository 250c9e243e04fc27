"""L2 · Contracts end to end: a pull request's API description change, as GitHub shows it."""

from __future__ import annotations

import pytest

from gates.config import GateLevel
from gates.templates import check_run_name
from tests.gates.test_contracts import HEALTH, READY, SPEC
from tests.gates_e2e.conftest import PullWorldFactory, TechLeadFactory
from tests.gates_e2e.test_checks import opened, outcome

pytestmark = pytest.mark.sandbox

CONTRACTS = check_run_name(GateLevel.L2)
PATH = "api/openapi.yaml"


def test_a_pull_request_removing_an_openapi_path_fails_l2_at_that_line(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for({PATH: SPEC})
    techlead = techlead_for(pr.world)
    removed = SPEC.replace(HEALTH, "")
    head, _ = opened(pr, techlead, {PATH: removed})

    run = pr.run_named(head, CONTRACTS)
    assert outcome(run) == ("completed", "failure")
    annotations = pr.annotations(run)
    where = removed.splitlines().index("components:") + 1
    assert [(a["path"], a["start_line"], a["title"]) for a in annotations] == [
        (PATH, where, "api-path-removed-without-deprecation (openapi-diff, high)")
    ]
    base_line = SPEC.splitlines().index("  /health:") + 1
    assert (
        f"api path /health removed without deprecation. Removed: it was at line {base_line}"
        in annotations[0]["message"]
    )
    assert annotations[0]["annotation_level"] == "failure"


def test_an_added_endpoint_passes_and_is_listed_as_compatible(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for({PATH: SPEC})
    techlead = techlead_for(pr.world)
    head, _ = opened(pr, techlead, {PATH: SPEC.replace("components:\n", READY + "components:\n")})

    run = pr.run_named(head, CONTRACTS)
    assert outcome(run) == ("completed", "success")
    assert pr.annotations(run) == []
    assert "- `api/openapi.yaml`: GET /ready: endpoint added" in run["output"]["summary"]
