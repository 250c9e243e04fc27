"""Benchmark of webhook intake: ``techlead serve`` against a minimal reference app.

Two measurements, each printed with its target and PASS/FAIL:

1. Throughput under 32 concurrent connections (wrk, every request a fresh delivery id
   and a valid signature over a real payload). TechLead appends each delivery with its
   routing job's row to its intake journal and fdatasyncs it before its 202 (SQLite is
   loaded from the journal behind the answers); the
   reference is uvicorn + Starlette with the same uvicorn settings, doing only the HMAC
   check, the JSON parse and a 202, storing nothing. Both run in the same benchmark,
   in alternating rounds; TechLead (server and worker processes) is stopped with
   SIGSTOP while the reference runs, so its job backlog cannot slow the reference.
   Targets: TechLead >= 0.8x the reference's deliveries/s and p99 <= 2x the
   reference's p99 (medians of the paired rounds). The journal's loader and the
   worker processes run at idle priority (TECHLEAD_BACKGROUND_PRIORITY): under the
   rounds' load the jobs wait, and how long the backlog takes to run once deliveries
   stop is printed too (no target). Then, serve stopped, every acknowledged delivery is
   looked up in the store (opened as any process opens it: loading a journal left
   behind first).
2. Latency at 200 deliveries/s (open loop: request i is due at start + i / rate,
   whatever earlier answers did; in-process asyncio client) while a CPU-bound job
   spins in every worker process. Target: p99 < 25 ms. The reference is measured the
   same way under the same spinning jobs, for scale.

This file is also what the servers load: the TechLead plugin (TECHLEAD_PLUGINS=intake;
every event schedules one ``bench.work`` job, which spins the CPU when the delivery
id starts with "spin") and the reference app (``bench.intake:reference_app``).

    .venv/bin/python bench/intake.py [--seconds 5] [--rounds 4] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.context import JobContext
from bot.intake import sign
from bot.jobs import Job, JobRegistry, JobSpec
from bot.router import Event, Router

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ leads sys.path; it goes last, so bench/queue.py does not stand
# in for the standard library's queue.
sys.path.sort(key=lambda entry: Path(entry or ".").resolve() == Path(__file__).resolve().parent)
BENCH = Path(__file__).resolve().parent
FIXTURES = ROOT / "tests" / "fixtures" / "webhooks"
LUA = BENCH / "intake.lua"
SECRET = "bench-secret"
SPIN_PREFIX = "spin"
START_TIMEOUT = 30.0
TARGET_RATIO = 0.8
TARGET_P99_RATIO = 2.0
TARGET_P99_MS = 25.0
SPIN_RATE = 200
CATCH_UP_TIMEOUT = 600.0
PASSED_ON = ("TECHLEAD_INTAKE_JOURNAL", "TECHLEAD_BACKGROUND_PRIORITY")
WRITER_MODULE = b"bot.intake_writer"
WORKER_PROCESSES = 2  # techlead serve's default
MSG_NO_WRK = (
    "wrk is not installed: this benchmark drives the servers with it.\n"
    "Install it with `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk` (macOS)."
)

# -- what the servers load ---------------------------------------------------------

router = Router()
jobs = JobRegistry()


def _schedule_work(event: Event, ctx: JobContext) -> list[JobSpec]:
    return [JobSpec("bench.work", {"spin": event.delivery_id.startswith(SPIN_PREFIX)})]


for _event in sorted({path.name.split(".")[0] for path in FIXTURES.glob("*.json")}):
    router.register(_event, allow_bots=True)(_schedule_work)


@jobs.register("bench.work")
def _work(job: Job, ctx: JobContext) -> None:
    """Nothing, or a CPU-bound loop (a planner gone quadratic) until told to stop."""
    if not job.payload.get("spin"):
        return
    deadline = time.monotonic() + float(os.environ.get("BENCH_SPIN_SECONDS", "10"))
    total = 0
    while not ctx.stopping.is_set() and time.monotonic() < deadline:
        for _ in range(100_000):
            total = (total * 31 + 7) % 1_000_003


async def _reference_webhook(request: Request) -> Response:
    body = await request.body()
    given = request.headers.get("x-hub-signature-256", "").encode()
    if not hmac.compare_digest(sign(body, SECRET).encode(), given):
        return JSONResponse({"error": "bad_signature"}, status_code=401)
    json.loads(body)
    return JSONResponse({"status": "accepted"}, status_code=202)


reference_app = Starlette(routes=[Route("/webhook", _reference_webhook, methods=["POST"])])

# -- servers -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        # The repository root only: the plugin and the reference app load as bench.intake.
        "PYTHONPATH": str(ROOT),
        "TECHLEAD_DATA_DIR": str(data_dir),
        "TECHLEAD_WEBHOOK_SECRET": SECRET,
        "TECHLEAD_PLUGINS": "bench.intake",
        # "off" measures the writer committing to SQLite before each answer instead;
        # TECHLEAD_BACKGROUND_PRIORITY=low, jobs and loading with only a nice.
        **{key: os.environ[key] for key in PASSED_ON if key in os.environ},
    }


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def pause(self) -> None:
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def start(name: str, command: list[str], data_dir: Path, env: dict[str, str]) -> Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with (data_dir / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group: paused and resumed whole
        )
    return Server(name, port, process, data_dir)


def start_techlead(data_dir: Path, spin_seconds: float) -> Server:
    env = {**server_env(data_dir), "BENCH_SPIN_SECONDS": f"{spin_seconds:g}"}
    return start("techlead", [sys.executable, "-m", "bot", "serve"], data_dir, env)


def start_reference(data_dir: Path) -> Server:
    command = [sys.executable, "-m", "uvicorn", "bench.intake:reference_app", "--host", "127.0.0.1"]
    command += ["--no-access-log", "--log-level", "warning"]
    return start("reference", command, data_dir, server_env(data_dir))


# -- throughput (wrk) ----------------------------------------------------------------


@dataclass(frozen=True)
class WrkRun:
    app: str
    responses: int
    seconds: float
    not_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu: float = 0.0  # CPU seconds of the server process during the run
    writer_cpu: float = 0.0  # ... of its delivery writer process
    loader_cpu: float = 0.0  # ... of the writer's loader process
    jobs_cpu: float = 0.0  # ... and of its worker processes

    @property
    def rate(self) -> float:
        return self.responses / self.seconds

    @property
    def acknowledged(self) -> int:
        return self.responses - self.not_2xx

    def line(self, round_: int) -> str:
        per = 1e6 / max(self.responses, 1)
        return (
            f"{round_:>5}  {self.app:<10} {self.rate:>13.1f} {self.p50_ms:>8.2f} "
            f"{self.p99_ms:>8.2f} {self.max_ms:>8.2f} {self.not_2xx + self.socket_errors:>7} "
            f"{self.server_cpu * per:>12.0f} {self.writer_cpu * per:>10.0f} "
            f"{self.loader_cpu * per:>10.0f} {self.jobs_cpu * per:>10.0f}"
        )


WRK_HEADER = (
    f"{'round':>5}  {'app':<10} {'deliveries/s':>13} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'max ms':>8} {'errors':>7} {'server CPU':>12} {'writer CPU':>10} {'loader CPU':>10} "
    f"{'jobs CPU':>10}"
)
WRK_LEGEND = (
    "CPU columns: microseconds of CPU per delivery, of the server process (event loop), "
    "of its delivery writer process, of the writer's journal loader process and of its "
    "worker processes (jobs); the last two run at TECHLEAD_BACKGROUND_PRIORITY (idle by "
    "default) and catch up after the rounds"
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (Linux /proc); 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry.name))
    return found


def is_writer(pid: int) -> bool:
    try:
        return WRITER_MODULE in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def cpu_of(server: Server) -> tuple[float, float, float, float]:
    """CPU seconds so far of the server process, its writer, the writer's loader, its workers."""
    pid = server.process.pid
    kids = children(pid)
    writers = [child for child in kids if is_writer(child)]
    loaders = [grandchild for writer in writers for grandchild in children(writer)]
    writer = sum(cpu_seconds(child) for child in writers)
    loader = sum(cpu_seconds(child) for child in loaders)
    jobs = sum(cpu_seconds(child) for child in kids if not is_writer(child))
    return cpu_seconds(pid), writer, loader, jobs


