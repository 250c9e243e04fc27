"""Tasks for an issue that lists none: a skeleton per kind, naming the files to change.

A person planning a bug writes a failing test in the right test file, then fixes the
named module; a vulnerability goes to the security specialist at high priority; a
slowdown gets a benchmark before the optimisation. A feature is read for its aspects
(an API, data, a user interface, security needs such as "PCI compliance" or "stored
securely") and gets one task per aspect around the implementation. Files come from
research (the files the issue names first) and are kept in the task's ``files``, never
mixed into the issue's own words, so they cannot change a task's priority.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from agents.research.model import Findings
from bot.plan import templates
from bot.plan.model import Priority
from bot.plan.parse import Item
from bot.plan.reading import IssueKind

TITLE_CHARS = 80
_CODE_SUFFIXES = frozenset((
    ".py", ".pyi", ".js", ".jsx", ".ts", ".tsx", ".go", ".rs", ".java", ".kt", ".rb", ".php",
    ".cs", ".c", ".h", ".cc", ".cpp", ".hpp", ".swift", ".scala", ".ex", ".exs", ".vue",
    ".svelte",
))  # fmt: skip
_TEST_PARTS = frozenset({"tests", "test", "testing", "__tests__", "spec", "specs"})
_NOT_TO_CHANGE = re.compile(r"(?:^|/)(?:\.github/|changelog|changes|history|news)", re.IGNORECASE)
# Roster names of the specialists skeletons call for (the default roster's names).
TESTER = "test-engineer"
SECURITY = "security-guardian"
PERFORMANCE = "performance-expert"
DOCS = "docs-writer"
ANALYST = "project-analyst"
DEVOPS = "devops-engineer"
DEVELOPER = "backend-developer"
REVIEWER = "code-reviewer"
KIND_SPECIALISTS = {
    IssueKind.SECURITY: SECURITY,
    IssueKind.PERFORMANCE: PERFORMANCE,
    IssueKind.DOCS: DOCS,
}


@dataclass(frozen=True)
class _Aspect:
    pattern: re.Pattern[str]
    agent: str
    title: str
    priority: Priority | None
    stage: int  # 0: before the implementation, 1: alongside it, 2: after it


def _words(words: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])(?:{words})(?![\w-])", re.IGNORECASE)


ASPECTS = (
    _Aspect(_words(r"api|apis|endpoints?|routes?|rest api|restful|graphql|webhooks?|grpc"),
            "api-architect", templates.ASPECT_API, None, 0),
    _Aspect(_words(r"database|db|tables?|migrations?|data model|sql|orm|persist\w{0,5}"),
            "database-expert", templates.ASPECT_DATA, None, 0),
    _Aspect(_words(r"security|secure|securely|pci(?: compliance)?|compliance|encrypt\w{0,4}|"
                   r"auth|authentication|authori[sz]ation|permissions?|passwords?|secrets?|"
                   r"credentials?|(?:access|api|auth) tokens?|sensitive|gdpr|hipaa|card data|"
                   r"xss|csrf|injection"),
            SECURITY, templates.ASPECT_SECURITY, Priority.HIGH, 1),
    _Aspect(_words(r"ui|ux|user interface|forms?|web pages?|screens?|components?|buttons?|"
                   r"dashboard|mockups?|wireframes?|frontend|front-end|checkout page"),
            "frontend-developer", templates.ASPECT_UI, None, 2),
)  # fmt: skip
# A vulnerable dependency to upgrade rather than code to fix.
_DEPENDENCY = _words(
    r"requirements(?:\.txt)?|dependenc(?:y|ies)|bump|upgrade|pin|lock ?file|"
    r"[\w.-]{1,40} \d{1,4}\.\d{1,4}(?:\.\d{1,4})? ?(?:→|->|to) ?\d{1,4}\.\d{1,4}"
)
_MANIFEST = re.compile(
    r"(?:^|/)(?:requirements[\w.-]{0,30}\.(?:txt|in)|pyproject\.toml|setup\.cfg|setup\.py|"
    r"package\.json|go\.mod|Cargo\.toml|Gemfile|pom\.xml|build\.gradle)$"
)
_DOCS_WORDS = _words(r"docs?|documentation|readme|guide|tutorial|changelog|docstrings?")
_CLAUSE_STOP = re.compile(
    r"[.;:,!?\n()]|\s(?:and|but|so|while|which|with|including|such as|like|plus)\s"
)
_WINDOW = 120


def skeleton(
    kind: IssueKind, title: str, prose: str, findings: Findings, roster: Sequence[str]
) -> list[Item]:
    """The tasks a person would write for an issue of ``kind`` that lists none."""
    short = _short(title)
    module = _module(findings)
    at = _Places(
        module, _where(findings, module), _test_file(findings, module), _docs_file(findings)
    )
    note = templates.SKELETON_NOTE.format(kind=templates.KIND_NAMES[kind.value])
    builders = {
        IssueKind.BUG: _bug,
        IssueKind.SECURITY: _security,
        IssueKind.PERFORMANCE: _performance,
        IssueKind.DOCS: _docs,
        IssueKind.REFACTOR: _refactor,
        IssueKind.TRACKING: _tracking,
    }
    if kind is IssueKind.SECURITY and _DEPENDENCY.search(f"{title}\n{prose[:20_000]}"):
        drafts = _dependency(short, at)
    elif kind in builders:
        drafts = builders[kind](short, at)
    else:
        drafts = _feature(short, f"{title}\n{prose}", at)
    return _numbered(drafts, roster, note)


@dataclass(frozen=True)
class _Places:
    """The files a skeleton names: the module to change (and how to say where in it),
    its test file, and the documentation page."""

    module: str | None
    where: str | None
    test: str | None
    docs: str | None
    manifest: str | None = None  # the dependency list to upgrade (requirements.txt...)


@dataclass(frozen=True)
class _Step:
    title: str
    agent: str | None
    files: tuple[str, ...] = ()
    waits: tuple[int, ...] = ()  # positions (1-based) in the skeleton
    priority: Priority | None = None
    assign_text: str | None = None
    aspect: bool = False  # one aspect of the issue, with a topic of its own


def _bug(title: str, at: _Places) -> list[_Step]:
    """The failing test, then the fix; they run side by side (the test is written
    against the bug, the fix makes it pass), so neither waits for the other."""
    return [
        _Step(_at(templates.BUG_TEST, title, at.test), TESTER, _files(at.test)),
        _Step(_at(templates.BUG_FIX, title, at.where), None, _files(at.module), (), None,
              _fix_text(at)),
    ]  # fmt: skip


def _security(title: str, at: _Places) -> list[_Step]:
    high = Priority.HIGH
    return [
        _Step(templates.SECURITY_ASSESS.format(title=title), SECURITY, _files(at.module), (), high),
        _Step(
            _at(templates.SECURITY_FIX, title, at.where),
            None,
            _files(at.module),
            (1,),
            high,
            _fix_text(at),
        ),
        _Step(_at(templates.SECURITY_TEST, title, at.test), TESTER, _files(at.test), (1,), high),
    ]


def _dependency(title: str, at: _Places) -> list[_Step]:
    high = Priority.HIGH
    upgrade = _at(templates.SECURITY_UPGRADE, title, at.manifest)
    return [
        _Step(templates.SECURITY_ASSESS.format(title=title), SECURITY, (), (), high),
        _Step(upgrade, DEVOPS, _files(at.manifest), (1,), high),
    ]


def _performance(title: str, at: _Places) -> list[_Step]:
    return [
        _Step(_at(templates.PERF_BENCH, title, None), PERFORMANCE, _files(at.module)),
        _Step(
            _at(templates.PERF_FIX, title, at.where),
            None,
            _files(at.module),
            (1,),
            None,
            _fix_text(at),
        ),
        _Step(_at(templates.PERF_TEST, title, at.test), TESTER, _files(at.test), (1,)),
    ]


def _docs(title: str, at: _Places) -> list[_Step]:
    return [_Step(templates.DOCS_UPDATE.format(title=title), DOCS)]


def _refactor(title: str, at: _Places) -> list[_Step]:
    return [
        _Step(
            _at(templates.REFACTOR_CHANGE, title, at.where),
            None,
            _files(at.module),
            (),
            None,
            _fix_text(at),
        ),
        _Step(templates.REFACTOR_REVIEW.format(title=title), REVIEWER, _files(at.test), (1,)),
    ]


def _tracking(title: str, at: _Places) -> list[_Step]:
    return [_Step(templates.TRACKING_SPLIT.format(title=title), ANALYST)]


def _feature(title: str, text: str, at: _Places) -> list[_Step]:
    """Aspect tasks (API and data first, security alongside, UI after) around the
    implementation, then tests; docs only when the issue asks for them."""
    found = [
        (aspect, clause) for aspect in ASPECTS if (clause := clause_around(aspect.pattern, text))
    ]
    before = [(a, c) for a, c in found if a.stage == 0]
    steps = [
        _Step(a.title.format(what=c), a.agent, (), (), a.priority, aspect=True) for a, c in before
    ]
    first = tuple(range(1, len(steps) + 1))
    build_text = _at(templates.FEATURE_BUILD, "", at.where)
    steps.append(
        _Step(_at(templates.FEATURE_BUILD, title, at.where), None, _files(at.module), first, None,
              build_text)
    )  # fmt: skip
    build = len(steps)
    for aspect, clause in found:
        if aspect.stage:
            waits = first if aspect.stage == 1 else (build,)
            steps.append(
                _Step(
                    aspect.title.format(what=clause),
                    aspect.agent,
                    (),
                    waits,
                    aspect.priority,
                    aspect=True,
                )
            )
    done = tuple(range(build, len(steps) + 1))
    steps.append(_Step(_at(templates.FEATURE_TEST, title, at.test), TESTER, _files(at.test), done))
    if at.docs or _DOCS_WORDS.search(text[:20_000]):
        docs = _at(templates.FEATURE_DOCS, title, at.docs)
        steps.append(_Step(docs, DOCS, _files(at.docs), done))
    return steps


def clause_around(pattern: re.Pattern[str], text: str) -> str | None:
    """The phrase around the first match of ``pattern`` ("card data must be stored
    securely"), cut at punctuation and conjunctions, at most a window either side."""
    match = pattern.search(text[:20_000])
    if match is None:
        return None
    start = max(0, match.start() - _WINDOW)
    before = text[start : match.start()]
    stops = list(_CLAUSE_STOP.finditer(before))
    begin = start + stops[-1].end() if stops else start
    after = _CLAUSE_STOP.search(text, match.end(), match.end() + _WINDOW)
    end = after.start() if after else min(len(text), match.end() + _WINDOW)
    clause = " ".join(text[begin:end].split()).strip(" -*>#`")
    return _short(clause) or match.group(0)


def _numbered(steps: list[_Step], roster: Sequence[str], note: str) -> list[Item]:
    items = []
    for number, step in enumerate(steps, start=1):
        agent = step.agent if step.agent in roster else None
        items.append(
            Item(
                number=number,
                text=step.title,
                agent=agent,
                priority=step.priority,
                files=step.files,
                waits=step.waits,
                note=note,
                ordered=True,
                assign_text=step.assign_text,
                whole_issue=not step.aspect,
            )
        )
    return items


def _fix_text(at: _Places) -> str:
    """What a fix's specialist is chosen on: the file it changes, not the issue's words
    ("Fix the slow path in web/login.tsx" is the frontend's, not performance work)."""
    return _at(templates.CHANGE_AT, "", at.module)


def _at(template: str, title: str, path: str | None) -> str:
    where = templates.SKELETON_AT.format(path=path) if path else ""
    return template.format(title=title, where=where)


def _files(path: str | None) -> tuple[str, ...]:
    return (path,) if path else ()


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1].rstrip() + "…"


