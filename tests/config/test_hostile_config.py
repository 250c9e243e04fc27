"""Hostile ``.github/techlead.yml`` files: each is one RepoConfigError with a line, fast.

Anyone who can push to the default branch writes this file, and every planning job and
gate run reads it. Control bytes, UTF-16, deep nesting, huge integers, alias bombs and
Python tags all end as the usual "invalid configuration" report naming the line (and
the key, where there is one), in milliseconds; never a traceback, never a failed job.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.errors import RepoConfigError
from bot.repo_config import MAX_CONFIG_BYTES, parse_repo_config

# CPU seconds of this process: a bound that a loaded machine does not stretch.
SECONDS = 1.0
HOSTILE: list[tuple[str, str | bytes, int | None, str]] = [
    ("nul-byte", b"version: 1\nplanning:\n  max_tasks: 3\x00\n", 3, "U+0000"),
    ("bel-byte", "version: 1\nplanning:\n  max_tasks: \x07\n", 3, "U+0007"),
    ("flow-nesting-1000", "planning: " + "[" * 1000 + "]" * 1000 + "\n", 1, "nested more than"),
    ("integer-5000-digits", "planning:\n  max_tasks: " + "9" * 5000 + "\n", 2, "5000-digit"),
    ("utf-16", "version: 1\n".encode("utf-16"), 1, "UTF-16"),
    ("latin-1", "trigger:\n  label: caf\xe9\n".encode("latin-1"), 2, "not UTF-8"),
    ("binary", bytes(range(256)) * 4, 1, "U+0000"),
    ("lone-surrogate", "trigger:\n  label: \ud800\n", 2, "U+D800"),
    ("alias-bomb", "a: &a [x, x, x]\nb: [*a, *a, *a]\n", 2, "aliases"),
    ("python-tag", "planning: !!python/object:os.system {}\n", 1, "is not supported"),
    ("not-a-number", "planning:\n  research_budget_seconds: .nan\n", 2, "finite"),
    ("too-many-values", "x: [" + ",".join(["1"] * 20_000) + "]\n", 1, "more than 10,000"),
    ("too-large", "version: 1\n" + "# padding\n" * 10_000, None, "larger than"),
]
IDS = [case[0] for case in HOSTILE]
# A lone surrogate reaches a file as the bytes ED A0 80, which are not UTF-8.
IN_A_FILE = {"lone-surrogate": "not UTF-8 text (byte 0xed)"}


@pytest.mark.parametrize(("name", "source", "line", "says"), HOSTILE, ids=IDS)
def test_a_hostile_file_is_one_config_error_with_its_line(
    name: str, source: str | bytes, line: int | None, says: str
) -> None:
    started = time.process_time()
    with pytest.raises(RepoConfigError) as caught:
        parse_repo_config(source)
    assert time.process_time() - started < SECONDS
    assert caught.value.line == line
    assert says in str(caught.value)
    assert len(str(caught.value)) <= 600, "the message fits a check run title and a comment"


@pytest.mark.parametrize(("name", "source", "line", "says"), HOSTILE, ids=IDS)
def test_config_check_reports_it_without_a_traceback(
    name: str,
    source: str | bytes,
    line: int | None,
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    file = tmp_path / "techlead.yml"
    data = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
    file.write_bytes(data)
    assert main(["config", "check", str(file)], env={}) == 1
    err = capsys.readouterr().err
    assert IN_A_FILE.get(name, says) in err and "Traceback" not in err
    where = f"{file}:{line}" if line else str(file)
    assert err.startswith(where)


def test_config_check_of_a_missing_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "check", str(tmp_path / "absent.yml")], env={}) == 1
    assert "cannot read the file" in capsys.readouterr().err


# ------------------------------------------------------------------------------ fuzzing

KEYS = st.sampled_from(
    [
        "version",
        "trigger",
        "label",
        "planning",
        "max_tasks",
        "agents",
        "name",
        "keywords",
        "gates",
        "L1",
        "enabled",
        "x",
        "<<",
        "? ",
        "&a",
        "*a",
        "!!str",
        "- ",
        "{",
        "[",
        "'",
        '"',
    ]
)
SCALAR = st.one_of(
    st.integers(), st.floats().map(repr), st.text(max_size=20), KEYS, st.sampled_from(["", "~"])
)


@st.composite
def yaml_like(draw: st.DrawFn) -> str:
    """Lines shaped like YAML (keys, lists, flows, indentation) with odd bits mixed in."""
    lines = []
    for _ in range(draw(st.integers(0, 30))):
        indent = "  " * draw(st.integers(0, 6))
        key, value = draw(KEYS), draw(SCALAR)
        shape = draw(
            st.sampled_from(
                [
                    "{k}: {v}",
                    "- {v}",
                    "{k}:",
                    "- {k}: {v}",
                    "{k}: [{v}, {v}]",
                    "{k}: {{{k}: {v}}}",
                    "{v}",
                ]
            )
        )
        lines.append(indent + shape.format(k=key, v=value))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))


def assert_config_error_or_config(source: str | bytes) -> None:
    started = time.process_time()
    try:
        parse_repo_config(source)
    except RepoConfigError as exc:
        assert str(exc)
    assert time.process_time() - started < SECONDS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_like())
def test_yaml_shaped_text_is_a_config_or_a_config_error(source: str) -> None:
    assert_config_error_or_config(source)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2_000))
def test_any_bytes_are_a_config_or_a_config_error(source: bytes) -> None:
    assert_config_error_or_config(source)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from("[{-: &*!|>'\"#\t\x00"), st.integers(1, MAX_CONFIG_BYTES))
def test_long_runs_of_one_character_stay_fast(char: str, count: int) -> None:
    assert_config_error_or_config(char * count)
