"""Reads what an issue names outright: file paths, dotted modules, symbols and routes.

People point at code in a few recognisable ways: a path (``httpx/_client.py``), a
traceback frame (``File ".../site-packages/flask/app.py", line 12, in wsgi_app``), a
dotted name (``requests.adapters.HTTPAdapter``), an identifier in backticks or with a
call (```send_file()```), or a route (``GET /users/{id}``). Each pattern has bounded
quantifiers, so a hostile issue body cannot make the scan slow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PATH_SUFFIXES = (
    "py|pyi|pyx|js|mjs|cjs|jsx|ts|tsx|go|rs|rb|java|kt|php|cs|c|h|cc|cpp|hpp|swift|"
    "md|rst|txt|toml|yml|yaml|cfg|ini|json|html|css|scss|vue|svelte|sh|sql|proto"
)
_PATH = re.compile(
    r"(?<![\w.-])((?:[\w.-]{1,80}[/\\]){0,16}[\w.-]{1,80}\.(?:" + _PATH_SUFFIXES + r"))(?![\w/])"
)
_FRAME = re.compile(r'File "([^"\n]{1,400})", line (\d{1,7}), in ([\w<>.]{1,120})')
_DOTTED = re.compile(r"(?<![\w./-])([A-Za-z_]\w{0,60}(?:\.[A-Za-z_]\w{0,60}){1,8})(?![\w/])")
_CODE_SPAN = re.compile(r"`{1,3}([^`\n]{1,200})`{1,3}")
_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w{1,60}(?:\.[A-Za-z_]\w{1,60}){0,4})\(")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w{0,60}")
# snake_case with an inner underscore, CamelCase with two humps, or a dunder: code, not prose.
_CODE_LIKE = re.compile(r"[a-z0-9]_[a-z0-9]|[a-z][A-Z]|[A-Z][a-z0-9]{1,40}[A-Z]|^__\w{1,40}__$")
# Text quoted from the project (a docs sentence, an error message): long enough to be
# telling, short enough to be one sentence.
_QUOTE = re.compile(r'["“]([^"“”\n]{24,300})["”]')
_BLOCK_QUOTE = re.compile(r"^>[ \t]{0,4}([^\n]{24,300})$", re.MULTILINE)
_MAX_QUOTES = 8
_FENCES = ("```", "~~~")
_ROUTE = re.compile(
    r"(?:\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s{1,4})?(?<![\w.:/])(/[\w{}<>:.-]{1,80}"
    r"(?:/[\w{}<>:.-]{1,80}){0,10}/?)"
)
# Where installed packages live: the frame path after one of these is package-relative.
_SITE_DIRS = re.compile(r"(?:site|dist)-packages[/\\]|lib[/\\]python3?[\d.]{0,6}[/\\]")
_LEADING = re.compile(r"^(?:\.{0,2}/){1,20}")
_FILE_HOSTS = ("http:", "https:", "www.")
_PROSE_DOTTED = frozenset({"e.g", "i.e", "etc", "vs", "a.k.a"})
_MAX_MENTIONS = 60


@dataclass(frozen=True)
class Frame:
    """One traceback frame: the file (package-relative when installed) and the function."""

    path: str
    line: int
    function: str


@dataclass(frozen=True)
class Mentions:
    """What the issue names, in the order it names it."""

    paths: tuple[str, ...] = ()
    frames: tuple[Frame, ...] = ()
    dotted: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    quotes: tuple[str, ...] = ()
    # Names only seen in fenced code (a reproduction script): the public API a user
    # calls more often than the place a fix goes, so they weigh less.
    code_symbols: tuple[str, ...] = ()
    code_dotted: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.paths or self.frames or self.dotted or self.symbols or self.routes or self.quotes
        )


def read_mentions(text: str) -> Mentions:
    """Paths, frames, dotted names, code-like symbols and routes the text names."""
    frames = tuple(_frames(text))
    frame_paths = {frame.path for frame in frames}
    paths = [p for p in _unique(_clean_path(m) for m in _PATH.findall(text)) if p]
    prose, code = split_fenced(text)
    spans = _CODE_SPAN.findall(prose)
    symbols = _unique(_symbols(prose, spans, frames))
    in_code = [name for name in _unique(_symbols(code, [], ())) if name not in set(symbols)]
    dotted = _unique(_dotted(prose))
    return Mentions(
        paths=tuple(p for p in paths if p not in frame_paths and not _is_url_part(p, text))[
            :_MAX_MENTIONS
        ],
        frames=frames[-_MAX_MENTIONS:],
        dotted=tuple(dotted)[:_MAX_MENTIONS],
        code_dotted=tuple(name for name in _unique(_dotted(code)) if name not in dotted)[
            :_MAX_MENTIONS
        ],
        symbols=tuple(symbols)[:_MAX_MENTIONS],
        code_symbols=tuple(in_code)[:_MAX_MENTIONS],
        routes=tuple(_unique(_routes(spans)))[:_MAX_MENTIONS],
        quotes=tuple(_unique(_quotes(text)))[:_MAX_QUOTES],
    )


def split_fenced(text: str) -> tuple[str, str]:
    """(prose, fenced code): the lines outside and inside ``` or ~~~ fences."""
    prose: list[str] = []
    code: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        marker = line.lstrip()[:3]
        if fence is None and marker in _FENCES:
            fence = marker
        elif fence is not None and marker == fence:
            fence = None
        else:
            (prose if fence is None else code).append(line)
    return "\n".join(prose), "\n".join(code)


def normalise(text: str) -> str:
    """Lower case with runs of white space as one space, to compare quoted text."""
    return " ".join(text.lower().split())


def _quotes(text: str) -> list[str]:
    found = _QUOTE.findall(text) + _BLOCK_QUOTE.findall(text)
    return [quote for quote in map(normalise, found) if " " in quote and "://" not in quote]


def _frames(text: str) -> list[Frame]:
    found = []
    for raw, line, function in _FRAME.findall(text):
        found.append(Frame(_clean_path(raw), int(line), function))
    return found


def _clean_path(raw: str) -> str:
    """The path with forward slashes, relative to the installed packages when it is inside."""
    path = raw.replace("\\", "/")
    ends = [match.end() for match in _SITE_DIRS.finditer(path)]
    return _LEADING.sub("", path[max(ends) :] if ends else path)


def _is_url_part(path: str, text: str) -> bool:
    """A "path" that is really part of a web address (example.com/index.html)."""
    first = path.split("/", 1)[0]
    return "/" in path and "." in first and any(f"{host}//{first}" in text for host in _FILE_HOSTS)


def _dotted(text: str) -> list[str]:
    result = []
    for name in _DOTTED.findall(text):
        if name.lower() in _PROSE_DOTTED or name[0].isdigit():
            continue
        parts = name.split(".")
        if parts[-1] in {"py", "md", "rst", "txt", "com", "org", "io", "html", "json", "toml"}:
            continue  # a file name or a host, handled as a path or ignored
        result.append(name)
    return result


def _symbols(text: str, spans: list[str], frames: tuple[Frame, ...]) -> list[str]:
    found: list[str] = []
    for span in spans:
        found += [word for word in _IDENTIFIER.findall(span) if len(word) > 2]
    found += [name for name in _CALL.findall(text) for name in name.split(".")]
    found += [word for word in _IDENTIFIER.findall(text) if _CODE_LIKE.search(word)]
    found += [frame.function for frame in frames if frame.function.isidentifier()]
    return [word for word in found if not word.isdigit() and not word.isupper()]


def _routes(spans: list[str]) -> list[str]:
    """Routes only from code spans and request lines, where a slash is not a fraction."""
    found = []
    for span in spans:
        found += [route for route in _ROUTE.findall(span) if len(route) > 1]
    return found


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
