"""Benchmark of webhook intake: answer latency of a real ``techlead serve`` under load.

Starts ``python -m bot serve`` on a temporary data directory (durable SQLite: WAL,
synchronous=FULL), then posts signed real deliveries from tests/fixtures/webhooks at
fixed rates (open loop: request i is due at start + i / rate, whatever earlier answers
did) and prints p50/p99 answer latency and the achieved rate per step. A last step
repeats 200/s while every delivery schedules a slow job, to show the 202 does not wait
for job work.

This file is also the plugin the server loads (TECHLEAD_PLUGINS=intake): every event
schedules one ``bench.work`` job, which sleeps when the delivery id starts with "slow".

    .venv/bin/python bench/intake.py [--seconds 4] [--rates 50,100,200,400] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bot.context import JobContext
from bot.intake import sign
from bot.jobs import Job, JobRegistry, JobSpec
from bot.router import Event, Router

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "webhooks"
SECRET = "bench-secret"
SLOW_PREFIX = "slow"
SLOW_JOB_SECONDS = 0.2
MAX_PER_STEP = 2000
TARGET_P99_MS = 25.0

router = Router()
jobs = JobRegistry()


def _schedule_work(event: Event, ctx: JobContext) -> list[JobSpec]:
    return [JobSpec("bench.work", {"slow": event.delivery_id.startswith(SLOW_PREFIX)})]


for _event in sorted({path.name.split(".")[0] for path in FIXTURES.glob("*.json")}):
    router.register(_event, allow_bots=True)(_schedule_work)


@jobs.register("bench.work")
def _work(job: Job, ctx: JobContext) -> None:
    if job.payload.get("slow"):
        time.sleep(SLOW_JOB_SECONDS)


@dataclass(frozen=True)
class Step:
    name: str
    rate: int
    seconds: float
    prefix: str = "d"


@dataclass(frozen=True)
class Result:
    step: Step
    sent: int
    elapsed: float
    latencies_ms: list[float]
    errors: int
    client_late_ms: float
    server_p99_ms: float = float("nan")

    def line(self) -> str:
        ordered = sorted(self.latencies_ms) or [float("nan")]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"{self.step.name:<22} {self.step.rate:>5}/s {self.sent:>6} "
            f"{self.sent / self.elapsed:>9.1f}/s {statistics.median(ordered):>8.2f} "
            f"{p99:>8.2f} {ordered[-1]:>8.2f} {self.errors:>6} {self.client_late_ms:>9.1f} "
            f"{self.server_p99_ms:>10g}"
        )


HEADER = (
    f"{'step':<22} {'target':>7} {'sent':>6} {'achieved':>11} {'p50 ms':>8} "
    f"{'p99 ms':>8} {'max ms':>8} {'errors':>6} {'late ms':>9} {'srv p99 <=':>10}"
)
LEGEND = (
    "p50/p99/max: answer latency seen by the client; late: worst delay of the client's "
    "own sends;\nsrv p99 <=: bucket bound of the server's own answer-time histogram "
    "(verify + durable store)."
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_fixtures() -> list[tuple[str, bytes]]:
    return [
        (path.name.split(".")[0], path.read_bytes()) for path in sorted(FIXTURES.glob("*.json"))
    ]


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(Path(__file__).resolve().parent)]),
        "TECHLEAD_DATA_DIR": str(data_dir),
        "TECHLEAD_WEBHOOK_SECRET": SECRET,
        "TECHLEAD_PLUGINS": "intake",
    }
    log = (data_dir / "serve.log").open("ab")
    command = [sys.executable, "-m", "bot", "serve", "--port", str(port)]
    with log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


class Client:
    """A lean HTTP/1.1 keep-alive client, so the load generator costs little CPU.

    On a small machine a full-featured client spends more CPU per request than the
    server does, and its own scheduling delays would be measured as server latency.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        while self._idle:
            reader, writer = self._idle.pop()
            try:  # a kept-alive connection the server has since closed: try the next
                return await self._exchange(reader, writer, raw)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                writer.close()
        return await self._exchange(*await self._connect(), raw)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> tuple[int, bytes]:
        writer.write(raw)
        status, body = await self._response(reader)
        self._idle.append((reader, writer))
        return status, body

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def _response(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await reader.readexactly(length)

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


def request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def delivery_request(event: str, body: bytes, delivery: str) -> bytes:
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body, SECRET),
        "Content-Type": "application/json",
    }
    return request("POST", "/webhook", headers, body)


