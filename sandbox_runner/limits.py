"""OS-level limits for one isolate process (Linux)."""

from __future__ import annotations

import math
import os
import resource

_PAGE = os.sysconf("SC_PAGE_SIZE")
_OPEN_FILES = 256
_MAX_FILE_BYTES = 64 * 1024 * 1024  # Deno's own caches only: the code cannot write files
_DATA_HEADROOM = 1024 * 1024 * 1024


def apply_process_limits(pid: int, max_rss_bytes: int) -> None:
    """Limits that hold for the whole life of a pooled process (set before it gets a job).

    RLIMIT_DATA backs the 50 ms RSS watchdog with a kernel cap: allocations past it fail with a
    RangeError instead of overshooting. V8's reservations count against it (measured: Deno with
    a 64 MiB heap fails at start-up under 512 MiB and fails buffers at ~480 MiB under 1 GiB),
    hence the headroom. RLIMIT_AS is no use: V8 reserves far more address space than it touches.
    """
    data = max_rss_bytes + _DATA_HEADROOM
    resource.prlimit(pid, resource.RLIMIT_DATA, (data, data))
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


def _stat_fields(pid: int) -> list[bytes]:
    """/proc/<pid>/stat after the command name (field 3 onwards); [] once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return []


def is_stopped(pid: int) -> bool:
    """Stopped by a signal or traced (state T or t)."""
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] in (b"T", b"t")


def cpu_ticks(pid: int) -> int:
    """User plus system CPU time of all its threads, in clock ticks (0 once gone)."""
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12]) if len(fields) > 12 else 0
