"""What an issue names is found and pinned first; templates and changelogs never are."""

from __future__ import annotations

import pytest

from agents.research import ResearchContext, research
from agents.research.inventory import Inventory, SourceFile, build_inventory
from agents.research.languages import FileKind, file_kind, never_changed
from agents.research.mentions import Frame, read_mentions
from agents.research.relevance import RelevanceAgent, library_of
from agents.research.symbols import DefinitionKind, definitions
from tests.agents.conftest import MakeRepo

CLIENT = '''"""The HTTP client."""


class Client:
    """Sends requests and follows redirects."""

    def send(self, request, follow_redirects=False):
        return self._send_handling_redirects(request)

    def _send_handling_redirects(self, request):
        return request
'''
MODELS = '''"""Requests and responses."""


class Response:
    def raise_for_status(self):
        raise HTTPStatusError("bad")

    def json(self):
        return {}


class HTTPStatusError(Exception):
    pass
'''
ROUTES = """from fastapi import APIRouter

router = APIRouter()


@router.get("/users/{user_id}/avatar")
def avatar(user_id: int):
    return user_id
"""
REPO = {
    "httpx/__init__.py": "from httpx._client import Client\n",
    "httpx/_client.py": CLIENT,
    "httpx/_models.py": MODELS,
    "httpx/_urls.py": '"""URL parsing: the request url, query params and redirects."""\n',
    "app/routes.py": ROUTES,
    "tests/test_client.py": "def test_send_follows_redirects():\n    pass\n",
    "tests/models/test_responses.py": "def test_raise_for_status():\n    pass\n",
    "docs/advanced.md": "# Advanced\n\nRedirects: the client follows redirects when asked.\n",
    ".github/ISSUE_TEMPLATE/bug.md": "Redirects client request response raise status bug\n" * 20,
    "CHANGELOG.md": "## 1.0\n\n- Fix redirects in the client send request response\n" * 20,
    "poetry.lock": 'name = "redirects client"\n' * 20,
}


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("It fails in `httpx/_client.py` at line 3", "paths", ("httpx/_client.py",)),
        ("see .github/workflows/ci.yml", "paths", (".github/workflows/ci.yml",)),
        ("docs at https://example.com/guide/index.html", "paths", ()),
        (
            'File "/usr/lib/python3.11/site-packages/httpx/_models.py", line 8, in json',
            "frames",
            (Frame("httpx/_models.py", 8, "json"),),
        ),
        ("use flask.helpers.send_file, e.g. here", "dotted", ("flask.helpers.send_file",)),
        ("the `follow_redirects` flag", "symbols", ("follow_redirects",)),
        ("calling raise_for_status() twice", "symbols", ("raise_for_status",)),
        ("the SessionMiddleware class", "symbols", ("SessionMiddleware",)),
        ("plain words only here", "symbols", ()),
        ("a request to `GET /users/{id}`", "routes", ("/users/{id}",)),
        ("1/2 of the time", "routes", ()),
        (
            'The page says "A 1.0 release is expected   in late 2020." still',
            "quotes",
            ("a 1.0 release is expected in late 2020.",),
        ),
        ('see "https://example.com/a/very/long/path/to/a/page"', "quotes", ()),
        ("profile: main.py:298(__instancecheck__)", "symbols", ("__instancecheck__",)),
    ],
    ids=[
        "path", "dot-dir", "url-is-not-a-path", "traceback-frame", "dotted", "backticks",
        "call", "camel-case", "prose", "route", "fraction-is-not-a-route", "quote",
        "quoted-url-is-not-a-quote", "dunder",
    ],
)  # fmt: skip
def test_mentions(text: str, field: str, expected: tuple) -> None:
    found = getattr(read_mentions(text), field)
    assert found[: len(expected)] == expected if expected else found == ()


def test_a_hostile_issue_body_is_read_quickly() -> None:
    import time

    body = ("a" * 5000 + "/") * 50 + "_" * 100_000 + "`" * 10_000 + "." * 50_000
    started = time.perf_counter()
    read_mentions(body)
    assert time.perf_counter() - started < 2


def test_python_definitions_carry_methods_and_routes() -> None:
    found = {(d.name, d.kind) for d in definitions("app/routes.py", ROUTES)}
    assert ("/users/{user_id}/avatar", DefinitionKind.ROUTE) in found
    assert ("avatar", DefinitionKind.FUNCTION) in found
    found = {(d.name, d.line) for d in definitions("httpx/_client.py", CLIENT)}
    assert ("Client.send", 7) in found


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("Broken when calling it, see httpx/_models.py", "httpx/_models.py"),
        ("`Client.send` ignores follow_redirects", "httpx/_client.py"),
        ("raise_for_status() raises on 2xx", "httpx/_models.py"),
        (
            'Traceback:\n  File "/venv/lib/python3.12/site-packages/httpx/_models.py", '
            "line 5, in raise_for_status\nhttpx.HTTPStatusError: bad",
            "httpx/_models.py",
        ),
        ("httpx._urls is slow to import", "httpx/_urls.py"),
        ("GET `/users/{user_id}/avatar` returns 500", "app/routes.py"),
        (
            'Error: "Redirects: the client follows redirects when asked." is wrong',
            "docs/advanced.md",
        ),
    ],
    ids=["path", "symbol", "call", "traceback", "module", "route", "quoted-text"],
)
def test_files_the_issue_names_are_pinned_first(
    make_repo: MakeRepo, query: str, first: str
) -> None:
    findings = research(make_repo(REPO), query)
    assert findings.relevant[0].path == first
    assert findings.relevant[0].pinned
    assert findings.pinned_paths()[0] == first


