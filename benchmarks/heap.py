"""What ``srcgrad.keep_freed_memory()`` does for gradients with large results, timed in fresh processes
with the setting off (srcgrad's default: importing srcgrad leaves malloc alone) and on, alternately:

- the tanh gradient at n = 1e6, ``grad(sum(tanh(x)))``: one new 8 MB array per call;
- ``grad(sum(tanh(x) * y), wrt=(0, 1))`` at n = 1e6: two new 8 MB arrays per call, the case glibc's
  defaults hand back to the kernel after every call.

    python benchmarks/heap.py [--rounds 3] [--calls 200] [--parallel]

Prints, per case and setting, the median time per call over all rounds and the minor page faults
per call (``getrusage``). ``--parallel`` compiles with ``parallel=True`` (on a busy machine, its
times mostly show the other load).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = '''
import json, resource, sys, time
import numpy as np
import srcgrad
keep, case, parallel, calls = sys.argv[1] == "1", sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
if keep:
    assert srcgrad.keep_freed_memory()
import bench_heap_loss
rng = np.random.default_rng(0)
x, y = rng.normal(size=10**6), rng.normal(size=10**6)
slope = 1.0 / np.cosh(x) ** 2
if case == "one":
    g, args, want = srcgrad.grad(bench_heap_loss.sum_tanh, parallel=parallel), (x,), (slope,)
else:
    g = srcgrad.grad(bench_heap_loss.tanh_product, wrt=(0, 1), parallel=parallel)
    args, want = (x, y), (slope * y, np.tanh(x))
got = g(*args)
for a, b in zip(got if case == "two" else (got,), want):
    assert np.allclose(a, b, rtol=1e-13, atol=1e-15)
for _ in range(20):
    g(*args)
times = []
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(calls):
    t0 = time.perf_counter()
    g(*args)
    times.append(time.perf_counter() - t0)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
print(json.dumps({"times": times, "faults": faults / calls}))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--parallel", action="store_true")
    options = parser.parse_args()
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"srcgrad-bench-heap-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    (folder / "bench_heap_loss.py").write_text(
        "import numpy as np\n\n\ndef sum_tanh(x):\n    return np.sum(np.tanh(x))\n\n\n"
        "def tanh_product(x, y):\n    return np.sum(np.tanh(x) * y)\n")
    env = {k: v for k, v in os.environ.items() if k != "SRCGRAD_KEEP_FREED_MEMORY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(folder), env.get("PYTHONPATH", "")])
    results = {}
    parallel = "1" if options.parallel else "0"
    for _ in range(options.rounds):
        for case in ("one", "two"):
            for keep in ("0", "1"):
                out = subprocess.run([sys.executable, "-c", WORKER, keep, case, parallel,
                                      str(options.calls)],
                                     env=env, capture_output=True, text=True, check=True, timeout=600)
                got = json.loads(out.stdout.strip().splitlines()[-1])
                entry = results.setdefault((case, keep), {"times": [], "faults": []})
                entry["times"] += got["times"]
                entry["faults"].append(got["faults"])
    mode = "parallel=True" if options.parallel else "serial"
    print(f"n = 1e6, {mode}, {options.rounds} rounds of {options.calls} calls per process")
    names = {"one": "grad(sum(tanh(x)))           ", "two": "grad(sum(tanh(x) * y), (0, 1))"}
    for (case, keep), entry in sorted(results.items()):
        setting = "keep_freed_memory()" if keep == "1" else "default            "
        print(f"  {names[case]} {setting} median {statistics.median(entry['times']) * 1e3:6.3f} ms, "
              f"{statistics.median(entry['faults']):7.1f} page faults per call")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.0f} s)")
