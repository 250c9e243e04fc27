"""Maps file names to programming languages and says which files are not source."""

from __future__ import annotations

import enum
import re

# Programming and markup languages counted in the language breakdown. Data and prose
# (JSON, YAML, Markdown, plain text) are left out, as GitHub's linguist does.
EXTENSIONS: dict[str, str] = {
    ".py": "Python",
    ".pyi": "Python",
    ".js": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".jsx": "JavaScript",
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".go": "Go",
    ".rs": "Rust",
    ".java": "Java",
    ".kt": "Kotlin",
    ".kts": "Kotlin",
    ".scala": "Scala",
    ".rb": "Ruby",
    ".php": "PHP",
    ".cs": "C#",
    ".c": "C",
    ".h": "C",
    ".cc": "C++",
    ".cpp": "C++",
    ".cxx": "C++",
    ".hpp": "C++",
    ".swift": "Swift",
    ".m": "Objective-C",
    ".dart": "Dart",
    ".ex": "Elixir",
    ".exs": "Elixir",
    ".erl": "Erlang",
    ".hs": "Haskell",
    ".lua": "Lua",
    ".r": "R",
    ".jl": "Julia",
    ".sh": "Shell",
    ".bash": "Shell",
    ".zsh": "Shell",
    ".ps1": "PowerShell",
    ".sql": "SQL",
    ".html": "HTML",
    ".htm": "HTML",
    ".css": "CSS",
    ".scss": "SCSS",
    ".sass": "Sass",
    ".less": "Less",
    ".vue": "Vue",
    ".svelte": "Svelte",
    ".tf": "HCL",
    ".proto": "Protocol Buffers",
}

FILENAMES: dict[str, str] = {
    "Dockerfile": "Dockerfile",
    "Makefile": "Makefile",
    "GNUmakefile": "Makefile",
}

# Never read: images, archives, compiled objects, fonts, media, databases.
BINARY_EXTENSIONS = frozenset(
    {
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".svgz", ".tiff",
        ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".jar", ".war",
        ".whl", ".egg", ".so", ".dll", ".dylib", ".exe", ".o", ".a", ".lib", ".class",
        ".pyc", ".pyo", ".wasm", ".bin", ".dat", ".db", ".sqlite", ".sqlite3",
        ".woff", ".woff2", ".ttf", ".otf", ".eot", ".pdf", ".mp3", ".mp4", ".mov",
        ".avi", ".wav", ".ogg", ".flac", ".psd", ".ai", ".sketch", ".parquet", ".pkl",
        ".npy", ".npz", ".h5", ".onnx", ".pt", ".lockb",
    }
)  # fmt: skip

# Directories of third-party, generated or cached files: never researched.
VENDORED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "bower_components", "vendor", "vendors",
        "third_party", "third-party", "thirdparty", ".venv", "venv", "virtualenv",
        "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
        ".eggs", "site-packages", "dist", "build", "target", ".next", ".nuxt",
        ".gradle", ".terraform", "Pods", "coverage", "htmlcov", ".idea", ".vscode",
        ".cache", ".parcel-cache", ".techlead",
    }
)  # fmt: skip

DOC_EXTENSIONS = frozenset({".md", ".rst", ".txt", ".adoc"})


def language_of(path: str) -> str | None:
    """The language a file is written in, or None for data, prose and unknown files."""
    name = file_name(path)
    if name in FILENAMES:
        return FILENAMES[name]
    if name.startswith("Dockerfile"):
        return "Dockerfile"
    return EXTENSIONS.get(suffix(name))


def is_binary_name(path: str) -> bool:
    """Whether the file name alone says the content is binary."""
    return suffix(path) in BINARY_EXTENSIONS


def is_doc(path: str) -> bool:
    """Whether the file is prose (its whole text is documentation)."""
    return suffix(path) in DOC_EXTENSIONS


def file_name(path: str) -> str:
    """The last component of a relative POSIX path (cheaper than pathlib on hot paths)."""
    return path.rsplit("/", 1)[-1]


def suffix(path: str) -> str:
    """The lower-cased extension, as ``PurePosixPath.suffix`` gives it (``.bashrc`` has none)."""
    name = file_name(path)
    dot = name.rfind(".")
    return name[dot:].lower() if 0 < dot < len(name) - 1 else ""


class FileKind(enum.StrEnum):
    """What a file is to someone changing the project."""

    CODE = "code"
    TEST = "test"
    DOC = "doc"
    CONFIG = "config"
    OTHER = "other"


_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs", "e2e"})
_TEST_NAME = re.compile(
    r"^(?:test_.{1,200}|.{1,200}_tests?\.\w{1,8}|.{1,200}\.(?:test|spec)\.\w{1,8}|conftest\.py)$"
)
# Files nobody fixes an issue in: the issue and pull-request templates, release notes and
# their fragments, licences, and lock files written by package managers.
_NEVER_DIRS = (
    ".github/ISSUE_TEMPLATE/",
    ".github/PULL_REQUEST_TEMPLATE/",
    ".github/DISCUSSION_TEMPLATE/",
    "changelog.d/",
    "newsfragments/",
    "news/",
    "changes/",
    "releasenotes/",
    "docs/releases/",
    "release-notes/",
)
_NEVER_STEMS = frozenset(
    {
        "changelog", "changes", "history", "news", "release-notes", "release_notes",
        "releases", "license", "licence", "copying", "authors", "contributors",
        "code_of_conduct", "pull_request_template", "issue_template",
    }
)  # fmt: skip
LOCK_FILES = frozenset(
    {
        "poetry.lock", "pipfile.lock", "pdm.lock", "uv.lock", "package-lock.json",
        "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "cargo.lock", "gemfile.lock",
        "composer.lock", "go.sum", "mix.lock", "pubspec.lock", "packages.lock.json",
    }
)  # fmt: skip
_CONFIG_SUFFIXES = frozenset({".toml", ".cfg", ".ini", ".yml", ".yaml", ".json", ".lock"})


def file_kind(path: str) -> FileKind:
    """Code, test, prose, configuration or other (data, media), from the path alone."""
    if is_doc(path):
        return FileKind.DOC
    if language_of(path) is None:
        return FileKind.CONFIG if suffix(path) in _CONFIG_SUFFIXES else FileKind.OTHER
    parts = path.lower().split("/")
    if _TEST_NAME.match(parts[-1]) or not _TEST_DIRS.isdisjoint(parts[:-1]):
        return FileKind.TEST
    return FileKind.CODE


def never_changed(path: str) -> bool:
    """Whether the file is one an issue is never fixed in (templates, changelogs, locks)."""
    name = file_name(path).lower()
    if name in LOCK_FILES or name.endswith(".lock"):
        return True
    if any(path.startswith(prefix) or f"/{prefix}" in path for prefix in _NEVER_DIRS):
        return True
    stem = name.split(".", 1)[0]
    return stem in _NEVER_STEMS and (is_doc(path) or "." not in name)
