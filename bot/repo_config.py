"""Loads and validates a repository's ``.github/techlead.yml`` over the shipped defaults.

The schema lives here as frozen pydantic models; every default value lives in
``config/techlead.yml``, ``config/agents.yml`` and ``config/gates.yml``
(see :func:`bot.defaults.config_dir`).
A repository's file is deep-merged over the defaults and validated once:

* mappings merge key by key; lists and plain values replace the default;
* a key given no value (``planning:`` with everything commented out) keeps its default;
* ``agents:`` entries are matched to the default roster **by name**: an entry naming a
  default agent changes only the keys it gives, a new name adds an agent (it then needs
  at least ``name`` and ``description``); ``agents_replace: true`` drops the default
  roster and uses only the repository's agents.

Errors are :class:`bot.errors.RepoConfigError` carrying the key path and the line in the
repository's file. The file is read from the default branch only, never from a pull
request's head, so a pull request cannot change the rules it is judged by.
"""

from __future__ import annotations

import copy
import difflib
import enum
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic import model_validator as _model_validator

from bot.defaults import config_file
from bot.errors import GitHubNotFound, RepoConfigError
from bot.ports import RepoFiles
from gates.config import GatesConfig

CONFIG_PATH = ".github/techlead.yml"
# The owner-wide fallback repository, as Probot does: <owner>/.github.
OWNER_CONFIG_REPO = ".github"
# Nothing legitimate comes close; a cap keeps a hostile file from costing much.
MAX_CONFIG_BYTES = 256 * 1024
DEFAULT_FILES = ("techlead.yml", "agents.yml", "gates.yml")

_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EXECUTOR = re.compile(r"^(builtin|llm|command:\S.*)$")

KeyPath = tuple[str | int, ...]


class PermissionLevel(enum.StrEnum):
    """A collaborator's permission on a repository, as GitHub reports it."""

    NONE = "none"
    READ = "read"
    TRIAGE = "triage"
    WRITE = "write"
    MAINTAIN = "maintain"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _LEVEL_ORDER.index(self)


_LEVEL_ORDER = list(PermissionLevel)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TriggerConfig(_Frozen):
    """How people start TechLead: an issue label and a comment command prefix."""

    label: str = Field(min_length=1, max_length=50)
    command: str

    @field_validator("command")
    @classmethod
    def _slash_word(cls, value: str) -> str:
        if not re.fullmatch(r"/\S+", value):
            raise ValueError(f"must be one word starting with '/', like '/techlead', got {value!r}")
        return value


class PermissionsConfig(_Frozen):
    """Minimum permission per command (``commands``), else ``default``.

    ``allow_users`` are always allowed and ``deny_users`` never (deny wins); logins
    compare case-insensitively, as GitHub logins do. Bots are never allowed.
    """

    default: PermissionLevel
    commands: Mapping[str, PermissionLevel]
    allow_users: tuple[str, ...]
    deny_users: tuple[str, ...]

    def required(self, command: str) -> PermissionLevel:
        return self.commands.get(command.lower(), self.default)


class AgentSpec(_Frozen):
    """One specialist in the roster.

    ``keywords`` match task text to the agent; ``paths`` are the globs it owns;
    ``executor`` is ``builtin``, ``llm`` or ``command:<program and args>``.
    """

    name: str = Field(min_length=1, max_length=60)
    description: str = Field(min_length=1)
    keywords: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    executor: str = "builtin"

    @field_validator("name")
    @classmethod
    def _kebab_case(cls, value: str) -> str:
        if not _KEBAB.match(value):
            raise ValueError(f"must be kebab-case (like 'backend-developer'), got {value!r}")
        return value

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: str) -> str:
        if not _EXECUTOR.match(value):
            raise ValueError(f"must be 'builtin', 'llm' or 'command:<program>', got {value!r}")
        return value


