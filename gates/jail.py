"""Builds the command line that runs a pull request's code in a jail: bubblewrap plus rlimits.

The jail (https://github.com/containers/bubblewrap, ``man bwrap``):

* new user, network, PID, IPC, UTS and cgroup namespaces (``--unshare-all``): no
  network at all, only a loopback of its own; no capabilities (``--cap-drop ALL``);
  its own session (``--new-session``: no typing into our terminal); it dies with us;
* a read-only view of the system: ``/usr`` and the few ``/etc`` files programs need,
  the test interpreter's installation, nothing else of the host (no home directories,
  no TechLead data directory, no keys); a private ``/tmp``, ``/dev`` and ``/proc``;
* one writable directory: the copy of the tree under test (and, while the repository's
  dependencies are installed, with the network on, the virtualenv they go to);
* resource limits set in the child before it runs the tests (CPU seconds, address
  space, file size, open files); the wall-clock limit is the caller's (the gate's
  time limit kills the whole process group).

Credentials never reach it: the environment is the gate tools' allow-list, and the
home directory is the jail's empty ``/tmp``. Without bubblewrap (or where it cannot
create namespaces, e.g. an unprivileged container) the same command runs with the
limits and the environment only, and the check says "unsandboxed".
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BWRAP = "bwrap"
# The jail's user: not root, even where TechLead runs as root.
JAIL_UID = 1000
# A private tmpfs inside the jail (not the host's /tmp).
JAIL_HOME = "/tmp"  # noqa: S108
_PROBE_TIMEOUT_SECONDS = 10
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What programs read from /etc: users and groups (getpass, ~ expansion), name service
# settings, the dynamic linker's cache, time zone, TLS roots. Nothing secret.
_ETC_FILES = (
    "passwd",
    "group",
    "hosts",
    "resolv.conf",
    "gai.conf",
    "nsswitch.conf",
    "host.conf",
    "localtime",
    "timezone",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "ssl",
    "ca-certificates",
    "mime.types",
)
# Sets the limits, then becomes the command (argv after "--"). A hard limit is never
# raised (an unprivileged process cannot, and root here may lack CAP_SYS_RESOURCE).
_LIMITER = """\
import os, resource, sys
names = ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE")
for name, raw in zip(names, sys.argv[1:5]):
    value = int(raw)
    if value <= 0:
        continue
    kind = getattr(resource, name)
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value if name != "RLIMIT_CPU" else value + 5))
argv = sys.argv[6:]
os.execvp(argv[0], argv)
"""


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits (0: not limited)."""

    cpu_seconds: int
    memory_bytes: int
    file_size_bytes: int
    open_files: int = 1024

    def argv(self) -> list[str]:
        values = (self.cpu_seconds, self.memory_bytes, self.file_size_bytes, self.open_files)
        return [str(int(value)) for value in values]


@dataclass(frozen=True)
class Jail:
    """How commands will be jailed here: bubblewrap's path, or why there is none."""

    bwrap: str | None
    problem: str = ""

    @property
    def isolated(self) -> bool:
        return self.bwrap is not None


def find_jail(path: str | None = None) -> Jail:
    """bubblewrap, if it is installed and can create its namespaces here."""
    found = path or shutil.which(BWRAP)
    if not found:
        return Jail(None, "bubblewrap (bwrap) is not installed")
    return _probe(found)


@functools.lru_cache(maxsize=8)
def _probe(bwrap: str) -> Jail:
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    try:
        done = subprocess.run(
            argv, capture_output=True, timeout=_PROBE_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Jail(None, f"bubblewrap cannot run: {exc}")
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        return Jail(None, f"bubblewrap cannot run here: {' '.join(error[-1:])}")
    return Jail(bwrap)


def interpreter_dirs(python: str) -> list[Path]:
    """The directories an interpreter needs: its environment and its base installation."""
    executable = Path(python)
    if not executable.is_absolute():
        executable = Path(shutil.which(python) or python)
    dirs = [executable.parent.parent, Path(os.path.realpath(executable)).parent.parent]
    if python == sys.executable:
        dirs += [Path(sys.prefix), Path(sys.base_prefix)]
    return _unique(d for d in dirs if d.is_dir() and d != Path("/"))


def limited(argv: Sequence[str], limits: Limits, python: str) -> list[str]:
    """``argv`` started under ``limits`` (by ``python``, which then becomes ``argv``)."""
    return [python, "-c", _LIMITER, *limits.argv(), "--", *argv]


def jailed(
    argv: Sequence[str],
    *,
    jail: Jail,
    workdir: Path,
    readonly: Iterable[Path] = (),
    limits: Limits,
    python: str,
    env: Mapping[str, str] | None = None,
    writable: Iterable[Path] = (),
    network: bool = False,
) -> list[str]:
    """The full command: the jail (when there is one) around the limiter around ``argv``.

    ``workdir`` is the working directory and writable, as are ``writable``; ``readonly``
    adds directories (the interpreter's) to the system view. In the jail the environment
    is exactly ``env`` (plus HOME and TMPDIR), whatever the caller's process holds.
    ``network`` keeps the host's network (installing dependencies), else there is none.
    """
    inner = limited(argv, limits, python)
    if jail.bwrap is None:
        return inner
    options = bwrap_options(workdir, readonly, env or {}, writable=writable, network=network)
    return [jail.bwrap, *options, "--", *inner]


def bwrap_options(
    workdir: Path,
    readonly: Iterable[Path],
    env: Mapping[str, str] | None = None,
    *,
    writable: Iterable[Path] = (),
    network: bool = False,
) -> list[str]:
    """bubblewrap's options, in order: a later mount hides what an earlier one put below it,
    so ``/tmp`` comes before the work directory (which may live under ``/tmp``)."""
    options = [
        "--unshare-all",
        *(["--share-net"] if network else []),
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--uid",
        str(JAIL_UID),
        "--gid",
        str(JAIL_UID),
        "--hostname",
        "techlead-jail",
    ]
    options += _system_mounts()
    options += ["--tmpfs", JAIL_HOME, "--dev", "/dev", "--proc", "/proc"]
    for directory in _unique(readonly):
        options += ["--ro-bind", str(directory), str(directory)]
    for directory in _unique(writable):
        options += ["--bind", str(directory), str(directory)]
    work = str(workdir)
    options += ["--bind", work, work, "--chdir", work]
    options.append("--clearenv")
    for name, value in {**(env or {}), "HOME": JAIL_HOME, "TMPDIR": JAIL_HOME}.items():
        options += ["--setenv", name, value]
    return options


def _system_mounts() -> list[str]:
    options: list[str] = []
    for directory in _SYSTEM_DIRS:
        path = Path(directory)
        if path.is_symlink():  # merged /usr: /bin -> usr/bin
            options += ["--symlink", os.readlink(path), directory]
        elif path.is_dir():
            options += ["--ro-bind", directory, directory]
    for name in _ETC_FILES:
        options += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return options


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))
