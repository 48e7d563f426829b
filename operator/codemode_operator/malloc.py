"""glibc's allocator, tuned for a long-running operator: fewer arenas, freed memory returned.

CPython hands every allocation above 512 bytes (API answers, bodies, models) to malloc, and
glibc keeps what is freed for reuse instead of giving it back: after kopf's first listing of
every Deployment, HTTPRoute and rollout, and after each burst of ticks, the process stays at its
high-water mark. Measured at 500 rollouts: 315 MiB resident, 192 MiB right after one
`malloc_trim(0)`. No-ops where the C library is not glibc.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util

M_ARENA_MAX = -8  # mallopt's parameter (malloc.h)
TRIM_EVERY = 30.0  # seconds; a trim takes milliseconds
# Sooner while starting: kopf's first listings and every rollout's first tick free the most,
# and a trim only 30 s after the start let the freed pages add up to the process' peak.
STARTING, TRIM_EVERY_WHILE_STARTING = 60.0, 5.0  # seconds


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int = 2) -> None:
    """MALLOC_ARENA_MAX in effect (call before the worker threads start): otherwise each thread
    that allocates may get an arena of its own, up to 8 per core, each keeping its free memory."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, arenas)


async def trim_forever(**_: object) -> None:
    """Return freed heap memory to the OS every TRIM_EVERY seconds, more often while starting
    (a kopf startup handler that leaves this loop running as a task of its own)."""
    libc = _glibc()
    if libc is None:
        return

    clock = asyncio.get_running_loop().time
    started = clock()

    async def loop() -> None:
        while True:
            starting = clock() - started < STARTING
            await asyncio.sleep(TRIM_EVERY_WHILE_STARTING if starting else TRIM_EVERY)
            await asyncio.to_thread(libc.malloc_trim, 0)

    asyncio.get_running_loop().create_task(loop(), name="malloc-trim")