async def wait_healthy(client: Client, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.send(request("GET", "/healthz", {})))[0] == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("techlead serve did not become healthy")


async def post_one(client: Client, due: float, raw: bytes) -> tuple[float, float, bool]:
    await asyncio.sleep(max(due - time.perf_counter(), 0))
    started = time.perf_counter()
    try:
        status, _ = await client.send(raw)
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        status = 0
    return (time.perf_counter() - started) * 1000, (started - due) * 1000, status in (200, 202)


async def run_step(client: Client, step: Step, fixtures: list[tuple[str, bytes]]) -> Result:
    count = min(int(step.rate * step.seconds), MAX_PER_STEP)
    raws = [
        delivery_request(*fixtures[index % len(fixtures)], f"{step.prefix}-{step.rate}-{index}")
        for index in range(count)
    ]
    start = time.perf_counter() + 0.05
    tasks = [
        asyncio.create_task(post_one(client, start + index / step.rate, raw))
        for index, raw in enumerate(raws)
    ]
    answers = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    latencies = [latency for latency, _, ok in answers if ok]
    late = max(lateness for _, lateness, _ in answers)
    return Result(step, count, elapsed, latencies, sum(1 for *_, ok in answers if not ok), late)


async def metric_lines(client: Client, pattern: str) -> list[tuple[str, str]]:
    _, body = await client.send(request("GET", "/metrics", {}))
    return re.findall(pattern, body.decode())


async def answer_buckets(client: Client) -> dict[float, float]:
    found = await metric_lines(
        client, r'techlead_webhook_answer_seconds_bucket\{le="([^"]+)"\} (\S+)'
    )
    return {float(bound): float(count) for bound, count in found}


def bucket_p99(before: dict[float, float], after: dict[float, float]) -> float:
    """The smallest histogram bound holding 99% of the answers between two scrapes."""
    counts = {bound: after[bound] - before.get(bound, 0.0) for bound in sorted(after)}
    total = counts.get(float("inf"), 0.0)
    for bound, count in counts.items():
        if total and count >= 0.99 * total:
            return bound * 1000
    return float("nan")


async def measured_step(client: Client, step: Step, fixtures: list[tuple[str, bytes]]) -> Result:
    before = await answer_buckets(client)
    result = await run_step(client, step, fixtures)
    return replace(result, server_p99_ms=bucket_p99(before, await answer_buckets(client)))


async def queue_depth(client: Client) -> str:
    found = await metric_lines(client, r'techlead_queue_jobs\{state="(\w+)"\} (\S+)')
    return ", ".join(f"{state}={float(value):.0f}" for state, value in found)


async def bench(rates: list[int], seconds: float, repeat: int) -> int:
    fixtures = load_fixtures()
    with tempfile.TemporaryDirectory(prefix="techlead-bench-") as tmp:
        port = free_port()
        server = start_server(Path(tmp), port)
        client = Client(port)
        try:
            await wait_healthy(client)
            await run_step(client, Step("warm-up", 50, 1, "warm"), fixtures)
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            print(f"{len(fixtures)} real payloads, open loop, {seconds:g} s per step")
            print(f"{os.cpu_count()} CPUs, load average before: {load}")
            print(HEADER)
            for round_ in range(repeat):
                for rate in rates:
                    step = Step("fast jobs", rate, seconds, f"r{round_}")
                    print((await measured_step(client, step, fixtures)).line(), flush=True)
                    await asyncio.sleep(1)
                slow_name = f"slow jobs ({SLOW_JOB_SECONDS:g} s each)"
                slow = Step(slow_name, 200, seconds, f"{SLOW_PREFIX}{round_}")
                print((await measured_step(client, slow, fixtures)).line(), flush=True)
                print(f"  queue after the slow step: {await queue_depth(client)}")
            print(LEGEND)
        finally:
            await client.close()
            server.terminate()
            server.wait(30)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rates", default="50,100,200,400")
    parser.add_argument("--repeat", type=int, default=1, help="run every step this many times")
    args = parser.parse_args()
    rates = [int(rate) for rate in args.rates.split(",")]
    return asyncio.run(bench(rates, args.seconds, args.repeat))


if __name__ == "__main__":
    raise SystemExit(main())
