"""Which ruff and which settings L1 uses; bandit's own settings; scopes and line maps."""

from __future__ import annotations

from pathlib import Path

import pytest
from unidiff import PatchSet

from gates.config import GateLevel, load_defaults
from gates.diff import DiffIndex
from gates.model import Conclusion
from gates.revision import local_input, materialize_sparse, support_files
from gates.ruff_setup import (
    has_ruff_config,
    minimal_options,
    pinned_version,
    refusal,
)
from gates.runner import run_gates
from gates.scopes import ScopeIndex
from gates.security import bandit_settings
from tests.gates.conftest import Repo, tool_env


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


PRE_COMMIT = """repos:
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v5.0.0
    hooks:
      - id: check-yaml
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.12.4
    hooks:
      - id: ruff
"""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({".pre-commit-config.yaml": PRE_COMMIT}, ("0.12.4", ".pre-commit-config.yaml")),
        (
            {
                "pyproject.toml": "[project.optional-dependencies]\n"
                'dev = ["pytest", "ruff==0.13.1"]\n'
            },
            ("0.13.1", "pyproject.toml"),
        ),
        (
            {"pyproject.toml": '[dependency-groups]\nlint = ["ruff == 0.14.0"]\n'},
            ("0.14.0", "pyproject.toml"),
        ),
        (
            {"pyproject.toml": '[tool.poetry.group.dev.dependencies]\nruff = "0.15.2"\n'},
            ("0.15.2", "pyproject.toml"),
        ),
        (
            {"requirements-dev.txt": "pytest>=8\nruff==0.16.0  # lint\n"},
            ("0.16.0", "requirements-dev.txt"),
        ),
        ({"requirements-dev.txt": "ruff>=0.12\n"}, None),
        ({"pyproject.toml": '[tool.poetry.group.dev.dependencies]\nruff = "^0.15"\n'}, None),
        ({".pre-commit-config.yaml": PRE_COMMIT.replace("ruff-pre-commit", "black")}, None),
        ({"pyproject.toml": '[project]\noptional-dependencies = "dev"\n'}, None),
    ],
    ids=[
        "pre-commit",
        "optional-dependencies",
        "dependency-groups",
        "poetry-group",
        "requirements",
        "requirements-range",
        "poetry-caret",
        "pre-commit-without-ruff",
        "odd-pyproject",
    ],
)
def test_pinned_version(tmp_path: Path, files: dict[str, str], expected: object) -> None:
    _write(tmp_path, files)

    assert pinned_version(tmp_path) == expected


@pytest.mark.parametrize(
    ("files", "configured"),
    [
        ({"pyproject.toml": "[tool.ruff]\nline-length = 88\n"}, True),
        ({"pyproject.toml": "[project]\nname = 'x'\n"}, False),
        ({"ruff.toml": "line-length = 88\n"}, True),
        ({"pkg/.ruff.toml": "line-length = 88\n"}, True),
        ({"other/ruff.toml": "line-length = 88\n"}, False),
        ({"setup.cfg": "[flake8]\nignore = E501\n"}, False),
    ],
    ids=["pyproject", "pyproject-without-ruff", "ruff.toml", "nested", "elsewhere", "flake8"],
)
def test_ruff_configuration_is_found_above_the_changed_files(
    tmp_path: Path, files: dict[str, str], configured: bool
) -> None:
    _write(tmp_path, files)

    assert has_ruff_config(tmp_path, ["pkg/mod.py"]) is configured


@pytest.mark.parametrize(
    ("flake8", "expected"),
    [
        ({}, ["--isolated", "--select", "F,E9"]),
        (
            {"ignore": "E402,E501,F403, W503", "max-line-length": "120"},
            ["--isolated", "--select", "F,E9", "--ignore", "F403", "--line-length", "120"],
        ),
        (
            {"select": "E,W,F", "exclude": "build,.git,\n  docs/conf.py"},
            ["--isolated", "--select", "F,E9", "--extend-exclude", "build,.git,docs/conf.py"],
        ),
        ({"select": "F401,F811"}, ["--isolated", "--select", "F401,F811"]),
        (
            {"per-file-ignores": "\n  pkg/__init__.py: F401\n  tests/*: F811,E501"},
            [
                "--isolated",
                "--select",
                "F,E9",
                "--config",
                "lint.per-file-ignores = {\"pkg/__init__.py\" = ['F401'], \"tests/*\" = ['F811']}",
            ],
        ),
    ],
    ids=["nothing", "ignore-and-length", "select-and-exclude", "narrow-select", "per-file"],
)
def test_flake8_settings_become_low_noise_ruff_options(
    flake8: dict[str, str], expected: list[str]
) -> None:
    assert minimal_options(flake8) == expected


