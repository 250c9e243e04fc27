"""The jail pull request code runs in: what it can see, write and reach, and its limits.

Each case runs a small Python program through :func:`gates.jail.jailed` exactly as the
L3 gate runs tests, and reads what it printed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gates.jail import Jail, Limits, find_jail, interpreter_dirs, jailed

JAIL = find_jail()
needs_jail = pytest.mark.skipif(not JAIL.isolated, reason=f"no jail here: {JAIL.problem}")
LIMITS = Limits(cpu_seconds=20, memory_bytes=1 << 30, file_size_bytes=1 << 20)
SECRET = "ghs_notarealtokenbutshapedlikeone0000000"


def run_jailed(tmp_path: Path, program: str, jail: Jail = JAIL) -> subprocess.CompletedProcess[str]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    argv = jailed(
        [sys.executable, "-c", program],
        jail=jail,
        workdir=work,
        readonly=interpreter_dirs(sys.executable),
        limits=LIMITS,
        python=sys.executable,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    # The process starting the jail holds a credential: the jail must not pass it on.
    env = {"PATH": "/usr/bin:/bin", "GITHUB_TOKEN": SECRET}
    return subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=60)


PROBES = {
    "host-files-hidden": (
        "import os; print(os.path.exists({secret!r}), os.path.exists('/etc/shadow'))",
        "False False",
    ),
    "system-read-only": (
        "import os\ntry:\n    open('/usr/techlead-probe', 'w')\nexcept OSError as e:\n"
        "    print(type(e).__name__, e.errno)",
        "OSError 30",
    ),
    "workdir-writable": (
        "open('out.txt', 'w').write('ok'); print(open('out.txt').read())",
        "ok",
    ),
    "no-credentials": (
        "import os; print(os.environ.get('HOME'), 'GITHUB_TOKEN' in os.environ)",
        "/tmp False",
    ),
    "not-root-no-network": (
        "import os, socket\nprint(os.getuid(), sorted(n for _, n in socket.if_nameindex()))",
        "1000 ['lo']",
    ),
}


@needs_jail
@pytest.mark.parametrize("probe", list(PROBES), ids=list(PROBES))
def test_the_jail_shows_little_and_lets_little_out(tmp_path: Path, probe: str) -> None:
    program, expected = PROBES[probe]
    secret = tmp_path / "private-key.pem"
    secret.write_text("not for pull requests", encoding="utf-8")
    done = run_jailed(tmp_path, program.format(secret=str(secret)))
    assert done.stdout.strip() == expected, done.stderr


@pytest.mark.parametrize(
    ("program", "killed_by"),
    [
        ("open('big', 'wb').write(b'x' * (2 << 20))", "file-size"),
        ("b = bytearray(2 << 30)", "memory"),
    ],
    ids=["file-size", "memory"],
)
def test_limits_hold_with_or_without_the_jail(tmp_path: Path, program: str, killed_by: str) -> None:
    unsandboxed = Jail(None, "not installed")
    done = run_jailed(tmp_path, program, jail=JAIL if JAIL.isolated else unsandboxed)
    assert done.returncode != 0, killed_by
    if killed_by == "memory":
        assert "MemoryError" in done.stderr


@needs_jail
@pytest.mark.parametrize("network", [True, False], ids=["install-phase", "test-phase"])
def test_only_the_install_phase_reaches_the_network(tmp_path: Path, network: bool) -> None:
    extra = tmp_path / "venv"
    extra.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        program = (
            "import socket, pathlib\n"
            "try:\n"
            f"    pathlib.Path({str(extra)!r}, 'installed').write_text('yes')\n"
            "except OSError as e:\n"
            "    print('write', type(e).__name__)\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {server.getsockname()[1]}), 5).close()\n"
            "    print('network reached')\n"
            "except OSError as e:\n"
            "    print('network', type(e).__name__)\n"
        )
        argv = jailed(
            [sys.executable, "-c", program],
            jail=JAIL,
            workdir=work,
            readonly=interpreter_dirs(sys.executable),
            limits=LIMITS,
            python=sys.executable,
            writable=[extra] if network else [],
            network=network,
        )
        done = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=60)
    expected = (
        ["network reached"]
        if network
        else ["write FileNotFoundError", "network ConnectionRefusedError"]
    )
    assert done.stdout.split("\n")[:-1] == expected, done.stderr
    assert (extra / "installed").exists() is network