def test_templates_changelogs_and_lock_files_are_never_offered(make_repo: MakeRepo) -> None:
    findings = research(make_repo(REPO), "Bug: redirects in client request response status")
    offered = {item.path for item in (*findings.relevant, *findings.docs)}
    never = {".github/ISSUE_TEMPLATE/bug.md", "CHANGELOG.md", "poetry.lock"}
    assert offered and not offered & never


def test_prose_is_ranked_apart_and_leads_only_for_documentation(make_repo: MakeRepo) -> None:
    code = research(make_repo(REPO), "the client follows redirects wrongly")
    assert code.relevant[0].kind == "code"
    assert [item.path for item in code.docs] == ["docs/advanced.md"]
    docs = research(make_repo(REPO), "Documentation about redirects in the client is unclear")
    assert docs.relevant[0].path == "docs/advanced.md"


def test_relevant_files_name_their_tests_and_symbols(make_repo: MakeRepo) -> None:
    findings = research(make_repo(REPO), "`Client.send` ignores follow_redirects")
    top = findings.relevant[0]
    assert top.tests == ("tests/test_client.py",)
    assert "Client.send" in top.symbols and "defines `Client.send`" in top.reasons


@pytest.mark.parametrize(
    ("path", "kind", "never"),
    [
        ("src/pkg/mod.py", FileKind.CODE, False),
        ("tests/test_mod.py", FileKind.TEST, False),
        ("web/cart.spec.ts", FileKind.TEST, False),
        ("pkg/mod_test.go", FileKind.TEST, False),
        ("docs/index.md", FileKind.DOC, False),
        ("pyproject.toml", FileKind.CONFIG, False),
        ("CHANGELOG.md", FileKind.DOC, True),
        ("docs/changelog.rst", FileKind.DOC, True),
        ("HISTORY.rst", FileKind.DOC, True),
        ("changes/1234.bugfix.md", FileKind.DOC, True),
        ("docs/releases/5.0.1.txt", FileKind.DOC, True),
        (".github/ISSUE_TEMPLATE/bug_report.yml", FileKind.CONFIG, True),
        ("package-lock.json", FileKind.CONFIG, True),
        ("LICENSE", FileKind.OTHER, True),
        ("data/prices.csv", FileKind.OTHER, False),
        ("src/changes.py", FileKind.CODE, False),
    ],
    ids=lambda value: str(value),
)
def test_file_kinds(path: str, kind: FileKind, never: bool) -> None:
    assert (file_kind(path), never_changed(path)) == (kind, never)


def test_a_huge_worktree_is_sampled_by_the_issue_words(make_repo: MakeRepo) -> None:
    files = {f"app/big{i:03}/module.py": "x = 1\n" for i in range(30)}
    files |= {"aaa/data.csv": "1,2\n", "zzz/coupon/apply.py": "def apply(): pass\n"}
    root = make_repo(files)
    findings = research(root, "Applying a coupon fails", max_files=10)
    inventory = build_inventory(root, max_files=10, query="coupon")
    assert "zzz/coupon/apply.py" in {item.path for item in inventory.files}
    assert "aaa/data.csv" in inventory.skipped
    assert findings.relevant[0].path == "zzz/coupon/apply.py"
    assert findings.skipped_files == 22 and findings.file_count == 10
    assert findings.skipped_dirs == ("app/ (21)", "aaa/ (1)")
    assert "skipped 22" in findings.degraded[0].reason


def test_a_second_issue_on_the_same_inventory_reuses_the_index(make_repo: MakeRepo) -> None:
    """The documents and indexes are kept per inventory, never the answers to an issue."""
    inventory = build_inventory(make_repo(REPO))
    first = RelevanceAgent().run(ResearchContext(inventory, "raise_for_status() raises"))
    library = library_of(ResearchContext(inventory, "anything"))
    second = RelevanceAgent().run(ResearchContext(inventory, "`Client.send` redirects"))
    assert library_of(ResearchContext(inventory, "other")) is library
    assert first.relevant[0].path == "httpx/_models.py"
    assert second.relevant[0].path == "httpx/_client.py"


def test_files_carried_over_to_a_new_inventory_keep_their_documents(make_repo: MakeRepo) -> None:
    base = build_inventory(make_repo(REPO))
    library = library_of(ResearchContext(base, "x"))
    changed = SourceFile("httpx/_urls.py", 10, '"""Query params and proxies."""\n')
    files = tuple(item if item.path != changed.path else changed for item in base.files)
    pushed = Inventory(base.root, files)
    updated = library_of(ResearchContext(pushed, "x"))
    assert library is not None and updated is not None and updated is not library
    old = {doc.item.path: doc for doc in library.documents}
    new = {doc.item.path: doc for doc in updated.documents}
    assert new["httpx/_client.py"] is old["httpx/_client.py"]
    assert new["httpx/_urls.py"] is not old["httpx/_urls.py"]
    found = RelevanceAgent().run(ResearchContext(pushed, "proxies query params"))
    assert found.relevant[0].path == "httpx/_urls.py"


@pytest.mark.parametrize(
    ("query", "pinned"),
    [
        ("Create a main.py with:\n\n```python\nimport httpx\n```", ()),
        ("```python\nr = client.raise_for_status()\n```", ()),
        ("calling `raise_for_status()` raises on 2xx", ("httpx/_models.py",)),
    ],
    ids=["generic-file-name", "call-in-fenced-code", "call-in-prose"],
)
def test_weak_mentions_do_not_pin(make_repo: MakeRepo, query: str, pinned: tuple) -> None:
    files = {**REPO, "tests/main.py": "def test_main():\n    pass\n"}
    assert research(make_repo(files), query).pinned_paths() == pinned
