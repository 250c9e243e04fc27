"""What serve and its writer child share: the frames between them, their settings, outcomes.

Frames, both ways, are a 4-byte little-endian length and a pickle (both ends are this
package, started together); :mod:`bot.intake_writer` describes what each carries.
"""

from __future__ import annotations

import enum
import pickle
import socket
import struct
from collections.abc import Callable
from typing import Any

from bot.intake import Delivery
from bot.jobs import JobSpec
from bot.router import ROUTE_KIND

HEADER = struct.Struct("<I")
SOCKET_BUFFER = 4 * 1024 * 1024
READ_CHUNK = 1024 * 1024
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
STABLE_SECONDS = 10.0  # a child that lived this long was not crash-looping
STOP_SECONDS = 10.0
REAP_SECONDS = 0.5
SWITCH_INTERVAL = 0.0005
# Deliveries between two checkpoints run by the writer itself (about 4 MB of WAL).
CHECKPOINT_EVERY = 256
# A side thread's checkpoints, so that the writer's own have only a tail left to copy
# and to sync: the bulk of the copying and of the database file's fsync happens
# beside the commits instead of between them.
SIDE_CHECKPOINT_SECONDS = 0.1
# The loader's checkpoints (moving the WAL into the database, two fsyncs of everything
# it holds) run after a pause in the deliveries this long, or else every this many
# deliveries loaded: small and frequent, so that no large write queues ahead of the
# journal's fdatasync, which every answer waits for (a few MB at once stalled answers
# for tens of milliseconds on a virtual disk).
CHECKPOINT_QUIET_SECONDS = 0.05
LOAD_CHECKPOINT_MAX = 128
# Nothing appended for this long and all of it loaded: the writer retires the segment.
LOADER_IDLE_SECONDS = 5.0
# The loader process's priority below the writer's: answers first, loading behind.
LOADER_NICENESS = 19
# A stopping writer gives its loader this long to load what is left; the next writer
# replays the rest (see LoaderProcess.finish).
LOADER_FINISH_SECONDS = 5.0
# The first argument of ``python -m bot.intake_writer`` that starts a loader instead.
LOADER_ARG = "loader"
# The loader waits this long after the first synced batch for more to load together.
LOAD_GATHER_SECONDS = 0.005
# "off": commit each batch to SQLite before answering it, without the journal.
JOURNAL_ENV = "TECHLEAD_INTAKE_JOURNAL"
# Tests only: "1" makes the loader never load (a writer killed before it caught up).
HOLD_LOADS_ENV = "TECHLEAD_TEST_HOLD_LOADS"
MSG_DOWN = "the delivery writer process is not running"
MSG_STOPPED = "the delivery writer process stopped before storing the delivery"

Item = tuple[int, str, str, float, bytes]  # seq, delivery id, event, received at, document
Answer = tuple[int, str, str]  # seq, outcome, trace id or reason
Tally = tuple[str, str | None, str]  # event, action, outcome
OnStored = Callable[[list[Tally], bool], None]


class Outcome(enum.StrEnum):
    """What the child did with one delivery."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    BAD_PAYLOAD = "bad_payload"  # not a JSON object: answered 400, not stored
    NOT_STORABLE = "not_storable"  # a row the store refuses: answered 400, not stored
    FAILED = "store_failed"  # the store or the queue failed: answered 503


def route_spec(delivery: Delivery, trace_id: str) -> JobSpec:
    """The job that routes a delivery; its dedupe key makes storing it idempotent."""
    return JobSpec(
        kind=ROUTE_KIND,
        payload={"delivery_id": delivery.delivery_id},
        dedupe_key=f"{ROUTE_KIND}:{delivery.delivery_id}",
        installation_id=delivery.envelope.installation_id,
        delivery_id=delivery.delivery_id,
        trace_id=trace_id,
    )


def frame(value: object) -> bytes:
    data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


class FrameBuffer:
    """Bytes read from the socket, cut into the frames they complete."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, chunk: bytes | memoryview) -> list[Any]:
        self._data += chunk
        found: list[Any] = []
        start = 0
        while len(self._data) - start >= HEADER.size:
            (size,) = HEADER.unpack_from(self._data, start)
            end = start + HEADER.size + size
            if end > len(self._data):
                break
            found.append(pickle.loads(memoryview(self._data)[start + HEADER.size : end]))  # noqa: S301
            start = end
        del self._data[:start]
        return found


class Receiver:
    """One end of a socket, read into whole frames, waiting for them or not."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._frames = FrameBuffer()
        self._ended = False
        # One buffer for every read: a fresh 1 MB one each time would be mapped, faulted
        # in page by page and unmapped again by the allocator.
        self._buffer = bytearray(READ_CHUNK)
        self._view = memoryview(self._buffer)

    def frames(self, *, wait: bool = False) -> list[Any] | None:
        """The whole frames there (with ``wait``, at least one); None once the other end
        closed and every frame before that was returned."""
        if self._ended:
            return None
        found: list[Any] = []
        flags = 0 if wait else socket.MSG_DONTWAIT
        while True:
            try:
                size = self._sock.recv_into(self._buffer, 0, flags)
            except BlockingIOError:
                return found
            except OSError:
                size = 0  # the other end is gone: as the end of the stream
            if not size:
                self._ended = True
                return found or None
            found.extend(self._frames.feed(self._view[:size]))
            if found:
                flags = socket.MSG_DONTWAIT


def writer_log() -> Any:
    """The writer's logger, on either side (structlog, configured by each process)."""
    from bot.log import get_logger

    return get_logger(component="intake_writer")
