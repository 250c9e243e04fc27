"""Finds the files an issue is about: the ones it names first, then BM25 over code and prose.

1. **Pinned**: files the issue names outright, resolved through a definition index
   (:mod:`agents.research.pins`): paths, traceback frames, dotted modules, the
   functions, classes and routes they define.
2. **Code**, ranked with BM25 over documents made of the words of its path (counted
   three times, a path says most about a file), the names it defines (split from
   snake_case and camelCase, twice) and its docstrings and comments. Test files count
   half unless the issue talks about tests.
3. **Prose** (Markdown, reStructuredText, text), ranked on its own so long documents do
   not drown code; it leads only when the issue is about documentation.

Issue and pull-request templates, changelogs, release notes and lock files are never
offered: no issue is fixed there. Only the first ``BM25_CHARS`` characters of a file
are read. bm25s scores with sparse matrices, fast enough for thousands of files.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import bm25s
import numpy as np

from agents.research.base import ResearchContext
from agents.research.codeowners import CodeOwners, load_codeowners
from agents.research.inventory import SourceFile
from agents.research.languages import FileKind, file_kind, never_changed
from agents.research.memo import InventoryMemo
from agents.research.mentions import read_mentions
from agents.research.model import Contribution, RelevantFile
from agents.research.pins import FileFacts, Pin, Resolver, pinned_order
from agents.research.symbols import DefinitionKind, definitions, quick_names
from agents.research.templates import RELEVANCE as TEXT
from agents.research.tokens import words

BM25_CHARS = 32 * 1024
PATH_WEIGHT = 3
NAME_WEIGHT = 2
TEST_FACTOR = 0.5
MAX_SYMBOLS = 6
MAX_TESTS = 3
# Words that make an issue about documentation (after plural folding by ``words``).
DOC_WORDS = frozenset(
    {"doc", "document", "documentation", "readme", "typo", "tutorial", "docstring", "guide"}
)
TEST_WORDS = frozenset({"test", "flaky", "pytest", "fixture", "coverage"})
CI_WORDS = frozenset({"ci", "workflow", "action", "pipeline"})
# CI configuration counts this much unless the issue is about CI: its words (test,
# publish, build) are everywhere, but few issues are fixed in a workflow.
CI_FACTOR = 0.3
CI_DIR = ".github/"
QUOTE_CHARS = 64 * 1024
_COMMENT = re.compile(
    r'"""(.*?)"""|\'\'\'(.*?)\'\'\'|/\*(.*?)\*/|(?:#|//)[ \t]?([^\n]*)', re.DOTALL
)
_TEST_STEM = re.compile(r"^(?:test_)?(.+?)(?:_tests?|\.test|\.spec)?$")


@dataclass(frozen=True)
class Document:
    """One file as research searches it."""

    item: SourceFile
    kind: FileKind
    terms: list[str]
    names: frozenset[str]


class RelevanceAgent:
    """Finds the files an issue is most likely about."""

    name = "relevance"

    def run(self, context: ResearchContext) -> Contribution:
        library = library_of(context)
        if library is None:
            return Contribution()
        owners = load_codeowners(context.inventory)
        relevant, docs = rank_files(library, context.query, context.top_n)
        return Contribution(
            relevant=tuple(_owned(item, owners) for item in relevant),
            docs=tuple(_owned(item, owners) for item in docs),
        )


class Bm25Index:
    """BM25 over fixed documents: built once, then queried for any issue."""

    def __init__(self, documents: Sequence[list[str]]) -> None:
        self.vocabulary: dict[str, int] = {}
        corpus = [
            [self.vocabulary.setdefault(t, len(self.vocabulary)) for t in d] for d in documents
        ]
        self.model: bm25s.BM25 | None = None
        if corpus and self.vocabulary:
            self.model = bm25s.BM25()
            self.model.index((corpus, self.vocabulary), show_progress=False)

    def top(self, query: Iterable[str], limit: int) -> list[tuple[int, float]]:
        """(document index, score) of the best ``limit`` documents scoring above zero.

        Ties are broken by document order, so results are deterministic.
        """
        query_ids = sorted({self.vocabulary[term] for term in query if term in self.vocabulary})
        if self.model is None or not query_ids:
            return []
        scores = np.asarray(self.model.get_scores(query_ids), dtype=float)
        order = np.argsort(-scores, kind="stable")[:limit]
        return [(int(i), round(float(scores[i]), 3)) for i in order if scores[i] > 0]


@dataclass
class Library:
    """Everything about an inventory that does not depend on the issue, built once."""

    documents: list[Document]
    code: list[Document]
    prose: list[Document]
    code_index: Bm25Index
    prose_index: Bm25Index
    resolver: Resolver
    tests: dict[str, list[str]]
    by_path: dict[str, Document]


# Planning another issue on the same commit (the inventory is cached per commit)
# reuses the documents and the BM25 indexes.
_LIBRARIES: InventoryMemo[Library] = InventoryMemo()


def library_of(context: ResearchContext) -> Library | None:
    """The inventory's library, built unless remembered; None when the budget ran out."""
    return _LIBRARIES.get(context.inventory, lambda: _build(context))


