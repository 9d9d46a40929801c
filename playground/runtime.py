"""The process's one runtime set-up, for the entry points: one BLAS thread, freed memory kept for reuse.

Importing playground changes nothing in the process; a library user who only imports the core keeps
their own threads and allocator. The programs that are ours call configure_process() first: the
`playground` command (cli.main, also behind `python -m playground`), the training child
(train_server) and bench's children.
"""

from __future__ import annotations

import os
import sys

BLAS_THREADS = 1


def configure_process() -> None:
    """Set this process up as the playground runs best: one BLAS thread, glibc keeping freed blocks."""
    limit_blas_threads()
    keep_freed_memory()


def limit_blas_threads(threads: int = BLAS_THREADS) -> bool:
    """Let numpy's BLAS use `threads` threads (True if it did; a user's OPENBLAS_NUM_THREADS wins).

    Every matrix here is tiny (at most 10,000 x 33), and OpenBLAS's extra threads spin on the second
    core, which the GUI thread needs: C3's snapshot took 42-92 ms with the default threads and
    2.6-16 ms with one on a loaded 2-core machine. threadpoolctl sets the limit on the BLAS numpy has
    loaded, so it works after numpy's import too (an environment variable works only before it).
    """
    if os.environ.get("OPENBLAS_NUM_THREADS"):
        return False
    import numpy  # noqa: F401  (loads the BLAS the limit applies to)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")  # kept: not used as a context manager
    return True


def keep_freed_memory() -> bool:
    """Let glibc reuse freed blocks instead of returning them to the kernel at once (True if set).

    A snapshot's grids are fresh arrays of 40-360 KB, above glibc's default mmap threshold, so each
    one was mapped and zero-filled page by page: C3's grids took 574 page faults, 1.3 of 2.3 ms.
    With the thresholds raised, freed grids are reused (0 faults, 0.9 ms). The price, RSS that only
    grows, train_server.trim_free_memory pays back. Linux/glibc only.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 16 * 2**20)  # blocks up to 16 MB come from the heap
        ok &= libc.mallopt(m_trim_threshold, 64 * 2**20)  # and up to 64 MB of free heap is kept for reuse
        return bool(ok)
    except (OSError, AttributeError):
        return False
