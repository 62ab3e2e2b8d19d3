"""A competing load for ``run.py --busy``: what a user's machine runs beside their training.

One process per logical CPU, each computing in short bursts (NumPy products of about 10 ms on its own
BLAS threads, then 0–10 ms asleep), the pattern of a test harness compiling Numba code next to
another computation. The timings of a busy run show how each system's calls spread when threads are
descheduled: the report's spread table gives each cell's median and worst sample.

    python benchmarks/busy.py SECONDS     # one competing process, for trying it alone
"""
import os
import random
import subprocess
import sys
import time
from pathlib import Path

DESCRIPTION = ("beside one competing process per logical CPU, each computing NumPy products in "
               "bursts of about 10 ms with 0–10 ms pauses (benchmarks/busy.py)")


def bursts(seconds):
    import numpy as np
    rng = np.random.default_rng(os.getpid())
    a = rng.normal(size=(256, 256))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        burst = time.monotonic() + 0.010
        while time.monotonic() < burst:
            a = np.tanh(a @ a * 1e-2)
        time.sleep(random.uniform(0.0, 0.010))


class Competitors:
    """``with Competitors():`` runs the competing processes for the duration of the block."""

    def __init__(self, count=None, seconds=3600):
        self.count, self.seconds, self.procs = count or os.cpu_count() or 1, seconds, []

    def __enter__(self):
        cmd = [sys.executable, str(Path(__file__).resolve()), str(self.seconds)]
        self.procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                      for _ in range(self.count)]
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait()
        return False


if __name__ == "__main__":
    bursts(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
