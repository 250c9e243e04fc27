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

Anyone who can push to the default branch writes this file, and every planning job and
gate run reads it, so a hostile file must cost little and fail as a RepoConfigError like
any other mistake: it is refused before parsing when too large, not UTF-8 or holding
control characters; parsed by a bounded safe loader (no deep nesting, no aliases, no
tags beyond plain YAML values, keys that are text); and the error's text is clipped to fit
where it is shown.
"""

from __future__ import annotations

import codecs
import copy
import datetime
import difflib
import enum
import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic import model_validator as _model_validator
from yaml.events import AliasEvent, CollectionStartEvent

from bot.defaults import config_file
from bot.errors import GitHubNotFound, RepoConfigError
from bot.ports import RepoFiles
from gates.config import GatesConfig

CONFIG_PATH = ".github/techlead.yml"
# The owner-wide fallback repository, as Probot does: <owner>/.github.
OWNER_CONFIG_REPO = ".github"
# The shipped defaults, comments and all, are about 10 KiB. The pure-Python parser costs
# up to ~10 µs and ~400 bytes of memory per byte of YAML (a flow list of one-character
# items), so this cap bounds every planning job and gate run to well under a second.
MAX_CONFIG_BYTES = 64 * 1024
# The shipped defaults nest four levels; PyYAML composes recursively, so the bound is what
# keeps "[" * 1000 from being a RecursionError.
MAX_NESTING = 64
# Keys, values and list items: the shipped defaults hold about 500. Parsing costs about
# 20 µs per value, so this bounds the time a file full of tiny values takes.
MAX_VALUES = 10_000
# Longer integer literals are not converted (Python refuses more than 4,300 digits anyway).
MAX_INT_DIGITS = 100
# Error text is shown in issue comments and check-run titles; a key or a quoted value in a
# hostile file can be as long as the file.
MAX_MESSAGE_CHARS = 500
MAX_KEY_CHARS = 200
DEFAULT_FILES = ("techlead.yml", "agents.yml", "gates.yml")

_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EXECUTOR = re.compile(r"^(builtin|llm|handoff|command:\S.*)$")

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
    # ``.nan`` passes every bound (each comparison is false) and ``.inf`` means nothing in a
    # count or a budget: both are refused as "must be a finite number".
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class TriggerConfig(_Frozen):
    """How people start TechLead: an issue label and a comment command prefix."""

    label: str = Field(
        min_length=1,
        max_length=50,
        description="Adding this label to an issue asks TechLead to research and plan it.",
    )
    command: str = Field(
        description="Comments starting with this word are commands, like '/techlead plan'."
    )

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

    default: PermissionLevel = Field(
        description="Minimum permission for any command not listed in `commands`."
    )
    commands: Mapping[str, PermissionLevel] = Field(
        description="Minimum permission per command (help, status, plan, approve, run, ...)."
    )
    allow_users: tuple[str, ...] = Field(
        description="Logins always allowed, whatever their permission (never a bot)."
    )
    deny_users: tuple[str, ...] = Field(description="Logins never allowed; deny wins over allow.")

    def required(self, command: str) -> PermissionLevel:
        return self.commands.get(command.lower(), self.default)


class AgentSpec(_Frozen):
    """One specialist in the roster.

    ``keywords`` match task text to the agent; ``paths`` are the globs it owns;
    ``executor`` is ``builtin``, ``llm``, ``handoff`` or ``command:<program and args>``.
    """

    name: str = Field(
        min_length=1,
        max_length=60,
        description="Kebab-case name; an entry naming a default agent changes only its given keys.",
    )
    description: str = Field(
        min_length=1, description="What the agent does; a new agent needs one."
    )
    keywords: tuple[str, ...] = Field(
        (), description="Words in a task's text that match the task to this agent."
    )
    paths: tuple[str, ...] = Field((), description="Globs of the files this agent owns.")
    executor: str = Field(
        "builtin",
        description="Who carries out its tasks: builtin, llm, handoff or command:<program>.",
    )

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
            raise ValueError(
                f"must be 'builtin', 'llm', 'handoff' or 'command:<program>', got {value!r}"
            )
        return value


class PlanningConfig(_Frozen):
    """How plans are made: approval, size, research budget, never-touch paths and the
    planner (``deterministic``, or ``llm``: the model TECHLEAD_LLM_* configures, held to
    the deterministic planner's guards and falling back to it)."""

    require_approval: bool = Field(
        description="Wait for '/techlead approve' before executing a plan."
    )
    max_tasks: int = Field(ge=1, le=200, description="Plans with more tasks are split or refused.")
    research_budget_seconds: float = Field(
        gt=0,
        le=600,
        description="Wall-clock budget for researching the repository before planning.",
    )
    blocked_paths: tuple[str, ...] = Field(
        description="Globs no agent may change, whatever an issue asks (checked on every diff)."
    )
    planner: Literal["deterministic", "llm"] = Field(
        "deterministic",
        description="Who splits issues into tasks: deterministic or llm (a TECHLEAD_LLM_* model).",
    )


class ExecutionConfig(_Frozen):
    """How an approved plan is carried out: parallelism, merging, policy, branch names."""

    max_parallel: int = Field(
        ge=1,
        le=32,
        description="Tasks of one plan running at once (executing or waiting for their gates).",
    )
    auto_approve: bool = Field(
        description="Start executing as soon as a plan is made, without waiting for approval."
    )
    require_review: int = Field(
        ge=0,
        le=10,
        description="Approving reviews a task pull request needs to be merged (0: gates only).",
    )
    dry_run: bool = Field(
        description="Show on the checklist what would be created, and create nothing."
    )
    keep_branches: bool = Field(
        description="Keep task branches after their pull requests are merged or closed."
    )
    allow_workflow_edits: bool = Field(
        description="Let agents change .github/workflows/** (refused otherwise)."
    )
    add_only: bool = Field(
        description="Agents may only add files, never modify or delete existing ones."
    )
    max_changed_files: int = Field(
        ge=1, le=10_000, description="Files one task's change may touch."
    )
    max_changed_lines: int = Field(
        ge=1, le=1_000_000, description="Changed lines one task's change may have."
    )
    task_seconds: float = Field(
        gt=0,
        le=86_400,
        description="Wall-clock limit of one executor run; its process group is killed after it.",
    )
    max_attempts: int = Field(
        ge=1,
        le=10,
        description="Failed attempts of a task before TechLead stops and mentions the maintainers.",
    )
    integration_branch: str = Field(
        min_length=1,
        max_length=200,
        description="Integration branch name; fields: {issue}, {slug} (the issue title).",
    )
    task_branch: str = Field(
        min_length=1,
        max_length=200,
        description="Task branch name; fields: {issue}, {slug}, {task} (T3), {task_slug}.",
    )
    maintainers: tuple[str, ...] = Field(description="Logins mentioned when a task fails for good.")
    handoff_assignees: tuple[str, ...] = Field(
        description="Logins assigned to hand-off pull requests (tasks no executor can do)."
    )


class ReviewScope(enum.StrEnum):
    """Which pull requests the reviewers comment on."""

    ALL = "all"
    TECHLEAD = "techlead"  # TechLead's own task and integration pull requests
    LABELLED = "labelled"  # pull requests carrying ``reviews.label``


class ReviewsConfig(_Frozen):
    """The code-review, security and docs reviewers: which run, where, how strictly."""

    enabled: bool = Field(description="Run the reviewers at all.")
    streams: tuple[Literal["code-review", "security", "docs"], ...] = Field(
        description="Which reviewers comment: code-review, security, docs."
    )
    pull_requests: ReviewScope = Field(
        description="Which pull requests: all, techlead (its own) or labelled (carrying `label`)."
    )
    label: str = Field(
        min_length=1,
        max_length=50,
        description="The label that selects a pull request when `pull_requests` is labelled.",
    )
    drafts: bool = Field(description="Review draft pull requests too.")
    request_changes: bool = Field(
        description="Request changes, not just comment, when a blocking security finding is new."
    )
    docs_required: bool = Field(
        description="Ask for README/CHANGELOG/docs changes when public functions or classes change."
    )
    complexity_threshold: int = Field(
        ge=1,
        le=1000,
        description="Flag a changed function whose cyclomatic complexity grows past this.",
    )
    max_function_lines: int = Field(
        ge=1, le=100_000, description="Flag a changed function longer than this many lines."
    )


class RepoConfig(_Frozen):
    """The validated, merged configuration of one repository.

    ``agents_replace`` records whether the repository's ``agents:`` replaced the default
    roster (true) or was merged into it by name (false). ``gates`` is the quality-gate
    section (:class:`gates.config.GatesConfig`).
    """

    version: Literal[1] = Field(description="The file format's version; always 1.")
    trigger: TriggerConfig = Field(
        description="How people start TechLead: an issue label and a comment command prefix."
    )
    permissions: PermissionsConfig = Field(
        description="Minimum collaborator permission per command, and allow/deny lists."
    )
    agents_replace: bool = Field(
        description="Use only the repository's agents instead of merging them into the defaults."
    )
    agents: tuple[AgentSpec, ...] = Field(
        min_length=1,
        description="The specialist roster; entries are merged into the default roster by name.",
    )
    planning: PlanningConfig = Field(description="How plans are made.")
    gates: GatesConfig = Field(description="The quality gates run on pull requests (L1 to L5).")
    execution: ExecutionConfig = Field(description="How an approved plan is carried out.")
    reviews: ReviewsConfig = Field(description="The code-review, security and docs reviewers.")

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


def parse_repo_config(source: str | bytes, *, path: str = CONFIG_PATH) -> RepoConfig:
    """Validate a repository's file merged over the defaults; empty text gives the defaults.

    ``source`` is the file's text, or its raw bytes (then it must be UTF-8). Whatever the
    file holds, the only error raised is RepoConfigError.
    """
    document = _load_document(_text_of(source, path), path)
    merged, origin = _merge(_default_data(), document, path)
    return _validate(merged, document, origin, path)


def parse_repo_config_file(file: Path, *, path: str | None = None) -> RepoConfig:
    """Validate a local file (``path`` names it in errors; the file's own path by default).

    Reads at most one byte more than the size cap, so a huge file (or a device) costs
    nothing before it is refused.
    """
    label = path or str(file)
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise _error(f"cannot read the file: {exc.strerror or exc}", path=label) from exc
    return parse_repo_config(data, path=label)


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


# ---------------------------------------------------------------------------- text

TOO_LARGE = "the file is larger than {limit} bytes; TechLead reads at most that much"
WIDE_ENCODING = "the file is UTF-16 or UTF-32 (it is full of NUL bytes); save it as UTF-8"
NOT_UTF8 = "column {column} is not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8"
REPLACED = (
    "column {column} holds U+FFFD, the mark of bytes that were not UTF-8; save the file as UTF-8"
)
UNPRINTABLE = "column {column} holds {what} U+{code:04X}, which YAML does not allow; remove it"

# YAML's printable characters (https://yaml.org/spec/1.2.2/#51-character-set), less
# U+FFFD: a lenient decoder leaves it where the file's bytes were not UTF-8.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffc\U00010000-\U0010ffff]")
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _text_of(source: str | bytes, path: str) -> str:
    """The file as text, refused before parsing when too large or not plain UTF-8 text."""
    if _size(source) > MAX_CONFIG_BYTES:
        raise _error(TOO_LARGE.format(limit=MAX_CONFIG_BYTES), path=path)
    text = _decode(source, path) if isinstance(source, bytes) else source
    _check_characters(text, path)
    return text


def _size(source: str | bytes) -> int:
    """Bytes in UTF-8; a text of more characters than the cap is too large unencoded."""
    if isinstance(source, bytes) or len(source) > MAX_CONFIG_BYTES:
        return len(source)
    return len(source.encode("utf-8", errors="surrogatepass"))


def _decode(data: bytes, path: str) -> str:
    if data.startswith(_WIDE_BOMS):
        raise _error(WIDE_ENCODING, line=1, path=path)
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Everything before the bad byte is UTF-8 text: an earlier problem there (NUL bytes
        # of UTF-16, a control character) is reported first, then lines count in characters.
        before = data[: exc.start].decode("utf-8")
        _check_characters(before, path)
        line, column = _position(before, len(before))
        message = NOT_UTF8.format(column=column, byte=data[exc.start])
        raise _error(message, line=line, path=path) from None


def _check_characters(text: str, path: str) -> None:
    """Refuse what PyYAML's reader would refuse without a line number, and U+FFFD."""
    if _mostly_nul(text):
        raise _error(WIDE_ENCODING, line=1, path=path)
    found = _UNPRINTABLE.search(text)
    if found is None:
        return
    line, column = _position(text, found.start())
    char = found.group()
    if char == "\ufffd":
        message = REPLACED.format(column=column)
    else:
        what = "the control character" if unicodedata.category(char) == "Cc" else "the character"
        message = UNPRINTABLE.format(column=column, what=what, code=ord(char))
    raise _error(message, line=line, path=path)


def _mostly_nul(text: str) -> bool:
    """UTF-16 or UTF-32 read as UTF-8: every ASCII character comes with NUL bytes."""
    head = text[:1024]
    nul = head.count("\x00")
    return nul >= 2 and nul * 4 >= len(head)


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``index``, breaking lines where YAML does.

    Everything before ``index`` is printable, so the only breaks there are YAML's own:
    ``\\n``, ``\\r``, ``\\r\\n``, U+0085, U+2028 and U+2029, just what splitlines splits on.
    """
    lines = (text[:index] + "x").splitlines()
    return len(lines), len(lines[-1])


# ---------------------------------------------------------------------------- YAML

TOO_DEEP = f"lists and mappings are nested more than {MAX_NESTING} levels deep"
TOO_MANY = f"the file holds more than {MAX_VALUES:,} keys, values and list items; remove some"
ALIAS = "anchors and aliases (&name / *name) are not supported"
MERGE_KEY = "merge keys ('<<') are not supported; write the keys out"
UNSAFE_TAG = (
    "the tag {tag} is not supported; TechLead reads plain values "
    "(text, numbers, true/false, lists and mappings)"
)
MERGE_VALUE = "'<<' is YAML's merge key; put it in quotes to mean the text"
NOT_A_LITERAL = "the tag {tag} does not fit the value {value}; fix the value or drop the tag"
KEY_NOT_TEXT = "a key must be text, but {value} reads as {kind}; put it in quotes"
KEY_COLLECTION = "a key must be text, not {kind}"
UNREADABLE = "cannot read the value {value}: {problem}"

_YAML_TAG = "tag:yaml.org,2002:"
_STR_TAG = _YAML_TAG + "str"
_MERGE_TAG = _YAML_TAG + "merge"
# What a node may be tagged, explicitly or by YAML 1.1's implicit typing. Everything else
# (!!python/object, !!binary, !!set, local tags...) is refused before construction.
_TAG_KINDS = {
    _STR_TAG: "text",
    _YAML_TAG + "int": "a number",
    _YAML_TAG + "float": "a number",
    _YAML_TAG + "bool": "true/false",
    _YAML_TAG + "null": "nothing",
    _YAML_TAG + "timestamp": "a date",
    _YAML_TAG + "seq": "a list",
    _YAML_TAG + "map": "a mapping",
}
# Implicit types with no safe constructor: a bare "=" stays text instead of failing.
_NO_SAFE_MEANING = {_YAML_TAG + "value", _YAML_TAG + "yaml"}
# The literal forms of each implicit type. PyYAML's constructors assume them, so an explicit
# tag on another text (``!!bool maybe``, ``!!int ''``) would fail with KeyError or
# IndexError; it is refused first.
_LITERALS: dict[str, re.Pattern[str]] = {
    tag: regexp
    for resolvers in yaml.SafeLoader.yaml_implicit_resolvers.values()
    for tag, regexp in resolvers
}

_SYNTAX_HINTS = {
    "found character '\\t' that cannot start any token": "indent with spaces, not tabs",
    "mapping values are not allowed here": (
        "quote a value that holds ': ', and keep keys under 1024 characters"
    ),
}


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that TechLead does not read: too deep, or a value Python cannot build."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _LongInt(int):
    """An integer literal too long to convert, standing in as ``±10**MAX_INT_DIGITS``.

    That is beyond every bound in the schema, so validation reports what a person can
    act on ("must be at most 200"); ``repr`` says how long the literal was.
    """

    digits: int

    def __new__(cls, digits: int, negative: bool = False) -> _LongInt:
        number = super().__new__(cls, (-1 if negative else 1) * 10**MAX_INT_DIGITS)
        number.digits = digits
        return number

    def __getnewargs__(self) -> tuple[int, bool]:  # type: ignore[override]
        # copy.deepcopy (the merge) rebuilds it from these, not from the int's value.
        return self.digits, self < 0

    def __repr__(self) -> str:
        sign = " negative" if self < 0 else ""
        return f"a {self.digits}-digit{sign} number"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, bounded so that no file makes it raise anything but YAMLError.

    The text reaching it is already size- and character-checked (:func:`_text_of`).
    """

    # YAML 1.1's implicit types, less those with no safe constructor: a bare "=" is text.
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _NO_SAFE_MEANING]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _depth = 0
    _values = 0

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_lines: list[int] = []

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Refuse more than ``MAX_VALUES`` values, or collections nested deeper than
        ``MAX_NESTING``.

        Composing recurses once per level, block or flow, so the bound sits here, where
        the nesting is known exactly (quotes, comments and ``- - -`` included), and is hit
        long before Python's recursion limit; the checks after it recurse no deeper.
        """
        self._values += 1
        if self._values > MAX_VALUES:
            raise _Refused(TOO_MANY, self.peek_event().start_mark)
        if self.check_event(AliasEvent):
            # Composing an alias reuses the anchored node (no blow-up yet); the index
            # refuses it below, on the line where the first alias is written.
            self.alias_lines.append(self.peek_event().start_mark.line + 1)
        if not self.check_event(CollectionStartEvent):
            return super().compose_node(parent, index)
        if self._depth >= MAX_NESTING:
            raise _Refused(TOO_DEEP, self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Turn a value Python cannot build into a YAML error on its line.

        ``2024-02-30`` or a ``+25:00`` offset raise ValueError inside PyYAML.
        """
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            problem = UNREADABLE.format(value=_show(node.value), problem=exc)
            raise _Refused(problem, node.start_mark) from exc

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """Integers as PyYAML reads them, but a long literal becomes a :class:`_LongInt`.

        ``int()`` refuses more than 4,300 digits with ValueError, and is slow below that.
        """
        literal = self.construct_scalar(node)
        digits = len(literal.lstrip("+-").replace("_", ""))
        if digits > MAX_INT_DIGITS:
            return _LongInt(digits, negative=literal.startswith("-"))
        return super().construct_yaml_int(node)


_Loader.add_constructor(_YAML_TAG + "int", _Loader.construct_yaml_int)


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
    try:
        node, lines, data = _read_yaml(text, path)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, path) from exc
    except yaml.YAMLError as exc:
        raise _error(f"not valid YAML: {exc}", path=path) from exc
    except RecursionError as exc:  # a guard only: _Loader.compose_node refuses first
        raise _error(TOO_DEEP, path=path) from exc
    if node is None or data is None:
        return _Document({}, {})
    if not isinstance(data, dict):
        raise _error(
            f"the top level must be a mapping of keys (like 'planning:'), got {_kind(data)}",
            line=node.start_mark.line + 1,
            path=path,
        )
    return _Document(data, lines)


