"""srcgrad keeps freed large arrays' memory mapped (``srcgrad/runtime/heap.py``): a compiled function
that returns two new 8 MB arrays on every call must not fault 3900 fresh pages in each time.

Counted, not timed: the process's minor page faults over repeated calls, in a fresh interpreter
(the malloc state of this one depends on every test before it), with srcgrad's setting and without.
"""
import os
import platform
import subprocess
import sys
import textwrap

import pytest

_PROGRAM = textwrap.dedent("""
    import resource
    import numpy as np
    from numba import njit
    import srcgrad
    from srcgrad.runtime.heap import keep_freed_memory

    @njit(cache=False)
    def two(x):                 # two results: with glibc's defaults, both are fresh pages each call
        return x * 2.0, x * 3.0

    x = np.ones(10**6)
    for _ in range(3):
        two(x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        two(x)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")
_PAGES_PER_CALL = 2 * 8 * 10**6 // 4096


def _faults_per_call(keep):
    env = dict(os.environ, SRCGRAD_KEEP_HEAP="1" if keep else "0")
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"):
        env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", _PROGRAM], env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    return int(out.stdout.split()[-1]) / 10


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the setting is glibc's")
def test_large_results_do_not_fault_their_pages_in_on_every_call():
    kept = _faults_per_call(keep=True)
    assert kept < 0.05 * _PAGES_PER_CALL, kept
    # the control: glibc's default maps fresh pages for every call (this is what the test detects)
    assert _faults_per_call(keep=False) > 0.5 * _PAGES_PER_CALL
