"""srcgrad's malloc setting (``srcgrad/runtime/heap.py``) is opt-in: importing srcgrad leaves malloc as
it was, and ``srcgrad.keep_freed_memory()`` (or ``SRCGRAD_KEEP_FREED_MEMORY=1``) keeps freed large
arrays' memory mapped, so a compiled function that returns two new 8 MB arrays on every call does
not fault 3900 fresh pages in each time.

Counted, not timed: the process's minor page faults over repeated calls, in a fresh interpreter
(the malloc state of this one depends on every test before it).
"""
import os
import platform
import subprocess
import sys
import textwrap

import pytest

_PROGRAM = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from numba import njit
    import srcgrad
    if sys.argv[1] == "call":
        assert srcgrad.keep_freed_memory()

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


def _faults_per_call(how, **settings):
    unset = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES",
             "SRCGRAD_KEEP_FREED_MEMORY")
    env = dict({k: v for k, v in os.environ.items() if k not in unset}, **settings)
    out = subprocess.run([sys.executable, "-c", _PROGRAM, how], env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    return int(out.stdout.split()[-1]) / 10


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the setting is glibc's")
def test_importing_srcgrad_leaves_malloc_alone_and_the_setting_is_opt_in():
    # importing srcgrad changes nothing: glibc's default maps fresh pages for every call
    assert _faults_per_call("import") > 0.5 * _PAGES_PER_CALL
    assert _faults_per_call("call") < 0.05 * _PAGES_PER_CALL
    assert _faults_per_call("env", SRCGRAD_KEEP_FREED_MEMORY="1") < 0.05 * _PAGES_PER_CALL
