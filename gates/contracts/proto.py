"""Protobuf breaking changes through ``buf breaking`` (when buf is installed).

buf compares two module directories. The head is the checkout; the base is built as a
copy of the head's ``.proto`` files with the changed ones put back as they were on the
base, so imports of unchanged files still resolve.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.errors import ToolFailed
from gates.diff import ChangedFile
from gates.files import relative
from gates.tools import ToolRunner

TOOL = "buf"
PROTO_SUFFIX = ".proto"
_ARGS = ("breaking", "--error-format", "json")
_MAX_PROTO_FILES = 5000


@dataclass(frozen=True)
class ProtoChange:
    path: str
    line: int
    column: int | None
    rule: str
    message: str


def buf_path(env_path: str | None) -> str | None:
    return shutil.which(TOOL, path=env_path)


def breaking(
    tools: ToolRunner, buf: str, head: Path, base: Path | None, files: Sequence[ChangedFile]
) -> list[ProtoChange]:
    """buf's breaking changes between the base and the head of the changed protos."""
    with tempfile.TemporaryDirectory(prefix="techlead-buf-") as scratch:
        against = Path(scratch) / "base"
        _base_tree(head, base, files, against)
        output = tools.run(
            [buf, *_ARGS, str(head), "--against", str(against)], cwd=head, ok_codes=(0, 100)
        )
    return [
        replace(change, path=relative(change.path, head)) for change in parse_output(output.stdout)
    ]


def parse_output(stdout: str) -> list[ProtoChange]:
    """buf's ``--error-format json``: one object per line (path, start_line, type, message)."""
    found = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ToolFailed(f"buf printed something that is not JSON: {exc}") from exc
        found.append(
            ProtoChange(
                path=str(item.get("path", "")),
                line=int(item.get("start_line") or 1),
                column=int(item["start_column"]) if item.get("start_column") else None,
                rule=str(item.get("type") or "buf-breaking"),
                message=str(item.get("message") or ""),
            )
        )
    return found


def _base_tree(head: Path, base: Path | None, files: Sequence[ChangedFile], dest: Path) -> None:
    dest.mkdir(parents=True)
    for count, source in enumerate(head.rglob(f"*{PROTO_SUFFIX}")):
        if count >= _MAX_PROTO_FILES or ".git" in source.parts:
            break
        target = dest / source.relative_to(head)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    for changed in files:
        (dest / changed.path).unlink(missing_ok=True)
        old = base / changed.old_path if base is not None and changed.old_path else None
        if old is not None and old.is_file():
            target = dest / (changed.old_path or changed.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(old, target)
    for name in ("buf.yaml", "buf.work.yaml"):
        if (head / name).is_file():
            shutil.copyfile(head / name, dest / name)
