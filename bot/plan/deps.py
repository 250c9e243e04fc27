"""Task dependencies: reading them from text, the default order, and validation.

Explicit markers
    A phrase such as "waits for 1 & 2", "after 3", "depends on 1, 2", "blocked by 4",
    "needs T3" or "once #12 is closed" names what a task waits for: a bare number is a
    list item of the issue, ``T3`` a task id, ``#12`` another GitHub issue (an external
    dependency: the task waits until that issue is closed). Ranges ("steps 1-3") expand.
    A bare number followed by a word other than a completion verb ("after 3 seconds",
    "needs 2 reviewers") is not a reference.

Default order (only when the issue has no explicit task markers at all)
    Each task gets a category from the first category word in its title, else from its
    specialist's name: contract (design, schema, API spec, migration), implementation,
    frontend (UI, page, component), tests, docs. Stages run contract -> implementation
    -> frontend -> tests and docs; a task waits for every task of the nearest earlier
    stage that has tasks (which transitively covers the stages before it). Tests and
    docs share the last stage, so they run side by side after what they cover. As soon
    as an issue names any dependency between its own items, markers are honoured
    exactly and no default edges are added: mixing would turn "write the tests first,
    then implement (after 1)" into a cycle.

Validation
    Every id a task waits for must exist (else DanglingDependencyError) and the graph
    must have no cycle (else CyclicPlanError, spelling the cycle out: T2 → T4 → T2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.errors import CyclicPlanError, DanglingDependencyError, PlanError
from bot.plan import templates
from bot.plan.model import Category, Plan

_TRIGGER = (
    r"(?:wait(?:s|ing)?\s+(?:for|on)|depend(?:s|ing|ent)?\s+on|blocked\s+(?:by|on)|"
    r"requires|needs|after|following|once)"
)
_REF = r"(?:(?:items?|tasks?|steps?|issues?)\s+)?(?:[Tt]\d+|#\d+|\d+)(?:\s*[-\u2013]\s*\d+)?"
_SEPARATOR = r"\s*(?:,|&|\+|/|\band\b|,\s*and\b)\s*"
_PHRASE = re.compile(
    rf"(?P<open>\(\s*)?(?<![\w-])(?P<trigger>{_TRIGGER})(?:\s*:)?\s+"
    rf"(?P<refs>{_REF}(?:{_SEPARATOR}{_REF})*)(?![\w-])",
    re.IGNORECASE,
)
_SINGLE_REF = re.compile(
    r"(?:(items?|tasks?|steps?|issues?)\s+)?([Tt]\d+|#\d+|\d+)(?:\s*[-\u2013]\s*(\d+))?"
)
_COMPLETION = re.compile(
    r"\s+(?:(?:is|are|has|have)(?:\s+been)?\s+|to\s+(?:be\s+)?)?"
    r"(?:done|merged|finished|finish(?:es)?|completed?|completes|landed|lands?|shipped|"
    r"ships?|closed|ready|resolved|fixed)\b",
    re.IGNORECASE,
)
_WORD_AFTER = re.compile(r"\s*[A-Za-z]")
# Words that may follow a bare number without making it a quantity ("after 2 and then").
_JOINING_WORD = re.compile(
    r"\s+(?:and|then|once|when|before|so|since|because|first|too|but|or)\b", re.IGNORECASE
)
_MAX_RANGE = 50
# More digits than this name no item, task or issue (GitHub numbers fit in 32 bits); such
# a reference is kept as text so validation reports it as dangling.
_MAX_DIGITS = 9
V = TypeVar("V")


@dataclass(frozen=True)
class DependencyRefs:
    """What a text says a task waits for, and where it says so."""

    items: tuple[int, ...] = ()
    tasks: tuple[str, ...] = ()
    issues: tuple[int, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()
    # References that cannot name anything ("after 99…99" with thousands of digits).
    unknown: tuple[str, ...] = ()

    @property
    def internal(self) -> bool:
        return bool(self.items or self.tasks or self.unknown)


def find_dependencies(text: str) -> DependencyRefs:
    items: list[int] = []
    tasks: list[str] = []
    issues: list[int] = []
    unknown: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _PHRASE.finditer(text):
        end = match.end()
        completion = _COMPLETION.match(text, end)
        refs = list(_SINGLE_REF.finditer(match.group("refs")))
        bare = any(_is_bare(ref) for ref in refs)
        joined = _JOINING_WORD.match(text, end)
        if bare and completion is None and not joined and _WORD_AFTER.match(text, end):
            continue  # "after 3 seconds", "needs 2 reviewers": not a reference
        end = completion.end() if completion else end
        if match.group("open") and text[end:].lstrip().startswith(")"):
            end = text.index(")", end) + 1
        spans.append((match.start(), end))
        _collect(refs, _Found(items, tasks, issues, unknown))
    return DependencyRefs(
        _unique(items), _unique(tasks), _unique(issues), tuple(spans), _unique(unknown)
    )


def _is_bare(ref: re.Match[str]) -> bool:
    """A plain number ("3", "step 3") could be a quantity; "T3", "#3", "item 3" cannot."""
    word = (ref.group(1) or "").lower()
    return ref.group(2).isdigit() and (not word or word.startswith("step"))


@dataclass(frozen=True)
class _Found:
    items: list[int]
    tasks: list[str]
    issues: list[int]
    unknown: list[str]


def _collect(refs: Iterable[re.Match[str]], found: _Found) -> None:
    for ref in refs:
        word, value, upper = ref.group(1), ref.group(2), ref.group(3)
        digits = value.lstrip("#Tt")
        if len(digits) > _MAX_DIGITS:
            short = shorten_number(value)
            bare = value.isdigit() and not (word and word.lower().startswith("issue"))
            found.unknown.append(templates.MISSING_ITEM.format(number=short) if bare else short)
        elif value.startswith("#"):
            found.issues.append(int(digits))
        elif value[0] in "Tt":
            found.tasks.append(value.upper())
        elif word and word.lower().startswith("issue"):
            found.issues.append(int(value))
        else:
            first = int(value)
            last = first
            if upper and len(upper) <= _MAX_DIGITS and first < int(upper) <= first + _MAX_RANGE:
                last = int(upper)
            found.items.extend(range(first, last + 1))


def shorten_number(text: str, keep: int = 4) -> str:
    """A long run of digits shortened for people: ``9999…9999 (5000 digits)``."""
    digits = text.lstrip("#Tt")
    if len(digits) <= 2 * keep + 4:
        return text
    prefix = text[: len(text) - len(digits)]
    return templates.LONG_NUMBER.format(
        prefix=prefix, head=digits[:keep], tail=digits[-keep:], count=len(digits)
    )


def _unique(values: Iterable[V]) -> tuple[V, ...]:
    return tuple(dict.fromkeys(values))


# ------------------------------------------------------------------ categories and order

_CATEGORY_WORDS: tuple[tuple[Category, str], ...] = (
    (Category.CONTRACT, r"design|schema|contract|openapi|swagger|api spec|specification|"
     r"migration|data model|interface|architecture|protobuf|proto"),
    (Category.FRONTEND, r"frontend|front-end|ui|ux|user interface|mockups?|wireframes?|page|"
     r"component|css|screen|react|vue|svelte|layout|button|form|styles?"),
    (Category.TESTS, r"tests?|testing|e2e|coverage|qa|regression"),
    (Category.DOCS, r"docs?|document|documentation|readme|changelog|guide|tutorial"),
)  # fmt: skip
_CATEGORY_PATTERNS = tuple(
    (category, re.compile(rf"\b(?:{words})\b", re.IGNORECASE))
    for category, words in _CATEGORY_WORDS
)
_AGENT_CATEGORY = (
    (("test", "qa"), Category.TESTS),
    (("doc", "writer"), Category.DOCS),
    (("frontend", "ui", "design"), Category.FRONTEND),
    (("api", "architect", "database", "schema", "data"), Category.CONTRACT),
)
STAGES: Mapping[Category, int] = {
    Category.CONTRACT: 0,
    Category.IMPLEMENTATION: 1,
    Category.FRONTEND: 2,
    Category.TESTS: 3,
    Category.DOCS: 3,
}


def categorise(title: str, agent: str) -> Category:
    """The first category word in the title wins; else the specialist's name decides."""
    found = [
        (match.start(), category)
        for category, pattern in _CATEGORY_PATTERNS
        if (match := pattern.search(title))
    ]
    if found:
        return min(found, key=lambda pair: pair[0])[1]
    for fragments, category in _AGENT_CATEGORY:
        if any(fragment in agent for fragment in fragments):
            return category
    return Category.IMPLEMENTATION


