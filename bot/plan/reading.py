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


_PHRASES = re.compile("|".join(re.escape(phrase) for phrase in templates.TEMPLATE_PHRASES))
# Confirmations are one short sentence; a longer line is the author's own text.
_MAX_CONFIRMATION = 300


# Where GitHub looks for issue templates and issue forms
# (https://docs.github.com/en/communities/using-templates-to-encourage-useful-issues-and-pull-requests).
TEMPLATE_DIR = ".github/ISSUE_TEMPLATE/"
TEMPLATE_SUFFIXES = (".md", ".yml", ".yaml")
MAX_TEMPLATE_CHARS = 100_000


def is_issue_template(path: str) -> bool:
    """Whether ``path`` (repository-relative) is one of the repository's issue templates."""
    lowered = path.lower()
    if lowered in {".github/issue_template.md"}:
        return True
    return lowered.startswith(TEMPLATE_DIR.lower()) and lowered.endswith(TEMPLATE_SUFFIXES)


def issue_template_texts(files: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The texts of the issue templates among ``files`` ((path, text) pairs), in path order."""
    found = sorted((path, text) for path, text in files if is_issue_template(path))
    return tuple(text[:MAX_TEMPLATE_CHARS] for _, text in found)


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
    if len(key) > _MAX_CONFIRMATION or _PHRASES.search(key):
        return len(key) <= _MAX_CONFIRMATION
    match = _CONFIRMATION.match(key)
    return bool(match) and any(word in key for word in templates.CONFIRMATION_WORDS)


def strip_template(body: str, known: frozenset[str]) -> str:
    """``body`` without the lines that are template text (headings stay: they frame
    the author's own text)."""
    kept = []
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or not is_template_line(line, known):
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
         r"request smuggling|bypass\w{0,3}|verify\s?=\s?(?:false|true)|"
         r"certificate (?:verification|validation)|man-in-the-middle|mitm"),
        (IssueKind.PERFORMANCE, r"performance|perf|slow(?:er|ness|ly|s|down)?|latency|"
         r"memory leak\w{0,3}|leak\w{0,3}|regression in speed|\d{1,4}(?:\.\d{1,3})?\s?"
         r"(?:[x\u00d7]|times)\s?(?:slower|faster)|throughput|benchmark\w{0,3}|o\(n\^?2\)|"
         r"quadratic|cpu usage|high memory|takes? \d{1,5}\s?(?:s|ms|seconds|minutes|hours?)|"
         r"stall\w{0,3}|blocks? the event loop|hangs?|hanging|forever|freez\w{0,3}|"
         r"takes? (?:very )?(?:much|a long|too much|so much) time|too long to"),
        (IssueKind.BUG, r"bug|traceback|\w{0,40}exception|\w{0,40}error|crash\w{0,3}|fails?|"
         r"failing|failure|"
         r"broken|regression|raises?|incorrect(?:ly)?|wrong|unexpected\w{0,2}|"
         r"steps to reproduce|to reproduce|expected behaviou?r|actual behaviou?r|"
         r"(?:does|do|is|are)(?:n't| not) (?:work|return|respect|honou?r|get|handle|verify|"
         r"raise|apply|match|preserve|include|show|accept|close|release|decode|encode|"
         r"parse|send|receive)\w{0,3}|not (?:always )?honou?red|ignored"),
        (IssueKind.DOCS, r"docs?|document(?:ation|ed)?|readme|docstrings?|tutorial"),
        (IssueKind.REFACTOR, r"refactor\w{0,3}|clean ?up|cleanup|deprecat\w{0,5}|"
         r"simplif\w{0,5}|rename|restructur\w{0,3}|tech(?:nical)? debt|modernis\w{0,5}|"
         r"moderniz\w{0,5}|drop support"),
        (IssueKind.TRACKING, r"tracking issue|tracker|roadmap|epic|meta issue|umbrella|"
         r"(?:aims? )?to track|migrat\w{0,5} (?:from|to) \w[\w.-]{0,30} v?\d{1,3}"),
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
    title: str,
    body: str,
    labels: Sequence[str],
    headings: Sequence[str] = (),
    *,
    tracker: bool = False,
    listed: bool = False,
) -> KindDecision:
    """The issue's kind. Security and performance are read first (label, title, then a
    CVE or bypass in the body), since they decide the specialist; then the other kind
    labels; then the title's first kind word; then the shape (``tracker``: a list with
    ticked items or links to pull requests), which beats a feature label; then headings
    and body words, unless the issue lists its tasks (``listed``). A body mentioning
    docs makes no docs issue: docs issues say so in their title or label."""
    urgent = (IssueKind.SECURITY, IssueKind.PERFORMANCE)
    label = _label_kind(labels)
    if label and label.kind in urgent:
        return label
    found = _kind_in(title, urgent)
    if found:
        return KindDecision(found[0], templates.KIND_TITLE.format(word=found[1]))
    word = _strong_security(body[:20_000])
    if word:
        return KindDecision(IssueKind.SECURITY, templates.KIND_BODY.format(word=word))
    if tracker and (label is None or label.kind is IssueKind.FEATURE):
        return KindDecision(IssueKind.TRACKING, templates.KIND_TRACKER)
    if label:
        return label
    found = _first_kind_in(title)
    if found:
        return KindDecision(found[0], templates.KIND_TITLE.format(word=found[1]))
    body_kinds = tuple(kind for kind in IssueKind if kind is not IssueKind.DOCS)
    text = "\n".join(headings)
    found = None if listed else _kind_in(text, body_kinds) or _kind_in(body[:20_000], body_kinds)
    if found:
        return KindDecision(found[0], templates.KIND_BODY.format(word=found[1]))
    if _TYPO.search(f"{title}\n{body[:20_000]}"):
        return KindDecision(IssueKind.BUG, templates.KIND_BODY.format(word="typo"))
    return KindDecision(IssueKind.FEATURE, templates.KIND_DEFAULT)