def _build(context: ResearchContext) -> Library | None:
    """A new library; files carried over from the last inventory (an inventory brought
    up to date after a push keeps its unchanged files) keep their documents."""
    previous = _LIBRARIES.latest()
    known = {id(doc.item): doc for doc in previous.documents} if previous else {}
    documents = []
    for item in context.inventory.files:
        if context.expired():
            return None
        if item.text is not None and not never_changed(item.path):
            kept = known.get(id(item))
            documents.append(kept if kept is not None and kept.item is item else document(item))
    return build_library(documents)


def build_library(documents: list[Document]) -> Library:
    code = [d for d in documents if d.kind is not FileKind.DOC]
    prose = [d for d in documents if d.kind is FileKind.DOC]
    facts = [FileFacts(d.item.path, d.kind, d.names) for d in documents]
    texts = {d.item.path: (d.item.text or "")[:QUOTE_CHARS] for d in documents}
    return Library(
        documents=documents,
        code=code,
        prose=prose,
        code_index=Bm25Index([d.terms for d in code]),
        prose_index=Bm25Index([d.terms for d in prose]),
        resolver=Resolver(facts, texts),
        tests=_test_index(documents),
        by_path={d.item.path: d for d in documents},
    )


def document(item: SourceFile) -> Document:
    """The search terms and defined names standing for one file."""
    text = (item.text or "")[:BM25_CHARS]
    kind = file_kind(item.path)
    terms = words(item.path) * PATH_WEIGHT
    if kind is FileKind.DOC:
        return Document(item, kind, terms + words(text), frozenset())
    names = quick_names(text)
    terms += words(" ".join(names)) * NAME_WEIGHT
    comments = " ".join(" ".join(groups) for groups in _COMMENT.findall(text))
    return Document(item, kind, terms + words(comments), frozenset(names))


def rank_files(
    library: Library, query: str, top_n: int
) -> tuple[list[RelevantFile], list[RelevantFile]]:
    """(files to change, prose files) for the issue text ``query``.

    Prose leads the files to change only when the issue's title (its first line) is
    about documentation: a body mentioning docs in passing (or in a template's
    "I have searched the documentation") says nothing about where the fix goes.
    """
    query_words = words(query)
    wanted = set(query_words)
    title_words = set(words(query.split("\n", 1)[0]))
    pins = library.resolver.resolve(read_mentions(query))
    code_scores = _scores(
        library.code,
        library.code_index.top(query_words, top_n * 3),
        test_factor=not (wanted & TEST_WORDS),
        ci_factor=not (wanted & CI_WORDS),
    )
    prose_scores = _scores(library.prose, library.prose_index.top(query_words, top_n * 3))
    scores = {**prose_scores, **code_scores}
    pinned = pinned_order(pins, scores)
    ranked_code = _by_score(code_scores, pins, exclude=set(pinned))
    ranked_prose = _by_score(prose_scores, pins, exclude=set(pinned))
    ordered = ranked_prose + ranked_code if title_words & DOC_WORDS else ranked_code + ranked_prose
    picked = _scored(pinned, ordered, pins, scores)[:top_n]
    by_path, tests = library.by_path, library.tests
    relevant = [
        _relevant(by_path[path], pins.get(path), score, wanted, tests) for path, score in picked
    ]
    docs = [
        _relevant(by_path[path], pins.get(path), score, wanted, tests)
        for path, score in ranked_prose[:top_n]
    ]
    return relevant, docs


