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


def words(text: str) -> list[str]:
    """Lower-case search terms of ``text``: split identifiers, drop stopwords, fold plurals."""
    result = []
    for raw in _WORD.findall(text):
        word = raw.lower()
        if len(word) < 2 or word in STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        result.append(word)
    return result
