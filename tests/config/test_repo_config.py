"""A repository's techlead.yml merges over the defaults or fails naming key and line."""

from __future__ import annotations

import textwrap

import pytest

from bot.errors import GitHubNotFound, RepoConfigError
from bot.repo_config import (
    PermissionLevel,
    RepoConfig,
    fetch_repo_config,
    load_defaults,
    parse_repo_config,
)

DEFAULT_ROSTER = (
    "project-analyst",
    "api-architect",
    "database-expert",
    "backend-developer",
    "frontend-developer",
    "security-guardian",
    "performance-expert",
    "test-engineer",
    "code-reviewer",
    "docs-writer",
    "devops-engineer",
)


def parse(text: str) -> RepoConfig:
    return parse_repo_config(textwrap.dedent(text))


def test_defaults_hold_the_documented_values() -> None:
    config = load_defaults()
    assert config.trigger.label == "techlead"
    assert config.trigger.command == "/techlead"
    assert config.planning.require_approval is True
    assert config.planning.max_tasks == 20
    assert ".github/workflows/**" in config.planning.blocked_paths
    assert config.permissions.required("plan") is PermissionLevel.WRITE
    assert config.permissions.required("help") is PermissionLevel.READ
    assert config.permissions.required("never-heard-of") is PermissionLevel.WRITE
    assert tuple(agent.name for agent in config.agents) == DEFAULT_ROSTER


def test_every_default_agent_is_usable() -> None:
    for agent in load_defaults().agents:
        assert len(agent.description) > 40, agent.name
        assert len(agent.keywords) >= 8, agent.name
        assert agent.paths, agent.name
        assert agent.executor == "builtin"


@pytest.mark.parametrize(
    "text",
    ["", "\n", "# only a comment\n", "---\n", "planning:\n", "planning:\n  # max_tasks: 3\n"],
    ids=["empty", "blank-line", "comment", "empty-document", "empty-section", "commented-out"],
)
def test_empty_or_commented_files_give_the_defaults(text: str) -> None:
    assert parse_repo_config(text) == load_defaults()


def test_one_value_changes_and_the_rest_stay() -> None:
    config = parse(
        """
        planning:
          max_tasks: 5
          blocked_paths: [secrets/**]
        permissions:
          commands:
            plan: maintain
        """
    )
    assert config.planning.max_tasks == 5
    assert config.planning.require_approval is True
    assert config.planning.blocked_paths == ("secrets/**",)
    assert config.permissions.required("plan") is PermissionLevel.MAINTAIN
    assert config.permissions.required("help") is PermissionLevel.READ


def test_the_gates_section_merges_over_the_gate_defaults() -> None:
    config = parse("gates:\n  lint:\n    required: false\n")
    defaults = load_defaults().gates
    assert config.gates.lint.required is False
    assert config.gates.lint.fail_on == defaults.lint.fail_on
    assert config.gates.security == defaults.security


def test_an_agent_is_overridden_by_name_and_a_new_one_added() -> None:
    config = parse(
        """
        agents:
          - name: backend-developer
            keywords: [django, celery]
          - name: ml-engineer
            description: Trains and evaluates models.
            keywords: [model, training]
            paths: ["ml/**"]
            executor: "command:python -m ml.agent"
        """
    )
    backend = config.agent("backend-developer")
    default_backend = load_defaults().agent("backend-developer")
    assert backend is not None and default_backend is not None
    assert backend.keywords == ("django", "celery")
    assert backend.description == default_backend.description
    assert backend.paths == default_backend.paths
    assert [agent.name for agent in config.agents] == [*DEFAULT_ROSTER, "ml-engineer"]
    assert config.agents_replace is False


def test_agents_replace_uses_only_the_repository_roster() -> None:
    config = parse(
        """
        agents_replace: true
        agents:
          - name: solo
            description: Does everything here.
        """
    )
    assert [agent.name for agent in config.agents] == ["solo"]
    assert config.agents[0].executor == "builtin"
    assert config.agents_replace is True