class PlanningConfig(_Frozen):
    """How plans are made: approval, size, research budget and never-touch paths."""

    require_approval: bool
    max_tasks: int = Field(ge=1, le=200)
    research_budget_seconds: float = Field(gt=0, le=600)
    blocked_paths: tuple[str, ...]


class RepoConfig(_Frozen):
    """The validated, merged configuration of one repository.

    ``agents_replace`` records whether the repository's ``agents:`` replaced the default
    roster (true) or was merged into it by name (false). ``gates`` is the quality-gate
    section (:class:`gates.config.GatesConfig`).
    """

    version: Literal[1]
    trigger: TriggerConfig
    permissions: PermissionsConfig
    agents_replace: bool
    agents: tuple[AgentSpec, ...] = Field(min_length=1)
    planning: PlanningConfig
    gates: GatesConfig

    @_model_validator(mode="after")
    def _unique_agent_names(self) -> RepoConfig:
        seen: set[str] = set()
        for agent in self.agents:
            if agent.name in seen:
                raise ValueError(f"agent {agent.name!r} appears twice in the roster")
            seen.add(agent.name)
        return self

    def agent(self, name: str) -> AgentSpec | None:
        return next((agent for agent in self.agents if agent.name == name), None)


# ---------------------------------------------------------------------------- loading


@functools.cache
def _default_data() -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in DEFAULT_FILES:
        path = config_file(name)
        loaded = _load_document(path.read_text(encoding="utf-8"), str(path))
        data.update(loaded.data)
    return data


def load_defaults() -> RepoConfig:
    """The shipped defaults, validated (no repository file)."""
    return _validate(copy.deepcopy(_default_data()), _Document({}, {}), {}, "defaults")


def parse_repo_config(text: str, *, path: str = CONFIG_PATH) -> RepoConfig:
    """Validate a repository's file merged over the defaults; empty text gives the defaults."""
    if len(text.encode("utf-8", errors="replace")) > MAX_CONFIG_BYTES:
        raise RepoConfigError(f"the file is larger than {MAX_CONFIG_BYTES} bytes", path=path)
    document = _load_document(text, path)
    merged, origin = _merge(_default_data(), document, path)
    return _validate(merged, document, origin, path)


def fetch_repo_config(github: RepoFiles, repo: str) -> RepoConfig:
    """Read ``.github/techlead.yml`` from ``repo``'s default branch, else from
    ``<owner>/.github``'s default branch, else use the defaults.

    Never reads a pull request's head. An invalid file raises RepoConfigError (so the
    person who wrote it hears why) rather than silently falling back.
    """
    owner = repo.split("/", 1)[0]
    for candidate in (repo, f"{owner}/{OWNER_CONFIG_REPO}"):
        text = _read_default_branch(github, candidate)
        if text is not None:
            label = CONFIG_PATH if candidate == repo else f"{candidate}:{CONFIG_PATH}"
            return parse_repo_config(text, path=label)
    return load_defaults()


def _read_default_branch(github: RepoFiles, repo: str) -> str | None:
    try:
        branch = github.default_branch(repo)
        return github.read_file(repo, CONFIG_PATH, branch)
    except GitHubNotFound:
        return None


def config_json_schema() -> dict[str, Any]:
    """JSON Schema of a repository's file, for editor completion.

    Every key is optional (the defaults fill in) and each top-level key carries its
    default value; an agent entry needs only ``name``.
    """
    schema = RepoConfig.model_json_schema(mode="validation")
    schema["title"] = "TechLead repository configuration (.github/techlead.yml)"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    _relax(schema, _default_data())
    for name, definition in schema.get("$defs", {}).items():
        # An entry naming a default agent may give only the keys it changes.
        definition["required"] = ["name"] if name == AgentSpec.__name__ else []
        if not definition["required"]:
            del definition["required"]
    return schema


def _relax(schema: dict[str, Any], defaults: Mapping[str, Any]) -> None:
    schema.pop("required", None)
    for key, prop in schema.get("properties", {}).items():
        if key in defaults:
            prop["default"] = defaults[key]


