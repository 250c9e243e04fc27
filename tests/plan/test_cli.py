"""``techlead plan`` through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "plan", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src" / "shop").mkdir(parents=True)
    (root / "src" / "shop" / "cart.py").write_text(
        '"""Shopping cart."""\n\nclass Cart:\n    def checkout_total(self):\n        return 0\n'
    )
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\ndependencies = ["pytest"]\n')
    return root


def _issue(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ISSUE.md"
    path.write_text(text, encoding="utf-8")
    return path


ISSUE = (
    "# Add a cart\n\n- [ ] Define the cart API schema (high)\n"
    "- [ ] Implement the cart total (after 1)\n- [ ] Build the cart page UI (after 2)\n"
)


@pytest.mark.slow
def test_plan_prints_the_checklist(tmp_path: Path, repo: Path) -> None:
    result = _run(_issue(tmp_path, ISSUE), "--repo", repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!-- techlead:plan -->")
    assert "**T2** Implement the cart total · backend-developer · medium · pending" in result.stdout
    assert "`src/shop/cart.py`" in result.stdout
    assert "<!-- techlead:control approve v1 -->" in result.stdout


@pytest.mark.slow
def test_plan_json_has_the_documented_shape(tmp_path: Path, repo: Path) -> None:
    result = _run(_issue(tmp_path, ISSUE), "--repo", repo, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"version", "tasks", "waves", "findings"}
    assert data["version"] == 1
    assert data["tasks"][1] == {
        "id": "T2",
        "title": "Implement the cart total",
        "agent": "backend-developer",
        "priority": "medium",
        "status": "pending",
        "depends_on": ["T1"],
        "wave": "B",
    }
    assert data["waves"] == [["T1"], ["T2"], ["T3"]]
    assert data["findings"]["relevant"][0]["path"] == "src/shop/cart.py"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Loop\n\n- [ ] A after 2\n- [ ] B after 1\n", "dependency cycle: T1 → T2 → T1"),
        ("# Dangling\n\n- [ ] A after 9\n", "T1 waits for item 9, which is not in the plan"),
        ("\n\n- [ ] no title\n", "the first line must be the issue title"),
    ],
    ids=["cycle", "dangling", "no-title"],
)
def test_plan_exits_2_on_an_invalid_plan(
    tmp_path: Path, repo: Path, text: str, message: str
) -> None:
    result = _run(_issue(tmp_path, text), "--repo", repo)
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""


@pytest.mark.slow
def test_plan_reports_an_invalid_repository_config(tmp_path: Path, repo: Path) -> None:
    (repo / ".github").mkdir()
    (repo / ".github" / "techlead.yml").write_text("planning:\n  max_tasks: 0\n")
    result = _run(_issue(tmp_path, ISSUE), "--repo", repo)
    assert result.returncode == 2
    assert ".github/techlead.yml:2" in result.stderr and "max_tasks" in result.stderr
