"""``techlead plan`` through a real subprocess."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

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


CAFE = "# Café\n\n- [ ] Implement the cart total\n"
ENCODED = [
    ("utf-8", CAFE.encode()),
    ("utf-8-bom", ("\ufeff" + CAFE).encode()),
    ("utf-16-le-bom", CAFE.replace("\n", "\r\n").encode("utf-16")),
    ("utf-16-be-bom", codecs.BOM_UTF16_BE + CAFE.encode("utf-16-be")),
    ("utf-32-bom", CAFE.encode("utf-32")),
]


@pytest.mark.parametrize("data", [d for _, d in ENCODED], ids=[i for i, _ in ENCODED])
def test_plan_reads_utf8_and_bom_marked_unicode_files(
    tmp_path: Path, repo: Path, data: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ISSUE.md"
    path.write_bytes(data)
    assert main(["plan", str(path), "--repo", str(repo), "--json"]) == 0
    tasks = json.loads(capsys.readouterr().out)["tasks"]
    assert [task["title"] for task in tasks] == ["Implement the cart total"]


UNREADABLE = [
    ("latin-1", CAFE.encode("latin-1"), "not valid UTF-8: byte 0xe9 at offset 5"),
    ("utf-16-no-bom", "# T\n".encode("utf-16-le"), "a NUL byte at character 1, so it looks binary"),
    ("binary", bytes(range(256)), "not valid UTF-8: byte 0x80 at offset 128"),
    ("utf-16-bom-odd-length", codecs.BOM_UTF16_LE + b"#\x00 ", "not valid UTF-16"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "problem"), [u[1:] for u in UNREADABLE], ids=[u[0] for u in UNREADABLE]
)
def test_plan_names_the_file_it_cannot_decode(
    tmp_path: Path, repo: Path, data: bytes, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ISSUE.md"
    path.write_bytes(data)
    assert main(["plan", str(path), "--repo", str(repo)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"techlead plan: {path} is not a text file TechLead can read (")
    assert problem in err and "save it as UTF-8" in err


@pytest.mark.parametrize(
    ("reference", "missing"),
    [
        ("after " + "9" * 5000, "item 9999…9999 (5000 digits)"),
        ("after T" + "1" * 5000, "T1111…1111 (5000 digits)"),
        ("once #" + "7" * 5000 + " is closed", "#7777…7777 (5000 digits)"),
    ],
    ids=["item", "task-id", "issue"],
)
def test_plan_reports_a_huge_task_number_as_a_dangling_reference(
    tmp_path: Path, repo: Path, reference: str, missing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _issue(tmp_path, f"# Cart\n\n- [ ] Write the cart total {reference}\n")
    assert main(["plan", str(path), "--repo", str(repo)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"techlead plan: T1 waits for {missing}, which is not in the plan\n"


AUTH = (
    "# Design authentication flow (high priority)\n\n- [ ] Design authentication flow\n"
    "- [ ] Plan user interface mockups\n- [ ] Implement authentication API\n"
)


def test_explain_says_why_each_task_got_its_agent_priority_and_order(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(_issue(tmp_path, AUTH)), "--repo", str(repo), "--explain"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Design authentication flow\n  read as a feature (no bug, security, performance, "
        "docs or refactor words); tasks from the issue's task list\n"
    )
    assert (
        "T2 Plan user interface mockups (pending)\n"
        "  specialist  frontend-developer: keywords in the title: user interface, mockup\n"
        "  priority    medium: no priority given\n"
        "  order       starts at once: it waits for no task\n"
    ) in out
    assert (
        "T3 Implement authentication API (pending)\n"
        "  specialist  backend-developer: keywords in the title: implement\n"
    ) in out
    assert "  order       waits for T1: default order: implementation work waits for T1" in out


def test_the_repository_issue_templates_are_read_and_never_planned(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forms = repo / ".github" / "ISSUE_TEMPLATE"
    forms.mkdir(parents=True)
    (forms / "bug.yml").write_text(
        "name: Bug\nbody:\n  - type: checkboxes\n    options:\n"
        "      - label: I ran the doctor command before filing\n"
    )
    text = "# Cart\n\n- [x] I ran the doctor command before filing\n- [ ] Fix the cart total\n"
    assert main(["plan", str(_issue(tmp_path, text)), "--repo", str(repo), "--json"]) == 0
    tasks = json.loads(capsys.readouterr().out)["tasks"]
    assert [task["title"] for task in tasks] == ["Fix the cart total"]