# ---------------------------------------------------------------------------- YAML


class _Document:
    """Parsed YAML: the data and the 1-based line of every key path in it."""

    def __init__(self, data: dict[str, Any], lines: dict[KeyPath, int]) -> None:
        self.data = data
        self.lines = lines

    def line(self, path: KeyPath) -> int | None:
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def _load_document(text: str, path: str) -> _Document:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return _Document({}, {})
        lines = _index_lines(node, (), {}, set(), path)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, path) from exc
    except yaml.YAMLError as exc:
        raise RepoConfigError(f"not valid YAML: {exc}", path=path) from exc
    finally:
        loader.dispose()
    if data is None:
        return _Document({}, {})
    if not isinstance(data, dict):
        raise RepoConfigError(
            f"the top level must be a mapping of keys (like 'planning:'), got {_kind(data)}",
            line=node.start_mark.line + 1,
            path=path,
        )
    return _Document(data, lines)


def _syntax_error(exc: yaml.MarkedYAMLError, path: str) -> RepoConfigError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid syntax"
    line = mark.line + 1 if mark is not None else None
    return RepoConfigError(f"not valid YAML: {problem}", line=line, path=path)


def _index_lines(
    node: yaml.Node, at: KeyPath, lines: dict[KeyPath, int], seen: set[int], path: str
) -> dict[KeyPath, int]:
    """Map key paths to lines; reject duplicate keys and anchors/aliases on the way."""
    seen.add(id(node))
    for child_path, child, line in _children(node, at, path):
        if id(child) in seen:
            # An alias is the anchored node itself again: refuse it (and its blow-up).
            raise RepoConfigError(
                "anchors and aliases (&name / *name) are not supported",
                key=_format_key(child_path),
                line=line,
                path=path,
            )
        lines[child_path] = line
        _index_lines(child, child_path, lines, seen, path)
    return lines


def _children(node: yaml.Node, at: KeyPath, path: str) -> Iterator[tuple[KeyPath, yaml.Node, int]]:
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield (*at, index), item, item.start_mark.line + 1
    elif isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise RepoConfigError(
                    f"duplicate key {key!r} (first given on line {first_line[key]})",
                    key=_format_key((*at, key)),
                    line=line,
                    path=path,
                )
            first_line[key] = line
            yield (*at, key), value_node, line


# ---------------------------------------------------------------------------- merging


def _merge(
    defaults: Mapping[str, Any], document: _Document, path: str
) -> tuple[dict[str, Any], dict[int, int]]:
    """Deep-merge the repository's data over the defaults.

    Returns the merged data and, for the agents roster, which entry of the repository's
    ``agents:`` list each merged agent came from (to point errors at the right line).
    """
    user = dict(document.data)
    user_agents = user.pop("agents", None)
    merged = _deep_merge(defaults, {k: v for k, v in user.items() if k != "agents"})
    replace = merged.get("agents_replace") is True
    if user_agents is None and replace:
        raise RepoConfigError(
            "replacing the roster needs an 'agents:' list of your own",
            key="agents_replace",
            line=document.line(("agents_replace",)),
            path=path,
        )
    if user_agents is None:
        return merged, {}
    roster, origin = _merge_agents(
        [] if replace else list(defaults.get("agents", [])), user_agents, document, path
    )
    merged["agents"] = roster
    return merged, origin


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is None and key in result:
            continue
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_agents(
    roster: list[Any], entries: Any, document: _Document, path: str
) -> tuple[list[Any], dict[int, int]]:
    if not isinstance(entries, list):
        raise RepoConfigError(
            f"must be a list of agents, got {_kind(entries)}",
            key="agents",
            line=document.line(("agents",)),
            path=path,
        )
    merged = [copy.deepcopy(agent) for agent in roster]
    position = {agent.get("name"): i for i, agent in enumerate(merged)}
    origin: dict[int, int] = {}
    for index, entry in enumerate(entries):
        name = _agent_name(entry, index, document, path)
        if name in position and position[name] in origin:
            raise RepoConfigError(
                f"agent {name!r} is given twice",
                key=f"agents[{index}].name",
                line=document.line(("agents", index, "name")),
                path=path,
            )
        if name in position:
            merged[position[name]] = _deep_merge(merged[position[name]], entry)
        else:
            position[name] = len(merged)
            merged.append(copy.deepcopy(entry))
        origin[position[name]] = index
    return merged, origin


