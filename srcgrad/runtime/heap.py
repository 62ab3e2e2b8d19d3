"""Keep the memory of freed large arrays in the process, so the next call does not fault it in again.

Why: glibc's malloc gives blocks of 128 KiB and more their own fresh pages (``mmap``) and hands
them back on ``free``; after such a free it serves blocks up to that size from the heap instead, but
hands the heap's top back to the kernel whenever more than twice that size is free there. A call that
makes and frees two 8 MB arrays therefore faults about 4000 fresh pages in, every time. Measured here
(a VM, where a page fault costs about 2.5 µs): the tanh gradient at n = 1e6 took 6-7 ms per call, of
which 0.9 ms was the computation. NumPy sidesteps this for its own arrays (huge pages), and JAX and
PyTorch keep caches of their buffers; arrays made inside Numba-compiled code come from plain
``malloc``.

What: :func:`keep_freed_memory` (or ``SRCGRAD_KEEP_FREED_MEMORY=1`` at import) raises glibc's
``mmap`` threshold to 32 MiB (its maximum) and the trim threshold to 256 MiB, so blocks up to 32 MiB
come from the heap and freed ones stay mapped for the next call, at a cost of up to 256 MiB of freed
memory kept in the process. Blocks above 32 MiB still get their own pages. It is a setting of the
whole process (every library's ``malloc``), so srcgrad never makes it on its own: importing srcgrad
leaves malloc alone. It does nothing on other C libraries, or when the user tuned malloc already
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``).
"""
import ctypes
import os
import platform

_M_TRIM_THRESHOLD = -1              # mallopt parameter numbers, from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20         # the largest value glibc accepts on 64-bit systems
TRIM_THRESHOLD = 256 * 2**20
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def keep_freed_memory():
    """Keep freed blocks of up to 32 MiB mapped in this process (glibc's ``mallopt``), so gradients
    with large results do not fault their pages in on every call (the tanh gradient at n = 1e6:
    see ``benchmarks/heap.py``); up to 256 MiB of freed memory stays in the process. True if malloc
    now keeps freed blocks (False on other C libraries or where malloc was tuned already)."""
    if any(name in os.environ for name in _USER_SETTINGS) or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
