"""L2 · Contracts: validation with lines, oasdiff-named breaking changes, GraphQL, protobuf."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap

import pytest

from gates.config import GateLevel
from gates.contracts import openapi_diff, places
from gates.contracts.documents import DocumentError, load
from gates.contracts.graphql_diff import SdlFile
from gates.contracts.graphql_diff import compare as graphql_compare
from gates.contracts.openapi_diff import Level
from gates.contracts.validate import validate_json_schema, validate_openapi
from gates.model import Conclusion
from gates.report import to_text
from gates.revision import parse_diff
from tests.gates.conftest import Repo, lines_of

L2 = [GateLevel.L2]

SPEC = """\
openapi: 3.0.3
info:
  title: Items
  version: "1.0"
paths:
  /items:
    get:
      parameters:
        - name: limit
          in: query
          schema:
            type: integer
      responses:
        "200":
          description: the items
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Item"
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    delete:
      responses:
        "204":
          description: deleted
  /health:
    get:
      responses:
        "200":
          description: alive
components:
  schemas:
    Item:
      type: object
      required: [id]
      properties:
        id:
          type: string
        colour:
          type: string
          enum: [red, green]
"""


def spec(**replacements: str) -> str:
    text = SPEC
    for old, new in replacements.items():
        assert old.replace("_", " ") in text or old in text, old
        text = text.replace(old, new)
    return text


def rules(base: str, head: str, today: dt.date | None = None) -> dict[str, Level]:
    changes = openapi_diff.compare(load(base), load(head), today=today)
    return {change.rule: change.level for change in changes}


# ---------------------------------------------------------------------------- differ

HEALTH = '  /health:\n    get:\n      responses:\n        "200":\n          description: alive\n'
FORCE = "        - {name: force, in: query, schema: {type: boolean}}\n"
READY = '  /ready:\n    get:\n      responses:\n        "200":\n          description: ready\n'
DELETE_OP = '    delete:\n      responses:\n        "204":\n          description: deleted\n'
DIFFER_CASES = [
    pytest.param(
        spec(),
        spec().replace(HEALTH, ""),
        {"api-path-removed-without-deprecation": Level.ERR},
        id="path-removed",
    ),
    pytest.param(
        spec(),
        spec().replace(
            DELETE_OP,
            '    get:\n      responses:\n        "200":\n          description: one\n',
        ),
        {"api-removed-without-deprecation": Level.ERR, "endpoint-added": Level.INFO},
        id="operation-removed-and-added",
    ),
    pytest.param(
        spec(),
        spec().replace("          in: query\n", "          in: query\n          required: true\n"),
        {"request-parameter-became-required": Level.ERR},
        id="parameter-became-required",
    ),
    pytest.param(
        spec(),
        spec().replace("            type: integer\n", "            type: string\n"),
        {"request-parameter-type-changed": Level.ERR},
        id="parameter-type-narrowed",
    ),
    pytest.param(
        spec().replace(
            "            type: integer\n", "            type: integer\n            format: int32\n"
        ),
        spec().replace(
            "            type: integer\n", "            type: number\n            format: int32\n"
        ),
        {"request-parameter-type-generalized": Level.INFO},
        id="parameter-type-widened",
    ),
    pytest.param(
        spec(),
        spec().replace("          enum: [red, green]", "          enum: [red]"),
        {"response-property-enum-value-removed": Level.INFO},
        id="response-enum-narrowed-is-compatible",
    ),
    pytest.param(
        spec(),
        spec().replace("          enum: [red, green]", "          enum: [red, green, blue]"),
        {"response-property-enum-value-added": Level.WARN},
        id="response-enum-widened-may-break",
    ),
    pytest.param(
        spec(),
        spec().replace(
            "        id:\n          type: string\n",
            "        id:\n          type: string\n          nullable: true\n",
        ),
        {"response-property-became-nullable": Level.ERR},
        id="response-property-became-nullable",
    ),
    pytest.param(
        spec(),
        spec().replace("      required: [id]\n", "      required: []\n"),
        {"response-property-became-optional": Level.ERR},
        id="response-property-became-optional",
    ),
    pytest.param(
        spec(),
        spec().replace("        id:\n          type: string\n", ""),
        {"response-required-property-removed": Level.ERR},
        id="response-required-property-removed",
    ),
    pytest.param(
        spec(),
        spec().replace(
            '        "204":\n          description: deleted\n',
            '        "202":\n          description: accepted\n',
        ),
        {"response-success-status-removed": Level.ERR, "response-success-status-added": Level.INFO},
        id="success-status-replaced",
    ),
    pytest.param(
        spec(),
        spec().replace("/items/{id}:", "/items/{itemId}:").replace("{name: id,", "{name: itemId,"),
        {},
        id="path-parameter-renamed-is-no-change",
    ),
    pytest.param(
        spec(),
        spec().replace("info:\n", "security:\n  - apiKey: []\ninfo:\n"),
        {"api-security-added": Level.ERR},
        id="public-endpoints-now-need-credentials",
    ),
    pytest.param(
        spec().replace("info:\n", "security:\n  - oauth: [read]\ninfo:\n"),
        spec().replace("info:\n", "security:\n  - oauth: [read, write]\ninfo:\n"),
        {"api-security-scope-added": Level.ERR},
        id="security-scope-added",
    ),
    pytest.param(
        spec().replace("    delete:\n", "    delete:\n      deprecated: true\n"),
        spec().replace(
            DELETE_OP, '    get:\n      responses:\n        "200":\n          description: x\n'
        ),
        {"api-removed-with-deprecation": Level.INFO, "endpoint-added": Level.INFO},
        id="deprecated-operation-removed",
    ),
    pytest.param(
        spec().replace(
            "    delete:\n", '    delete:\n      deprecated: true\n      x-sunset: "2999-01-01"\n'
        ),
        spec().replace(
            DELETE_OP, '    get:\n      responses:\n        "200":\n          description: x\n'
        ),
        {"api-removed-before-sunset": Level.ERR, "endpoint-added": Level.INFO},
        id="deprecated-operation-removed-before-its-sunset",
    ),
    pytest.param(
        spec().replace(
            "    delete:\n",
            "    delete:\n      x-stability-level: alpha\n      parameters:\n" + FORCE,
        ),
        spec().replace("    delete:\n", "    delete:\n      x-stability-level: alpha\n"),
        {"request-parameter-removed": Level.INFO},
        id="alpha-operations-are-exempt",
    ),
]


@pytest.mark.parametrize(("base", "head", "expected"), DIFFER_CASES)
def test_the_differ_names_each_change_with_its_oasdiff_rule_and_level(
    base: str, head: str, expected: dict[str, Level]
) -> None:
    assert rules(base, head, today=dt.date(2026, 1, 1)) == expected


REQUEST_BODY = """\
openapi: 3.1.0
info: {title: Orders, version: "2"}
paths:
  /orders:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [item]
              properties:
                item: {type: string}
                note: {type: string, maxLength: 200}
                kind: {type: string, enum: [a, b]}
      responses:
        "201": {description: created}
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "required: [item]",
            "required: [item, note]",
            {"request-property-became-required": Level.ERR},
        ),
        (
            "                kind:",
            "                qty: {type: integer}\n                kind:",
            {"new-optional-request-property": Level.INFO},
        ),
        ("required: [item]", "required: [item, qty]\n              x: 1", {}),
        ("maxLength: 200", "maxLength: 20", {"request-property-max-length-decreased": Level.ERR}),
        ("enum: [a, b]", "enum: [a]", {"request-property-enum-value-removed": Level.ERR}),
        (
            "note: {type: string, maxLength: 200}",
            "note: {type: string, maxLength: 200, nullable: true}",
            {"request-property-became-nullable": Level.INFO},
        ),
        (
            "        content:",
            "        required: true\n        content:",
            {"request-body-became-required": Level.ERR},
        ),
        (
            "application/json:",
            "application/xml:",
            {
                "request-body-media-type-removed": Level.ERR,
                "request-body-media-type-added": Level.INFO,
            },
        ),
    ],
    ids=[
        "made-required",
        "optional-added",
        "unknown-required-ignored",
        "max-length",
        "enum-narrowed",
        "nullable-request",
        "body-required",
        "media-type",
    ],
)
def test_request_bodies_are_compared_in_the_request_direction(
    old: str, new: str, expected: dict[str, Level]
) -> None:
    assert old in REQUEST_BODY
    assert rules(REQUEST_BODY, REQUEST_BODY.replace(old, new)) == expected


