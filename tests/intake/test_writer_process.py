"""The delivery writer process: what it answers, what it stores, and serve without it."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot import intake
from bot.errors import PayloadError
from bot.intake import Checked
from bot.intake_writer import FrameBuffer, commit_items, frame
from bot.redis_queue import RedisJobQueue
from bot.store import Store
from tests.intake.conftest import FIXTURES, T0, FakeClock, fixture_files
from tests.intake.serve_process import ServeProcess, wait_for
from tests.intake.writer_support import GOOD, ODD, OTHER, counting_ids, items, refuse_poison_rows
from tests.queue_contract import redis_server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "data")
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("deliveries", "outcomes", "stored"),
    [
        ([("a", GOOD)], ["accepted"], {"a"}),
        ([("a", GOOD), ("b", OTHER)], ["accepted", "accepted"], {"a", "b"}),
        ([("a", GOOD), ("a", OTHER)], ["accepted", "duplicate"], {"a"}),
        ([("a", b"not json"), ("b", GOOD)], ["bad_payload", "accepted"], {"b"}),
        ([("a", b"[1]")], ["bad_payload"], set()),
        ([("a", ODD)], ["accepted"], {"a"}),
    ],
    ids=["one", "two", "repeat-in-batch", "not-json-alone", "json-array", "odd-values-raw"],
)
def test_a_batch_answers_each_delivery_and_stores_only_good_ones(
    store: Store, deliveries: list[tuple[str, bytes]], outcomes: list[str], stored: set[str]
) -> None:
    batch = commit_items(store, items(*deliveries), counting_ids)
    assert [outcome for _, outcome, _ in sorted(batch.answers)] == outcomes
    assert {did for did, _ in deliveries if store.get_delivery(did)} == stored
    assert store.count("jobs") == len(stored), "one routing job per stored delivery"
    for did in stored:
        found = store.get_delivery(did)
        first = next(body for one, body in deliveries if one == did)
        assert found is not None and found.body == first


def test_a_redelivery_in_a_later_batch_keeps_its_first_trace_id(store: Store) -> None:
    first = commit_items(store, items(("a", GOOD)), counting_ids)
    again = commit_items(store, items(("a", GOOD), ("b", GOOD)), lambda n: ["x", "y"][:n])
    assert first.answers == [(0, "accepted", "trace-0")]
    assert again.answers == [(0, "duplicate", "trace-0"), (1, "accepted", "y")]
    assert again.tallies == [("issues", "opened", "duplicate"), ("issues", "opened", "accepted")]
    assert again.log_line() == (
        "deliveries_stored",
        {"accepted": 1, "duplicate": 1, "traces": {"a": "trace-0", "b": "y"}},
    )


def test_a_row_the_store_refuses_is_answered_alone_and_the_rest_is_stored(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_poison_rows(monkeypatch)
    batch = commit_items(store, items(("a", GOOD), ("poison", GOOD), ("b", OTHER)), counting_ids)
    assert [outcome for _, outcome, _ in sorted(batch.answers)] == [
        "accepted",
        "not_storable",
        "accepted",
    ]
    assert store.get_delivery("poison") is None
    assert store.count("deliveries") == store.count("jobs") == 2, "nothing half-stored"


@pytest.mark.parametrize("size", [1, 3, 7, 4096, 1 << 20], ids=lambda size: f"chunks-of-{size}")
def test_frames_cut_anywhere_are_read_whole(size: int) -> None:
    values = [[(1, "a", "issues", T0, GOOD)], ("answers", [1, 2]), [], "x" * 5000]
    wire = b"".join(frame(value) for value in values)
    buffer = FrameBuffer()
    found = [
        one
        for start in range(0, len(wire), size)
        for one in buffer.feed(wire[start : start + size])
    ]
    assert found == values


HOSTILE = [
    ("lone-surrogate", b'{"action":"\\ud800"}'),
    ("id-past-64-bits", b'{"installation":{"id":9223372036854775808}}'),
    ("id-out-of-float-range", b'{"installation":{"id":1e400}}'),
    ("nan", b'{"action":"opened","x":NaN}'),
    ("repo-object", b'{"repository":{"full_name":{"a":1}}}'),
    ("duplicate-keys", b'{"action":"a","action":"b"}'),
    ("utf-16", '{"action":"opened"}'.encode("utf-16")),
    ("nested-deep", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("not-json", b"{"),
    ("array", b"[1]"),
    ("bom", b'\xef\xbb\xbf{"action":"opened"}'),
    ("trailing-comma", b'{"action":"opened",}'),
]
DOCUMENTS = [(path.name, path.read_bytes()) for path in fixture_files()] + HOSTILE


@pytest.mark.parametrize("document", [d for _, d in DOCUMENTS], ids=[n for n, _ in DOCUMENTS])
def test_reading_only_the_routing_facts_accepts_and_reads_what_the_json_module_does(
    document: bytes,
) -> None:
    checked = Checked("d", "issues", document)
    try:
        expected = intake.parse(checked).envelope
    except PayloadError as exc:
        with pytest.raises(PayloadError, match=str(exc)):
            intake.parse_for_storage(checked)
        return
    assert intake.parse_for_storage(checked).envelope == expected


# -- serve with its writer process -----------------------------------------------------


def health(server: ServeProcess) -> tuple[int, dict[str, object]]:
    response = httpx.get(f"{server.url}/healthz", timeout=5)
    return response.status_code, response.json()["checks"]


@pytest.mark.slow
def test_serve_answers_503_while_its_writer_process_is_dead_then_starts_a_new_one(
    tmp_path: Path,
) -> None:
    body = (FIXTURES / "issues.labeled.json").read_bytes()
    server = ServeProcess(tmp_path / "data").start()
    try:
        assert server.post(body, "issues", "before").status_code == 202
        (writer,) = server.writer_pids()
        os.kill(writer, signal.SIGKILL)
        wait_for(lambda: not _running(writer), 10, "the writer to die")
        refused = server.post(body, "issues", "while-dead")
        status, checks = health(server)
        assert (refused.status_code, refused.json().get("error")) == (503, "store_unavailable")
        assert (status, checks["intake_writer"]) == (503, "not running")
        wait_for(lambda: health(server)[0] == 200, 30, "a new writer process")
        assert "intake_writer_exited" in server.log()
        assert server.writer_pids() not in ([], [writer])
        after = server.post(body, "issues", "after")
        assert (after.status_code, after.json()["status"]) == (202, "accepted")
        again = server.post(body, "issues", "before")
        assert (again.status_code, again.json()["status"]) == (202, "duplicate")
    finally:
        server.stop()
    stored = Store.open(tmp_path / "data")
    try:
        assert [stored.get_delivery(d) is not None for d in ("before", "while-dead", "after")] == [
            True,
            False,
            True,
        ]
        record = stored.get_delivery("after")
        assert record is not None and json.loads(record.body) == json.loads(body)
    finally:
        stored.close()


@pytest.mark.slow
def test_the_writer_process_ends_with_serve(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path / "data").start()
    (writer,) = server.writer_pids()
    server.kill()  # serve gone without a word: its end of the socket closes
    wait_for(lambda: not _running(writer), 10, "the writer process to end")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.slow
def test_with_the_queue_on_redis_the_writer_process_relays_each_routing_job(
    tmp_path: Path,
) -> None:
    if not redis_server.available():
        pytest.skip(redis_server.MISSING)
    body = (FIXTURES / "issues.labeled.json").read_bytes()
    (tmp_path / "redis").mkdir()
    with redis_server.redis_server(tmp_path / "redis") as url:
        env = {"TECHLEAD_QUEUE_URL": url}
        # One job thread in serve instead of worker processes: a quicker start.
        server = ServeProcess(tmp_path / "data", extra_args=["--workers", "0", "--threads", "1"])
        server.extra_env = env
        server.plugins = ""
        server.start()
        try:
            assert server.post(body, "issues", "relayed").status_code == 202
            queue = RedisJobQueue.from_url(url, FakeClock(), lambda: "id")
            wait_for(lambda: "relayed" in {job.delivery_id for job in queue.list()}, 10, "the job")
            queue.close()
        finally:
            server.stop()
    stored = Store.open(tmp_path / "data")
    try:
        assert stored.get_delivery("relayed") is not None
        assert stored.count("jobs") == 0, "the outbox row moved to Redis"
    finally:
        stored.close()