def _read_yaml(text: str, path: str) -> tuple[yaml.Node | None, dict[KeyPath, int], Any]:
    """The root node, the line of every key path, and the data; checks come before data."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, None
        _check_tag(node, (), node.start_mark.line + 1, path)
        first_alias = loader.alias_lines[0] if loader.alias_lines else None
        lines = _index_lines(node, (), {}, set(), path, first_alias)
        if first_alias is not None:  # an alias the index did not meet as a repeated node
            raise _error(ALIAS, line=first_alias, path=path)
        return node, lines, loader.construct_document(node)
    finally:
        loader.dispose()


def _yaml_error(exc: yaml.MarkedYAMLError, path: str) -> RepoConfigError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid syntax"
    line = mark.line + 1 if mark is not None else None
    if isinstance(exc, _Refused):
        return _error(problem, line=line, path=path)
    hint = _SYNTAX_HINTS.get(problem)
    message = f"not valid YAML: {problem}" + (f" ({hint})" if hint else "")
    return _error(message, line=line, path=path)


def _index_lines(
    node: yaml.Node,
    at: KeyPath,
    lines: dict[KeyPath, int],
    seen: set[int],
    path: str,
    alias_line: int | None = None,
) -> dict[KeyPath, int]:
    """Map key paths to lines; refuse duplicate keys, aliases and unsafe tags on the way.

    ``alias_line`` is where the document's first alias is written: the walk meets aliases
    in document order, so the first repeated node is that alias.
    """
    seen.add(id(node))
    for child_path, child, line in _children(node, at, path):
        if id(child) in seen:
            # An alias is the anchored node itself again: refuse it (and its blow-up).
            raise _error(ALIAS, key=_format_key(child_path), line=alias_line or line, path=path)
        _check_tag(child, child_path, line, path)
        lines[child_path] = line
        _index_lines(child, child_path, lines, seen, path, alias_line)
    return lines


def _check_tag(node: yaml.Node, at: KeyPath, line: int, path: str) -> None:
    """Refuse a value whose tag TechLead does not read, or whose text does not fit its tag."""
    message = _tag_problem(node)
    if message:
        raise _error(message, key=_format_key(at), line=line, path=path)


def _tag_problem(node: yaml.Node) -> str:
    tag = _show(node.tag.replace(_YAML_TAG, "!!", 1))
    if node.tag == _MERGE_TAG:
        return MERGE_VALUE
    if node.tag not in _TAG_KINDS:
        return UNSAFE_TAG.format(tag=tag)
    literal = _LITERALS.get(node.tag)
    if isinstance(node, yaml.ScalarNode) and literal and not literal.fullmatch(node.value):
        return NOT_A_LITERAL.format(value=_show(node.value), tag=tag)
    return ""


def _children(node: yaml.Node, at: KeyPath, path: str) -> Iterator[tuple[KeyPath, yaml.Node, int]]:
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield (*at, index), item, item.start_mark.line + 1
    elif isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = _key_text(key_node, at, line, path)
            if key in first_line:
                raise _error(
                    f"duplicate key {_show(key)} (first given on line {first_line[key]})",
                    key=_format_key((*at, key)),
                    line=line,
                    path=path,
                )
            first_line[key] = line
            yield (*at, key), value_node, line


def _key_text(node: yaml.Node, at: KeyPath, line: int, path: str) -> str:
    """The key as text; ``1:``, ``on:``, ``~:`` or ``[a]:`` would reach the models as non-text."""
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return str(node.value)
    kind = _TAG_KINDS.get(node.tag, "a tagged value")
    if node.tag == _MERGE_TAG:
        message = MERGE_KEY
    elif isinstance(node, yaml.ScalarNode):
        message = KEY_NOT_TEXT.format(value=_show(node.value), kind=kind)
    else:
        message = KEY_COLLECTION.format(kind=kind)
    raise _error(message, key=_format_key(at), line=line, path=path)


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
        raise _error(
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
        raise _error(
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
            raise _error(
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
        raise _error(
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
    return _error(message, key=_format_key(loc), line=document.line(loc), path=path)


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
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text (put it in quotes if it looks like a number, a date or true)",
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
    if kind == "string_too_long":
        limit = error.get("ctx", {}).get("max_length")
        return f"must be at most {limit} characters long, got {len(str(given))} characters"
    if kind in _BOUNDS:
        phrase, bound = _BOUNDS[kind]
        return f"must be {phrase} {error.get('ctx', {}).get(bound)}, got {_show(given)}"
    if kind == "literal_error":
        return f"must be {error.get('ctx', {}).get('expected', '')}, got {_show(given)}"
    if kind in _PLAIN:
        return f"{_PLAIN[kind]}, got {_given(given)}"
    if kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}, got {_show(given)}"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return f"{error['msg'][0].lower()}{error['msg'][1:]}, got {_show(given)}"


# Checked in order: bool is an int, datetime is a date.
_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "true/false"),
    (int, "a number"),
    (float, "a number"),
    (str, "text"),
    (list, "a list"),
    (dict, "a mapping"),
    (type(None), "nothing"),
    (datetime.date, "a date"),
)


def _kind(value: Any) -> str:
    return next((name for kind, name in _KINDS if isinstance(value, kind)), type(value).__name__)


def _given(value: Any) -> str:
    """What the file gave, as ``text 'lots'`` or ``a number 5``."""
    if isinstance(value, _LongInt):
        return repr(value)
    return f"{_kind(value)} {_show(value)}".rstrip()


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 60:
        value = value[:60]  # repr of the whole of a long text is wasted work
    return _clip(repr(value), 60)


def _format_key(path: KeyPath) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{_clip(part, 60)}" if text else _clip(part, 60)
    return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error(message: str, *, key: str = "", line: int | None = None, path: str) -> RepoConfigError:
    """A RepoConfigError whose text fits where it is shown, however long the file's keys."""
    return RepoConfigError(
        _clip(message, MAX_MESSAGE_CHARS), key=_clip(key, MAX_KEY_CHARS), line=line, path=path
    )