def test_a_new_required_property_in_a_shared_component_is_reported_at_the_component() -> None:
    head = spec().replace("      required: [id]\n", "      required: [id, colour]\n")
    changes = openapi_diff.compare(load(SPEC), load(head))
    assert [(c.rule, c.side.value) for c in changes] == [
        ("response-property-became-required", "head")
    ]
    assert load(head).line(changes[0].pointer) == SPEC.splitlines().index("        colour:") + 1


def test_swagger_2_parameters_and_bodies_are_compared() -> None:
    base = textwrap.dedent("""\
        swagger: "2.0"
        info: {title: Pets, version: "1"}
        paths:
          /pets:
            post:
              parameters:
                - name: body
                  in: body
                  schema:
                    type: object
                    properties:
                      name: {type: string}
                - {name: tag, in: query, type: string, enum: [a, b]}
              responses:
                "200":
                  description: ok
                  schema: {type: object, required: [id], properties: {id: {type: string}}}
        """)
    head = base.replace("enum: [a, b]", "enum: [a]").replace("required: [id], ", "")
    head = head.replace(
        "name: {type: string}", "name: {type: string}\n            required: [name]"
    )
    assert rules(base, head) == {
        "request-property-became-required": Level.ERR,
        "request-parameter-enum-value-removed": Level.ERR,
        "response-property-became-optional": Level.ERR,
    }