def write_manifest(directory: Path) -> Path:
    """One line per real payload for the Lua script: event, signature, body file."""
    lines = []
    for path in sorted(FIXTURES.glob("*.json")):
        body = path.read_bytes()
        lines.append(f"{path.name.split('.')[0]} {sign(body, SECRET)} {path}")
    manifest = directory / "manifest.txt"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def wrk(server: Server, prefix: str, manifest: Path, seconds: float, connections: int) -> WrkRun:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    command += ["-s", str(LUA), server.url, "--", prefix, str(manifest)]
    before = cpu_of(server)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    after = cpu_of(server)
    found = re.search(r"^RESULT (.*)$", done.stdout, re.MULTILINE)
    if found is None:
        raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    responses, micros, not_2xx, errors, p50, p99, most = (int(v) for v in found[1].split())
    return WrkRun(
        server.name,
        responses,
        micros / 1e6,
        not_2xx,
        errors,
        p50 / 1e3,
        p99 / 1e3,
        most / 1e3,
        *(end - start for start, end in zip(before, after, strict=True)),
    )


@contextmanager
def paused(server: Server) -> Iterator[None]:
    server.pause()
    try:
        yield
    finally:
        server.resume()


def throughput(
    techlead: Server, reference: Server, manifest: Path, args: argparse.Namespace
) -> tuple[bool, int]:
    """Alternating paired rounds; returns (targets met, deliveries TechLead acknowledged)."""
    print(f"\nthroughput: {args.connections} connections, {args.seconds:g} s per run, wrk")
    print(WRK_HEADER)
    pairs: list[tuple[WrkRun, WrkRun]] = []
    for round_ in range(1, args.rounds + 1):
        runs: dict[str, WrkRun] = {}
        # Alternate who goes first, so a drift in the machine's load hits both.
        order = ("reference", "techlead") if round_ % 2 else ("techlead", "reference")
        for name in order:
            if name == "reference":
                with paused(techlead):
                    run = wrk(reference, f"ref{round_}", manifest, args.seconds, args.connections)
            else:
                run = wrk(techlead, f"tl{round_}", manifest, args.seconds, args.connections)
            runs[name] = run
            print(run.line(round_), flush=True)
        pairs.append((runs["techlead"], runs["reference"]))
    print(WRK_LEGEND)
    ratio = statistics.median(ours.rate / theirs.rate for ours, theirs in pairs)
    p99_ratio = statistics.median(ours.p99_ms / theirs.p99_ms for ours, theirs in pairs)
    rate_ok, p99_ok = ratio >= TARGET_RATIO, p99_ratio <= TARGET_P99_RATIO
    print(
        f"deliveries/s: TechLead {ratio:.2f}x the reference "
        f"(target >= {TARGET_RATIO}x): {verdict(rate_ok)}"
    )
    print(
        f"p99: TechLead {p99_ratio:.2f}x the reference "
        f"(target <= {TARGET_P99_RATIO:g}x): {verdict(p99_ok)}"
    )
    errors_ok = all(run.not_2xx + run.socket_errors == 0 for pair in pairs for run in pair)
    if not errors_ok:
        print("some requests failed (errors column): FAIL")
    return rate_ok and p99_ok and errors_ok, sum(ours.acknowledged for ours, _ in pairs)