# ------------------------------------------------------------------------------- files


def is_test_path(path: str) -> bool:
    pure = PurePosixPath(path)
    name = pure.name.lower()
    return (
        bool(_TEST_PARTS & {part.lower() for part in pure.parts[:-1]})
        or name.startswith("test_")
        or pure.stem.lower().endswith(("_test", ".test", ".spec"))
        or name == "conftest.py"
    )


def is_code_path(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in _CODE_SUFFIXES and not _NOT_TO_CHANGE.search(path)


def _candidates(findings: Findings) -> list[str]:
    return list(dict.fromkeys((*findings.pinned_paths(), *findings.relevant_paths())))


def _module(findings: Findings) -> str | None:
    """The code file to change: the first the issue names, else the most relevant."""
    return next((p for p in _candidates(findings) if is_code_path(p) and not is_test_path(p)), None)


def _where(findings: Findings, module: str | None) -> str | None:
    """Where the change goes: the module, with the symbols the issue names in it."""
    if module is None:
        return None
    named = next((f for f in findings.relevant if f.path == module and f.pinned), None)
    if named is None or not named.symbols:
        return module
    return templates.SKELETON_SYMBOLS.format(symbols=", ".join(named.symbols[:2]), path=module)


def _test_file(findings: Findings, module: str | None) -> str | None:
    """The test file for ``module``: one research saw exercising it, else one whose name
    holds the module's name, else the most relevant test file."""
    entry = next((f for f in findings.relevant if f.path == module), None)
    if entry is not None and entry.tests:
        return entry.tests[0]
    tests = [p for p in _candidates(findings) if is_code_path(p) and is_test_path(p)]
    if module:
        stem = PurePosixPath(module).stem.lstrip("_").lower()
        named = [p for p in tests if stem and stem in PurePosixPath(p).stem.lower()]
        if named:
            return named[0]
    return tests[0] if tests else None


def _manifest(findings: Findings) -> str | None:
    """The dependency list research found relevant (requirements.txt, pyproject.toml...)."""
    return next((p for p in _candidates(findings) if _MANIFEST.search(p)), None)


def _docs_file(findings: Findings) -> str | None:
    return findings.docs[0].path if findings.docs else None