# ---------------------------------------------------------------------------- documents


def test_every_node_has_its_line_and_a_missing_one_falls_back_to_its_parent() -> None:
    doc = load(SPEC)
    assert doc.line(("paths", "/items", "get", "parameters", 0, "name")) == 9
    health = SPEC.splitlines().index("  /health:") + 1
    assert doc.line(("paths", "/health")) == health
    assert doc.line(("paths", "/health", "post", "responses")) == health


def test_a_json_description_has_lines_too_escapes_included() -> None:
    text = (
        '{\n  "openapi": "3.0.3",\n  "info": {"title": "caf\\u00e9 \\/ bar"},\n'
        '  "paths": {\n    "/a": {"get": {}}\n  }\n}\n'
    )
    doc = load(text)
    assert doc.data["info"]["title"] == "café / bar"
    assert doc.position(("paths", "/a", "get")) == (5, 12)
    assert doc.line(("info", "title")) == 3


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: [1, 2\nb: 3\n", 2),
        ("a: 1\n  b: 2\n", 2),
        ("x: 1\nx: [\n", 3),
        (ALIAS_BOMB, 6),
        ("openapi: 3.0.0\npaths: &p\n  /a: *p\n", 2),
        ("[" * 100_000 + "]" * 100_000, 1),
    ],
    ids=["unclosed-flow", "bad-indent", "eof", "alias-bomb", "recursive-alias", "deep-json"],
)
def test_unreadable_yaml_says_where(text: str, line: int) -> None:
    with pytest.raises(DocumentError) as raised:
        load(text)
    assert raised.value.line == line


# ---------------------------------------------------------------------------- validation


def test_openapi_problems_are_found_at_their_line() -> None:
    broken = (
        spec()
        .replace("          description: deleted\n", "")
        .replace('"#/components/schemas/Item"', '"#/components/schemas/Missing"')
    )
    doc = load(broken)
    found = {(p.rule, doc.line(p.pointer)) for p in validate_openapi(doc).problems}
    assert found == {
        (
            "unresolved-ref",
            broken.splitlines().index('                $ref: "#/components/schemas/Missing"') + 1,
        ),
        ("invalid-openapi", broken.splitlines().index('        "204":') + 1),
    }


def test_external_references_are_never_fetched_only_listed() -> None:
    text = spec().replace('"#/components/schemas/Item"', '"https://127.0.0.1:9/item.yaml"')
    result = validate_openapi(load(text))
    assert result.problems == ()
    assert result.external_refs == ("https://127.0.0.1:9/item.yaml",)


def test_a_json_schema_is_validated_against_its_metaschema() -> None:
    text = (
        '{\n  "$schema": "https://json-schema.org/draft/2020-12/schema",\n  "type": "objekt"\n}\n'
    )
    doc = load(text)
    assert [(p.rule, doc.line(p.pointer)) for p in validate_json_schema(doc).problems] == [
        ("invalid-json-schema", 3)
    ]


# ---------------------------------------------------------------------------- places


