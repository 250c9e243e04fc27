"""Chooses the specialist for a task from the roster: keywords first, then paths.

Score = 3 per roster keyword found in the title + 1 per keyword found only in the body
+ 3 per path named in the task that the agent owns. A task names a path by writing it
("src/cart.py") or by a title word that is a relevant file's name ("cart total" names
``src/shop/cart.py`` when research ranked it). A path belongs to the agent whose
matching glob is the most specific (so ``tests/**`` beats ``**/*``). Ties go to the
agent owning more of the issue's most relevant files, then to roster order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

from agents.research.globs import best_match, specificity
from bot.errors import PlanError
from bot.plan import templates

TITLE_WEIGHT = 3
BODY_WEIGHT = 1
PATH_WEIGHT = 3
RELEVANT_FILES_CONSIDERED = 5
# A path is read from a run of path characters (one pass, no backtracking), then
# checked in Python: it has a "/" or ends in a known extension, and is no @mention or
# #reference.
_PATH_RUN = re.compile(r"[\w.*/-]+")
_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[A-Za-z][\w-]*")
# First words that say only that something is to be done, not by whom ("Build a
# payment system" is no build-system work).
GENERIC_VERBS = frozenset(
    (
        "build",
        "make",
        "add",
        "create",
        "write",
        "update",
        "set",
        "use",
        "support",
        "run",
        "check",
        "get",
        "do",
    )
)
# Words that look like a keyword plus an ending but name something else.
_DISTINCT_WORDS = frozenset(("https", "formation"))
_MAX_BODY_CHARS = 20_000
_EXTENSIONS = frozenset((
    "py", "js", "jsx", "ts", "tsx", "go", "rs", "java", "rb", "md", "rst", "yml", "yaml",
    "json", "toml", "css", "scss", "html", "sql", "proto", "sh", "tf",
))  # fmt: skip


class AgentLike(Protocol):
    """What the planner needs of a roster entry (``bot.repo_config.AgentSpec`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def keywords(self) -> tuple[str, ...]: ...

    @property
    def paths(self) -> tuple[str, ...]: ...

    @property
    def executor(self) -> str: ...


@dataclass(frozen=True)
class Assignment:
    agent: str
    reason: str


def assign(
    title: str,
    body: str,
    roster: Sequence[AgentLike],
    relevant_paths: Sequence[str] = (),
    *,
    preferred: str | None = None,
    fallback: str | None = None,
) -> Assignment:
    """The best specialist for a task, with the reasoning kept for people to read.

    Ties on score go to ``preferred`` (the specialist the issue's kind calls for) when
    it scored at all, then to the agent whose keyword is the title's first word (the
    verb: "Implement ..." is a developer's task, "Design ..." an architect's), then to
    the agent owning more of the issue's most relevant files, then to roster order.
    When nothing matched at all, ``fallback`` (if in the roster) takes the task. A
    generic first verb ("Build a payment system", "Add ...") is no keyword.
    """
    if not roster:
        raise PlanError(templates.EMPTY_ROSTER)
    keywords = frozenset(kw.lower() for agent in roster for kw in agent.keywords)
    implied = implied_paths(title, relevant_paths, keywords)
    named = [*mentioned_paths(f"{title}\n{body}"), *implied]
    named_paths = list(dict.fromkeys(named))
    owners_named = _owners(named_paths, roster)
    owners_relevant = _owners(relevant_paths[:RELEVANT_FILES_CONSIDERED], roster)
    title_hits = keyword_hits(_without_generic_verb(title), roster)
    body_hits = keyword_hits(body[:_MAX_BODY_CHARS], roster)
    first = _first_word(title)
    scored = []
    for index, agent in enumerate(roster):
        in_title = title_hits.get(agent.name, [])
        in_body = [kw for kw in body_hits.get(agent.name, []) if kw not in in_title]
        paths = owners_named.get(agent.name, [])
        score = TITLE_WEIGHT * len(in_title) + BODY_WEIGHT * len(in_body) + PATH_WEIGHT * len(paths)
        kind = int(score > 0 and agent.name == preferred)
        verb = int(any(_keyword_pattern(kw).fullmatch(first) for kw in in_title))
        tie = len(owners_relevant.get(agent.name, []))
        scored.append((score, kind, verb, tie, -index, agent.name, in_title, in_body, paths))
    score, _, _, tie, _, name, in_title, in_body, paths = max(scored)
    if score == 0 and tie == 0 and fallback in {agent.name for agent in roster}:
        return Assignment(
            fallback, templates.REASON.format(agent=fallback, why=templates.REASON_FALLBACK)
        )
    return Assignment(name, _reason(name, score, tie, in_title, in_body, paths))


def _without_generic_verb(title: str) -> str:
    """The title with its first word blanked when that word is a generic verb."""
    stripped = title.lstrip()
    first = stripped.split(" ", 1)[0]
    if first.lower() in GENERIC_VERBS:
        return " " * (len(title) - len(stripped) + len(first)) + stripped[len(first) :]
    return title


def keyword_hits(text: str, roster: Sequence[AgentLike]) -> dict[str, list[str]]:
    """Agent name -> its keywords found in ``text`` as whole words. A keyword found only
    inside a longer keyword's match ("interface" in "user interface") does not count."""
    matches = []
    for agent in roster:
        for keyword in agent.keywords:
            for match in _keyword_pattern(keyword).finditer(text):
                matches.append((match.start(), -match.end(), agent.name, keyword))
    matches.sort()
    hits: dict[str, list[str]] = {}
    covered_to = -1
    longest_start = -1
    for start, negative_end, name, keyword in matches:
        end = -negative_end
        if end <= covered_to and not (start == longest_start and end == covered_to):
            continue
        if end > covered_to:
            covered_to, longest_start = end, start
        found = hits.setdefault(name, [])
        if keyword not in found:
            found.append(keyword)
    return hits


def _first_word(text: str) -> str:
    words = _WORD.findall(text[:200])
    return words[0] if words else ""


def mentioned_paths(text: str) -> list[str]:
    """Paths a task names ("src/cart.py", "web/", "README.md"), without URLs."""
    text = _URL.sub(" ", text)
    found = []
    for run in _PATH_RUN.finditer(text):
        if run.start() and text[run.start() - 1] in "@#":
            continue
        path = _as_path(run.group(0))
        if path:
            found.append(path)
    return list(dict.fromkeys(found))


def _as_path(run: str) -> str | None:
    """``run`` as a path ("src/cart.py", "web/", "README.md"), or None."""
    path = run.strip("./")
    if not path or "*" in path.rpartition("/")[0]:
        return None
    if "/" in run:
        return path
    stem, dot, extension = path.rpartition(".")
    if dot and stem and "*" not in stem and extension in _EXTENSIONS:
        return path
    return None


def implied_paths(
    title: str, relevant_paths: Sequence[str], keywords: frozenset[str] = frozenset()
) -> list[str]:
    """Relevant files whose name (without extension) is a word of the title. A word that
    is a roster keyword ("api", "auth") already counts as one and implies no file."""
    words = {word.lower() for word in _WORD.findall(title)} - keywords
    return [path for path in relevant_paths if PurePosixPath(path).stem.lower() in words]


def _owners(paths: Sequence[str], roster: Sequence[AgentLike]) -> dict[str, list[str]]:
    """Agent name -> the paths whose most specific matching glob is that agent's."""
    owners: dict[str, list[str]] = {}
    for path in paths:
        candidates = []
        for agent in roster:
            pattern = best_match(agent.paths, path) or best_match(agent.paths, path + "/x")
            if pattern is not None:
                candidates.append((specificity(pattern), agent.name))
        if candidates:
            top = max(weight for weight, _ in candidates)
            for weight, name in candidates:
                if weight == top:
                    owners.setdefault(name, []).append(path)
    return owners


def _keywords_in(keywords: Sequence[str], text: str) -> list[str]:
    return [keyword for keyword in keywords if _keyword_pattern(keyword).search(text)]


@functools.lru_cache(maxsize=2048)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    """Whole words, with the keyword's inflections ("tests", "cached", "validation") but
    never another word that merely starts with it ("https" is not "http", "going" not
    "go"), and never a part of a path: short keywords take no ending or only a plural "s"."""
    words = r"\s+".join(re.escape(word) for word in keyword.split())
    last = keyword.split()[-1] if keyword.split() else keyword
    if len(last) <= 2:
        endings = ""
    elif len(last) == 3:
        endings = "(?:s)?"
    else:
        endings = "(?:s|es|ed|d|ing|ation|ations)?"
    distinct = "|".join(re.escape(word) for word in sorted(_DISTINCT_WORDS))
    # Not inside a path either: "fastapi/security/http.py" says nothing about security.
    return re.compile(
        rf"(?<![\w./-])(?!(?:{distinct})(?![\w-])){words}{endings}(?![\w/-]|\.\w)",
        re.IGNORECASE,
    )


def _reason(
    name: str, score: int, tie: int, in_title: list[str], in_body: list[str], paths: list[str]
) -> str:
    parts = []
    if in_title:
        parts.append(templates.REASON_TITLE.format(words=", ".join(in_title)))
    if in_body:
        parts.append(templates.REASON_BODY.format(words=", ".join(in_body)))
    if paths:
        parts.append(templates.REASON_PATHS.format(paths=", ".join(paths)))
    if score == 0:
        parts.append(templates.REASON_RELEVANT if tie else templates.REASON_DEFAULT)
    return templates.REASON.format(agent=name, why="; ".join(parts))
