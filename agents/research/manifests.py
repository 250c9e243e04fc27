"""Reads dependency manifests and CI files into framework, tool and test-runner names."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Dependency name (lower case) -> the framework it signals.
FRAMEWORKS: dict[str, str] = {
    "django": "Django", "flask": "Flask", "fastapi": "FastAPI", "starlette": "Starlette",
    "aiohttp": "aiohttp", "tornado": "Tornado", "pyramid": "Pyramid", "sanic": "Sanic",
    "sqlalchemy": "SQLAlchemy", "celery": "Celery", "pydantic": "Pydantic",
    "pandas": "pandas", "numpy": "NumPy", "torch": "PyTorch", "tensorflow": "TensorFlow",
    "react": "React", "vue": "Vue", "svelte": "Svelte", "@angular/core": "Angular",
    "next": "Next.js", "nuxt": "Nuxt", "express": "Express", "koa": "Koa",
    "@nestjs/core": "NestJS", "fastify": "Fastify", "prisma": "Prisma",
    "github.com/gin-gonic/gin": "Gin", "github.com/labstack/echo": "Echo",
    "github.com/gofiber/fiber": "Fiber", "gorm.io/gorm": "GORM",
    "actix-web": "actix-web", "axum": "axum", "rocket": "Rocket", "tokio": "Tokio",
    "diesel": "Diesel", "serde": "serde",
}  # fmt: skip

# Dependency or [tool.*] name -> the development tool it signals.
TOOLS: dict[str, str] = {
    "pytest": "pytest", "ruff": "ruff", "mypy": "mypy", "black": "black",
    "flake8": "flake8", "pylint": "pylint", "isort": "isort", "tox": "tox", "nox": "nox",
    "poetry": "poetry", "hatch": "hatch", "setuptools": "setuptools", "coverage": "coverage",
    "eslint": "eslint", "prettier": "prettier", "typescript": "typescript", "jest": "jest",
    "vitest": "vitest", "mocha": "mocha", "webpack": "webpack", "vite": "vite",
    "@playwright/test": "playwright", "cypress": "cypress", "docker": "docker",
    "github-actions": "github-actions",
}  # fmt: skip

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?([a-z0-9.-]+\.[a-z]{2,}/\S+)\s+v", re.MULTILINE)
_DOCKER_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)?([^\s:@]+)", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class ManifestFacts:
    """Names one manifest contributes; ``test`` is a (framework, command) guess."""

    dependencies: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    test: tuple[str, str] | None = None


def read_manifest(path: str, text: str) -> ManifestFacts | None:
    """Facts from one manifest, or None when ``path`` is not a manifest or is malformed."""
    reader = _reader_for(path)
    if reader is None:
        return None
    try:
        return reader(text)
    except (ValueError, TypeError, AttributeError):
        return None  # a malformed manifest tells us nothing; research goes on


def is_manifest(path: str) -> bool:
    return _reader_for(path) is not None


def _reader_for(path: str) -> Callable[[str], ManifestFacts] | None:
    name = path.rsplit("/", 1)[-1]
    if name in _READERS:
        return _READERS[name]
    if name.startswith("requirements") and name.endswith(".txt"):
        return _requirements
    if name.startswith("Dockerfile"):
        return _dockerfile
    if path.startswith(".github/workflows/") and name.endswith((".yml", ".yaml")):
        return _workflow
    return None


def _pyproject(text: str) -> ManifestFacts:
    data = tomllib.loads(text)
    project = data.get("project", {})
    names = [*project.get("dependencies", [])]
    for extra in project.get("optional-dependencies", {}).values():
        names.extend(extra)
    poetry = data.get("tool", {}).get("poetry", {})
    names.extend(poetry.get("dependencies", {}))
    names.extend(poetry.get("group", {}).get("dev", {}).get("dependencies", {}))
    deps = tuple(_requirement_names(names))
    tools = tuple(data.get("tool", {}))
    uses_pytest = "pytest" in deps or "pytest" in tools
    return ManifestFacts(deps, tools, ("pytest", "pytest") if uses_pytest else None)


def _requirements(text: str) -> ManifestFacts:
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    deps = tuple(_requirement_names(line for line in lines if not line.strip().startswith("-")))
    return ManifestFacts(deps, (), ("pytest", "pytest") if "pytest" in deps else None)


def _package_json(text: str) -> ManifestFacts:
    data: dict[str, Any] = json.loads(text)
    deps = tuple(
        name.lower()
        for section in ("dependencies", "devDependencies", "peerDependencies")
        for name in data.get(section, {}) or {}
    )
    script = (data.get("scripts") or {}).get("test")
    runner = next((tool for tool in ("vitest", "jest", "mocha") if tool in deps), None)
    test = None
    if script and "no test specified" not in script:
        test = (runner or script.split()[0], "npm test")
    return ManifestFacts(deps, (), test)


def _go_mod(text: str) -> ManifestFacts:
    deps = tuple(match.lower() for match in _GO_REQUIRE.findall(text))
    return ManifestFacts(deps, (), ("go test", "go test ./..."))


def _cargo(text: str) -> ManifestFacts:
    data = tomllib.loads(text)
    deps = tuple(
        name.lower()
        for section in ("dependencies", "dev-dependencies")
        for name in data.get(section, {})
    )
    return ManifestFacts(deps, (), ("cargo test", "cargo test"))


def _dockerfile(text: str) -> ManifestFacts:
    images = tuple(f"docker:{image}" for image in _DOCKER_FROM.findall(text))
    return ManifestFacts(images, ("docker",))


def _workflow(text: str) -> ManifestFacts:
    return ManifestFacts((), ("github-actions",))


_READERS = {
    "pyproject.toml": _pyproject,
    "package.json": _package_json,
    "go.mod": _go_mod,
    "Cargo.toml": _cargo,
}


def _requirement_names(specs: Iterable[str]) -> Iterable[str]:
    for spec in specs:
        match = _REQUIREMENT_NAME.match(spec)
        if match:
            yield match.group(1).lower().replace("_", "-")
