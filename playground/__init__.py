"""A desktop neural-network playground for teaching how activation functions shape learning."""

import os
import sys

# One BLAS thread: every matrix here is tiny (at most 10,000 x 33), and OpenBLAS's extra threads
# spin on the second core, which the GUI thread needs; C3's snapshot took 42-92 ms with the
# default threads and 2.6-16 ms with one on a loaded 2-core machine. Set before numpy is imported;
# a user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _keep_freed_memory() -> None:
    """Let glibc reuse freed blocks instead of returning them to the kernel at once.

    A snapshot's grids are fresh arrays of 40-360 KB, above glibc's default mmap threshold, so each
    one was mapped and zero-filled page by page: C3's grids took 574 page faults, 1.3 of 2.3 ms.
    With the thresholds raised, freed grids are reused (0 faults, 0.9 ms). Linux/glibc only.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 16 * 2**20)  # blocks up to 16 MB come from the heap
        libc.mallopt(m_trim_threshold, 64 * 2**20)  # and up to 64 MB of free heap is kept for reuse
    except (OSError, AttributeError):
        pass


_keep_freed_memory()

__version__ = "0.1.0"