def stored_deliveries(data_dir: Path, prefix: str) -> int:
    """Deliveries in the store once serve has stopped, its journal loaded first."""
    from bot import journal  # after sys.path is sorted: bot.store imports the stdlib queue
    from bot.store import Store

    with journal.locked(journal.journal_dir(data_dir), wait=True):
        pass  # a writer process still ending goes first
    store = Store.open(data_dir)  # loads whatever journal a killed writer left
    try:
        with store.reading() as conn:
            row = conn.execute(
                "SELECT count(*) FROM deliveries WHERE delivery_id GLOB ?", (prefix + "*",)
            ).fetchone()
    finally:
        store.close()
    return int(row[0])


def durability(data_dir: Path, acknowledged: int) -> bool:
    stored = stored_deliveries(data_dir, "tl")
    ok = stored >= acknowledged
    print(
        f"durability: {acknowledged} deliveries acknowledged, {stored} in the store after "
        f"serve stopped (each in the fdatasynced journal before its 202): {verdict(ok)}"
    )
    return ok


# -- latency while jobs spin (open loop, Python client) --------------------------------


class Client:
    """A lean HTTP/1.1 keep-alive client, so the load generator costs little CPU."""

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
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        return await self._exchange(reader, writer, raw)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> tuple[int, bytes]:
        writer.write(raw)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await reader.readexactly(length)
        self._idle.append((reader, writer))
        return status, body

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