def test_refusal_keeps_ruffs_reason_and_drops_temporary_paths(tmp_path: Path) -> None:
    stderr = (
        "ruff failed\n"
        f"  Cause: Failed to parse {tmp_path}/pyproject.toml\n"
        "  Cause: TOML parse error at line 1, column 1\n"
        "  |\n1 | [tool.ruff]\n  | ^^^^^^^^^^^\nunknown field `show-source`\n"
    )

    assert refusal(stderr, [tmp_path]) == (
        "Failed to parse pyproject.toml; TOML parse error at line 1, column 1; "
        "unknown field `show-source`"
    )


@pytest.mark.parametrize(
    ("files", "skips", "excluded", "kept"),
    [
        (
            {"pyproject.toml": '[tool.bandit]\nskips = ["B105"]\nexclude_dirs = ["tests"]\n'},
            ("B105",),
            ["tests/test_app.py", "pkg/tests/test_x.py"],
            ["pkg/app.py"],
        ),
        (
            {".bandit": "[bandit]\nskips = B101,B311\nexclude = ./build,docs/\n"},
            ("B101", "B311"),
            ["build/lib/x.py", "docs/conf.py"],
            ["pkg/build.py"],
        ),
        ({}, (), [], ["tests/test_app.py"]),
    ],
    ids=["pyproject", "dot-bandit", "none"],
)
def test_bandit_settings(
    tmp_path: Path,
    files: dict[str, str],
    skips: tuple[str, ...],
    excluded: list[str],
    kept: list[str],
) -> None:
    _write(tmp_path, files)

    settings = bandit_settings(tmp_path)

    assert settings.skips == skips
    assert all(settings.excludes(path) for path in excluded)
    assert not any(settings.excludes(path) for path in kept)


def test_bandit_honours_the_repositorys_skips_and_excluded_dirs(repo: Repo) -> None:
    repo.commit(
        {
            "pyproject.toml": '[tool.ruff]\n\n[tool.bandit]\nskips = ["B602"]\n'
            'exclude_dirs = ["scripts"]\n'
        }
    )
    repo.branch("feature")
    shell = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    pickle = "import pickle\n\n\ndef load(data):\n    return pickle.loads(data)\n"
    repo.commit({"app/run.py": shell, "scripts/load.py": pickle, "app/load.py": pickle})

    security = repo.run(levels=[GateLevel.L5])[GateLevel.L5]

    assert {(f.path, f.rule) for f in security.new} == {
        ("app/load.py", "B301"),
        ("app/load.py", "B403"),
    }


SCOPED = """import functools


class Client:
    timeout = 5

    @functools.cache
    def send(self, request):
        def inner():
            return request
        return inner


def main():
    pass
"""


@pytest.mark.parametrize(
    ("path", "text", "line", "scope"),
    [
        ("a.py", SCOPED, 1, ""),
        ("a.py", SCOPED, 5, "Client"),
        ("a.py", SCOPED, 7, "Client.send"),
        ("a.py", SCOPED, 10, "Client.send.inner"),
        ("a.py", SCOPED, 11, "Client.send"),
        ("a.py", SCOPED, 15, "main"),
        ("py2.py", "class A:\n    def f(self):\n        print 'x'\n", 3, "A.f"),
        (
            "ci.yml",
            "jobs:\n  build:\n    steps:\n      - uses: actions/checkout@v4\n",
            4,
            "jobs.build.steps",
        ),
    ],
    ids=[
        "module",
        "class-body",
        "decorator",
        "nested-function",
        "after-nested",
        "function",
        "python2-by-indentation",
        "yaml-keys",
    ],
)
def test_scopes(path: str, text: str, line: int, scope: str) -> None:
    lines = text.splitlines(keepends=True)

    assert ScopeIndex(path, lines).name(line) == scope


LINE_MAP_DIFF = """--- a/x.py
+++ b/x.py
@@ -2,3 +2,4 @@
 two
-three
+THREE
+three-and-a-half
 four
@@ -9,2 +9,0 @@
-nine
-ten
@@ -14,0 +14,1 @@
+after-fourteen
"""


def test_base_lines_map_through_the_diff() -> None:
    changed = DiffIndex.from_patch(PatchSet(LINE_MAP_DIFF)).files["x.py"]

    mapped = {line: changed.head_line(line) for line in range(1, 17)}

    assert mapped == {
        1: 1,
        2: 2,
        3: None,
        4: 5,
        5: 6,
        8: 9,
        9: None,
        10: None,
        11: 10,
        14: 13,
        15: 15,
        16: 16,
        6: 7,
        7: 8,
        12: 11,
        13: 12,
    }


