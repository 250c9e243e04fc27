"""The dependency updater: pins in requirements files and pyproject.toml, and their locks."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.builtin.common import Tools
from agents.builtin.deps import DependencyUpdater
from agents.builtin.locks import PIP_COMPILE, UV_COMPILE, UV_LOCK, Lock, find_lock
from agents.builtin.requirements import (
    Ask,
    bump_specifier,
    edit_pyproject,
    edit_requirements,
    read_ask,
)
from agents.executors.base import Outcome
from tests.builtin.conftest import BUDGET, ENV, MakeRepo, order, read
from tests.builtin.package_index import build_index, serve


@pytest.mark.parametrize(
    ("text", "ask"),
    [
        ("Bump requests to 2.32.3", Ask("requests", "2.32.3")),
        ("Upgrade the dependency `PyYAML` from 5.4 to version 6.0.2", Ask("PyYAML", "6.0.2")),
        ("Security: update urllib3 package to v2.2.2 (CVE-2024-37891)", Ask("urllib3", "2.2.2")),
        ("Pin idna==3.7 in the requirements", Ask("idna", "3.7")),
        ("Update urllib3", Ask("urllib3")),
        ("Keep our dependencies fresh", Ask(None)),
    ],
    ids=["bump-to", "from-to-version", "update-package-to-v", "pinned-form", "no-version", "none"],
)
def test_read_ask(text: str, ask: Ask) -> None:
    assert read_ask(text) == ask


@pytest.mark.parametrize(
    ("spec", "new"),
    [
        ("", ">=2.32.3"),
        ("==2.31.0", "==2.32.3"),
        (">=2.0", ">=2.32.3"),
        (">= 2.0, < 2.32", ">= 2.32.3, < 3"),
        ("~=2.31", "~=2.32"),
        ("~=2.31.0", "~=2.32.3"),
        (">=2.0,!=2.32.3", ">=2.32.3"),
        (">=2.0,<4", ">=2.32.3,<4"),
    ],
    ids=[
        "unpinned",
        "exact",
        "floor",
        "floor-and-ceiling-spaced",
        "compatible-two-parts",
        "compatible-three-parts",
        "excluded-version-allowed-again",
        "ceiling-already-allows",
    ],
)
def test_bump_specifier(spec: str, new: str) -> None:
    assert bump_specifier(spec, "2.32.3") == new


REQUIREMENTS = """\
# HTTP
requests[socks]==2.31.0 ; python_version >= "3.8"  # the client
Requests-OAuthlib==1.3.1
-r base.txt
flask>=3
"""
PYPROJECT = """\
[project]
name = "app"
dependencies = [
  "requests>=2.0",  # the client [keep]
  'flask>=3',
]

[project.optional-dependencies]
socks = ["requests[socks]~=2.31"]

