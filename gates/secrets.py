"""Finds secrets on added lines: our own high-confidence token formats plus detect-secrets."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from unidiff import PatchSet

from gates import templates
from gates.config import Severity
from gates.model import Finding
from gates.redact import PRIVATE_KEY, TOKEN_PATTERNS, digest, redact

OWN_TOOL = "secrets"
DETECT_SECRETS = "detect-secrets"
ALLOWLIST_PRAGMA = "pragma: allowlist secret"
# detect-secrets plugins whose finds are as certain as a token prefix.
_TYPED_PLUGINS_CRITICAL = {
    "AWS Access Key",
    "GitHub Token",
    "Private Key",
    "Slack Token",
    "Stripe Access Key",
    "GitLab Token",
    "OpenAI Token",
    "PyPI Token",
    "SendGrid API Key",
    "Twilio API Key",
}
_ENTROPY_PLUGINS = ("Base64HighEntropyString", "HexHighEntropyString")
# detect-secrets keeps its settings in module globals: one scan at a time.
_DETECT_SECRETS_LOCK = threading.Lock()


@dataclass(frozen=True)
class SecretHit:
    """A secret at a line; ``value`` never leaves the process (only its redaction)."""

    path: str
    line: int
    kind: str
    value: str
    severity: Severity
    tool: str
    start_column: int | None = None
    end_column: int | None = None

    def finding(self) -> Finding:
        same_line = self.start_column is not None
        return Finding(
            path=self.path,
            start_line=self.line,
            end_line=self.line,
            severity=self.severity,
            rule=f"secret/{_slug(self.kind)}",
            message=templates.secret_message(self.kind, redact(self.value)),
            tool=self.tool,
            start_column=self.start_column if same_line else None,
            end_column=self.end_column if same_line else None,
            url=templates.SECRETS_URL,
            subject=digest(self.value),
        )


def scan_patch(patch: PatchSet, *, entropy: bool = False) -> list[SecretHit]:
    """Secrets on the lines ``patch`` adds."""
    lines = [
        (patched.path, line.target_line_no, line.value)
        for patched in patch
        if not patched.is_removed_file and not patched.is_binary_file
        for hunk in patched
        for line in hunk
        if line.is_added and line.target_line_no
    ]
    return _merge(_own_hits(lines), _detect_secrets(str(patch), entropy))


def scan_file(path: str, lines: list[str], *, entropy: bool = False) -> list[SecretHit]:
    """Secrets anywhere in a file (the base version of a changed file)."""
    numbered = [(path, number, text) for number, text in enumerate(lines, start=1)]
    return _merge(_own_hits(numbered), _detect_secrets(_as_new_file(path, lines), entropy))


def _as_new_file(path: str, lines: list[str]) -> str:
    body = "".join("+" + (text if text.endswith("\n") else text + "\n") for text in lines)
    return f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


def _own_hits(lines: Iterable[tuple[str, int, str]]) -> Iterator[SecretHit]:
    for path, number, text in lines:
        if ALLOWLIST_PRAGMA in text:
            continue
        for kind, pattern in TOKEN_PATTERNS.items():
            for match in pattern.finditer(text):
                yield _hit(path, number, templates.SECRET_KINDS[kind], match.group(0), match)
        key = PRIVATE_KEY.search(text)
        if key:
            yield _hit(path, number, templates.SECRET_KINDS["private-key"], key.group(0), key)


def _hit(path: str, number: int, kind: str, value: str, match: re.Match[str]) -> SecretHit:
    start, end = match.span()
    return SecretHit(path, number, kind, value, Severity.CRITICAL, OWN_TOOL, start + 1, end + 1)


def _detect_secrets(diff: str, entropy: bool) -> Iterator[SecretHit]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.core.scan import scan_diff
    from detect_secrets.settings import transient_settings

    classes: dict[str, type] = get_mapping_from_secret_type_to_class()
    names = [plugin.__name__ for plugin in classes.values()]
    plugins = [{"name": name} for name in names if entropy or name not in _ENTROPY_PLUGINS]
    with _DETECT_SECRETS_LOCK, transient_settings({"plugins_used": plugins}) as settings:
        # The files are not on disk where detect-secrets would look for them.
        settings.disable_filters("detect_secrets.filters.common.is_invalid_file")
        found = list(scan_diff(diff))
    for secret in found:
        severity = Severity.CRITICAL if secret.type in _TYPED_PLUGINS_CRITICAL else Severity.HIGH
        value = secret.secret_value or ""
        yield SecretHit(
            secret.filename, secret.line_number, secret.type, value, severity, DETECT_SECRETS
        )


def _merge(own: Iterable[SecretHit], found: Iterable[SecretHit]) -> list[SecretHit]:
    """Our own hits win; detect-secrets adds what is on other lines."""
    hits = list(own)
    taken = {(hit.path, hit.line) for hit in hits}
    seen: set[tuple[str, int, str]] = set()
    for hit in found:
        key = (hit.path, hit.line, hit.kind)
        if (hit.path, hit.line) not in taken and key not in seen:
            seen.add(key)
            hits.append(hit)
    return hits


def _slug(kind: str) -> str:
    return "-".join(kind.lower().replace("_", " ").split())