def load_fixtures() -> list[tuple[str, bytes]]:
    paths = sorted(FIXTURES.glob("*.json"))
    return [(path.name.split(".")[0], path.read_bytes()) for path in paths]


async def wait_healthy(server: Server) -> None:
    client = Client(server.port)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise SystemExit(f"{server.name} exited; see {server.data_dir}")
            with _quiet():
                path = "/healthz" if server.name == "techlead" else "/"
                status, _ = await client.send(request("GET", path, {}))
                if status in (200, 404):
                    return
            await asyncio.sleep(0.1)
    finally:
        await client.close()
    raise SystemExit(f"{server.name} did not start within {START_TIMEOUT:g} s")


def _quiet() -> suppress:
    """Swallow what a refused or half-closed connection raises."""
    return suppress(OSError, ValueError, IndexError, asyncio.IncompleteReadError)


async def running_jobs(client: Client, state: str = "running") -> int:
    _, body = await client.send(request("GET", "/metrics", {}))
    found = re.search(rf'techlead_queue_jobs\{{state="{state}"\}} (\S+)', body.decode())
    return int(float(found[1])) if found else 0


async def catch_up(techlead: Server, timeout: float) -> None:
    """How long the jobs the rounds queued take to run once deliveries stop.

    Jobs and the journal loader run at idle priority: under a burst they wait, and this
    is the backlog they leave. For information; no target.
    """
    client = Client(techlead.port)
    started = time.monotonic()
    try:
        left = first = await backlog(client)
        while left and time.monotonic() - started < timeout:
            await asyncio.sleep(0.25)
            left = await backlog(client)
    finally:
        await client.close()
    took = time.monotonic() - started
    state = "all done" if not left else f"{left} still queued (gave up)"
    print(f"\nafter the rounds: {first} jobs queued; {state} {took:.1f} s later")


async def backlog(client: Client) -> int:
    return await running_jobs(client, "pending") + await running_jobs(client, "running")


async def post_one(client: Client, due: float, raw: bytes) -> tuple[float, float, bool]:
    await asyncio.sleep(max(due - time.perf_counter(), 0))
    started = time.perf_counter()
    status = 0
    with _quiet():
        status, _ = await client.send(raw)
    return (time.perf_counter() - started) * 1000, (started - due) * 1000, status in (200, 202)


async def open_loop(client: Client, rate: int, seconds: float, prefix: str) -> list[tuple]:
    fixtures = load_fixtures()
    count = int(rate * seconds)
    raws = [
        delivery_request(*fixtures[index % len(fixtures)], f"{prefix}-{index}")
        for index in range(count)
    ]
    start = time.perf_counter() + 0.05
    tasks = [
        asyncio.create_task(post_one(client, start + index / rate, raw))
        for index, raw in enumerate(raws)
    ]
    return list(await asyncio.gather(*tasks))


