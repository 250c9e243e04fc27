"""Reads an issue as a person does: template text out, its kind, its asks in prose.

Issue templates leave text the author never wrote: the repository's own
``.github/ISSUE_TEMPLATE/*`` lines, and confirmations every template asks for ("I have
searched the issues", "I confirm that I'm using the latest version"). Those lines are
never work. What remains is classified (bug, feature, security, performance, docs,
refactor, tracking) from labels first, then headings, then words, and prose is read
for the sentences that ask for work ("we should...", "we need to...").

Everything here scans line by line or with bounded patterns: issue bodies are up to
65,536 characters of anything.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.plan import templates

# ------------------------------------------------------------------------ template text

_MARKUP = re.compile(r"^[\s>#*+-]*(?:\d{1,3}[.)]\s*)?(?:\[[ xX]?\]\s*)?")
_NOT_WORD = re.compile(r"[^\w]+")
_MIN_TEMPLATE_CHARS = 12
_CONFIRMATION = re.compile(
    r"(?:i|we)(?: (?:have|am|ve|m|did|do|also|already|confirm|agree|understand|read|searched"
    r"|checked|verified|tried|tested|made|added|included|will|would|can))+\b",
)


def normalise(line: str) -> str:
    """A line without list, quote and checkbox markup, lowercased, words only."""
    text = _MARKUP.sub("", line[:500], count=1)
    return " ".join(_NOT_WORD.sub(" ", text.lower()).split())


def template_lines(texts: Iterable[str]) -> frozenset[str]:
    """The normalised lines of the repository's issue templates (Markdown or forms)."""
    lines = set()
    for text in texts:
        for line in text.splitlines():
            key = normalise(_form_value(line))
            if len(key) >= _MIN_TEMPLATE_CHARS:
                lines.add(key)
    return frozenset(lines)


def _form_value(line: str) -> str:
    """An issue form's ``label: text`` / ``description: text`` line reduced to its text."""
    key, colon, value = line.strip().lstrip("- ").partition(":")
    if colon and key.strip() in _FORM_KEYS:
        return value.strip().strip("'\"|>")
    return line


_FORM_KEYS = frozenset({"label", "description", "placeholder", "value", "name", "title"})


def is_template_line(line: str, known: frozenset[str]) -> bool:
    """Whether ``line`` is the repository's template text or a common confirmation."""
    key = normalise(line)
    if not key:
        return False
    return key in known or is_confirmation(key)


def is_confirmation(key: str) -> bool:
    """ "I have searched the issues", "I confirm that I'm using Pydantic V2"... (normalised)."""
    if any(phrase in key for phrase in templates.TEMPLATE_PHRASES):
        return True
    match = _CONFIRMATION.match(key)
    return bool(match) and any(word in key for word in templates.CONFIRMATION_WORDS)


def strip_template(body: str, known: frozenset[str]) -> str:
    """``body`` without the lines that are template text (headings stay: they frame
    the author's own text)."""
    kept = []
    for line in body.splitlines():
        if line.lstrip().startswith("#") or not is_template_line(line, known):
            kept.append(line)
    return "\n".join(kept)


# --------------------------------------------------------------------------- the kind


class IssueKind(enum.StrEnum):
    BUG = "bug"
    FEATURE = "feature"
    SECURITY = "security"
    PERFORMANCE = "performance"
    DOCS = "docs"
    REFACTOR = "refactor"
    TRACKING = "tracking"


@dataclass(frozen=True)
class KindDecision:
    kind: IssueKind
    reason: str


