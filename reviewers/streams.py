"""The three streams by name, and a review input made from a gate input (two checkouts
and their diff), shared by the GitHub feature and ``techlead review``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from gates.model import Finding
from gates.revision import GateInput
from reviewers import code, docs, security
from reviewers.anchor import Diff
from reviewers.model import Comment, FileReader, ReviewInput, ReviewSettings, Stream

STREAMS: dict[Stream, Callable[[ReviewInput], list[Comment]]] = {
    Stream.CODE: code.review,
    Stream.SECURITY: security.review,
    Stream.DOCS: docs.review,
}
MAX_FILE_BYTES = 1_000_000  # larger files are generated or vendored: not reviewed


def review_all(
    inp: ReviewInput, streams: Iterable[Stream] = tuple(Stream)
) -> dict[Stream, list[Comment]]:
    """Each stream's comments, most severe first."""
    return {stream: sorted(STREAMS[stream](inp), key=lambda c: c.sort_key) for stream in streams}


def reader(root: Path | None) -> FileReader:
    """Read repository-relative paths under ``root`` as text; None when absent or too big."""

    def read(path: str) -> str | None:
        if root is None or not path or path.startswith(("/", "../")):
            return None
        file = root / path
        try:
            if not file.is_file() or file.stat().st_size > MAX_FILE_BYTES:
                return None
            return file.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return None

    return read


def from_gate_input(
    gate: GateInput,
    findings: Sequence[Finding] = (),
    settings: ReviewSettings | None = None,
    head_paths: frozenset[str] = frozenset(),
) -> ReviewInput:
    return ReviewInput(
        diff=Diff.from_patch(gate.diff),
        base=reader(gate.base),
        head=reader(gate.head),
        findings=tuple(findings),
        settings=settings or ReviewSettings(),
        head_paths=head_paths,
    )