def _agent_name(entry: Any, index: int, document: _Document, path: str) -> str:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        raise RepoConfigError(
            "every agent needs a 'name' (like 'name: backend-developer')",
            key=f"agents[{index}]",
            line=document.line(("agents", index)),
            path=path,
        )
    return str(entry["name"])


# ---------------------------------------------------------------------------- validation


def _validate(
    merged: dict[str, Any], document: _Document, origin: Mapping[int, int], path: str
) -> RepoConfig:
    try:
        return RepoConfig.model_validate(merged)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = min(errors, key=lambda e: document.line(_user_loc(e["loc"], origin)) or 10**9)
        raise _explain(first, document, origin, path) from None


def _user_loc(loc: tuple[Any, ...], origin: Mapping[int, int]) -> KeyPath:
    """Translate a merged-roster index back to the repository file's ``agents`` index."""
    if len(loc) >= 2 and loc[0] == "agents" and isinstance(loc[1], int):
        if loc[1] in origin:
            return ("agents", origin[loc[1]], *loc[2:])
        return ("agents",)
    return tuple(loc)


def _explain(
    error: Mapping[str, Any], document: _Document, origin: Mapping[int, int], path: str
) -> RepoConfigError:
    loc = _user_loc(error["loc"], origin)
    if error["type"] == "extra_forbidden":
        message = _unknown_key_message(tuple(error["loc"]))
    else:
        message = _plain_message(error)
    return RepoConfigError(message, key=_format_key(loc), line=document.line(loc), path=path)


def _unknown_key_message(loc: tuple[Any, ...]) -> str:
    key = str(loc[-1])
    known = sorted(_known_keys(loc[:-1]))
    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    if known:
        return f"{message}; known keys here: {', '.join(known)}"
    return message


def _known_keys(loc: tuple[Any, ...]) -> set[str]:
    """Field names of the model found by following ``loc`` down from RepoConfig."""
    annotation: Any = RepoConfig
    for part in loc:
        if isinstance(part, int):
            annotation = get_args(annotation)[0]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = annotation.model_fields[part].annotation
        else:
            return set()
    if get_origin(annotation) is tuple:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return set(annotation.model_fields)
    return set()


_PLAIN: dict[str, str] = {
    "missing": "is required",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text (put it in quotes if it looks like a number)",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "string_too_short": "must not be empty",
    "too_short": "must list at least one entry",
}

_BOUNDS: dict[str, tuple[str, str]] = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("more than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def _plain_message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    given = error.get("input")
    if kind in ("missing", "string_too_short", "too_short"):
        return _PLAIN[kind]
    if kind in _BOUNDS:
        phrase, bound = _BOUNDS[kind]
        return f"must be {phrase} {error.get('ctx', {}).get(bound)}, got {_show(given)}"
    if kind == "literal_error":
        return f"must be {error.get('ctx', {}).get('expected', '')}, got {_show(given)}"
    if kind in _PLAIN:
        return f"{_PLAIN[kind]}, got {_kind(given)} {_show(given)}".rstrip()
    if kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}, got {_show(given)}"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return f"{error['msg'][0].lower()}{error['msg'][1:]}, got {_show(given)}"


def _kind(value: Any) -> str:
    names = {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing",
    }
    return names.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None:
        return ""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _format_key(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
