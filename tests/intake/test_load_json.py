"""``intake.load_json`` accepts, refuses and builds exactly what ``json.loads`` does."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake import load_json
from tests.intake.conftest import FIXTURES

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def outcome(reader: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", reader(data)
    except (ValueError, RecursionError) as exc:
        return "refused", type(exc).__name__


def same(left: Any, right: Any) -> bool:
    """Equal, with NaN equal to NaN and types compared too (1 is not 1.0 here)."""
    if isinstance(left, float) and isinstance(right, float):
        return left == right or (math.isnan(left) and math.isnan(right))
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    return bool(left == right)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda path: path.stem)
def test_every_real_payload_reads_the_same(path: Path) -> None:
    body = path.read_bytes()
    assert same(load_json(body), json.loads(body))


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": "\\ud800"}',  # a lone surrogate: json builds it, msgspec refuses
        b'{"n": 92233720368547758070}',  # past 64 bits
        b'{"n": NaN, "m": -Infinity}',
        b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
        '{"a": "é"}'.encode("utf-16"),
        b'{"a": 1, "a": 2}',  # the last of a repeated key
        b"[" * 100_000,
        b'{"a": 1} x',
        b"\xff\xfe\x00",
        b"",
    ],
)
def test_edge_cases_read_the_same(data: bytes) -> None:
    ours, theirs = outcome(load_json, data), outcome(json.loads, data)
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert same(ours[1], theirs[1])


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_any_json_document_reads_the_same(value: Any, ascii_only: bool) -> None:
    data = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    ours, theirs = outcome(load_json, data), outcome(json.loads, data)
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert same(ours[1], theirs[1])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_are_accepted_or_refused_alike(data: bytes) -> None:
    ours, theirs = outcome(load_json, data), outcome(json.loads, data)
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert same(ours[1], theirs[1])
