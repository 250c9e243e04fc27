"""The pure helpers behind the workspace: URLs, refs, redaction, git output parsing."""

from __future__ import annotations

import pytest

from bot.errors import WorkspaceError
from bot.workspace import (
    check_ref,
    config_env,
    describe_failure,
    full_ref,
    git_remote_url,
    parse_ls_tree,
    parse_push_porcelain,
    redact,
)


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        ("https://api.github.com", "https://github.com/octo/app.git"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com/octo/app.git"),
        ("http://127.0.0.1:8123/api/v3/", "http://127.0.0.1:8123/octo/app.git"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123/octo/app.git"),
    ],
    ids=["github.com", "ghes", "sandbox-api-v3", "sandbox-root"],
)
def test_git_remote_url_follows_the_api_host(api_url: str, expected: str) -> None:
    assert git_remote_url(api_url, "octo/app") == expected


@pytest.mark.parametrize(
    "ref",
    ["main", "techlead/T1", "refs/pull/12/head", "v1.2.3", "a" * 40],
    ids=["branch", "nested", "pull-ref", "dotted", "sha"],
)
def test_check_ref_accepts_ordinary_refs(ref: str) -> None:
    assert check_ref(ref) == ref


@pytest.mark.parametrize(
    "ref",
    ["-f", ".hidden", "a/.b", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b",
     "@{1}", "a//b", "/a", "a/", "a.", "a.lock", "a.lock/b", "tab\there", ""],
)  # fmt: skip
def test_check_ref_refuses_what_git_would_refuse_or_misread(ref: str) -> None:
    with pytest.raises(WorkspaceError, match="not a valid git ref"):
        check_ref(ref)


def test_full_ref_expands_branch_names_only() -> None:
    assert full_ref("main") == "refs/heads/main"
    assert full_ref("refs/tags/v1") == "refs/tags/v1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fatal: token s3cret rejected", "fatal: token *** rejected"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("authorization: bearer abc.def", "authorization: bearer ***"),
        ("https://x-access-token:abc@github.com/o/r", "https://***@github.com/o/r"),
        ("nothing to hide", "nothing to hide"),
    ],
    ids=["known-secret", "basic-header", "bearer-lowercase", "url-userinfo", "clean"],
)
def test_redact_removes_secrets_headers_and_userinfo(text: str, expected: str) -> None:
    assert redact(text, ["s3cret"]) == expected


def test_config_env_numbers_keys_and_values() -> None:
    assert config_env([("a.b", "1"), ("c.d", "")]) == {
        "GIT_CONFIG_KEY_0": "a.b",
        "GIT_CONFIG_VALUE_0": "1",
        "GIT_CONFIG_KEY_1": "c.d",
        "GIT_CONFIG_VALUE_1": "",
        "GIT_CONFIG_COUNT": "2",
    }
    assert config_env([]) == {"GIT_CONFIG_COUNT": "0"}


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("To x\n=\tabc:refs/heads/b\t[up to date]\nDone\n", ("=", "[up to date]")),
        ("To x\n*\tabc:refs/heads/b\t[new branch]\nDone\n", ("*", "[new branch]")),
        ("To x\n \tabc:refs/heads/b\t1..2\nDone\n", (" ", "1..2")),
        ("!\tabc:refs/heads/b\t[rejected] (stale info)\n", ("!", "[rejected] (stale info)")),
        ("To x\n*\tabc:refs/heads/bb\t[new branch]\nDone\n", (None, "")),
        ("", (None, "")),
    ],
    ids=["up-to-date", "new", "fast-forward", "stale", "other-ref", "empty"],
)  # fmt: skip
def test_parse_push_porcelain(output: str, expected: tuple[str | None, str]) -> None:
    assert parse_push_porcelain(output, "refs/heads/b") == expected


def test_parse_ls_tree_handles_odd_names_and_submodules() -> None:
    raw = (
        b"100644 blob " + b"a" * 40 + b"      12\tdir/with space.txt\0"
        b"160000 commit " + b"b" * 40 + b"       -\tvendor/lib\0"
    )
    entries = parse_ls_tree(raw)

    assert [(e.path, e.kind, e.size) for e in entries] == [
        ("dir/with space.txt", "blob", 12),
        ("vendor/lib", "commit", None),
    ]


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        ("fatal: unable to access 'u': The requested URL returned error: 403", "permission denied"),
        ("fatal: could not read Username for 'http://h': prompts disabled", "authentication"),
        ("Timeout: the command did not complete in 1 secs.", "timed out"),
        ("warning: x\nfatal: something odd\n", "fatal: something odd"),
        ("", "no output"),
    ],
    ids=["403", "401-prompt", "timeout", "last-line", "silent"],
)  # fmt: skip
def test_describe_failure_says_what_went_wrong(stderr: str, expected: str) -> None:
    assert expected in describe_failure(stderr)