# Checked in this order: a security bug is security work, a slow path is performance.
_KIND_WORDS: tuple[tuple[IssueKind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"(?<![\w-])(?:{words})(?![\w-])", re.IGNORECASE))
    for kind, words in (
        (IssueKind.SECURITY, r"vulnerab\w{0,6}|cve-\d{4}-\d{1,7}|cve|cwe-\d{1,5}|ghsa-[\w-]{1,20}|"
         r"xss|csrf|ssrf|(?:sql |command |code |header )?injection|exploit\w{0,3}|rce|"
         r"security (?:issue|bug|hole|flaw|fix|problem|vulnerability|advisory|report|risk)|"
         r"insecure\w{0,2}|credentials? leak\w{0,3}|leaks? (?:secrets?|credentials?|tokens?|"
         r"passwords?)|denial of service|redos|path traversal|open redirect|"
         r"request smuggling|bypass\w{0,3}"),
        (IssueKind.PERFORMANCE, r"performance|perf|slow(?:er|ness|ly|s|down)?|latency|"
         r"memory leak\w{0,3}|leak\w{0,3}|regression in speed|\d{1,4}(?:\.\d{1,3})?\s?[x\u00d7]\s?"
         r"(?:slower|faster)|throughput|benchmark\w{0,3}|o\(n\^?2\)|quadratic|cpu usage|"
         r"high memory|takes? \d{1,5}\s?(?:s|ms|seconds|minutes)"),
        (IssueKind.BUG, r"bug|traceback|exception|error|crash\w{0,3}|fails?|failing|failure|"
         r"broken|regression|raises?|incorrect(?:ly)?|wrong|unexpected\w{0,2}|"
         r"steps to reproduce|to reproduce|expected behaviou?r|actual behaviou?r"),
        (IssueKind.DOCS, r"docs?|documentation|typo|readme|docstrings?|tutorial|guide"),
        (IssueKind.REFACTOR, r"refactor\w{0,3}|clean ?up|cleanup|deprecat\w{0,5}|"
         r"simplif\w{0,5}|rename|restructur\w{0,3}|tech(?:nical)? debt|modernis\w{0,5}|"
         r"moderniz\w{0,5}|drop support"),
        (IssueKind.TRACKING, r"tracking issue|tracker|roadmap|epic|meta issue|umbrella"),
    )
)  # fmt: skip
_LABEL_KINDS: tuple[tuple[IssueKind, tuple[str, ...]], ...] = (
    (IssueKind.SECURITY, ("security", "vulnerability", "cve")),
    (IssueKind.PERFORMANCE, ("performance", "perf", "speed", "slow", "memory")),
    (IssueKind.TRACKING, ("tracking", "tracker", "epic", "meta", "roadmap", "umbrella")),
    (IssueKind.BUG, ("bug", "defect", "regression", "crash", "error")),
    (IssueKind.DOCS, ("docs", "documentation", "doc")),
    (IssueKind.REFACTOR, ("refactor", "refactoring", "cleanup", "tech debt", "deprecation")),
    (IssueKind.FEATURE, ("feature", "enhancement", "feature request", "proposal", "idea")),
)
_LABEL_WORD = re.compile(r"[a-z]+(?: [a-z]+)?")


def classify(
    title: str, body: str, labels: Sequence[str], headings: Sequence[str] = ()
) -> KindDecision:
    """The issue's kind: a kind label wins; then the title's words; then headings and
    the body's words (a traceback makes a bug, a CVE a security issue)."""
    for kind, names in _LABEL_KINDS:
        for label in labels:
            words = " ".join(_NOT_WORD.sub(" ", label[:50].lower()).split())
            if any(words == name or name in words.split() for name in names):
                return KindDecision(kind, templates.KIND_LABEL.format(label=label))
    found = _kind_in(title)
    if found:
        return KindDecision(found[0], templates.KIND_TITLE.format(word=found[1]))
    found = _kind_in("\n".join(headings)) or _kind_in(body[:20_000])
    if found:
        return KindDecision(found[0], templates.KIND_BODY.format(word=found[1]))
    if "Traceback (most recent call last)" in body:
        return KindDecision(IssueKind.BUG, templates.KIND_BODY.format(word="Traceback"))
    return KindDecision(IssueKind.FEATURE, templates.KIND_DEFAULT)


def _kind_in(text: str) -> tuple[IssueKind, str] | None:
    for kind, pattern in _KIND_WORDS:
        match = pattern.search(text)
        if match:
            return kind, match.group(0)
    return None


# ---------------------------------------------------------------------- asks in prose

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n\s*\n")
_ASK = re.compile(
    r"(?<![\w-])(?:we|you|it|this|they|i|one)?\s?(?:should|need(?:s)? to|must|have to|"
    r"has to|want to|would like to|could|ought to)(?![\w-])",
    re.IGNORECASE,
)
_LEADING_ASK = re.compile(
    r"^(?:so\s|also\s|and\s|then\s|i think\s|ideally\s|maybe\s|perhaps\s){0,3}"
    r"(?:we|you|it|this|they|i|one)\s(?:really\s|also\s|probably\s){0,2}"
    r"(?:should|needs? to|must|have to|has to|want to|would like to|could|ought to)\s(?:be\s)?",
    re.IGNORECASE,
)
_MAX_SENTENCE = 160


def asks(prose: str) -> list[str]:
    """Sentences of ``prose`` that ask for work, as task titles ("We should cache the
    parsed schema." -> "Cache the parsed schema")."""
    found = []
    for raw in _SENTENCE_END.split(prose):
        sentence = " ".join(raw.split())
        if not sentence or len(sentence) > 2 * _MAX_SENTENCE or not _ASK.search(sentence):
            continue
        title = _LEADING_ASK.sub("", sentence).rstrip(".!?;: ")
        if len(title.split()) >= 2:
            found.append(title[:1].upper() + title[1:_MAX_SENTENCE])
    return found
