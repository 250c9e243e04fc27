"""``techlead plan --planner llm``: a local repository planned by a model, files checked on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.llm.conftest import API_KEY, Served
from tests.support.openai_stub import json_reply

ISSUE = "# Faster totals\n\n- [ ] Cache the cart total\n- [ ] Benchmark the checkout\n"


def a_plan(files: list[str]) -> dict[str, object]:
    def task(n: int, title: str, agent: str, paths: list[str]) -> dict[str, object]:
        return {
            "id": f"T{n}", "title": title, "agent": agent, "priority": "medium",
            "category": "implementation", "depends_on": [], "files": paths, "body": "",
            "reason": "fits",
        }  # fmt: skip

    return {
        "title": "Faster totals",
        "tasks": [
            task(1, "Cache the cart total", "backend-developer", files),
            task(2, "Benchmark the checkout", "performance-expert", []),
        ],
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "cart.py").write_text("def total(items):\n    return sum(items)\n")
    (root / "ISSUE.md").write_text(ISSUE)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["shop/cart.py"], "Planned by the model `stub-model`"),
        (["shop/cache.py"], "names `shop/cache.py`, which is not in the repository"),
        (["../outside.py"], "names `../outside.py`, which is not in the repository"),
    ],
    ids=["file-on-disk", "missing-file", "outside-the-repository"],
)
def test_plan_with_the_model_checks_named_files_on_disk(
    served: Served, repo: Path, capsys: pytest.CaptureFixture[str], files: list[str], expected: str
) -> None:
    (repo.parent / "outside.py").write_text("")
    served.stub.push(json_reply(a_plan(files)))
    env = {
        "TECHLEAD_LLM_BASE_URL": served.base_url,
        "TECHLEAD_LLM_MODEL": "stub-model",
        "TECHLEAD_LLM_API_KEY": API_KEY,
        "TECHLEAD_LLM_MAX_RETRIES": "0",
    }
    argv = ["plan", str(repo / "ISSUE.md"), "--repo", str(repo), "--planner", "llm"]
    assert main(argv, env=env) == 0
    shown = capsys.readouterr().out
    assert expected in shown
    assert "Cache the cart total" in shown


def test_plan_without_the_option_asks_no_model(
    served: Served, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"TECHLEAD_LLM_BASE_URL": served.base_url, "TECHLEAD_LLM_MODEL": "stub-model"}
    assert main(["plan", str(repo / "ISSUE.md"), "--repo", str(repo)], env=env) == 0
    shown = capsys.readouterr().out
    assert "Planned by the model" not in shown and "The model's plan" not in shown
    assert served.stub.requests == []
