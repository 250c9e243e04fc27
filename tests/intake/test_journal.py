"""The intake journal: records on disk, the writer's answers and loads, and replay."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bot.store
from bot import journal
from bot.cli import main
from bot.intake_writer import (
    HOLD_LOADS_ENV,
    FrameBuffer,
    JournalWriter,
    Known,
    commit_items,
    frame,
    journal_batch,
    prepare,
)
from bot.store import Store, replay_journal
from tests.intake.conftest import FIXTURES, T0
from tests.intake.serve_process import ServeProcess, running, wait_for
from tests.intake.writer_support import GOOD, ODD, OTHER, counting_ids, items, refuse_poison_rows


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "data")
    yield opened
    opened.close()


def records_for(*ids: str) -> list[journal.Record]:
    ready = prepare(items(*[(one, GOOD) for one in ids]), counting_ids)
    _, records = journal_batch(ready, lambda _: {})
    return records


def route_jobs(store: Store) -> dict[str, int]:
    with store.reading() as conn:
        rows = conn.execute(
            "SELECT delivery_id, count(*) FROM jobs WHERE kind = 'delivery.route' "
            "GROUP BY delivery_id"
        ).fetchall()
    return dict(rows)


# -- records on disk -------------------------------------------------------------------


def test_records_read_back_as_written() -> None:
    records = records_for("a", "b", "c")
    assert journal.decode(journal.encode(records)) == records


@pytest.mark.parametrize("cut", [1, 4, 8, 9, -1], ids=lambda cut: f"cut-{cut}")
def test_a_torn_last_record_is_dropped_and_the_whole_ones_kept(cut: int) -> None:
    records = records_for("a", "b")
    whole = journal.encode(records[:1])
    torn = journal.encode(records[1:])
    assert journal.decode(whole + torn[:cut]) == records[:1]


def test_a_record_failing_its_checksum_ends_the_segment() -> None:
    records = records_for("a", "b", "c")
    data = bytearray(journal.encode(records))
    second = len(journal.encode(records[:1]))
    data[second + journal.RECORD_HEADER.size + 3] ^= 0xFF
    assert journal.decode(bytes(data)) == records[:1]


@dataclass
class Ticks:
    t: float = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_segment_rotates_once_it_is_old_however_small(tmp_path: Path) -> None:
    clock = Ticks()
    log = journal.Journal(tmp_path, segment_seconds=60, clock=clock)
    first = log.append(records_for("a"))
    clock.t = 59
    assert log.append(records_for("b")) is first
    clock.t = 60
    third = log.append(records_for("c"))
    assert third is not first and first.sealed


def test_a_sealed_segment_is_closed_and_the_next_append_opens_another(tmp_path: Path) -> None:
    log = journal.Journal(tmp_path)
    segment = log.append(records_for("a", "b"))
    assert log.seal() is segment and segment.sealed and log.current is None
    assert log.seal() is None
    with pytest.raises(OSError):
        os.fstat(segment.fd)  # closed
    later = log.append(records_for("c"))
    assert later is not segment and later.number == segment.number + 1


def test_segments_rotate_by_size_and_are_listed_oldest_first(tmp_path: Path) -> None:
    log = journal.Journal(tmp_path, segment_bytes=1)
    first = log.append(records_for("a"))
    second = log.append(records_for("b"))
    assert first is not second and first.sealed and not second.sealed
    assert journal.segments(tmp_path) == [first.path, second.path]
    assert [journal.read_segment(one.path)[0][0][0] for one in (first, second)] == ["a", "b"]


# -- what the writer answers before anything is acknowledged ---------------------------


@pytest.mark.parametrize(
    ("deliveries", "known", "outcomes", "journaled"),
    [
        ([("a", GOOD)], {}, ["accepted"], ["a"]),
        ([("a", GOOD), ("b", OTHER)], {}, ["accepted", "accepted"], ["a", "b"]),
        ([("a", GOOD), ("a", OTHER)], {}, ["accepted", "duplicate"], ["a"]),
        ([("a", GOOD)], {"a": "first"}, ["duplicate"], []),
        ([("a", b"not json"), ("b", GOOD)], {}, ["bad_payload", "accepted"], ["b"]),
        ([("a", ODD)], {}, ["accepted"], ["a"]),
        ([("\ud800", GOOD), ("b", GOOD)], {}, ["not_storable", "accepted"], ["b"]),
    ],
    ids=[
        "one",
        "two",
        "repeat-in-batch",
        "known-already",
        "not-json-alone",
        "odd-values-raw",
        "unstorable-id-alone",
    ],
)
def test_the_journal_batch_answers_each_delivery_and_journals_only_new_good_ones(
    deliveries: list[tuple[str, bytes]],
    known: dict[str, str],
    outcomes: list[str],
    journaled: list[str],
) -> None:
    batch, records = journal_batch(prepare(items(*deliveries), counting_ids), lambda _: known)
    assert [outcome for _, outcome, _ in sorted(batch.answers)] == outcomes
    assert [row[0] for row, _ in records] == journaled


def test_a_row_the_store_would_refuse_is_refused_before_the_journal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refuse_poison_rows(monkeypatch)
    ready = prepare(items(("a", GOOD), ("poison", GOOD), ("b", OTHER)), counting_ids)
    batch, records = journal_batch(ready, lambda _: {})
    assert [outcome for _, outcome, _ in sorted(batch.answers)] == [
        "accepted",
        "not_storable",
        "accepted",
    ]
    assert [row[0] for row, _ in records] == ["a", "b"]


def test_journal_rows_are_the_rows_a_direct_commit_stores(tmp_path: Path) -> None:
    direct = Store.open(tmp_path / "direct")
    loaded = Store.open(tmp_path / "loaded")
    try:
        commit_items(direct, items(("a", GOOD), ("b", ODD)), counting_ids)
        loaded.load_rows(records_for_bodies(("a", GOOD), ("b", ODD)), durable=True)
        assert table(direct) == table(loaded)
    finally:
        direct.close()
        loaded.close()


def records_for_bodies(*deliveries: tuple[str, bytes]) -> list[journal.Record]:
    _, records = journal_batch(prepare(items(*deliveries), counting_ids), lambda _: {})
    return records


def table(store: Store) -> list[tuple[Any, ...]]:
    with store.reading() as conn:
        deliveries = conn.execute("SELECT * FROM deliveries ORDER BY delivery_id").fetchall()
        jobs = conn.execute(
            "SELECT kind, payload, dedupe_key, state, run_at, trace_id, delivery_id, "
            "installation_id FROM jobs ORDER BY delivery_id"
        ).fetchall()
    return deliveries + jobs


def test_known_finds_a_delivery_journaled_or_stored(store: Store) -> None:
    store.load_rows(records_for("stored"), durable=True)
    known = Known(store.path)
    try:
        known.journaled({"waiting": "t-w"})
        assert known(["stored", "waiting", "new"]) == {"stored": "trace-0", "waiting": "t-w"}
        known.loaded(["waiting"])
        assert known(["waiting"]) == {}
    finally:
        known.close()


# -- replay ----------------------------------------------------------------------------


def test_opening_the_store_replays_leftover_segments_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    directory = journal.journal_dir(data)
    directory.mkdir(parents=True)
    segment = journal.Journal(directory).append(records_for("a", "b"))
    torn = journal.encode(records_for("c"))
    os.write(segment.fd, torn[: len(torn) // 2])  # a crash in the middle of an append
    os.close(segment.fd)
    store = Store.open(data)
    try:
        assert route_jobs(store) == {"a": 1, "b": 1}
        assert store.get_delivery("c") is None
        assert journal.segments(directory) == []
    finally:
        store.close()


def test_replaying_what_was_loaded_already_adds_no_second_job(store: Store) -> None:
    directory = journal.journal_dir(store.path.parent)
    store.load_rows(records_for("a"), durable=False)
    segment = journal.Journal(directory).append(records_for("a", "b"))
    os.close(segment.fd)
    assert replay_journal(store, directory) == 2
    assert route_jobs(store) == {"a": 1, "b": 1}


def test_a_record_the_store_cannot_take_is_skipped_alone_on_replay(tmp_path: Path) -> None:
    data = tmp_path / "data"
    good = records_for("a", "c")
    delivery, job = records_for("b")[0]
    poison = (delivery, (*job[:7], 2**70, *job[8:]))  # an installation id past 64 bits
    segment = journal.Journal(journal.journal_dir(data)).append([good[0], poison, good[1]])
    os.close(segment.fd)
    store = Store.open(data)
    try:
        assert route_jobs(store) == {"a": 1, "c": 1}
        assert store.get_delivery("b") is None, "nothing half-stored"
        assert journal.segments(journal.journal_dir(data)) == []
    finally:
        store.close()


def test_a_live_writers_journal_is_left_to_it(store: Store) -> None:
    directory = journal.journal_dir(store.path.parent)
    lock = journal.take_lock(directory)
    try:
        log = journal.Journal(directory)
        log.append(records_for("a"))
        assert replay_journal(store, directory) == 0
        assert store.get_delivery("a") is None
    finally:
        os.close(lock)
    assert replay_journal(store, directory) == 1


# -- the writer with its journal, over a real socket -----------------------------------


def test_the_journal_writer_answers_then_loads_and_removes_its_segments(store: Store) -> None:
    directory = journal.journal_dir(store.path.parent)
    ours, theirs = socket.socketpair()
    writer = JournalWriter(theirs, store.path.parent)
    thread = threading.Thread(target=writer.run)
    thread.start()
    ours.sendall(frame(items(("a", GOOD), ("b", OTHER), ("a", OTHER))))
    answers, loads = read_until_answered(ours, 3)
    assert [outcome for _, outcome, _ in sorted(answers)] == ["accepted", "accepted", "duplicate"]
    ours.sendall(frame([(9, "b", "issues", T0, GOOD)]))
    again, more = read_until_answered(ours, 1)
    assert again == [(9, "duplicate", answers[1][2])]
    ours.shutdown(socket.SHUT_WR)
    thread.join(10)
    theirs.close()
    rest = b"".join(iter(lambda: ours.recv(65536), b""))
    ours.close()
    assert not thread.is_alive()
    told = loads + more + sum(1 for found, _, new in FrameBuffer().feed(rest) if new and not found)
    assert told >= 1, "serve heard that new jobs were loaded"
    assert route_jobs(store) == {"a": 1, "b": 1}
    assert journal.segments(directory) == [], "loaded segments are deleted"
    uri = f"file:{store.path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone() == (2,)


def test_a_quiet_writer_deletes_the_segment_it_has_loaded(store: Store) -> None:
    directory = journal.journal_dir(store.path.parent)
    ours, theirs = socket.socketpair()
    writer = JournalWriter(theirs, store.path.parent, idle_seconds=0.05)
    thread = threading.Thread(target=writer.run)
    thread.start()
    try:
        ours.sendall(frame(items(("a", GOOD))))
        read_until_answered(ours, 1)
        wait_for(lambda: journal.segments(directory) == [], 10, "the loaded segment to go")
        assert route_jobs(store) == {"a": 1}
        ours.sendall(frame([(5, "b", "issues", T0, GOOD)]))
        assert read_until_answered(ours, 1)[0][0][1] == "accepted"
        wait_for(lambda: route_jobs(store) == {"a": 1, "b": 1}, 10, "the next load")
    finally:
        ours.shutdown(socket.SHUT_WR)
        thread.join(10)
        ours.close()
        theirs.close()
    assert journal.segments(directory) == []


def read_until_answered(sock: socket.socket, count: int) -> tuple[list[Any], int]:
    buffer = FrameBuffer()
    answers: list[Any] = []
    loads = 0
    sock.settimeout(10)
    while len(answers) < count:
        for found, _, any_new in buffer.feed(sock.recv(65536)):
            answers.extend(found)
            loads += bool(any_new and not found)
    return answers, loads


# -- kill -9 before the loader caught up -----------------------------------------------

ACKED = 40


def loaded_count(data: Path) -> int:
    uri = f"file:{data / bot.store.DB_NAME}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=10) as conn:
        return int(conn.execute("SELECT count(*) FROM deliveries").fetchone()[0])


@pytest.mark.slow
@pytest.mark.parametrize("recovery", ["serve-starts-a-new-writer", "store-opened-after-all-died"])
def test_every_delivery_acknowledged_before_a_kill_9_is_stored_once(
    tmp_path: Path, recovery: str
) -> None:
    body = (FIXTURES / "issues.labeled.json").read_bytes()
    data = tmp_path / "data"
    server = ServeProcess(data, extra_args=["--workers", "0", "--threads", "1"])
    server.plugins = ""
    server.extra_env = {HOLD_LOADS_ENV: "1"}  # the loader never catches up
    server.start()
    ids = [f"acked-{index}" for index in range(ACKED)]
    try:
        assert {server.post(body, "issues", one).status_code for one in ids} == {202}
        assert loaded_count(data) == 0, "acknowledged from the journal alone"
        (writer,) = server.writer_pids()
        os.kill(writer, signal.SIGKILL)
        wait_for(lambda: not running(writer), 10, "the writer to die")
        if recovery == "serve-starts-a-new-writer":
            wait_for(lambda: loaded_count(data) == ACKED, 30, "the new writer to load them")
    finally:
        for pid in server.writer_pids():
            os.kill(pid, signal.SIGKILL)  # its loader is held: it would never end
        server.stop()
    store = Store.open(data)
    try:
        assert route_jobs(store) == dict.fromkeys(ids, 1)
        assert store.count("deliveries") == ACKED
        assert journal.segments(journal.journal_dir(data)) == []
    finally:
        store.close()


def test_techlead_jobs_list_loads_a_journal_left_behind_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    Store.open(data).close()  # serve made the store before
    segment = journal.Journal(journal.journal_dir(data)).append(records_for("left-behind"))
    os.close(segment.fd)
    assert main(["jobs", "list"], {"TECHLEAD_DATA_DIR": str(data)}) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 2 and "delivery.route" in table[1] and "left-behind" in table[1]
    assert journal.segments(journal.journal_dir(data)) == []