@pytest.mark.parametrize(
    ("path", "pattern", "hit"),
    [
        ("openapi.yaml", "**/openapi.{yml,yaml,json}", True),
        ("api/v1/openapi.json", "**/openapi.{yml,yaml,json}", True),
        ("api/openapi.yaml.bak", "**/openapi.{yml,yaml,json}", False),
        ("schemas/user.schema.json", "**/*.schema.json", True),
        ("schemas/a/b.proto", "schemas/*.proto", False),
    ],
    ids=["root", "nested", "suffix", "schema", "one-level-star"],
)
def test_contract_globs(path: str, pattern: str, hit: bool) -> None:
    assert places.matches(path, [pattern]) is hit


def test_a_removed_base_line_is_shown_on_the_head_line_now_in_its_place() -> None:
    diff = textwrap.dedent("""\
        diff --git a/f.yaml b/f.yaml
        --- a/f.yaml
        +++ b/f.yaml
        @@ -1,6 +1,3 @@
         a: 1
        -b: 2
        -c: 3
        -d: 4
         e: 5
         f: 6
        @@ -20,2 +17,3 @@
         t: 1
        +u: 2
         v: 3
        """)
    patched = places.patched_file(parse_diff(diff), "f.yaml")
    assert [places.head_line(patched, n) for n in (1, 2, 3, 4, 5, 10, 21, 30)] == [
        1,
        2,
        2,
        2,
        2,
        7,
        19,
        28,
    ]


# ---------------------------------------------------------------------------- GraphQL


def test_graphql_breaking_changes_are_placed_and_the_standard_scalar_quirk_is_dropped() -> None:
    base = "type Query {\n  a: Int\n  b: String\n}\n"
    head = "type Query {\n  b(limit: Int!): String\n}\n"
    changes = graphql_compare([SdlFile("s.graphql", base)], [SdlFile("s.graphql", head)])
    found = [(c.rule, c.side.value, c.path, c.line) for c in changes]
    assert found == [
        ("field-removed", "base", "s.graphql", 2),
        ("required-arg-added", "head", "s.graphql", 2),
    ]


# ---------------------------------------------------------------------------- the gate


def test_a_pull_request_removing_an_openapi_path_fails_at_that_line(repo: Repo) -> None:
    repo.commit({"api/openapi.yaml": SPEC}, "api")
    repo.branch("change")
    removed = SPEC.replace(
        '  /health:\n    get:\n      responses:\n        "200":\n          description: alive\n', ""
    )
    repo.commit({"api/openapi.yaml": removed})

    result = repo.run(levels=L2)[GateLevel.L2]

    assert result.conclusion is Conclusion.FAILURE
    assert lines_of(result) == {("api/openapi.yaml", removed.splitlines().index("components:") + 1)}
    finding = result.new[0]
    assert finding.rule == "api-path-removed-without-deprecation"
    health = SPEC.splitlines().index("  /health:") + 1
    assert f"line {health} of the base version" in finding.message


def test_compatible_changes_pass_and_are_listed(repo: Repo) -> None:
    repo.commit({"api/openapi.yaml": SPEC}, "api")
    repo.branch("change")
    added = SPEC.replace("components:\n", READY + "components:\n")
    repo.commit({"api/openapi.yaml": added})

    result = repo.run(levels=L2)[GateLevel.L2]

    assert result.conclusion is Conclusion.SUCCESS
    assert "- `api/openapi.yaml`: GET /ready: endpoint added" in result.report
    assert "  - `api/openapi.yaml`: GET /ready: endpoint added" in to_text([result])


def test_an_invalid_spec_found_by_its_content_fails_only_for_the_new_problem(repo: Repo) -> None:
    old_problem = SPEC.replace("          description: alive\n", "")
    repo.commit({"service/api-description.yml": old_problem}, "api")
    repo.branch("change")
    new_problem = old_problem.replace("          description: deleted\n", "")
    repo.commit({"service/api-description.yml": new_problem})

    result = repo.run(levels=L2)[GateLevel.L2]

    assert result.conclusion is Conclusion.FAILURE
    assert [(f.rule, f.start_line) for f in result.new] == [
        ("invalid-openapi", new_problem.splitlines().index('        "204":') + 1)
    ]
    assert [f.rule for f in result.preexisting] == ["invalid-openapi"]


