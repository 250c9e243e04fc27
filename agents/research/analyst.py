"""The project analyst: languages, frameworks, tools, tests, layout and API specs."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from agents.research.base import ResearchContext
from agents.research.inventory import Inventory, SourceFile
from agents.research.manifests import FRAMEWORKS, TOOLS, ManifestFacts, is_manifest, read_manifest
from agents.research.memo import InventoryMemo
from agents.research.model import ApiSpec, ApiSpecKind, Contribution, LanguageShare, ProjectProfile

_SPEC_SUFFIXES = (".yml", ".yaml", ".json")
_OPENAPI_KEY = re.compile(r"""(?:^|[{,])\s*["']?openapi["']?\s*:\s*["']?3""", re.MULTILINE)
_SWAGGER_KEY = re.compile(r"""(?:^|[{,])\s*["']?swagger["']?\s*:\s*["']?2""", re.MULTILINE)
_JSON_SCHEMA = re.compile(r'"\$schema"\s*:\s*"[^"]*json-schema\.org')
_SPEC_PROBE = 2048
# Language -> the test runner and command used when no manifest names one.
_DEFAULT_TESTS = {
    "Python": ("pytest", "pytest"),
    "Go": ("go test", "go test ./..."),
    "Rust": ("cargo test", "cargo test"),
}


class ProjectAnalyst:
    """Describes the project as a whole from the shared inventory."""

    name = "project-analyst"

    def run(self, context: ResearchContext) -> Contribution:
        return Contribution(profile=_PROFILES.get(context.inventory, lambda: profile(context)))


# The profile depends on the files alone: kept for the next issue on the same commit.
_PROFILES: InventoryMemo[ProjectProfile] = InventoryMemo()


def profile(context: ResearchContext) -> ProjectProfile:
    """The project as a whole, from the shared inventory."""
    inventory = context.inventory
    facts = [
        fact
        for item in inventory.files
        if item.text is not None and (fact := read_manifest(item.path, item.text))
    ]
    languages = language_shares(inventory)
    framework, command = _test_runner(facts, inventory, languages[0].name if languages else None)
    return ProjectProfile(
        languages=languages,
        frameworks=_named(facts, FRAMEWORKS, tools=False),
        tools=_named(facts, TOOLS, tools=True),
        test_framework=framework,
        test_command=command,
        top_dirs=_top_dirs(inventory),
        src_layout=any(item.path.startswith("src/") for item in inventory.files),
        manifests=tuple(item.path for item in inventory.files if is_manifest(item.path)),
        api_specs=tuple(spec for item in inventory.files if (spec := api_spec(item))),
    )


def language_shares(inventory: Inventory) -> tuple[LanguageShare, ...]:
    """Languages by bytes, largest first (ties by name), with one-decimal percentages."""
    counts: Counter[str] = Counter()
    for item in inventory.files:
        language = item.language
        if language is not None:
            counts[language] += item.size
    total = sum(counts.values()) or 1
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return tuple(LanguageShare(name, size, round(100 * size / total, 1)) for name, size in ranked)


def api_spec(item: SourceFile) -> ApiSpec | None:
    """Whether a file is an OpenAPI, Swagger or JSON Schema document."""
    if item.text is None or not item.path.endswith(_SPEC_SUFFIXES):
        return None
    head = item.text[:_SPEC_PROBE]
    if _OPENAPI_KEY.search(head):
        return ApiSpec(item.path, ApiSpecKind.OPENAPI)
    if _SWAGGER_KEY.search(head):
        return ApiSpec(item.path, ApiSpecKind.SWAGGER)
    if item.path.endswith(".schema.json") or _JSON_SCHEMA.search(head):
        return ApiSpec(item.path, ApiSpecKind.JSON_SCHEMA)
    return None


def _named(
    facts: Iterable[ManifestFacts], table: dict[str, str], *, tools: bool
) -> tuple[str, ...]:
    found: set[str] = set()
    for fact in facts:
        names = (*fact.dependencies, *fact.tools) if tools else fact.dependencies
        found.update(table[name] for name in names if name in table)
        if tools:
            found.update(name for name in fact.tools if name in TOOLS.values())
    return tuple(sorted(found, key=str.lower))


def _test_runner(
    facts: list[ManifestFacts], inventory: Inventory, primary: str | None
) -> tuple[str | None, str | None]:
    guesses = [fact.test for fact in facts if fact.test is not None]
    matching = [guess for guess in guesses if primary in _runner_languages(guess[0])]
    if matching:
        return matching[0]
    if primary in _DEFAULT_TESTS and _has_tests(inventory):
        return _DEFAULT_TESTS[primary]
    return guesses[0] if guesses else (None, None)


def _runner_languages(runner: str) -> tuple[str, ...]:
    fixed = {"pytest": ("Python",), "go test": ("Go",), "cargo test": ("Rust",)}
    return fixed.get(runner, ("JavaScript", "TypeScript", "Vue", "Svelte"))


def _has_tests(inventory: Inventory) -> bool:
    return any(
        item.name.startswith("test_")
        or item.name.endswith(("_test.py", "_test.go"))
        or item.path.startswith(("tests/", "test/"))
        for item in inventory.files
    )


def _top_dirs(inventory: Inventory) -> tuple[str, ...]:
    names = {item.path.split("/", 1)[0] for item in inventory.files if "/" in item.path}
    return tuple(sorted(name for name in names if not name.startswith(".")))
