"""L2 never crashes on a strange description: the differ and the validators over random data."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gates.contracts.documents import Document, load
from gates.contracts.openapi_diff import METHODS, compare
from gates.contracts.validate import validate_json_schema, validate_openapi

KEYS = st.sampled_from(
    [
        "openapi", "swagger", "paths", "/a", "/a/{id}", *METHODS, "parameters", "name", "in",
        "required", "schema", "type", "enum", "properties", "items", "allOf", "$ref",
        "requestBody", "content", "application/json", "responses", "200", "404", "headers",
        "security", "deprecated", "x-sunset", "nullable", "maxLength", "format", "components",
        "schemas", "Item", "x-stability-level", "readOnly", "writeOnly",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.sampled_from(["3.0.3", "3.1.0", "2.0", "path", "query", "string", "integer", "#/x",
                     "#/components/schemas/Item", "#/paths", "2999-01-01", "alpha", "other.yaml"]),
)  # fmt: skip
DATA = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=6)
    ),
    max_leaves=40,
)
OPENAPI = st.builds(
    lambda version, paths, extra: {"openapi": version, "paths": paths, **extra},
    st.sampled_from(["3.0.3", "3.1.0"]),
    st.dictionaries(st.sampled_from(["/a", "/a/{id}", "/b"]), DATA, max_size=3),
    st.dictionaries(KEYS, DATA, max_size=3),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=OPENAPI, head=OPENAPI)
def test_the_differ_never_raises(base: dict[str, Any], head: dict[str, Any]) -> None:
    for change in compare(Document(base), Document(head)):
        assert change.rule and change.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(OPENAPI, DATA))
def test_the_validators_never_raise(data: Any) -> None:
    validate_openapi(Document(data))
    validate_json_schema(Document(data))


def pointers(data: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix]
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, value in items:
        found += pointers(value, (*prefix, key))
    return found


@settings(max_examples=100, deadline=None)
@given(data=st.one_of(st.dictionaries(KEYS, DATA, max_size=5), st.lists(DATA, max_size=4)))
def test_json_is_read_with_a_mark_for_every_value(data: Any) -> None:
    for indent in (None, 2):
        doc = load(json.dumps(data, indent=indent))
        assert doc.data == data
        assert set(pointers(data)) <= set(doc.marks)
