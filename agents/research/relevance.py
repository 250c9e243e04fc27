"""Ranks the files most relevant to an issue with BM25 and names their code owners.

Each file becomes a small document: the words of its path (counted three times, since
a path says most about a file), the names it defines (twice) and its comments and
docstrings; prose files contribute their text. Only the first ``BM25_CHARS`` characters
of a file are read. bm25s scores the issue text against these documents with sparse
matrices, fast enough for thousands of files in a fraction of a second.
"""

from __future__ import annotations

import re

import bm25s
import numpy as np

from agents.research.base import ResearchContext
from agents.research.codeowners import load_codeowners
from agents.research.inventory import SourceFile
from agents.research.languages import is_doc
from agents.research.model import Contribution, RelevantFile
from agents.research.tokens import words

BM25_CHARS = 32 * 1024
PATH_WEIGHT = 3
NAME_WEIGHT = 2
# Both patterns start with literal text so the regex engine can skip ahead quickly; a
# keyword inside a longer word ("undef x") or "//" in a URL only adds harmless terms.
_DEFINITION = re.compile(
    r"(?:def|class|function|func|fn|interface|struct|type|enum|trait|module|impl)"
    r"\s+\*?([A-Za-z_$][\w$]*)"
)
_COMMENT = re.compile(
    r'"""(.*?)"""|\'\'\'(.*?)\'\'\'|/\*(.*?)\*/|(?:#|//)[ \t]?([^\n]*)', re.DOTALL
)


class RelevanceAgent:
    """Finds the files an issue is most likely about."""

    name = "relevance"

    def run(self, context: ResearchContext) -> Contribution:
        files = [item for item in context.inventory.files if item.text is not None]
        documents = []
        for item in files:
            if context.expired():
                return Contribution()
            documents.append(document_terms(item))
        ranked = rank(documents, words(context.query), context.top_n)
        owners = load_codeowners(context.inventory)
        relevant = tuple(
            RelevantFile(files[index].path, score, owners.owners(files[index].path))
            for index, score in ranked
        )
        return Contribution(relevant=relevant)


def document_terms(item: SourceFile) -> list[str]:
    """The search terms standing for one file."""
    text = (item.text or "")[:BM25_CHARS]
    terms = words(item.path) * PATH_WEIGHT
    if is_doc(item.path):
        return terms + words(text)
    terms += words(" ".join(_DEFINITION.findall(text))) * NAME_WEIGHT
    comments = " ".join(" ".join(groups) for groups in _COMMENT.findall(text))
    return terms + words(comments)


def rank(documents: list[list[str]], query: list[str], top_n: int) -> list[tuple[int, float]]:
    """(document index, score) of the best ``top_n`` documents scoring above zero.

    Ties are broken by document order, so results are deterministic.
    """
    vocabulary: dict[str, int] = {}
    corpus = [[vocabulary.setdefault(term, len(vocabulary)) for term in doc] for doc in documents]
    query_ids = sorted({vocabulary[term] for term in query if term in vocabulary})
    if not documents or not query_ids:
        return []
    model = bm25s.BM25()
    model.index((corpus, vocabulary), show_progress=False)
    scores = np.asarray(model.get_scores(query_ids), dtype=float)
    order = np.argsort(-scores, kind="stable")[:top_n]
    return [(int(index), round(float(scores[index]), 3)) for index in order if scores[index] > 0]
