"""Child processes that end with their parent (Linux ``PR_SET_PDEATHSIG``)."""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def bind_to_parent(parent_pid: int) -> bool:
    """Ask the kernel for SIGKILL when the parent ends (the thread that started us).

    False if the parent is already gone (it died before the request took effect).
    Elsewhere than Linux this only checks the parent; callers keep their own check
    (the end of a pipe or a socket from the parent).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    return os.getppid() == parent_pid