def test_a_pinned_ruff_that_cannot_be_installed_runs_ours_and_says_so(
    repo: Repo, tmp_path: Path
) -> None:
    repo.commit({".pre-commit-config.yaml": PRE_COMMIT.replace("0.12.4", "0.99.999")})
    repo.branch("feature")
    repo.commit({"app.py": "import os\n"})
    env = {**tool_env(), "TECHLEAD_TOOL_CACHE": str(tmp_path / "tools")}
    config = load_defaults()

    runs = []
    for _ in range(2):  # the second run does not ask pip again
        with local_input(repo.root, base="main", head="HEAD", env=env) as inp:
            (lint,) = run_gates(inp, config, levels=[GateLevel.L1])
        runs.append(lint)

    for lint in runs:
        assert [f.rule for f in lint.new] == ["F401"]
        (note,) = [n for n in lint.notes if "pinned" in n]
        assert note.startswith(
            "ruff 0.99.999 (pinned by .pre-commit-config.yaml) could not be installed"
        )
        assert "so ruff 0." in note
    assert runs[0].notes == runs[1].notes
    assert (tmp_path / "tools" / "ruff" / "0.99.999.failed").is_file()
    assert runs[1].duration_seconds < runs[0].duration_seconds


def test_a_pinned_ruff_is_installed_once_and_used(repo: Repo, tmp_path: Path) -> None:
    repo.commit({"requirements-dev.txt": "ruff==0.12.12\n"})
    repo.branch("feature")
    repo.commit({"app.py": "import os\n"})
    env = {**{k: v for k, v in tool_env().items() if "PROXY" not in k}}
    env["TECHLEAD_TOOL_CACHE"] = str(tmp_path / "tools")
    config = load_defaults()

    with local_input(repo.root, base="main", head="HEAD", env=env) as inp:
        (lint,) = run_gates(inp, config, levels=[GateLevel.L1])

    if any("could not be installed" in note for note in lint.notes):
        pytest.skip(f"PyPI cannot be reached here: {lint.notes}")
    assert "ran ruff 0.12.12, the version requirements-dev.txt pins" in lint.notes
    assert (tmp_path / "tools" / "ruff" / "0.12.12" / "bin" / "ruff").exists()
    assert lint.conclusion is Conclusion.FAILURE
    assert [f.rule for f in lint.new] == ["F401"]


def test_a_change_repairing_the_ruff_configuration_is_linted_by_its_head(repo: Repo) -> None:
    repo.commit({"pyproject.toml": "[tool.ruff]\nshow-source = true\n", "app.py": "X = 1\n"})
    repo.branch("feature")
    repo.commit({"pyproject.toml": "[tool.ruff]\nline-length = 100\n", "app.py": "import os\n"})

    lint = repo.run(levels=[GateLevel.L1])[GateLevel.L1]

    assert [f.rule for f in lint.new] == ["F401"]
    (note,) = [n for n in lint.notes if "base revision could not be linted" in n]
    assert "unknown field `show-source`" in note
    assert "Failed to parse pyproject.toml" in note and "techlead-gates-" not in note


@pytest.mark.parametrize("sparse", [False, True], ids=["whole-head", "sparse-head"])
def test_a_ruff_pinned_too_old_to_drive_safely_is_not_installed(repo: Repo, sparse: bool) -> None:
    repo.commit({"requirements-dev.txt": "ruff==0.0.290\n"})
    repo.branch("feature")
    repo.commit({"app.py": "import os\n"})

    with local_input(
        repo.root, base="main", head="HEAD", env=tool_env(), sparse_head=sparse
    ) as inp:
        (lint,) = run_gates(inp, load_defaults(), levels=[GateLevel.L1])

    assert [f.rule for f in lint.new] == ["F401"]
    (note,) = [n for n in lint.notes if "0.0.290" in n]
    assert "older than 0.1.2" in note and "so ruff 0." in note


def test_the_base_side_has_extended_settings_and_the_imported_modules(
    repo: Repo, tmp_path: Path
) -> None:
    base = repo.commit(
        {
            "pyproject.toml": '[tool.ruff]\nextend = "config/ruff.toml"\n',
            "config/ruff.toml": 'extend = "base.toml"\n',
            "config/base.toml": "line-length = 99\n",
            "src/pkg/__init__.py": "VERSION = 1\n",
            "src/pkg/models.py": "class Model: ...\n",
            "src/pkg/unused.py": "X = 1\n",
            "src/pkg/api.py": "from pkg.models import Model\nimport pkg\n",
            "docs/index.md": "# docs\n",
        }
    )
    dest = tmp_path / "base"

    materialize_sparse(repo.root, base, support_files(["src/pkg/api.py"]), dest)

    written = {
        p.relative_to(dest).as_posix(): p.read_text() for p in dest.rglob("*") if p.is_file()
    }
    assert written == {
        "pyproject.toml": '[tool.ruff]\nextend = "config/ruff.toml"\n',
        "config/ruff.toml": 'extend = "base.toml"\n',
        "config/base.toml": "line-length = 99\n",
        "src/pkg/api.py": "from pkg.models import Model\nimport pkg\n",
        "src/pkg/__init__.py": "VERSION = 1\n",  # a package marker: the real one
        "src/pkg/models.py": "",  # imported: an empty stand-in
    }
    assert (dest / "docs").is_dir()  # top-level names exist, empty
