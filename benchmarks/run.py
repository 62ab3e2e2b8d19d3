"""Run srcgrad's benchmark suite and write the report.

    python benchmarks/run.py            # full run: benchmarks/RESULTS.md, results.json, results.png
    python benchmarks/run.py --quick    # small sizes, a CI smoke test; writes to a temporary folder
    python benchmarks/run.py --quick --out DIR --only elementwise,mlp
    python benchmarks/run.py --busy --out DIR   # beside a competing load: each cell's spread

Every workload runs in its own Python process (``--worker NAME``, which writes its rows as JSON), so
JIT caches, thread pools and memory do not carry from one workload to the next; inside that process
all systems (srcgrad, hand-written Numba, NumPy, JAX, PyTorch, autograd) run side by side. A workload
whose process fails is reported as failed and the others still run. Timings are never asserted; the
exit status is 1 only if a workload process failed or srcgrad (or the hand-written reference) raised
or disagreed with the reference, so ``--quick`` serves as a CI smoke test.
"""
import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import busy
import harness  # noqa: F401 - puts this checkout of srcgrad on sys.path

HERE = Path(__file__).resolve().parent

# workload -> (module, function, kind): "cases" functions return harness.Case objects to measure;
# "rows" functions measure themselves and return result rows; "latency" returns latency entries.
WORKLOADS = {
    "elementwise": ("elementwise", "cases", "cases"),
    "softmax_xent": ("models", "xent_cases", "cases"),
    "linear": ("models", "linear_cases", "cases"),
    "mlp": ("models", "mlp_cases", "cases"),
    "epoch": ("epoch", "cases", "cases"),
    "scalar_loop": ("scalar_loop", "run", "rows"),
    "latency": ("latency", "run", "latency"),
    "reference": ("reference", "cases", "cases"),
}


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# -- inside a worker process --------------------------------------------------------------------------
def worker(name, quick):
    """Run one workload (or ``env``: library versions) in this process; a JSON-able dict."""
    import importlib
    settings = harness.Settings.make(quick)
    if name == "env":
        import peers
        return {"env": environment_details(peers)}
    module_name, function, kind = WORKLOADS[name]
    fn = getattr(importlib.import_module(module_name), function)
    if kind == "cases":
        return {"rows": [harness.measure(case, settings, log) for case in fn(settings)]}
    if kind == "rows":
        return {"rows": fn(settings, log)}
    return {"latency": fn(settings, log)}


def environment_details(peers):
    """Versions and thread settings that need the libraries imported."""
    import numba
    import numpy as np
    import srcgrad
    info = {"numpy": np.__version__, "numba": numba.__version__,
            "srcgrad": getattr(srcgrad, "__version__", "?"), "srcgrad_path": str(Path(srcgrad.__file__).parent),
            "peers": peers.versions()}
    try:
        from threadpoolctl import threadpool_info
        info["thread_pools"] = sorted({f"{p['internal_api']} ({p.get('prefix')}): {p['num_threads']} threads"
                                       for p in threadpool_info()})
    except ImportError:
        pass
    return info