_WEAK_SECURITY = frozenset({"cve", "rce", "bypass", "bypasses", "mitm"})
_TYPO = re.compile(r"(?<![\w-])typos?(?![\w-])", re.IGNORECASE)


def _strong_security(text: str) -> str | None:
    """A word in ``text`` that makes the issue a security one on its own (a bare "CVE"
    or "bypass" does not)."""
    pattern = dict(_KIND_WORDS)[IssueKind.SECURITY]
    for match in pattern.finditer(text):
        if match.group(0).lower() not in _WEAK_SECURITY:
            return match.group(0)
    return None


def _label_kind(labels: Sequence[str]) -> KindDecision | None:
    for kind, names in _LABEL_KINDS:
        for label in labels:
            words = " ".join(_NOT_WORD.sub(" ", label[:50].lower()).split())
            if any(words == name or name in words.split() for name in names):
                return KindDecision(kind, templates.KIND_LABEL.format(label=label))
    return None


def _first_kind_in(text: str) -> tuple[IssueKind, str] | None:
    """The kind whose word comes first in ``text`` ("Document error" is docs)."""
    found = [
        (match.start(), kind, match.group(0))
        for kind, pattern in _KIND_WORDS
        if (match := pattern.search(text))
    ]
    if not found:
        return None
    _, kind, word = min(found, key=lambda hit: hit[0])
    return kind, word


def _kind_in(text: str, kinds: Sequence[IssueKind] | None = None) -> tuple[IssueKind, str] | None:
    for kind, pattern in _KIND_WORDS:
        if kinds is not None and kind not in kinds:
            continue
        match = pattern.search(text)
        if match:
            return kind, match.group(0)
    return None


_PERF_SEVERE = re.compile(
    r"(?<![\w-])(?:hangs?|hanging|forever|quadratic\w{0,2}|freez\w{1,3}|(?:when|after) upgrading|"
    r"since (?:v(?:ersion)? ?)?\d|regress\w{1,4}|decrease when|unusable)(?![\w-])",
    re.IGNORECASE,
)
_MESSAGE_ONLY = re.compile(
    r"(?<![\w-])(?:(?:could|should) be more helpful|more helpful|confusing|misleading|unclear|"
    r"clearer|better error|unhelpful|typos?|cosmetic)(?![\w-])",
    re.IGNORECASE,
)


def kind_priority(kind: IssueKind, title: str, body: str) -> tuple[str, str] | None:
    """The priority an issue's kind implies when nothing else sets one, as (level, why):
    security is high; docs and refactors low; a slowdown that hangs or regressed since a
    release high; a bug about a message or a typo low."""
    if kind is IssueKind.SECURITY:
        return "high", templates.PRIORITY_KIND_NAMED.format(kind="a security issue")
    if kind in (IssueKind.DOCS, IssueKind.REFACTOR):
        return "low", templates.PRIORITY_KIND_NAMED.format(kind=templates.KIND_NAMES[kind.value])
    if kind is IssueKind.PERFORMANCE:
        severe = _PERF_SEVERE.search(f"{title}\n{body[:20_000]}")
        if severe:
            return "high", templates.PRIORITY_WORD.format(word=severe.group(0).lower())
    if kind is IssueKind.BUG:
        minor = _MESSAGE_ONLY.search(title)
        if minor:
            return "low", templates.PRIORITY_WORD.format(word=minor.group(0).lower())
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
