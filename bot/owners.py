"""Lease owners: ``host:pid:token`` ids that tell whether the process holding a lease died.

Job leases (:mod:`bot.queue`) and plan leases (:mod:`bot.plans`) carry such an id. A
holder killed with ``kill -9`` releases nothing; its lease would block the work until it
expires (minutes). A process on the same host can see that the holder is gone and take
the lease over at once. Holders on other hosts are never judged: their leases expire.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid


def owner_id(token: str | None = None) -> str:
    """``host:pid:token``; the token tells this run apart from an earlier one with the same pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{token or uuid.uuid4().hex[:12]}"


@functools.cache
def process_token() -> str:
    """A random token for this process's lifetime (drawn on first use)."""
    return uuid.uuid4().hex[:12]


def lease_owner_id() -> str:
    """An owner id for one lease held by this process: ``host:pid:<process>.<lease>``.

    Leases held by two threads of one process differ, yet neither judges the other
    dead: :func:`owner_is_dead` compares the part before the dot.
    """
    return owner_id(f"{process_token()}.{uuid.uuid4().hex[:12]}")


def owner_is_dead(owner: str, me: str) -> bool:
    """True when ``owner`` certainly ran on this host in a process that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text, _, token = rest.partition(":")
    my_host, _, my_rest = me.partition(":")
    my_pid, _, my_token = my_rest.partition(":")
    if host != my_host or not (pid_text.isascii() and pid_text.isdigit()) or owner == me:
        return False
    if pid_text == my_pid:
        # Same pid, another run's token: an earlier process (containers reuse pid 1).
        return token.partition(".")[0] != my_token.partition(".")[0]
    return not pid_alive(int(pid_text))


def owner_pid(owner: str) -> int | None:
    """The process id in an owner id from this host, else None."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not (pid_text.isascii() and pid_text.isdigit()):
        return None
    return int(pid_text)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