@dataclass(frozen=True)
class OpenLoop:
    """Answers of one open-loop run: (latency ms, lateness ms, ok) per request."""

    answers: list[tuple[float, float, bool]]

    @property
    def errors(self) -> int:
        return sum(1 for *_, ok in self.answers if not ok)

    @property
    def p99(self) -> float:
        latencies = sorted(latency for latency, _, ok in self.answers if ok)
        return latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]

    def line(self, app: str) -> str:
        latencies = sorted(latency for latency, _, ok in self.answers if ok)
        late = max(lateness for _, lateness, _ in self.answers)
        return (
            f"{app:<10} {len(self.answers)} sent, {self.errors} errors, "
            f"p50 {statistics.median(latencies):.2f} ms, p99 {self.p99:.2f} ms, "
            f"max {latencies[-1]:.2f} ms; client late by at most {late:.1f} ms"
        )


async def spin_latency(techlead: Server, reference: Server, seconds: float) -> bool:
    """TechLead at 200/s while jobs spin; then the reference under the same spinning jobs."""
    client, control = Client(techlead.port), Client(reference.port)
    fixtures = load_fixtures()
    try:
        for index in range(WORKER_PROCESSES):
            await client.send(delivery_request(*fixtures[0], f"{SPIN_PREFIX}-{index}"))
        deadline = time.monotonic() + START_TIMEOUT
        while await running_jobs(client) < WORKER_PROCESSES:
            if time.monotonic() > deadline:
                raise SystemExit("the spinning jobs did not start")
            await asyncio.sleep(0.05)
        ours = OpenLoop(await open_loop(client, SPIN_RATE, seconds, "busy"))
        theirs = OpenLoop(await open_loop(control, SPIN_RATE, seconds, "ref"))
        still = await running_jobs(client)
    finally:
        await client.close()
        await control.close()
    ok = ours.p99 < TARGET_P99_MS and ours.errors == 0 and still >= WORKER_PROCESSES
    print(
        f"\nlatency at {SPIN_RATE}/s, open loop, {seconds:g} s each, while a CPU-bound job "
        f"spins in each of TechLead's {WORKER_PROCESSES} worker processes:"
    )
    print(ours.line("techlead"))
    print(theirs.line("reference") + " (for scale: same machine, same spinning jobs)")
    print(f"jobs still spinning at the end: {still}")
    print(f"TechLead p99 (target < {TARGET_P99_MS:g} ms): {verdict(ok)}")
    return ok


async def wait_idle(techlead: Server, timeout: float) -> None:
    """Wait for the spinning jobs to end (they stop after their time is up)."""
    client = Client(techlead.port)
    deadline = time.monotonic() + timeout
    try:
        while await running_jobs(client) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        await client.close()


def machine_load() -> str:
    """The load average, with a warning when other work already fills the CPUs."""
    load = os.getloadavg()
    line = f"{os.cpu_count()} CPUs, load average before: " + ", ".join(f"{v:.1f}" for v in load)
    if load[0] > (os.cpu_count() or 1):
        line += "\nwarning: the machine is busy; fsync and scheduling delays will dominate"
    return line


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


async def bench(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print(MSG_NO_WRK, file=sys.stderr)
        return 2
    spin_seconds = 2 * args.seconds + 3  # covers both open-loop runs
    with tempfile.TemporaryDirectory(prefix="techlead-bench-") as tmp:
        manifest = write_manifest(Path(tmp))
        techlead = start_techlead(Path(tmp) / "techlead", spin_seconds)
        reference = start_reference(Path(tmp) / "reference")
        try:
            await wait_healthy(techlead)
            await wait_healthy(reference)
            print(machine_load())
            print("reference: uvicorn + Starlette, HMAC check + JSON parse + 202, no storage")
            spin_ok = await spin_latency(techlead, reference, args.seconds)
            await wait_idle(techlead, spin_seconds + 5)
            for server in (reference, techlead):  # warm-up
                wrk(server, f"warm-{server.name}", manifest, 1, args.connections)
            rate_ok, acknowledged = throughput(techlead, reference, manifest, args)
            await catch_up(techlead, CATCH_UP_TIMEOUT)
        finally:
            techlead.stop()
            reference.stop()
        durable_ok = durability(techlead.data_dir, acknowledged)
    passed = spin_ok and rate_ok and durable_ok
    print(f"\nintake targets: {verdict(passed)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=4, help="paired throughput rounds")
    parser.add_argument("--connections", type=int, default=32)
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