[tool.other]
dependencies = ["requests==1.0"]
"""


def test_edits_requirements_and_pyproject_keeping_everything_else() -> None:
    text, edits = edit_requirements("requirements.txt", REQUIREMENTS, "requests", "2.32.3")
    assert text == REQUIREMENTS.replace("==2.31.0", "==2.32.3")
    assert [(e.old, e.new) for e in edits] == [
        (
            'requests[socks]==2.31.0 ; python_version >= "3.8"  # the client',
            'requests[socks]==2.32.3 ; python_version >= "3.8"  # the client',
        )
    ]

    text, edits = edit_pyproject("pyproject.toml", PYPROJECT, "requests", "2.32.3")
    assert text == PYPROJECT.replace(">=2.0", ">=2.32.3").replace("~=2.31", "~=2.32")
    assert len(edits) == 2


@pytest.mark.parametrize(
    ("title", "files", "outcome", "expected", "summary"),
    [
        (
            "Bump requests to 2.32.3",
            {"requirements.txt": REQUIREMENTS, "pyproject.toml": PYPROJECT},
            Outcome.CHANGED,
            {
                "requirements.txt": REQUIREMENTS.replace("==2.31.0", "==2.32.3"),
                "pyproject.toml": PYPROJECT.replace(">=2.0", ">=2.32.3").replace(
                    "~=2.31", "~=2.32"
                ),
            },
            "Updated `requests` to 2.32.3 in pyproject.toml, requirements.txt",
        ),
        (
            "Bump flask to 3.0.0",
            {"requirements.txt": REQUIREMENTS},
            Outcome.NO_CHANGE,
            {"requirements.txt": REQUIREMENTS},
            "already allows 3.0.0",
        ),
        (
            "Update requests",
            {"requirements.txt": REQUIREMENTS},
            Outcome.NO_CHANGE,
            {"requirements.txt": REQUIREMENTS},
            "gives no version for `requests`",
        ),
        (
            "Bump django to 5.0.7",
            {"requirements.txt": REQUIREMENTS},
            Outcome.HANDOFF,
            {"requirements.txt": REQUIREMENTS},
            "`django` is not declared in requirements.txt",
        ),
        (
            "Keep dependencies fresh",
            {"requirements.txt": REQUIREMENTS},
            Outcome.HANDOFF,
            {"requirements.txt": REQUIREMENTS},
            "names no dependency",
        ),
    ],
    ids=["bump-everywhere", "already-allowed", "no-version", "not-declared", "no-name"],
)
def test_updater_without_locks(
    make_repo: MakeRepo,
    title: str,
    files: dict[str, str],
    outcome: Outcome,
    expected: dict[str, str],
    summary: str,
) -> None:
    root = make_repo(files)

    result = DependencyUpdater().run(order(title=title), root, BUDGET, ENV)

    assert result.outcome is outcome, result.summary
    assert summary in result.summary
    assert {path: read(root, path) for path in expected} == expected


def test_only_the_task_files_are_edited(make_repo: MakeRepo) -> None:
    root = make_repo({"requirements.txt": REQUIREMENTS, "pyproject.toml": PYPROJECT})
    task = order(title="Bump requests to 2.32.3", files=("pyproject.toml",))

    result = DependencyUpdater().run(task, root, BUDGET, ENV)

    assert result.outcome is Outcome.CHANGED
    assert read(root, "requirements.txt") == REQUIREMENTS
    assert result.handoff is not None
    assert result.handoff.changed_files == ("pyproject.toml",)


# ---------------------------------------------------------------------------- with locks

_UV_INSTALLED = (Path(sys.executable).parent / "uv").exists() or bool(
    importlib.util.find_spec("uv")
)
needs_uv = pytest.mark.skipif(not _UV_INSTALLED, reason="uv is not installed (pip install uv)")
PACKAGES = {
    "tl-http": {"1.0": [], "1.1": [], "1.2": []},
    "tl-app": {"1.0": ["tl-http>=1.0"]},
}
APP = '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.9"\n'


@pytest.fixture
def index_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The tools' environment pointing uv at a local index (no network needed)."""
    root = build_index(tmp_path / "index", PACKAGES)
    with serve(root) as url:
        yield {
            **ENV,
            "PATH": f"{Path(sys.executable).parent}:{ENV['PATH']}",
            "UV_INDEX_URL": url,
            "PIP_INDEX_URL": url,
            "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        }


@needs_uv
def test_uv_lock_follows_the_bumped_pin(make_repo: MakeRepo, index_env: dict[str, str]) -> None:
    root = make_repo({"pyproject.toml": APP + 'dependencies = ["tl-http>=1.0"]\n'})
    _uv(root, index_env, "lock", "-P", "tl-http==1.0")
    assert 'version = "1.0"' in read(root, "uv.lock")

    result = DependencyUpdater().run(order(title="Bump tl-http to 1.1"), root, BUDGET, index_env)

    assert result.outcome is Outcome.CHANGED, result.summary
    assert 'dependencies = ["tl-http>=1.1"]' in read(root, "pyproject.toml")
    lock = read(root, "uv.lock")
    assert 'name = "tl-http"\nversion = "1.1"' in lock
    assert result.handoff is not None
    assert set(result.handoff.changed_files) == {"pyproject.toml", "uv.lock"}
    assert any("Re-locked uv.lock with uv lock" in note for note in result.handoff.notes)


@needs_uv
def test_a_compiled_requirements_file_is_relocked_for_a_transitive_dependency(
    make_repo: MakeRepo, index_env: dict[str, str]
) -> None:
    root = make_repo({"requirements.in": "tl-app\n"})
    _uv(
        root,
        index_env,
        "pip",
        "compile",
        "requirements.in",
        "-o",
        "requirements.txt",
        "-P",
        "tl-http==1.0",
    )
    assert "tl-http==1.0" in read(root, "requirements.txt")

    result = DependencyUpdater().run(order(title="Bump tl-http to 1.2"), root, BUDGET, index_env)

    assert result.outcome is Outcome.CHANGED, result.summary
    assert read(root, "requirements.in") == "tl-app\n"
    assert "tl-http==1.2" in read(root, "requirements.txt")
    assert "# via tl-app" in read(root, "requirements.txt")


@needs_uv
def test_a_lock_that_cannot_be_updated_leaves_every_file_as_it_was(
    make_repo: MakeRepo, index_env: dict[str, str]
) -> None:
    root = make_repo({"requirements.in": "tl-http>=1.0\n"})
    _uv(
        root,
        index_env,
        "pip",
        "compile",
        "requirements.in",
        "-o",
        "requirements.txt",
        "-P",
        "tl-http==1.0",
    )
    locked = read(root, "requirements.txt")

    result = DependencyUpdater().run(order(title="Bump tl-http to 9.9"), root, BUDGET, index_env)

    assert result.outcome is Outcome.FAILED
    assert "Could not update requirements.txt" in result.summary
    assert read(root, "requirements.in") == "tl-http>=1.0\n"
    assert read(root, "requirements.txt") == locked


def _uv(root: Path, env: dict[str, str], *args: str) -> None:
    """Run uv as a maintainer would have, to make the lock the test starts from."""
    Tools(root, BUDGET, env).run("uv", "--quiet", *args)


PIP_COMPILE_HEADER = """\
#
# This file is autogenerated by pip-compile with Python 3.11
# by the following command:
#
#    pip-compile --generate-hashes --output-file=requirements/prod.txt requirements/prod.in
#
"""
UV_HEADER = """\
# This file was autogenerated by uv via the following command:
#    uv pip compile requirements.in -o requirements.txt --universal --extra=socks
"""


@pytest.mark.parametrize(
    ("path", "text", "exists", "expected"),
    [
        (
            "requirements/prod.txt",
            PIP_COMPILE_HEADER,
            {"requirements/prod.in"},
            Lock(
                "requirements/prod.txt", PIP_COMPILE, "requirements/prod.in", ("--generate-hashes",)
            ),
        ),
        (
            "requirements.txt",
            UV_HEADER,
            {"requirements.in"},
            Lock(
                "requirements.txt", UV_COMPILE, "requirements.in", ("--universal", "--extra=socks")
            ),
        ),
        ("requirements.txt", "requests==2.31.0\n", {"requirements.in"}, None),
        ("uv.lock", "", {"pyproject.toml"}, Lock("uv.lock", UV_LOCK, "pyproject.toml")),
        ("uv.lock", "", set(), None),
        ("poetry.lock", "", set(), Lock("poetry.lock", "Poetry")),
        (
            "requirements.txt",
            "#    uv pip compile requirements.in -o /etc/passwd --index-url http://evil\n",
            {"requirements.in"},
            Lock("requirements.txt", UV_COMPILE, "requirements.in"),
        ),
    ],
    ids=[
        "pip-compile-header",
        "uv-header",
        "hand-written-pins",
        "uv-lock",
        "uv-lock-without-project",
        "poetry-reported",
        "header-cannot-choose-output-or-index",
    ],
)
def test_find_lock(path: str, text: str, exists: set[str], expected: Lock | None) -> None:
    assert find_lock(path, text, exists) == expected


@needs_uv
def test_a_pip_compile_file_is_relocked_even_without_pip_tools(
    make_repo: MakeRepo, index_env: dict[str, str]
) -> None:
    header = PIP_COMPILE_HEADER.replace("requirements/prod", "requirements").replace(
        "--generate-hashes ", ""
    )
    root = make_repo(
        {
            "requirements.in": "tl-http>=1.0\n",
            "requirements.txt": header + "tl-http==1.0\n    # via -r requirements.in\n",
        }
    )

    result = DependencyUpdater().run(order(title="Bump tl-http to 1.1"), root, BUDGET, index_env)

    assert result.outcome is Outcome.CHANGED, result.summary
    assert read(root, "requirements.in") == "tl-http>=1.1\n"
    assert "tl-http==1.1" in read(root, "requirements.txt")
    assert result.handoff is not None
    assert set(result.handoff.changed_files) == {"requirements.in", "requirements.txt"}
