"""The journal's loader process, and delivery bodies stored as zstd frames."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import journal
from bot.intake_writer import HOLD_LOADS_ENV, JournalWriter, frame
from bot.store import ZSTD_MAGIC, Store, pack_body, replay_journal, unpack_body
from tests.intake.conftest import FIXTURES
from tests.intake.serve_process import ServeProcess, running, wait_for
from tests.intake.test_journal import (
    read_until_answered,
    records_for,
    records_for_bodies,
    route_jobs,
)
from tests.intake.writer_support import GOOD, items

REAL_BODIES = sorted(FIXTURES.glob("*.json"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "data")
    yield opened
    opened.close()


# -- bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", REAL_BODIES, ids=lambda path: path.stem)
def test_a_real_body_is_stored_smaller_and_read_back_byte_for_byte(path: Path) -> None:
    body = path.read_bytes()
    packed = pack_body(body)
    assert packed.startswith(ZSTD_MAGIC)
    assert unpack_body(packed) == body
    if len(body) > 4096:
        assert len(packed) * 3 < len(body), "GitHub's JSON compresses well"


def test_every_real_body_is_stored_compressed_and_read_back(store: Store) -> None:
    bodies = {path.stem: path.read_bytes() for path in REAL_BODIES}
    directory = journal.journal_dir(store.path.parent)
    records = records_for_bodies(*bodies.items())
    assert [row[-1] for row, _ in records] == list(bodies.values()), "journaled as received"
    journal.Journal(directory).append(records).close()
    assert replay_journal(store, directory) == len(bodies)
    for name, body in bodies.items():
        stored = store.get_delivery(name)
        assert stored is not None and stored.body == body
    with store.reading() as conn:
        kept = conn.execute("SELECT sum(length(body)) FROM deliveries").fetchone()[0]
    assert kept * 4 < sum(len(body) for body in bodies.values())


def test_a_body_stored_raw_before_is_read_as_it_is(store: Store) -> None:
    store.load_rows(records_for("old"), durable=True)
    with store.transaction() as conn:
        conn.execute("UPDATE deliveries SET body = ? WHERE delivery_id = 'old'", (GOOD,))
    stored = store.get_delivery("old")
    assert stored is not None and stored.body == GOOD
    assert stored.payload()["action"] == "opened"


@pytest.mark.parametrize("packed", [False, True], ids=["raw", "packed"])
def test_a_journaled_body_raw_or_packed_already_is_stored_once_compressed(
    store: Store, packed: bool
) -> None:
    ((delivery, job),) = records_for("one")
    body = pack_body(GOOD) if packed else GOOD
    directory = journal.journal_dir(store.path.parent)
    journal.Journal(directory).append([((*delivery[:7], body), job)]).close()
    assert replay_journal(store, directory) == 1
    stored = store.get_delivery("one")
    assert stored is not None and stored.body == GOOD
    with store.reading() as conn:
        (kept,) = conn.execute("SELECT body FROM deliveries").fetchone()
    assert kept == pack_body(GOOD)
    assert route_jobs(store) == {"one": 1}


# -- the writer and its loader process, in this process ----------------------------------


class Running:
    """A JournalWriter on a thread, over a socket pair; what it raised, if anything."""

    def __init__(self, data: Path, **options: Any) -> None:
        self.ours, self.theirs = socket.socketpair()
        self.writer = JournalWriter(self.theirs, data, **options)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.writer.run()
        except BaseException as exc:
            self.error = exc

    def stop(self) -> None:
        self.ours.shutdown(socket.SHUT_WR)
        self.thread.join(15)
        self.ours.close()
        self.theirs.close()
        assert not self.thread.is_alive()


def test_a_quiet_writer_keeps_a_segment_its_loader_has_not_loaded(store: Store) -> None:
    directory = journal.journal_dir(store.path.parent)
    held = Running(store.path.parent, env={**os.environ, HOLD_LOADS_ENV: "1"}, idle_seconds=0.02)
    try:
        held.ours.sendall(frame(items(("a", GOOD))))
        assert read_until_answered(held.ours, 1)[0][0][1] == "accepted"
        (segment,) = journal.segments(directory)
        threading.Event().wait(0.3)  # many idle periods: nothing was loaded, so no retiring
        assert journal.segments(directory) == [segment]
        assert store.get_delivery("a") is None
    finally:
        held.stop()
    assert journal.segments(directory) == [segment], "left for whoever opens the store next"
    assert replay_journal(store, directory) == 1
    assert route_jobs(store) == {"a": 1}


def test_the_writer_ends_when_its_loader_dies(store: Store) -> None:
    writer = Running(store.path.parent)
    try:
        writer.ours.sendall(frame(items(("a", GOOD))))
        read_until_answered(writer.ours, 1)
        loader = writer.writer._loader.pid
        assert loader is not None
        os.kill(loader, signal.SIGKILL)
        writer.thread.join(15)
        assert isinstance(writer.error, RuntimeError)
        assert "loader" in str(writer.error)
    finally:
        writer.stop()
    replay_journal(store, journal.journal_dir(store.path.parent))
    assert route_jobs(store) == {"a": 1}, "acknowledged, so stored in the end"


def test_a_stopping_writer_waits_for_a_stuck_loader_only_so_long(store: Store) -> None:
    writer = Running(store.path.parent, finish_seconds=0.5)
    writer.ours.sendall(frame(items(("a", GOOD))))
    read_until_answered(writer.ours, 1)
    loader = writer.writer._loader.pid
    assert loader is not None
    os.kill(loader, signal.SIGSTOP)  # as starved as an idle process on a busy machine
    started = time.monotonic()
    writer.stop()
    assert time.monotonic() - started < 10
    assert writer.error is None and not running(loader)
    replay_journal(store, journal.journal_dir(store.path.parent))  # what the next writer does
    assert route_jobs(store) == {"a": 1}


# -- under serve -------------------------------------------------------------------------


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    server = ServeProcess(tmp_path / "data", extra_args=["--workers", "0", "--threads", "1"])
    server.plugins = ""
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_a_killed_loader_costs_serve_one_writer_restart_and_no_delivery(
    serve: ServeProcess,
) -> None:
    body = (FIXTURES / "issues.labeled.json").read_bytes()
    assert serve.post(body, "issues", "before").status_code == 202
    (writer,) = serve.writer_pids()
    (loader,) = serve.loader_pids()
    os.kill(loader, signal.SIGKILL)
    wait_for(lambda: not running(writer), 15, "the writer to end after its loader")
    wait_for(lambda: serve.writer_pids() != [] and serve.healthy(), 30, "a new writer")
    assert serve.post(body, "issues", "after").status_code == 202
    store = Store.open(serve.data_dir)
    try:
        wait_for(lambda: route_jobs(store) == {"before": 1, "after": 1}, 15, "both stored")
    finally:
        store.close()


@pytest.mark.slow
def test_a_killed_writer_takes_its_loader_along(serve: ServeProcess) -> None:
    body = (FIXTURES / "issues.labeled.json").read_bytes()
    assert serve.post(body, "issues", "one").status_code == 202
    (writer,) = serve.writer_pids()
    (loader,) = serve.loader_pids()
    os.kill(writer, signal.SIGKILL)
    wait_for(lambda: not running(loader), 10, "the loader to die with its writer")
    wait_for(lambda: serve.healthy(), 30, "serve to start a new writer")
    assert serve.post(body, "issues", "two").status_code == 202
    assert serve.post(body, "issues", "one").json()["status"] == "duplicate"