def _scores(
    documents: Sequence[Document],
    found: list[tuple[int, float]],
    *,
    test_factor: bool = False,
    ci_factor: bool = False,
) -> dict[str, float]:
    scores = {}
    for index, score in found:
        doc = documents[index]
        if test_factor and doc.kind is FileKind.TEST:
            score *= TEST_FACTOR
        if ci_factor and doc.item.path.startswith(CI_DIR):
            score *= CI_FACTOR
        scores[doc.item.path] = round(score, 3)
    return scores


def _by_score(
    scores: Mapping[str, float], pins: Mapping[str, Pin], exclude: set[str]
) -> list[tuple[str, float]]:
    """Unpinned paths by search score, nudged up by evidence too weak to pin them."""
    top = max(scores.values(), default=1.0)
    boosted = {
        path: round(score + top * (pins[path].weight if path in pins else 0.0) / 3, 3)
        for path, score in scores.items()
        if path not in exclude
    }
    return sorted(boosted.items(), key=lambda pair: (-pair[1], pair[0]))


def _scored(
    pinned: list[str],
    ordered: list[tuple[str, float]],
    pins: Mapping[str, Pin],
    scores: Mapping[str, float],
) -> list[tuple[str, float]]:
    """Pinned files first (their score adds the weight of what the issue names)."""
    head = [(path, round(scores.get(path, 0.0) + pins[path].weight, 3)) for path in pinned]
    seen = set(pinned)
    return head + [(path, score) for path, score in ordered if path not in seen]


def _relevant(
    doc: Document,
    pin: Pin | None,
    score: float,
    wanted: set[str],
    tests: Mapping[str, list[str]],
) -> RelevantFile:
    path = doc.item.path
    pinned = pin is not None and pin.pinned
    reasons = tuple(pin.reasons) if pin is not None else ()
    if score > (pin.weight if pin is not None else 0.0):
        reasons += (TEXT["words"],)
    return RelevantFile(
        path,
        score,
        kind=doc.kind.value,
        pinned=pinned,
        reasons=reasons,
        symbols=_symbols(doc, pin, wanted),
        tests=_tests_of(path, doc.kind, tests),
    )


def _symbols(doc: Document, pin: Pin | None, wanted: set[str]) -> tuple[str, ...]:
    """The definitions the issue names in the file, else those sharing its words."""
    if pin is not None and pin.symbols:
        return tuple(pin.symbols[:MAX_SYMBOLS])
    if doc.kind is FileKind.DOC or doc.item.text is None:
        return ()
    found = [d for d in definitions(doc.item.path, doc.item.text) if d.kind != DefinitionKind.ROUTE]
    matching = [d.name for d in found if wanted & set(words(d.short))]
    classes = [d.name for d in found if d.kind is DefinitionKind.CLASS]
    top = [d.name for d in found if d.kind is DefinitionKind.FUNCTION]
    return tuple(dict.fromkeys([*matching, *classes, *top]))[:MAX_SYMBOLS]


def _test_index(documents: Sequence[Document]) -> dict[str, list[str]]:
    """Test files by the stem of the module they test (``test_client.py`` -> ``client``)."""
    index: dict[str, list[str]] = defaultdict(list)
    for doc in documents:
        if doc.kind is FileKind.TEST:
            base = doc.item.name.rsplit(".", 1)[0]
            match = _TEST_STEM.match(base)
            index[(match.group(1) if match else base).lstrip("_")].append(doc.item.path)
    return index


def _tests_of(path: str, kind: FileKind, tests: Mapping[str, list[str]]) -> tuple[str, ...]:
    if kind is not FileKind.CODE:
        return ()
    name = path.rsplit("/", 1)[-1]
    stem = name.split(".", 1)[0].lstrip("_")
    if stem == "init":  # a package's __init__: its tests are named after the package
        stem = path.rsplit("/", 2)[-2] if path.count("/") else stem
    found = tests.get(stem, [])
    parts = set(path.split("/")[:-1])
    # Tests in a directory named like the module's come first (tests/client/test_x.py).
    ordered = sorted(found, key=lambda test: (-len(parts & set(test.split("/"))), test))
    return tuple(ordered[:MAX_TESTS])


def _owned(item: RelevantFile, owners: CodeOwners) -> RelevantFile:
    found = owners.owners(item.path)
    return replace(item, owners=found) if found else item


def rank(documents: list[list[str]], query: list[str], top_n: int) -> list[tuple[int, float]]:
    """(document index, score) of the best ``top_n`` documents scoring above zero."""
    return Bm25Index(documents).top(query, top_n)
