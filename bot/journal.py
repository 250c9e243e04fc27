"""The intake journal: acknowledged deliveries, appended and fdatasynced before the 202.

The writer process acknowledges a batch of deliveries once their rows are on disk
here, in an append-only segment file; its loader process moves them into SQLite
afterwards, off the acknowledgement's path, and deletes a segment once every row in
it is durable in SQLite. Whoever opens the store while no writer holds the journal replays the
segments left behind (a writer killed before its loader caught up) first.

On disk: ``<data dir>/journal/<number>.seg``, each a sequence of records, a record
being a 4-byte little-endian length, the CRC-32 of the payload, and the payload: the
``marshal`` of ``(delivery row, routing job row)`` exactly as the store inserts them.
A record cut short by a crash (never acknowledged: its fdatasync never returned) fails
its length or its checksum and is dropped with everything after it in that segment.

The live writer holds an exclusive ``flock`` on the journal directory; a process that
cannot take it leaves the segments to that writer.
"""

from __future__ import annotations

import fcntl
import marshal
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DIR_NAME = "journal"
SUFFIX = ".seg"
RECORD_HEADER = struct.Struct("<II")  # payload length, CRC-32 of the payload
# A new segment once the current one is this large: at 5,000 deliveries/s of 16 KB,
# one rotation (and one deletion, with its fsyncs) a second or less.
SEGMENT_BYTES = 64 * 1024 * 1024
# ... or once it is this old, however small: far younger than any delivery the store
# prunes, which a replay of the segment would otherwise bring back.
SEGMENT_SECONDS = 3600.0
MARSHAL_VERSION = 4

Row = tuple[Any, ...]
Record = tuple[Row, Row]  # (delivery row, routing job row)


def journal_dir(data_dir: Path) -> Path:
    return data_dir / DIR_NAME


def encode(records: Sequence[Record]) -> bytes:
    """The bytes appended for ``records``: each framed with its length and checksum."""
    parts: list[bytes] = []
    for record in records:
        payload = marshal.dumps(record, MARSHAL_VERSION)
        parts.append(RECORD_HEADER.pack(len(payload), zlib.crc32(payload)))
        parts.append(payload)
    return b"".join(parts)


def decode(data: bytes) -> list[Record]:
    """The whole records in ``data``; a torn or corrupt record ends the segment."""
    found: list[Record] = []
    start = 0
    while len(data) - start >= RECORD_HEADER.size:
        size, checksum = RECORD_HEADER.unpack_from(data, start)
        begin = start + RECORD_HEADER.size
        payload = data[begin : begin + size]
        if len(payload) < size or zlib.crc32(payload) != checksum:
            break
        try:
            delivery, job = marshal.loads(payload)  # noqa: S302 - our own checksummed file
        except (EOFError, ValueError, TypeError):
            break
        found.append((tuple(delivery), tuple(job)))
        start = begin + size
    return found


def segments(directory: Path) -> list[Path]:
    """The segment files in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    found = [path for path in directory.iterdir() if path.suffix == SUFFIX]
    return sorted(found, key=number)


def number(path: Path) -> int:
    """A segment's number, from its name (-1 for a name that is not one)."""
    try:
        return int(path.stem)
    except ValueError:
        return -1


@contextmanager
def locked(directory: Path, *, wait: bool) -> Iterator[bool]:
    """Hold the journal's exclusive lock; yields False when a live writer has it."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the descriptor lets go of the lock


def take_lock(directory: Path) -> int:
    """The writer's lock, held until the returned descriptor is closed (or it dies)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@dataclass
class Segment:
    """One segment file the writer appends to; its loader deletes it once loaded."""

    path: Path
    fd: int
    number: int
    size: int = 0
    written: int = 0  # records appended
    sealed: bool = False  # no more appends: the file is synced and closed
    opened: float = 0.0  # on the journal's clock

    def close(self) -> None:
        """No more appends; what was appended was fdatasynced (and answered) already."""
        if not self.sealed:
            self.sealed = True
            os.close(self.fd)


class Journal:
    """The writer's segments: appends, rotation by size and by age, retirement.

    Only the writer's thread uses it. The writer also seals a segment once everything
    in it is loaded and nothing came for a while (:meth:`seal`), so that no segment
    outlives the deliveries it holds: the store prunes old deliveries, and a replay
    must never bring one back.
    """

    def __init__(
        self,
        directory: Path,
        segment_bytes: int = SEGMENT_BYTES,
        segment_seconds: float = SEGMENT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self._clock = clock
        directory.mkdir(parents=True, exist_ok=True)
        existing = segments(directory)
        self._next = (number(existing[-1]) + 1) if existing else 1
        self.current: Segment | None = None  # made by the first append

    def _new_segment(self) -> Segment:
        path = self.directory / f"{self._next:012d}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        _sync_directory(self.directory)  # the new name survives a crash
        segment = Segment(path, fd, self._next, opened=self._clock())
        self._next += 1
        return segment

    def append(self, records: Sequence[Record]) -> Segment:
        """Write ``records`` (not yet synced); returns the segment that holds them.

        When a newer segment takes over, the previous one is fdatasynced and sealed
        first (the caller tells its loader it is complete).
        """
        data = encode(records)
        segment = self.current
        if segment is None or self._full(segment):
            if segment is not None:
                os.fdatasync(segment.fd)
                segment.close()
            segment = self.current = self._new_segment()
        view = memoryview(data)
        while view:
            view = view[os.write(segment.fd, view) :]
        segment.size += len(data)
        segment.written += len(records)
        return segment

    def _full(self, segment: Segment) -> bool:
        too_old = self._clock() - segment.opened >= self.segment_seconds
        return segment.size >= self.segment_bytes or too_old

    def seal(self) -> Segment | None:
        """No more appends to the current segment (all of it synced): the next append
        opens another. Returns the sealed one, if there was one."""
        segment, self.current = self.current, None
        if segment is not None:
            segment.close()
        return segment


def read_segment(path: Path) -> list[Record]:
    try:
        return decode(path.read_bytes())
    except FileNotFoundError:
        return []


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