def default_dependencies(
    tasks: Sequence[tuple[str, Category]],
    topics: Mapping[str, frozenset[str]] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Each task waits for the tasks of the nearest earlier stage on its topic.

    Two tasks share a topic when their titles share a topic word (see :func:`topic`);
    a task with no topic word of its own ("Implement the backend", "Write tests") is on
    every topic. Without ``topics`` every task is on every topic.
    """
    topics = topics or {}
    result: dict[str, tuple[str, ...]] = {}
    for task, category in tasks:
        mine = topics.get(task, frozenset())
        related = [
            (other, c)
            for other, c in tasks
            if STAGES[c] < STAGES[category]
            and (not mine or not topics.get(other) or mine & topics.get(other, frozenset()))
        ]
        nearest = max((STAGES[c] for _, c in related), default=None)
        result[task] = tuple(other for other, c in related if STAGES[c] == nearest)
    return result


_TOPIC_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]{2,40}")
# Words that say what kind of work or which layer, not what the work is about.
_NOT_TOPIC_WORDS = """
    the and for with from into that this these those when then than over under about
    after before while should would could must need needs make makes made add adds added
    write writes implement implements implementation design designs define defines build
    builds create creates update updates fix fixes fixed plan plans planning support use
    uses using new all any each every some more less also only just via its their our
    your them they it's not can will test tests testing tested doc docs document
    documentation readme backend frontend server client layer code feature features
    logic service services work task tasks issue part way end side ensure check checks
    improve improves move moves remove removes change changes changed set sets get gets
    allow allows handle handles run runs first second third next last step steps basic
    proper properly correct correctly better simple initial final page pages screen
    component components
"""
_NOT_TOPIC = frozenset(_NOT_TOPIC_WORDS.split())


def topic(title: str) -> frozenset[str]:
    """The words a task is about ("Design authentication flow" -> authentication, flow),
    singular and lowercase, without verbs, layers and filler."""
    words = set()
    for match in _TOPIC_WORD.finditer(title[:500]):
        word = match.group(0).lower()
        if word.endswith("s") and len(word) > 3 and not word.endswith("ss"):
            word = word[:-1]
        if word not in _NOT_TOPIC and word + "s" not in _NOT_TOPIC:
            words.add(word)
    return frozenset(words)


# ---------------------------------------------------------------------------- validation


def validate(plan: Plan) -> None:
    """Raise if a task waits for a missing task or the tasks wait in a cycle."""
    ids = plan.ids()
    duplicates = sorted({task_id for task_id in ids if ids.count(task_id) > 1})
    if duplicates:
        raise PlanError(templates.DUPLICATE_IDS.format(ids=", ".join(duplicates)))
    known = set(ids)
    for task in plan.tasks:
        for dependency in task.depends_on:
            if dependency not in known:
                raise DanglingDependencyError(task.id, dependency)
    cycle = find_cycle({task.id: task.depends_on for task in plan.tasks})
    if cycle:
        raise CyclicPlanError(cycle)


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle as ids with the first repeated last, starting at its smallest id; or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :]
            if nxt in graph and state.get(nxt) is None and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph, key=_id_order):
        if state.get(node) is None and (found := visit(node)):
            start = found.index(min(found, key=_id_order))
            rotated = found[start:] + found[:start]
            return [*rotated, rotated[0]]
    return None


def _id_order(task_id: str) -> tuple[int, str]:
    digits = task_id.lstrip("Tt")
    return (int(digits) if digits.isdigit() else 1 << 30, task_id)
