"""The pure parts of git smart HTTP: request shapes, Basic credentials, CGI heads, ref diffs."""

from __future__ import annotations

import base64

import pytest

from bot.sandbox.git_http import (
    Denied,
    GitRequest,
    RefUpdate,
    Service,
    basic_token,
    parse_cgi_headers,
    parse_request,
    ref_changes,
)

A, B = "a" * 40, "b" * 40


def basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    ("method", "rest", "query", "expected"),
    [
        ("GET", "info/refs", "service=git-upload-pack", (Service.UPLOAD_PACK, True)),
        ("GET", "info/refs", "service=git-receive-pack", (Service.RECEIVE_PACK, True)),
        ("POST", "git-upload-pack", "", (Service.UPLOAD_PACK, False)),
        ("POST", "git-receive-pack", "", (Service.RECEIVE_PACK, False)),
    ],
    ids=["advertise-fetch", "advertise-push", "fetch", "push"],
)
def test_parse_request_recognises_the_smart_protocol(
    method: str, rest: str, query: str, expected: tuple[Service, bool]
) -> None:
    request = parse_request(method, "octo", "app", rest, query)

    assert request == GitRequest("octo", "app", *expected)
    assert request.path_info == ("info/refs" if expected[1] else expected[0].value)


@pytest.mark.parametrize(
    ("method", "rest", "query"),
    [("GET", "HEAD", ""), ("GET", "info/refs", ""), ("GET", "info/refs", "service=git-x"),
     ("GET", "git-upload-pack", ""), ("POST", "info/refs", "service=git-upload-pack"),
     ("POST", "objects/pack", "")],
    ids=["dumb-head", "dumb-refs", "unknown-service", "rpc-by-get", "refs-by-post", "objects"],
)  # fmt: skip
def test_parse_request_refuses_everything_else(method: str, rest: str, query: str) -> None:
    with pytest.raises(Denied) as caught:
        parse_request(method, "octo", "app", rest, query)
    assert caught.value.status == 404


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        (basic("x-access-token:ghs_abc"), "ghs_abc"),
        (basic("octocat:ghp_abc"), "ghp_abc"),
        (basic("ghp_abc:x-oauth-basic"), "ghp_abc"),
        (basic("ghp_abc:"), "ghp_abc"),
    ],
    ids=["none", "x-access-token", "login", "token-as-user", "blank-password"],
)
def test_basic_token_finds_the_token(header: str | None, token: str | None) -> None:
    assert basic_token(header) == token


@pytest.mark.parametrize(
    "header",
    ["Bearer ghp_abc", "Basic !!!notbase64", basic(":"), "Basic /w=="],
    ids=["wrong-scheme", "not-base64", "empty-pair", "not-utf8"],
)
def test_basic_token_refuses_malformed_headers_with_401(header: str) -> None:
    with pytest.raises(Denied) as caught:
        basic_token(header)
    assert caught.value.status == 401
    assert caught.value.response().headers["WWW-Authenticate"] == 'Basic realm="GitHub"'


def test_parse_cgi_headers_reads_status_and_headers() -> None:
    raw = b"Status: 403 Forbidden\r\nContent-Type: text/plain\r\nExpires: never\r\n"

    assert parse_cgi_headers(raw) == (403, [("Content-Type", "text/plain"), ("Expires", "never")])
    assert parse_cgi_headers(b"Content-Type: x\n") == (200, [("Content-Type", "x")])


def test_ref_changes_lists_created_moved_and_deleted_refs() -> None:
    before = {"refs/heads/main": A, "refs/heads/old": A, "refs/heads/same": B}
    after = {"refs/heads/main": B, "refs/heads/new": B, "refs/heads/same": B}

    changes = ref_changes(before, after)

    assert changes == [
        RefUpdate("refs/heads/main", A, B),
        RefUpdate("refs/heads/new", "0" * 40, B),
        RefUpdate("refs/heads/old", A, "0" * 40),
    ]
    assert [(c.created, c.deleted) for c in changes] == [
        (False, False),
        (True, False),
        (False, True),
    ]
