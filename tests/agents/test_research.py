"""Research over small real repositories: profile, relevance, owners, notes, degradation."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from agents.research import (
    ApiSpecKind,
    Contribution,
    Findings,
    NoteKind,
    ResearchContext,
    default_agents,
    research,
)
from agents.research.inventory import MAX_FILE_BYTES, build_inventory
from bot.errors import AgentError
from tests.agents.conftest import MakeRepo

SHOP = {
    "src/shop/__init__.py": "",
    "src/shop/cart.py": (
        '"""Shopping cart: items, quantities and the checkout total."""\n\n'
        "class Cart:\n"
        "    def add_item(self, item):\n        pass\n\n"
        "    def checkout_total(self, coupon=None):\n"
        "        # apply the coupon discount to the cart total\n        return 0\n"
    ),
    "src/shop/users.py": (
        '"""User accounts and profiles."""\n\nclass UserProfile:\n'
        "    def rename(self, name):\n        pass\n"
    ),
    "src/shop/auth.py": (
        '"""Login and session tokens."""\nimport subprocess\n\n'
        "def authenticate(user, password):\n"
        "    subprocess.run(['id', user], shell=True)\n    return True\n"
    ),
    "src/shop/search.py": '"""Full-text product search."""\n\ndef search_products(q):\n    pass\n',
    "tests/test_cart.py": "from shop.cart import Cart\n\ndef test_total():\n    assert Cart()\n",
    "web/app.ts": "export function renderPage(): void {}\n" * 10,
    "README.md": "# Shop\n\nA small shop.\n",
    "pyproject.toml": (
        '[project]\nname = "shop"\ndependencies = ["fastapi>=0.110", "SQLAlchemy"]\n\n'
        '[project.optional-dependencies]\ndev = ["pytest", "mypy"]\n\n[tool.ruff]\n'
    ),
    ".github/CODEOWNERS": "* @org/all\n/src/shop/ @org/shop\n/src/shop/auth.py @org/security\n",
    ".github/workflows/ci.yml": "on: pull_request_target\njobs: {}\n",
    "node_modules/lib/index.js": "module.exports = 1;\n" * 1000,
    "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00",
}


def test_profile_of_a_python_project(make_repo: MakeRepo) -> None:
    findings = research(make_repo(SHOP), "anything")
    profile = findings.profile
    assert [share.name for share in profile.languages] == ["Python", "TypeScript"]
    assert sum(share.percent for share in profile.languages) == pytest.approx(100, abs=0.2)
    assert profile.frameworks == ("FastAPI", "SQLAlchemy")
    assert set(profile.tools) >= {"pytest", "mypy", "ruff", "github-actions"}
    assert (profile.test_framework, profile.test_command) == ("pytest", "pytest")
    assert profile.top_dirs == ("src", "tests", "web")
    assert profile.src_layout is True
    assert "pyproject.toml" in profile.manifests
    assert findings.degraded == ()


def test_vendored_and_binary_files_are_not_researched(make_repo: MakeRepo) -> None:
    root = make_repo({**SHOP, "big.py": "x = 1\n" * (MAX_FILE_BYTES // 6 + 10)})
    inventory = build_inventory(root)
    paths = {item.path for item in inventory.files}
    assert not any(path.startswith("node_modules/") for path in paths)
    assert inventory.get("logo.png") is not None and inventory.get("logo.png").text is None
    assert inventory.get("big.py").text is None and inventory.skipped_large == 1


def test_symlinks_are_not_followed(make_repo: MakeRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("TOKEN = 1\n")
    root = make_repo({"a.py": "pass\n"})
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "link.py").symlink_to(outside / "secret.py")
    assert [item.path for item in build_inventory(root).files] == ["a.py"]


def test_nul_bytes_mark_a_file_binary(make_repo: MakeRepo) -> None:
    root = make_repo({"data.txt": b"abc\x00def", "ok.txt": b"plain"})
    inventory = build_inventory(root)
    assert inventory.get("data.txt").text is None
    assert inventory.get("ok.txt").text == "plain"


@pytest.mark.parametrize(
    ("files", "frameworks", "test"),
    [
        (
            {"package.json": '{"dependencies": {"react": "1"}, "devDependencies": '
             '{"jest": "1"}, "scripts": {"test": "jest"}}', "a.tsx": "x"},
            ("React",),
            ("jest", "npm test"),
        ),
        (
            {"go.mod": "module x\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.9.0\n)\n",
             "main.go": "package main\n"},
            ("Gin",),
            ("go test", "go test ./..."),
        ),
        (
            {"Cargo.toml": '[package]\nname = "x"\n[dependencies]\naxum = "0.7"\n',
             "src/main.rs": "fn main() {}\n"},
            ("axum",),
            ("cargo test", "cargo test"),
        ),
        (
            {"requirements-dev.txt": "Django==5.0  # web\npytest>=8\n-r base.txt\n", "m.py": "x"},
            ("Django",),
            ("pytest", "pytest"),
        ),
        ({"package.json": "{not json", "a.js": "x"}, (), (None, None)),
        ({"pyproject.toml": "[project\nbroken", "a.py": "x"}, (), (None, None)),
    ],
    ids=["node-jest", "go", "rust", "requirements", "broken-package-json", "broken-pyproject"],
)  # fmt: skip
def test_manifests(make_repo: MakeRepo, files: dict, frameworks: tuple, test: tuple) -> None:
    profile = research(make_repo(files), "x").profile
    assert profile.frameworks == frameworks
    assert (profile.test_framework, profile.test_command) == test


def test_api_specs_are_found(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "api/openapi.yaml": "openapi: 3.0.3\ninfo: {}\n",
            "legacy/swagger.json": '{"swagger": "2.0", "info": {}}',
            "schemas/order.json": '{"$schema": "https://json-schema.org/draft/2020-12/schema"}',
            "config/app.yaml": "name: x\n",
        }
    )
    specs = {(spec.path, spec.kind) for spec in research(root, "x").profile.api_specs}
    assert specs == {
        ("api/openapi.yaml", ApiSpecKind.OPENAPI),
        ("legacy/swagger.json", ApiSpecKind.SWAGGER),
        ("schemas/order.json", ApiSpecKind.JSON_SCHEMA),
    }


def test_bm25_puts_the_obviously_relevant_file_first(make_repo: MakeRepo) -> None:
    findings = research(make_repo(SHOP), "Checkout total is wrong when a coupon is applied")
    assert findings.relevant[0].path == "src/shop/cart.py"
    scores = [item.score for item in findings.relevant]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_relevant_files_carry_their_code_owners(make_repo: MakeRepo) -> None:
    findings = research(make_repo(SHOP), "login authenticate password session")
    owners = {item.path: item.owners for item in findings.relevant}
    assert owners["src/shop/auth.py"] == ("@org/security",)  # the last matching rule wins
    assert findings.relevant[0].path == "src/shop/auth.py"


def test_no_matching_words_means_no_relevant_files(make_repo: MakeRepo) -> None:
    assert research(make_repo(SHOP), "zzz qqq").relevant == ()


def test_top_n_limits_relevant_files(make_repo: MakeRepo) -> None:
    assert len(research(make_repo(SHOP), "shop cart user search", top_n=2).relevant) == 2


def test_security_notes_are_on_the_relevant_files_only(make_repo: MakeRepo) -> None:
    findings = research(make_repo(SHOP), "authenticate login")
    refs = {(note.kind, note.ref) for note in findings.security}
    assert refs == {(NoteKind.SHELL, "src/shop/auth.py:5"), (NoteKind.AUTH, "src/shop/auth.py:4")}
    assert findings.notes_on("src/shop/auth.py") == findings.security


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Checkout total is wrong with a coupon", set()),
        ("The checkout total ignores the login session", {NoteKind.AUTH, NoteKind.SHELL}),
        ("Cart checkout is 10x slower since 2.0", {NoteKind.HOT_PATH}),
    ],
    ids=["off-topic", "security-topic", "performance-topic"],
)
def test_notes_follow_the_issue_topic(make_repo: MakeRepo, query: str, expected: set) -> None:
    files = {
        **SHOP,
        "src/shop/cart.py": (
            "def checkout_total(cart, session):\n    if not session.is_authenticated:\n"
            "        return 0\n    for item in cart:\n        for part in item:\n"
            "            pass\n"
        ),
    }
    findings = research(make_repo(files), query)
    kinds = {note.kind for note in (*findings.security, *findings.performance)}
    assert kinds == expected


def test_a_secret_value_is_never_repeated_in_a_note(make_repo: MakeRepo) -> None:
    root = make_repo({"settings.py": 'API_KEY = "sk_live_abcdef123456"\n'})
    notes = research(root, "settings").security
    assert [note.kind for note in notes] == [NoteKind.SECRETS]
    assert "sk_live" not in json.dumps(Findings(security=notes).to_dict())


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "def f(ids):\n    for i in ids:\n        db.session.query(User).get(i)\n",
            {(NoteKind.N_PLUS_ONE, 3)},
        ),
        ("def f():\n    return db.session.query(User).all()\n", {(NoteKind.DB_QUERY, 2)}),
        (
            "def f(urls):\n    for u in urls:\n        requests.get(u)\n",
            {(NoteKind.IO_IN_LOOP, 3)},
        ),
        ("def f(u):\n    return requests.get(u)\n", set()),
        (
            "def f(m):\n    for row in m:\n        for cell in row:\n            pass\n",
            {(NoteKind.HOT_PATH, 3)},
        ),
    ],
    ids=["n-plus-one", "query", "io-in-loop", "io-outside-loop", "nested-loop"],
)
def test_performance_notes(make_repo: MakeRepo, code: str, expected: set) -> None:
    notes = research(make_repo({"app.py": code}), "the app is slow").performance
    assert {(note.kind, note.line) for note in notes} == expected


class _Failing:
    name = "broken"

    def run(self, context: ResearchContext) -> Contribution:
        raise RuntimeError("index exploded")


class _Cooperative:
    """Waits until told to stop, as a well-behaved slow agent does."""

    name = "slowpoke"

    def run(self, context: ResearchContext) -> Contribution:
        context.stop.wait(30)
        return Contribution()


class _Hung:
    """Ignores the stop signal entirely."""

    name = "hung"

    def run(self, context: ResearchContext) -> Contribution:
        threading.Event().wait(30)
        return Contribution()


def test_a_failing_agent_degrades_the_findings(make_repo: MakeRepo) -> None:
    agents = (*default_agents(), _Failing())
    findings = research(make_repo(SHOP), "checkout coupon", agents=agents)
    assert [(d.agent, d.reason) for d in findings.degraded] == [
        ("broken", "failed: RuntimeError: index exploded")
    ]
    assert findings.relevant[0].path == "src/shop/cart.py"
    assert findings.profile.languages


@pytest.mark.parametrize("slow", [_Cooperative(), _Hung()], ids=["cooperative", "hung"])
def test_a_slow_agent_is_cut_off_at_its_budget(make_repo: MakeRepo, slow: object) -> None:
    started = time.monotonic()
    findings = research(make_repo(SHOP), "cart", agents=(*default_agents(), slow), budget_seconds=1)
    assert time.monotonic() - started < 10
    assert [d.agent for d in findings.degraded] == [slow.name]  # type: ignore[attr-defined]
    assert "1 s budget" in findings.degraded[0].reason
    assert findings.relevant and findings.profile.languages


def test_findings_round_trip_through_json(make_repo: MakeRepo) -> None:
    findings = research(make_repo(SHOP), "checkout coupon login")
    assert Findings.from_dict(json.loads(json.dumps(findings.to_dict()))) == findings


def test_a_missing_directory_is_an_agent_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="not a directory"):
        research(tmp_path / "nope", "x")


def test_a_huge_worktree_is_researched_partially(make_repo: MakeRepo) -> None:
    root = make_repo({f"m{i}.py": "pass\n" for i in range(5)})
    findings = research(root, "x", max_files=3)
    assert findings.file_count == 3
    assert findings.degraded[0].agent == "inventory"


def test_no_agents_means_an_inventory_only(make_repo: MakeRepo) -> None:
    findings = research(make_repo(SHOP), "cart", agents=())
    assert findings.relevant == () and findings.profile.languages == ()
    assert findings.file_count == len(build_inventory(make_repo(SHOP)).files)
    assert [timing.agent for timing in findings.timings] == ["inventory"]


class _Focused:
    """Records the files research put in focus for the specialists."""

    name = "focused-probe"
    focused = True

    def __init__(self) -> None:
        self.seen: tuple[str, ...] | None = None

    def run(self, context: ResearchContext) -> Contribution:
        self.seen = context.focus
        return Contribution()


def test_focused_agents_run_after_ranking_over_the_relevant_files(make_repo: MakeRepo) -> None:
    probe = _Focused()
    findings = research(make_repo(SHOP), "checkout total coupon", agents=(*default_agents(), probe))
    assert probe.seen is not None and probe.seen[0] == "src/shop/cart.py"
    assert set(probe.seen) <= set(findings.relevant_paths()) and len(probe.seen) <= 5
    assert [timing.agent for timing in findings.timings][-1] == "focused-probe"