INVALID = [
    (
        "unknown-top-key",
        """\
        trigger:
          label: go
        planing:
          max_tasks: 3
        """,
        "planing",
        3,
        "unknown key 'planing'; did you mean 'planning'?",
    ),
    (
        "unknown-nested-key",
        """\
        planning:
          require_approval: false
          max_taks: 3
        """,
        "planning.max_taks",
        3,
        "did you mean 'max_tasks'?",
    ),
    (
        "unknown-key-no-close-match",
        "zzz: 1\n",
        "zzz",
        1,
        "known keys here: agents, agents_replace, execution, gates",
    ),
    (
        "unknown-agent-key",
        """\
        agents:
          - name: backend-developer
            keyword: [django]
        """,
        "agents[0].keyword",
        3,
        "did you mean 'keywords'?",
    ),
    (
        "wrong-type-int",
        """\
        planning:
          max_tasks: lots
        """,
        "planning.max_tasks",
        2,
        "must be a whole number, got text 'lots'",
    ),
    (
        "wrong-type-bool",
        """\
        planning:
          require_approval: sometimes
        """,
        "planning.require_approval",
        2,
        "must be true or false",
    ),
    (
        "wrong-type-section",
        "planning: 5\n",
        "planning",
        1,
        "must be a mapping of keys to values, got a number 5",
    ),
    (
        "out-of-range",
        "planning:\n  max_tasks: 0\n",
        "planning.max_tasks",
        2,
        "must be at least 1, got 0",
    ),
    (
        "bad-permission-level",
        "permissions:\n  default: owner\n",
        "permissions.default",
        2,
        "must be one of 'none', 'read', 'triage', 'write', 'maintain' or 'admin'",
    ),
    (
        "bad-command-word",
        "trigger:\n  command: techlead\n",
        "trigger.command",
        2,
        "must be one word starting with '/'",
    ),
    (
        "gates-unknown-key",
        "gates:\n  security:\n    bandit_skip: [B101]\n",
        "gates.security.bandit_skip",
        3,
        "did you mean 'bandit_skips'?",
    ),
    (
        "gates-bad-severity",
        "gates:\n  lint:\n    fail_on: severe\n",
        "gates.lint.fail_on",
        3,
        "must be one of 'info', 'low', 'medium', 'high' or 'critical', got 'severe'",
    ),
    (
        "wrong-version",
        "version: 2\n",
        "version",
        1,
        "must be 1, got 2",
    ),
    (
        "duplicate-key",
        """\
        planning:
          max_tasks: 3
        trigger:
          label: x
        planning:
          max_tasks: 4
        """,
        "planning",
        5,
        "duplicate key 'planning' (first given on line 1)",
    ),
    (
        "duplicate-nested-key",
        "trigger:\n  label: a\n  label: b\n",
        "trigger.label",
        3,
        "duplicate key 'label'",
    ),
    (
        "agent-not-kebab",
        """\
        agents:
          - name: backend-developer
          - name: Data Wizard
            description: x
        """,
        "agents[1].name",
        3,
        "must be kebab-case",
    ),
    (
        "new-agent-without-description",
        """\
        agents:
          - name: ml-engineer
            keywords: [ml]
        """,
        "agents[0].description",
        2,
        "is required",
    ),
    (
        "agent-without-name",
        """\
        agents:
          - description: nameless
        """,
        "agents[0]",
        2,
        "every agent needs a 'name'",
    ),
    (
        "agent-given-twice",
        """\
        agents:
          - name: docs-writer
            keywords: [a]
          - name: docs-writer
            keywords: [b]
        """,
        "agents[1].name",
        4,
        "agent 'docs-writer' is given twice",
    ),
    (
        "agents-not-a-list",
        "agents:\n  backend-developer: {}\n",
        "agents",
        1,
        "must be a list of agents, got a mapping",
    ),
    (
        "bad-executor",
        """\
        agents:
          - name: test-engineer
            executor: magic
        """,
        "agents[0].executor",
        3,
        "must be 'builtin', 'llm', 'handoff' or 'command:<program>'",
    ),
    (
        "replace-without-agents",
        "agents_replace: true\n",
        "agents_replace",
        1,
        "needs an 'agents:' list of your own",
    ),
    (
        "keyword-not-text",
        """\
        agents:
          - name: test-engineer
            keywords: [pytest, 3]
        """,
        "agents[0].keywords[1]",
        3,
        "must be text",
    ),
    (
        "top-level-list",
        "- planning\n- trigger\n",
        "",
        1,
        "the top level must be a mapping of keys",
    ),
    (
        "top-level-scalar",
        "\n\njust words\n",
        "",
        3,
        "got text",
    ),
    (
        "yaml-syntax",
        """\
        planning:
          max_tasks: 3
          blocked_paths: [a, b
        trigger:
          label: x
        """,
        "",
        4,
        "not valid YAML",
    ),
    (
        "yaml-tab-indent",
        "planning:\n\tmax_tasks: 3\n",
        "",
        2,
        "not valid YAML",
    ),
    (
        "yaml-two-documents",
        "planning: {}\n---\ntrigger: {}\n",
        "",
        2,
        "not valid YAML",
    ),
    (
        "yaml-alias",
        "planning:\n  blocked_paths: &p [a]\ntrigger:\n  label: *p\n",
        "trigger.label",
        4,
        "anchors and aliases",
    ),
    (
        "yaml-python-tag",
        "planning: !!python/object:os.system {}\n",
        "planning",
        1,
        "the tag '!!python/object:os.system' is not supported",
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "line", "message"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_files_name_the_key_and_line(text: str, key: str, line: int, message: str) -> None:
    with pytest.raises(RepoConfigError) as caught:
        parse_repo_config(textwrap.dedent(text), path="repo/.github/techlead.yml")
    error = caught.value
    assert (error.key, error.line) == (key, line), str(error)
    assert message in error.message
    assert str(error).startswith(f"repo/.github/techlead.yml:{line}")


def test_the_first_problem_by_line_is_reported() -> None:
    with pytest.raises(RepoConfigError) as caught:
        parse("planning:\n  max_tasks: x\ntrigger:\n  lable: y\n")
    assert caught.value.line == 2


def test_an_oversized_file_is_refused() -> None:
    with pytest.raises(RepoConfigError, match="larger than"):
        parse_repo_config("# " + "x" * 300_000)


class FakeRepoFiles:
    """Repositories as {repo: (default branch, {branch: {path: text}})}."""

    def __init__(self, repos: dict[str, tuple[str, dict[str, dict[str, str]]]]) -> None:
        self.repos = repos
        self.reads: list[tuple[str, str, str]] = []

    def default_branch(self, repo: str) -> str:
        if repo not in self.repos:
            raise GitHubNotFound(f"{repo} not found", status=404)
        return self.repos[repo][0]

    def read_file(self, repo: str, path: str, ref: str) -> str | None:
        self.reads.append((repo, path, ref))
        return self.repos[repo][1].get(ref, {}).get(path)


FILE = ".github/techlead.yml"


@pytest.mark.parametrize(
    ("repos", "expected_label"),
    [
        (
            {"acme/app": ("trunk", {"trunk": {FILE: "trigger:\n  label: repo\n"}})},
            "repo",
        ),
        (
            {
                "acme/app": ("main", {"feature": {FILE: "trigger:\n  label: branch\n"}}),
                "acme/.github": ("main", {"main": {FILE: "trigger:\n  label: owner\n"}}),
            },
            "owner",
        ),
        ({"acme/app": ("main", {"feature": {FILE: "trigger:\n  label: branch\n"}})}, "techlead"),
        ({"acme/app": ("main", {})}, "techlead"),
    ],
    ids=["default-branch", "owner-fallback-not-other-branch", "no-owner-repo", "nothing"],
)
def test_config_is_read_from_the_default_branch_only(
    repos: dict[str, tuple[str, dict[str, dict[str, str]]]], expected_label: str
) -> None:
    files = FakeRepoFiles(repos)
    config = fetch_repo_config(files, "acme/app")
    assert config.trigger.label == expected_label
    assert all(ref == repos[repo][0] for repo, _, ref in files.reads)


def test_an_invalid_owner_file_names_where_it_lives() -> None:
    files = FakeRepoFiles(
        {
            "acme/app": ("main", {}),
            "acme/.github": ("main", {"main": {FILE: "planning:\n  max_tasks: -1\n"}}),
        }
    )
    with pytest.raises(RepoConfigError) as caught:
        fetch_repo_config(files, "acme/app")
    assert str(caught.value).startswith("acme/.github:.github/techlead.yml:2")
