"""L3 integration tests gate: detection, JUnit reading, and the gate on real repositories.

The gate runs each repository's pytest inside the jail (bubblewrap where it can run);
tests that only hold with the jail skip with the reason when it cannot run here.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from gates.config import GateLevel, GatesConfig, IntegrationConfig, load_defaults
from gates.integration import NO_TESTS, command_for, uses_pytest
from gates.jail import find_jail
from gates.junit import Outcome, parse_report, read_report
from gates.model import Conclusion
from tests.gates.conftest import Repo

JAIL = find_jail()
needs_jail = pytest.mark.skipif(not JAIL.isolated, reason=f"no jail here: {JAIL.problem}")

PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
PASSING = "def test_adds():\n    assert 1 + 1 == 2\n"
FAILING = "\n\ndef test_breaks():\n    assert 1 + 1 == 3\n"
CLASS_TESTS = """import pytest


class TestMaths:
    def test_ok(self):
        assert True

    def test_wrong(self):
        assert 2 * 2 == 5


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


def test_uses_broken(broken):
    pass
"""


def l3(**overrides: object) -> GatesConfig:
    return load_defaults().with_overrides({"integration": overrides})


def settings(**overrides: object) -> IntegrationConfig:
    found = l3(**overrides).integration
    assert isinstance(found, IntegrationConfig)
    return found


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"tests/test_a.py": PASSING}, True),
        ({"test/test_a.py": PASSING}, True),
        ({"pytest.ini": "[pytest]\n"}, True),
        ({"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"}, True),
        ({"setup.cfg": "[tool:pytest]\ntestpaths = t\n"}, True),
        ({"tox.ini": "[pytest]\n"}, True),
        ({"pyproject.toml": "[tool.ruff]\nline-length = 100\n"}, False),
        ({"setup.cfg": "[flake8]\nmax-line-length = 100\n"}, False),
        ({"pyproject.toml": "not toml ["}, False),
        ({"README.md": "# nothing to test\n"}, False),
    ],
    ids=[
        "tests-dir",
        "test-dir",
        "pytest-ini",
        "pyproject-pytest",
        "setup-cfg-pytest",
        "tox-ini-pytest",
        "pyproject-without-pytest",
        "setup-cfg-without-pytest",
        "broken-pyproject",
        "no-tests",
    ],
)
def test_pytest_is_detected_from_the_tree(
    tmp_path: Path, files: dict[str, str], expected: bool
) -> None:
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    assert uses_pytest(tmp_path) is expected
    command = command_for(tmp_path, settings())
    assert (command is not None) is expected


@pytest.mark.parametrize(
    ("configured", "pytest_like", "argv0"),
    [
        ("{python} -m pytest tests/unit", True, "{python}"),
        ("pytest -x", True, "pytest"),
        ("make check", False, "make"),
    ],
    ids=["python-m-pytest", "pytest-script", "other-runner"],
)
def test_a_configured_command_wins(
    tmp_path: Path, configured: str, pytest_like: bool, argv0: str
) -> None:
    command = command_for(tmp_path, settings(command=configured, junit_xml="out.xml"))
    assert command is not None
    assert command.argv[0] == argv0
    assert command.pytest is pytest_like


def test_pytest_reports_are_read_with_1_based_def_lines(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_maths.py").write_text(CLASS_TESTS, encoding="utf-8")
    report = tmp_path / "report.xml"
    subprocess.run(
        [*PYTEST, "-o", "junit_family=xunit1", f"--junitxml={report}", "tests"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    parsed = read_report(report)
    assert (parsed.tests, parsed.failures, parsed.errors) == (3, 1, 1)
    found = {f.test_id: (f.path, f.line, f.outcome) for f in parsed.failed}
    assert found == {
        "tests/test_maths.py::TestMaths::test_wrong": ("tests/test_maths.py", 8, Outcome.FAILED),
        "tests/test_maths.py::test_uses_broken": ("tests/test_maths.py", 17, Outcome.ERROR),
    }
    wrong = next(f for f in parsed.failed if f.outcome is Outcome.FAILED)
    assert "assert (2 * 2) == 5" in wrong.message


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (
            '<testsuite tests="1"><testcase classname="Suite" name="works"/></testsuite>',
            [],
        ),
        (
            '<testsuites><testsuite><testcase classname="pkg.Suite" name="breaks">'
            '<failure message="expected 1">trace</failure></testcase></testsuite></testsuites>',
            [("pkg.Suite.breaks", "", 0, "expected 1")],
        ),
        (
            '<testsuite><testcase classname="c" name="n" file="t.py" line="x">'
            "<error>boom\nmore</error></testcase></testsuite>",
            [("t.py::n", "t.py", 0, "boom")],
        ),
    ],
    ids=["all-pass", "other-runner-no-file", "bad-line-and-no-message"],
)
def test_reports_from_other_runners(xml: str, expected: list[tuple[str, str, int, str]]) -> None:
    failed = parse_report(xml).failed
    assert [(f.test_id, f.path, f.line, f.message) for f in failed] == expected


# ---------------------------------------------------------------------------- the gate


def test_a_new_failing_test_fails_the_gate_at_its_def_line(repo: Repo) -> None:
    repo.commit({"tests/test_sums.py": PASSING})
    repo.branch("feature")
    repo.commit({"tests/test_sums.py": PASSING + FAILING})
    result = repo.run(levels=[GateLevel.L3])[GateLevel.L3]
    assert result.conclusion is Conclusion.FAILURE
    assert [(f.path, f.start_line, f.rule) for f in result.new] == [
        ("tests/test_sums.py", 5, "test-failed")
    ]
    assert "tests/test_sums.py::test_breaks failed" in result.new[0].message
    assert "assert (1 + 1) == 3" in result.new[0].message
    assert any("1 failed" in note for note in result.notes)


def test_a_test_failing_on_the_base_too_is_preexisting(repo: Repo) -> None:
    repo.commit({"tests/test_sums.py": PASSING + FAILING})
    repo.branch("feature")
    repo.commit({"tests/test_other.py": PASSING, "tests/test_sums.py": "\n" + PASSING + FAILING})
    result = repo.run(levels=[GateLevel.L3])[GateLevel.L3]
    assert result.conclusion is Conclusion.SUCCESS
    assert result.new == ()
    assert [(f.path, f.start_line) for f in result.preexisting] == [("tests/test_sums.py", 6)]


def test_a_change_that_breaks_an_old_test_is_new(repo: Repo) -> None:
    code = "def double(x):\n    return 2 * x\n"
    test = "from calc import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
    repo.commit({"calc.py": code, "tests/test_calc.py": test})
    repo.branch("feature")
    repo.commit({"calc.py": code.replace("2 * x", "3 * x")})
    result = repo.run(levels=[GateLevel.L3])[GateLevel.L3]
    assert result.conclusion is Conclusion.FAILURE
    assert [(f.path, f.start_line) for f in result.new] == [("tests/test_calc.py", 4)]


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"README.md": "# more\n"}, NO_TESTS),
        ({"tests/conftest.py": ""}, "the test command collected no tests"),
    ],
    ids=["no-tests", "nothing-collected"],
)
def test_nothing_to_test_is_neutral(repo: Repo, files: dict[str, str], reason: str) -> None:
    repo.branch("feature")
    repo.commit(files)
    result = repo.run(levels=[GateLevel.L3])[GateLevel.L3]
    assert result.conclusion is Conclusion.NEUTRAL
    assert reason in result.reason


def test_a_custom_command_without_a_report_fails_as_a_whole(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"check.py": "import sys\nprint('checking')\nsys.exit(3)\n"})
    config = l3(command="{python} check.py", compare_base=False)
    result = repo.run(config=config, levels=[GateLevel.L3])[GateLevel.L3]
    assert result.conclusion is Conclusion.FAILURE
    assert [f.rule for f in result.new] == ["test-command-failed"]
    assert "exited with 3" in result.new[0].message
    assert "checking" in result.new[0].message


def test_the_tests_never_write_into_the_checked_tree(repo: Repo) -> None:
    repo.branch("feature")
    repo.commit({"tests/test_sums.py": PASSING + FAILING})
    before = sorted(p.relative_to(repo.root) for p in repo.root.rglob("*") if ".git" not in p.parts)
    repo.run(head=None, levels=[GateLevel.L3])
    after = sorted(p.relative_to(repo.root) for p in repo.root.rglob("*") if ".git" not in p.parts)
    assert after == before


@needs_jail
def test_a_test_reaching_the_network_fails_in_the_jail(repo: Repo) -> None:
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        test = (
            "import socket\n\n\ndef test_calls_home():\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=5).close()\n"
        )
        repo.branch("feature")
        repo.commit({"tests/test_net.py": test})
        result = repo.run(levels=[GateLevel.L3])[GateLevel.L3]
    assert result.conclusion is Conclusion.FAILURE
    assert [(f.path, f.start_line) for f in result.new] == [("tests/test_net.py", 4)]
    assert "ConnectionRefusedError" in result.new[0].message


def _running(argv: list[str]) -> bool:
    wanted = "\0".join(argv).encode()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().rstrip(b"\0") == wanted:
                return True
        except OSError:
            continue
    return False


def test_a_hanging_test_is_stopped_at_the_time_limit_with_its_children(repo: Repo) -> None:
    sleeper = ["sleep", f"{600 + time.time() % 1:.6f}"]  # a command line no one else runs
    hang = f"import subprocess\n\n\ndef test_hangs():\n    subprocess.run({sleeper!r})\n"
    repo.branch("feature")
    repo.commit({"tests/test_hang.py": hang})
    started = time.monotonic()
    result = repo.run(config=l3(timeout_seconds=4), levels=[GateLevel.L3])[GateLevel.L3]
    assert time.monotonic() - started < 30
    assert result.conclusion is Conclusion.FAILURE
    assert "timed out after 4 s" in result.reason
    deadline = time.monotonic() + 5
    while _running(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(sleeper)


WRITES_HELPER = (
    '{python} -c "import pathlib, sysconfig; '
    "pathlib.Path(sysconfig.get_paths()['purelib'], 'helper_dep.py').write_text('VALUE = 41')\""
)
USES_HELPER = "import helper_dep\n\n\ndef test_value():\n    assert helper_dep.VALUE == 42\n"


@pytest.mark.parametrize(
    ("install", "line", "expected"),
    [
        (WRITES_HELPER, 4, "assert 41 == 42"),
        ("{python} -c \"raise SystemExit('no index reachable')\"", 0, ""),
        ("", 1, "ModuleNotFoundError"),  # a collection error: on the module
    ],
    ids=["installed-dependency-is-used", "install-fails", "no-install"],
)
def test_dependencies_are_installed_into_a_fresh_virtualenv_first(
    repo: Repo, install: str, line: int, expected: str
) -> None:
    repo.branch("feature")
    repo.commit({"tests/test_helper.py": USES_HELPER})
    config = l3(install=install, compare_base=False)
    result = repo.run(config=config, levels=[GateLevel.L3])[GateLevel.L3]
    assert result.conclusion is Conclusion.FAILURE
    if expected:
        assert [f.start_line for f in result.new] == [line]
        assert expected in result.new[0].message
    else:
        assert "installing the dependencies failed (exit 1): no index reachable" in result.reason
