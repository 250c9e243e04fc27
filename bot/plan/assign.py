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
    title: str, body: str, roster: Sequence[AgentLike], relevant_paths: Sequence[str] = ()
) -> Assignment:
    """The best specialist for a task, with the reasoning kept for people to read."""
    if not roster:
        raise PlanError(templates.EMPTY_ROSTER)
    named = [*mentioned_paths(f"{title}\n{body}"), *implied_paths(title, relevant_paths)]
    named_paths = list(dict.fromkeys(named))
    owners_named = _owners(named_paths, roster)
    owners_relevant = _owners(relevant_paths[:RELEVANT_FILES_CONSIDERED], roster)
    scored = []
    for index, agent in enumerate(roster):
        in_title = _keywords_in(agent.keywords, title)
        in_body = [kw for kw in _keywords_in(agent.keywords, body) if kw not in in_title]
        paths = owners_named.get(agent.name, [])
        score = TITLE_WEIGHT * len(in_title) + BODY_WEIGHT * len(in_body) + PATH_WEIGHT * len(paths)
        tie = len(owners_relevant.get(agent.name, []))
        scored.append((score, tie, -index, agent.name, in_title, in_body, paths))
    best = max(scored)
    score, tie, _, name, in_title, in_body, paths = best
    return Assignment(name, _reason(name, score, tie, in_title, in_body, paths))


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


def implied_paths(title: str, relevant_paths: Sequence[str]) -> list[str]:
    """Relevant files whose name (without extension) is a word of the title."""
    words = {word.lower() for word in _WORD.findall(title)}
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
    words = r"\s+".join(re.escape(word) for word in keyword.split())
    return re.compile(rf"(?<![\w-]){words}(?:s|es|ed|ing|ation|ations)?(?![\w-])", re.IGNORECASE)


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