# -- the driver -----------------------------------------------------------------------------------------
def worker_env(threads=None):
    """Environment variables for the workers: ``threads`` caps every native thread pool (None: each
    library's default)."""
    env = {}
    if threads:
        env = {var: str(threads) for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                              "NUMBA_NUM_THREADS")}
        if threads == 1:
            env["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    return env


def run_worker(name, quick, timeout, extra_env=None, competing=False):
    """Run ``worker(name)`` in a subprocess, echoing its log; its result dict (or an ``error``).
    ``competing``: beside :class:`busy.Competitors` for the whole run."""
    with tempfile.TemporaryDirectory(prefix="srcgrad-bench-") as tmp, \
            (busy.Competitors() if competing else contextlib.nullcontext()):
        result_path = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--result", str(result_path)]
        if quick:
            cmd.append("--quick")
        env = dict(os.environ, **(extra_env or {}), PYTHONPATH=os.pathsep.join(
            [str(harness.ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        # workers keep freed large arrays mapped (srcgrad.keep_freed_memory, opt-in), as JAX's and
        # PyTorch's buffer caches do; benchmarks/heap.py measures what that changes
        env.setdefault("SRCGRAD_KEEP_FREED_MEMORY", "1")
        tail = deque(maxlen=20)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            for line in proc.stderr:
                tail.append(line.rstrip())
                log(line.rstrip())
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
        elapsed = time.perf_counter() - t0
        if proc.returncode == 0 and result_path.exists():
            result = json.loads(result_path.read_text())
        else:
            result = {"error": f"worker exited with {proc.returncode}: " + " / ".join(list(tail)[-3:])}
        result["elapsed_s"] = elapsed
        return result


def machine_info():
    """CPU, cores, OS and load, without importing the heavy libraries."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "logical_cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        info["load_start"] = [round(v, 2) for v in os.getloadavg()]
    try:
        commit = subprocess.run(["git", "-C", str(harness.ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(harness.ROOT), "status", "--porcelain", "srcgrad"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        info["srcgrad_commit"] = commit + (" (srcgrad/ has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (smoke test)")
    parser.add_argument("--out", type=Path, help="output folder (default: benchmarks/ for a full run, "
                                                 "a new temporary folder with --quick)")
    parser.add_argument("--only", help="comma-separated workloads: " + ", ".join(WORKLOADS))
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per workload process")
    parser.add_argument("--threads", type=int, help="cap BLAS/OpenMP/PyTorch/Numba (and, for 1, XLA) thread "
                                                    "pools at N threads (default: each library's default)")
    parser.add_argument("--busy", action="store_true",
                        help="run every workload beside a competing load (benchmarks/busy.py); the "
                             "report adds each cell's median and worst sample")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="only rewrite RESULTS.md and results.png (in --out, default: next to JSON) "
                             "from a results.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)

    if opts.worker:
        opts.result.write_text(json.dumps(worker(opts.worker, opts.quick)))
        return 0

    if opts.render:
        results = json.loads(opts.render.read_text())
        write_report(results, opts.out or opts.render.parent, write_json=False)
        return 0

    names = list(WORKLOADS) if not opts.only else [n.strip() for n in opts.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    out = opts.out or (Path(tempfile.mkdtemp(prefix="srcgrad-bench-quick-")) if opts.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)

    t_start = time.perf_counter()
    results = {"meta": machine_info(), "quick": opts.quick, "workloads": {}, "rows": [], "latency": []}
    results["meta"]["threads"] = opts.threads or "library defaults"
    if opts.busy:
        results["meta"]["busy"] = busy.DESCRIPTION
    keep = os.environ.get("SRCGRAD_KEEP_FREED_MEMORY", "1") == "1"
    results["meta"]["malloc"] = (("srcgrad.keep_freed_memory() (SRCGRAD_KEEP_FREED_MEMORY=1; freed blocks up "
                                  "to 32 MiB stay mapped), for every system in the worker process")
                                 if keep else "glibc defaults (SRCGRAD_KEEP_FREED_MEMORY=0)")
    extra_env = worker_env(opts.threads)
    env = run_worker("env", opts.quick, opts.timeout, extra_env)
    results["meta"].update(env.get("env", {"env_error": env.get("error")}))
    for name in names:
        log(f"== {name} ==")
        result = run_worker(name, opts.quick, opts.timeout, extra_env, competing=opts.busy)
        results["workloads"][name] = {"elapsed_s": result["elapsed_s"], "error": result.get("error")}
        results["rows"] += result.get("rows", [])
        results["latency"] += result.get("latency", [])
        log(f"== {name}: {result['elapsed_s']:.1f} s" + (f", FAILED: {result['error']}" if "error" in result else ""))
    if hasattr(os, "getloadavg"):
        results["meta"]["load_end"] = [round(v, 2) for v in os.getloadavg()]
    results["meta"]["total_s"] = time.perf_counter() - t_start
    results["meta"]["command"] = " ".join(["python", "benchmarks/run.py"] + (argv if argv is not None else sys.argv[1:]))

    write_report(results, out)
    return 1 if broken(results) else 0


def broken(results):
    """Why the run should fail a CI smoke test: failed workloads, srcgrad / reference errors."""
    problems = [f"workload {name}: {w['error']}" for name, w in results["workloads"].items() if w.get("error")]
    for row in results["rows"]:
        for name in ("srcgrad", harness.REFERENCE):
            cell = row["systems"].get(name, {})
            if cell.get("status") in ("error", "MISMATCH"):
                problems.append(f"{row['workload']} / {row['case']} / {name}: {cell['status']} "
                                f"{cell.get('note', cell.get('rel_err', ''))}")
    for problem in problems:
        log("FAILED: " + problem)
    return problems


def write_report(results, out, write_json=True):
    """RESULTS.md, results.png (and results.json) in ``out``; the Markdown also goes to stdout."""
    import report
    out.mkdir(parents=True, exist_ok=True)
    if write_json:
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    text = report.markdown(results)
    (out / "RESULTS.md").write_text(text)
    chart_note = report.chart(results, out / "results.png")
    print(text)
    log(f"wrote {out / 'RESULTS.md'}" + (f", {out / 'results.json'}" if write_json else "") +
        (f", {out / 'results.png'}" if chart_note is None else f" (no chart: {chart_note})"))


if __name__ == "__main__":
    sys.exit(main())
