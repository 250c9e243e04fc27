"""Splits code and prose into search terms: camelCase and snake_case become words."""

from __future__ import annotations

import re

# An upper-case run not followed by lower case (HTTP in HTTPServer), or a capitalised or
# lower-case word; digits and underscores separate words.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")

_STOPWORD_TEXT = """
    a an and are as at be but by for from has have if in into is it its of on or that
    the their then there these they this to was were will with we you your not no can
    should would could when which what who how all any also our out so do does done
    self cls def class return import none true false null var let const function func
    fn pub use new get set str int bool void args kwargs"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


# Raw word -> search term ("" for a dropped word). Words repeat a lot across files, so
# remembering them halves tokenising time; the cache is bounded and safe to share
# between threads (at worst a word is normalised twice).
_TERMS: dict[str, str] = {}
_MAX_TERMS = 200_000


def words(text: str) -> list[str]:
    """Lower-case search terms of ``text``: split identifiers, drop stopwords, fold plurals."""
    terms = _TERMS
    if len(terms) > _MAX_TERMS:
        terms.clear()
    result = []
    for raw in _WORD.findall(text):
        term = terms.get(raw)
        if term is None:
            term = terms[raw] = _term(raw)
        if term:
            result.append(term)
    return result


def _term(raw: str) -> str:
    word = raw.lower()
    if len(word) < 2 or word in STOPWORDS:
        return ""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"  # dependencies -> dependency, queries -> query
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