def test_graphql_and_protobuf_changes(repo: Repo) -> None:
    repo.commit(
        {
            "schema.graphql": "type Query {\n  a: Int\n  b: Int\n}\n",
            "api/v1.proto": 'syntax = "proto3";\n',
        },
        "api",
    )
    repo.branch("change")
    repo.commit(
        {
            "schema.graphql": "type Query {\n  b: Int\n}\n",
            "api/v1.proto": 'syntax = "proto3";\nmessage A {}\n',
        }
    )

    result = repo.run(levels=L2)[GateLevel.L2]

    assert [(f.path, f.rule, f.start_line) for f in result.new] == [
        ("schema.graphql", "field-removed", 2)
    ]
    if not any("buf" in tool for tool in result.tools):
        assert any("`buf` is not on PATH" in note for note in result.notes)


USER_PROTO = (
    'syntax = "proto3";\npackage api;\nmessage User {\n  string name = 1;\n  int32 age = 2;\n}\n'
)
TEAM_PROTO = (
    'syntax = "proto3";\npackage api;\nimport "api/user.proto";\n'
    "message Team {\n  repeated User users = 1;\n}\n"
)


@pytest.mark.skipif(
    shutil.which("buf") is None,
    reason="buf is not installed (.ci/run installs npm's @bufbuild/buf)",
)
def test_protobuf_breaking_changes_come_from_buf(repo: Repo) -> None:
    repo.commit({"api/user.proto": USER_PROTO, "api/team.proto": TEAM_PROTO}, "api")
    repo.branch("change")
    repo.commit({"api/user.proto": USER_PROTO.replace("  int32 age = 2;\n", "")})

    result = repo.run(levels=L2)[GateLevel.L2]

    assert result.conclusion is Conclusion.FAILURE
    assert [(f.path, f.start_line, f.rule, f.tool) for f in result.new] == [
        ("api/user.proto", 3, "FIELD_NO_DELETE", "buf")
    ]
    assert 'name "age"' in result.new[0].message


def test_a_hostile_description_is_a_finding_not_a_hang(repo: Repo) -> None:
    repo.branch("change")
    repo.commit({"openapi.yaml": "openapi: 3.0.0\n" + ALIAS_BOMB})

    result = repo.run(levels=L2)[GateLevel.L2]

    assert [(f.rule, f.start_line) for f in result.new] == [("unreadable-document", 7)]
    assert "once its YAML aliases are expanded" in result.new[0].message
    assert result.duration_seconds < 5


TYPES = "type User {\n  id: ID!\n  name: String\n}\n"
QUERY_TYPE = "type Query {\n  user(id: ID!): User\n}\n"
CLIENT_QUERY = "query GetUser($id: ID!) {\n  user(id: $id) {\n    name\n  }\n}\n"


def test_a_schema_split_over_files_is_built_whole_and_client_queries_are_left_out(
    repo: Repo,
) -> None:
    repo.commit(
        {"graphql/types.graphql": TYPES, "graphql/query.graphql": QUERY_TYPE},
        "schema",
    )
    repo.branch("change")
    repo.commit(
        {
            "graphql/types.graphql": TYPES.replace("  name: String\n", ""),
            "web/get_user.graphql": CLIENT_QUERY,
        }
    )

    result = repo.run(levels=L2)[GateLevel.L2]

    assert [(f.path, f.rule, f.start_line) for f in result.new] == [
        ("graphql/types.graphql", "field-removed", 3)
    ]
    assert "User.name was removed" in result.new[0].message


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"web/get_user.graphql": CLIENT_QUERY}, []),
        ({"web/get_user.graphql": "query {\n  user(\n"}, [("web/get_user.graphql", 3)]),
        (
            {"graphql/query.graphql": QUERY_TYPE.replace("User", "Person")},
            [("graphql/query.graphql", 2)],
        ),
    ],
    ids=["client-query-added", "syntax-error", "unknown-type"],
)
def test_graphql_files_that_are_not_a_valid_schema(
    repo: Repo, files: dict[str, str], expected: list[tuple[str, int]]
) -> None:
    repo.commit({"graphql/types.graphql": TYPES, "graphql/query.graphql": QUERY_TYPE}, "api")
    repo.branch("change")
    repo.commit(files)

    result = repo.run(levels=L2)[GateLevel.L2]

    assert [(f.path, f.start_line) for f in result.new] == expected
    assert all(f.rule == "invalid-graphql" for f in result.new)


def test_no_contract_changed_is_not_applicable(repo: Repo) -> None:
    repo.branch("change")
    repo.commit({"notes.yaml": "a: 1\n", "README.md": "# more\n"})

    result = repo.run(levels=L2)[GateLevel.L2]

    assert result.conclusion is Conclusion.NEUTRAL
    assert result.reason.startswith("not applicable: no OpenAPI")
