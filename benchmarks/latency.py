"""Workload 7: compile latency, the first gradient call in a fresh process.

For the gradients of workloads 1 (sigmoid), 3 (linear MSE) and 4 (MLP), each *probe* is a new Python
process that imports the workload module, builds the system's gradient (srcgrad: ``srcgrad.grad``,
which transforms and writes the code; hand-written Numba: nothing to build) and calls it once.

- cold: ``SRCGRAD_CACHE_DIR`` and ``NUMBA_CACHE_DIR`` point at new, empty temporary folders, so
  srcgrad generates and Numba compiles everything (srcgrad's own ``nn`` kernels included);
- warm: a second process with the same folders, so both load what the first one cached;
- new function (srcgrad only): a third process with the same Numba folder but a new, empty
  ``SRCGRAD_CACHE_DIR``, so the generated gradient is new to Numba while srcgrad's own kernels are
  cached, as for a user's next function. (For a hand-written kernel, a new function is a cold one.)

The hand-written Numba gradients are ``@njit(cache=True)``, so they use the same cache the same way.
The time reported is build + first call inside the probe. Imports and Numba's one-time start-up (the
first call of any compiled function in a process, here a trivial cached one) are reported apart.
"""
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Settings

HERE = Path(__file__).resolve().parent

# label -> (module, function returning its cases, which case)
PROBES = {
    "sum(sigmoid(x)) (workload 1)": ("elementwise", "cases", 0),
    "linear MSE (workload 3)": ("models", "linear_cases", 0),
    "MLP 784-128-10 (workload 4)": ("models", "mlp_cases", 0),
}
SYSTEMS = ("srcgrad", "hand Numba")


def _numba_started():
    return 0


def probe(label, system):
    """In this (fresh) process: import, start Numba, build and first-call one gradient; the times."""
    from numba import njit
    t0 = time.perf_counter()
    module_name, function, index = PROBES[label]
    module = importlib.import_module(module_name)
    case = getattr(module, function)(Settings.make(quick=False))[index]
    t1 = time.perf_counter()
    njit(cache=True)(_numba_started)()      # Numba's one-time start-up, paid by the first call of any
    t2 = time.perf_counter()                # compiled function, cached or not, srcgrad's or a user's
    run, _ = case.systems[system]()
    t3 = time.perf_counter()
    run()
    t4 = time.perf_counter()
    return {"import_s": t1 - t0, "startup_s": t2 - t1, "build_s": t3 - t2, "call_s": t4 - t3,
            "first_call_s": t4 - t2}


def run_probe(label, system, cache_root, generated="srcgrad"):
    """``probe`` in a subprocess whose caches live under ``cache_root`` (srcgrad's generated files
    in its folder ``generated``)."""
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(cache_root / generated),
               NUMBA_CACHE_DIR=str(cache_root / "numba"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__)), "--probe", label, system], env=env,
                          capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"probe {label} / {system} failed: {proc.stderr.strip()[-500:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return result


def summary(samples):
    values = [s["first_call_s"] for s in samples]
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "repeats": len(values), "samples": samples}


def run(settings, log=print):
    """Cold and warm first-call times per probe and system, each over ``repeats`` fresh cache
    folders (3, or 1 when quick; quick probes only the sigmoid gradient)."""
    repeats = 1 if settings.quick else 3
    labels = list(PROBES)[:1] if settings.quick else list(PROBES)
    results = []
    for label in labels:
        for system in SYSTEMS:
            cold, warm, new, error = [], [], [], None
            for _ in range(repeats):
                root = Path(tempfile.mkdtemp(prefix="srcgrad-bench-cache-"))
                try:
                    cold.append(run_probe(label, system, root))
                    warm.append(run_probe(label, system, root))
                    if system == "srcgrad":
                        new.append(run_probe(label, system, root, generated="srcgrad-new"))
                except Exception as exc:  # noqa: BLE001 - recorded in the table
                    error = str(exc)
                    break
                finally:
                    shutil.rmtree(root, ignore_errors=True)
            entry = {"gradient": label, "system": system}
            if error:
                entry["error"] = error
            if cold and warm:
                entry["cold"], entry["warm"] = summary(cold), summary(warm)
                if new:
                    entry["new"] = summary(new)
            results.append(entry)
            log(f"  latency | {label} | {system}: " + (
                error or f"cold {entry['cold']['median']:.2f} s, warm {entry['warm']['median']:.3f} s"))
    return results


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--probe":
    print(json.dumps(probe(sys.argv[2], sys.argv[3])))
