"""Generates a realistic, deterministic repository of a given size for the benchmarks."""

from __future__ import annotations

import random
from pathlib import Path

DOMAINS = (
    "cart", "checkout", "payment", "invoice", "user", "account", "session", "search",
    "catalog", "product", "inventory", "shipping", "order", "review", "coupon", "report",
    "notification", "email", "audit", "export", "import", "billing", "profile", "admin",
)  # fmt: skip
VERBS = ("load", "save", "update", "compute", "validate", "render", "fetch", "sync", "apply")
NOUNS = ("total", "items", "record", "state", "summary", "token", "price", "status", "batch")

PY_MODULE = '''"""{Domain} {kind}: {verb}s {noun} records for the {domain} feature."""

from __future__ import annotations

import logging
import subprocess

log = logging.getLogger(__name__)


class {Domain}{Kind}:
    """Keeps {domain} {noun} consistent across requests."""

    def __init__(self, store):
        self.store = store

{methods}

def {verb}_{domain}_{noun}(rows):
    # Walk every row and {verb} its {noun}; this runs once per request.
    total = 0
    for row in rows:
        for part in row.parts:
            total += part.{noun}
    return total


def run_{domain}_job(name):
    return subprocess.run(["echo", name], check=False)
'''

PY_METHOD = '''    def {verb}_{noun}(self, key):
        """{Verb} the {noun} of one {domain} entry."""
        # Cached in the store between calls.
        rows = self.store.execute("SELECT id, {noun} FROM {domain} WHERE key = ?", (key,))
        for row in rows:
            self.store.execute("UPDATE {domain} SET seen = 1 WHERE id = ?", (row[0],))
        return rows
'''

TEST_MODULE = '''"""Tests for the {domain} {kind}."""

from app.{domain}.{kind} import {Domain}{Kind}


def test_{verb}_{noun}():
    service = {Domain}{Kind}(store=None)
    assert service is not None
'''

JS_COMPONENT = """// {Domain}{Noun} shows the {domain} {noun} on the page.
import React from "react";

export function {Domain}{Noun}View(props) {{
  // Render one row per {noun}.
  return props.items.map((item) => <div key={{item.id}}>{{item.{noun}}}</div>);
}}

export async function load{Domain}{Noun}(ids) {{
  const out = [];
  for (const id of ids) {{
    out.push(await fetch(`/api/{domain}/${{id}}`));
  }}
  return out;
}}
"""

DOC_PAGE = """# {Domain}

The {domain} feature {verb}s {noun} data. See `app/{domain}/` for the code.

## How {domain} works

Each request {verb}s the {noun}; results are cached per session.
"""


def generate(root: Path, *, files: int = 2000, seed: int = 7) -> Path:
    """Write a repository of about ``files`` files under ``root`` and return ``root``."""
    rng = random.Random(seed)
    _write_fixed(root)
    count = 10
    index = 0
    while count < files:
        domain = DOMAINS[index % len(DOMAINS)]
        suffix = index // len(DOMAINS)
        count += _write_domain(root, domain, suffix, rng)
        index += 1
    return root


def _write_domain(root: Path, domain: str, suffix: int, rng: random.Random) -> int:
    kinds = ("service", "models", "views", "api", "tasks", "utils")
    written = 0
    for kind in kinds:
        fields = _fields(domain, kind, rng)
        methods = "\n".join(
            PY_METHOD.format(**_fields(domain, kind, rng)) for _ in range(rng.randint(2, 6))
        )
        _put(root / f"app/{domain}{suffix}/{kind}.py", PY_MODULE.format(methods=methods, **fields))
        _put(root / f"tests/{domain}{suffix}/test_{kind}.py", TEST_MODULE.format(**fields))
        written += 2
    fields = _fields(domain, "view", rng)
    _put(root / f"web/src/{domain}{suffix}/{fields['Domain']}.jsx", JS_COMPONENT.format(**fields))
    _put(root / f"docs/{domain}{suffix}.md", DOC_PAGE.format(**fields))
    _put(root / f"app/{domain}{suffix}/__init__.py", "")
    return written + 3


def _fields(domain: str, kind: str, rng: random.Random) -> dict[str, str]:
    verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
    return {
        "domain": domain,
        "Domain": domain.capitalize(),
        "kind": kind,
        "Kind": kind.capitalize(),
        "verb": verb,
        "Verb": verb.capitalize(),
        "noun": noun,
        "Noun": noun.capitalize(),
    }


def _write_fixed(root: Path) -> None:
    _put(
        root / "pyproject.toml",
        '[project]\nname = "shop"\nversion = "1.0"\n'
        'dependencies = ["fastapi>=0.110", "sqlalchemy>=2"]\n\n'
        '[project.optional-dependencies]\ndev = ["pytest>=8", "ruff"]\n\n[tool.ruff]\n',
    )
    _put(
        root / "web/package.json",
        '{"dependencies": {"react": "^18"}, "devDependencies": {"jest": "^29"},'
        ' "scripts": {"test": "jest"}}',
    )
    _put(root / "Dockerfile", "FROM python:3.11-slim\nCOPY . /app\n")
    _put(
        root / ".github/workflows/ci.yml",
        "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n",
    )
    _put(root / ".github/CODEOWNERS", "* @shop/maintainers\n/app/payment*/ @shop/payments\n")
    _put(root / "openapi.yaml", "openapi: 3.1.0\ninfo:\n  title: Shop\n  version: '1'\n")
    _put(root / "README.md", "# Shop\n\nAn example shop used for benchmarks.\n")
    # Never files to change, though their words match every issue.
    _put(
        root / ".github/ISSUE_TEMPLATE/bug_report.md",
        "## Bug\n\n- [ ] I searched the issues\n\nCheckout cart total coupon service tests docs\n",
    )
    _put(root / "CHANGELOG.md", "## 1.0\n\n- Fix the checkout total with coupons\n")
    _put(root / "node_modules/react/index.js", "module.exports = {};\n")


def _put(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
