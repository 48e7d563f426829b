"""OS-level limits for one isolate process (Linux)."""

from __future__ import annotations

import math
import os
import resource

_PAGE = os.sysconf("SC_PAGE_SIZE")
_OPEN_FILES = 256
_MAX_FILE_BYTES = 64 * 1024 * 1024  # Deno's own caches only: the code cannot write files


def apply_process_limits(pid: int) -> None:
    """Limits that hold for the whole life of a pooled process (set before it gets a job)."""
    resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (_OPEN_FILES, _OPEN_FILES))
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (_MAX_FILE_BYTES, _MAX_FILE_BYTES))


def apply_cpu_backstop(pid: int, timeout: float) -> None:
    """A kernel-enforced CPU ceiling in case the runner itself dies before its deadline kill.

    Generous (all cores busy for the whole timeout) so it never fires before the wall clock.
    """
    seconds = math.ceil(timeout * (os.cpu_count() or 1)) + 10
    resource.prlimit(pid, resource.RLIMIT_CPU, (seconds, seconds + 5))


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, 0 when it is already gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0
