"""Turn the results dict written by ``run.py`` into Markdown tables and a PNG chart."""
from harness import PEERS, REFERENCE, SYSTEMS, fmt_seconds, fmt_timing


def _median(cell):
    return cell.get("median") if cell and cell.get("status") in ("ok", "MISMATCH") else None


def _escape(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def cell_text(cell):
    """A table cell: ``median (min–max)``, or the status and its note."""
    if not cell:
        return "–"
    status = cell.get("status")
    if status in ("ok", "MISMATCH") and "median" in cell:
        text = fmt_timing(cell["median"], cell["min"], cell["max"])
        if status == "MISMATCH":
            text = f"**MISMATCH** (rel err {cell['rel_err']:.1e}) {text}"
        return text
    if status == "error":
        return f"error: {_escape(cell.get('note', ''))[:120]}"
    if status == "not installed":
        return "not installed"
    return _escape(f"{status}: {cell['note']}" if cell.get("note") else status)


def ratios(row):
    """``(srcgrad ÷ hand, srcgrad ÷ fastest peer, name of that peer)``; None where not measured."""
    systems = row["systems"]
    src = _median(systems.get("srcgrad"))
    hand = _median(systems.get(REFERENCE))
    peers = [(t, name) for name in PEERS
             if (t := _median(systems.get(name))) is not None and systems[name]["status"] == "ok"]
    best = min(peers) if peers else None
    if row.get("paired"):           # interleaved batches: robust to the machine's drift
        return row["paired"]["median"], src / best[0] if src and best else None, best[1] if best else None
    return (src / hand if src and hand else None,
            src / best[0] if src and best else None,
            best[1] if best else None)


def fmt_ratio(r):
    return "–" if r is None else (f"{r:.2f}×" if r < 10 else f"{r:.0f}×")


def main_table(rows):
    head = ["workload", "case", *SYSTEMS, "srcgrad ÷ hand", "srcgrad ÷ fastest peer"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for row in rows:
        to_hand, to_peer, peer = ratios(row)
        cells = [row["workload"], row["case"], *(cell_text(row["systems"].get(s)) for s in SYSTEMS),
                 fmt_ratio(to_hand), fmt_ratio(to_peer) + (f" ({peer})" if peer else "")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def spread_table(rows):
    """Each cell's median and worst sample, and their ratio (for a run beside a competing load)."""
    lines = ["| workload | case | system | median | worst | worst ÷ median |", "|---|---|---|---:|---:|---:|"]
    for row in rows:
        for name in SYSTEMS:
            cell = row["systems"].get(name)
            if _median(cell) is None:
                continue
            lines.append(f"| {row['workload']} | {row['case']} | {name} | {fmt_seconds(cell['median'])} | "
                         f"{fmt_seconds(cell['max'])} | {fmt_ratio(cell['max'] / cell['median'])} |")
    return "\n".join(lines)


def primal_table(rows):
    lines = ["| workload | case | srcgrad primal | srcgrad grad ÷ primal | hand primal | hand grad ÷ primal |",
             "|---|---|---:|---:|---:|---:|"]
    for row in rows:
        if not row.get("primal"):
            continue
        cells = [row["workload"], row["case"]]
        for primal_name, grad_name in (("srcgrad", "srcgrad"), ("hand", REFERENCE)):
            primal = row["primal"].get(primal_name)
            p, g = _median(primal), _median(row["systems"].get(grad_name))
            cells += [cell_text(primal), fmt_ratio(g / p) if p and g else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def agreement_table(rows):
    lines = ["| workload | case | " + " | ".join(s for s in SYSTEMS if s != REFERENCE) + " |",
             "|---|---|" + "---:|" * (len(SYSTEMS) - 1)]
    for row in rows:
        cells = [row["workload"], row["case"]]
        for name in SYSTEMS[1:]:
            cell = row["systems"].get(name) or {}
            err = cell.get("rel_err")
            cells.append("–" if err is None else
                         (f"{err:.1e}" if cell["status"] == "ok" else f"**{err:.1e} MISMATCH**"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def latency_table(entries):
    lines = ["| gradient | system | cold first call | new function | warm first call "
             "| Numba start-up (warm) | import (cold process) |", "|---|---|---:|---:|---:|---:|---:|"]

    def median(samples, key):
        values = sorted(s.get(key, float("nan")) for s in samples)
        return fmt_seconds(values[len(values) // 2])
    for e in entries:
        if "cold" not in e:
            lines.append(f"| {e['gradient']} | {e['system']} | error: {_escape(e.get('error', ''))[:150]} | | | | |")
            continue
        cold, warm, new = e["cold"], e["warm"], e.get("new")
        lines.append(f"| {e['gradient']} | {e['system']} | {fmt_timing(cold['median'], cold['min'], cold['max'])} "
                     f"| {fmt_timing(new['median'], new['min'], new['max']) if new else '= cold'} "
                     f"| {fmt_timing(warm['median'], warm['min'], warm['max'])} "
                     f"| {median(warm['samples'], 'startup_s')} | {median(cold['samples'], 'import_s')} |")
    return "\n".join(lines)


def findings(rows):
    """Bullet points: mismatches, errors, and where srcgrad is clearly slower."""
    out = []
    for row in rows:
        where = f"{row['workload']} / {row['case']}"
        for name, cell in row["systems"].items():
            if cell.get("status") == "MISMATCH":
                out.append(f"- **{name} disagrees with the hand-written Numba result** on {where}: "
                           f"relative error {cell['rel_err']:.1e}")
            elif cell.get("status") == "error":
                out.append(f"- {name} failed on {where}: {_escape(cell.get('note', ''))}")
        to_hand, to_peer, peer = ratios(row)
        if to_hand is not None and to_hand > 1.5:
            out.append(f"- srcgrad is {to_hand:.1f}× the hand-written Numba time on {where}")
        if to_peer is not None and to_peer > 1.2:
            out.append(f"- srcgrad is slower than {peer} ({to_peer:.1f}×) on {where}")
    return out


def header(results):
    meta = results["meta"]
    cpus = meta.get("logical_cpus")
    usable = meta.get("usable_cpus")
    lines = [
        f"- command: `{meta.get('command', '')}`{' (quick: small sizes, few repeats)' if results.get('quick') else ''}",
        f"- date: {meta.get('date')}; total run time {meta.get('total_s', 0):.0f} s",
        f"- CPU: {meta.get('cpu')}, {cpus} logical CPUs" + (f" ({usable} usable)" if usable and usable != cpus else ""),
        f"- load average (1, 5, 15 min) at start {meta.get('load_start')}, at end {meta.get('load_end')}"
        " (a load near or above the core count means the machine was shared and timings are noisy)",
        f"- {meta.get('platform')}, Python {meta.get('python')}",
        f"- srcgrad {meta.get('srcgrad')} (commit {meta.get('srcgrad_commit', '?')}), NumPy {meta.get('numpy')}, "
        f"Numba {meta.get('numba')}",
    ]
    for name, version in (meta.get("peers") or {}).items():
        lines.append(f"- {name}: {version}")
    pools = "; ".join(meta.get("thread_pools") or [])
    lines.append(f"- threads: {meta.get('threads', 'library defaults')}" + (f" (native pools: {pools})" if pools else "")
                 + f"; malloc: {meta.get('malloc', 'glibc defaults')}")
    return "\n".join(lines)


METHOD = """\
Each cell is the median time of one gradient call (for workload 5, one training epoch), with the
min–max over the timed repeats in parentheses. Before timing, every system is called once (this call
compiles; its result is checked against the hand-written Numba result: max |a − r| / max |r| must be
≤ 1e-8, else the cell says **MISMATCH**), then warmed up with at least 2 more calls for at least
0.5 s (0.1 s with `--quick`; BLAS thread pools need it on a busy machine). Calls faster than 0.2 ms
are timed in batches (the per-call mean of each batch is one sample). The garbage collector is off
while timing. All arithmetic is float64 except in the float32 MLP case. Each workload runs in its own
Python process; within it, all systems run side by side.

- **hand Numba**: a hand-written `@njit` gradient (the reference), written as a Numba user would:
  loops calling `math.exp` / `math.tanh` (libm), `@` for matrix products.
- **srcgrad**: `srcgrad.grad(f, wrt=...)` of the plain NumPy / `srcgrad.nn` function (workload 5:
  `srcgrad.train.fit`).
- **NumPy**: a hand-written NumPy gradient. **JAX**: `jax.jit(jax.grad(f))`, x64, results
  `block_until_ready()`. **PyTorch**: eager `torch.autograd.grad` on float64 tensors, default thread
  count. **autograd**: HIPS `autograd.grad`.
- *srcgrad ÷ hand* < 1 means srcgrad is faster than the hand-written gradient. It is measured
  apart from the two cells, as the median ratio over pairs of batches timed alternately (hand, then
  srcgrad), so that both see the same state of a shared machine; *srcgrad ÷ fastest peer*
  compares with the fastest of NumPy, JAX, PyTorch and autograd (named), agreeing results only.

Reading the numbers: the hand-written Numba loops call libm's scalar `exp` / `tanh`, which LLVM
cannot vectorize; srcgrad calls its own arithmetic versions (`srcgrad/runtime/vecmath.py`), which it
can, and NumPy and XLA have SIMD kernels of their own. JAX (XLA) and PyTorch also spread large
elementwise work over both cores; so does srcgrad where the case says `parallel=True`, and in the
softmax cross-entropy gradient's rows (`NUMBA_NUM_THREADS`). Multi-threaded pools make cells noisy
on a shared machine, waiting for a descheduled thread (`--threads 1` avoids it; the default
measures what a user gets). Every worker process opts in to `srcgrad.keep_freed_memory()` (unless
`SRCGRAD_KEEP_FREED_MEMORY=0`), which keeps freed blocks of up to 32 MiB mapped
(`srcgrad/runtime/heap.py`), so no system there pays page faults for its large temporaries on
every call.
"""


def markdown(results):
    rows = results["rows"]
    parts = ["# srcgrad benchmarks", "", header(results), "", "## Gradient time per call", "",
             main_table(rows), "", METHOD]
    notes = sorted({f"- {row['workload']}: {n}" for row in rows for n in row.get("notes", [])})
    if notes:
        parts += ["Per-workload notes:", "", *notes, ""]
    primal = primal_table(rows)
    if primal.count("\n") > 1:
        parts += ["## Gradient time ÷ primal time", "",
                  "srcgrad's primal is the differentiated function itself compiled with `numba.njit` "
                  "(so `srcgrad.nn` calls run as Numba ufuncs/kernels); the hand primal is a hand-written "
                  "`@njit` loss (fused loops). Each ratio uses its own system's primal.", "", primal, ""]
    if results.get("latency"):
        parts += ["## Compile latency (first call in a fresh process)", "",
                  "Build + first call of the gradient in a new Python process. Cold: empty "
                  "`SRCGRAD_CACHE_DIR` and `NUMBA_CACHE_DIR`; warm: a second process with the same folders. "
                  "New function: srcgrad's own kernels cached (same `NUMBA_CACHE_DIR`) but the generated "
                  "gradient new (empty `SRCGRAD_CACHE_DIR`), as for a user's next function; a hand-written "
                  "kernel has nothing to share, so its new function is a cold one. "
                  "The hand-written gradients are `@njit(cache=True)`. Imports and Numba's one-time "
                  "start-up (the first call of any compiled function in a process, cached or not; here a "
                  "trivial cached one, called first) are shown apart: every Numba program pays the "
                  "start-up once, whatever it calls. Median (min–max) over fresh cache folders.", "",
                  latency_table(results["latency"]), ""]
    if results["meta"].get("busy"):
        parts += ["## Spread beside a competing load", "",
                  f"This run ran every workload {results['meta']['busy']}. The worst sample of each "
                  "cell (a sample is one call, or the mean of a batch of fast calls), against its median; "
                  "compare the medians with a quiet run's.", "", spread_table(rows), ""]
    parts += ["## Agreement with the hand-written Numba gradient", "",
              "max |a − r| / max |r| over each gradient (tolerance 1e-8).", "", agreement_table(rows), ""]
    found = findings(rows)
    meta = results["meta"]
    load = max((meta.get("load_start") or [0])[0], (meta.get("load_end") or [0])[0])
    if meta.get("logical_cpus") and load >= 0.5 * meta["logical_cpus"]:
        found.insert(0, f"- **the machine was busy** (1-minute load average up to {load} on "
                        f"{meta['logical_cpus']} CPUs): multi-threaded pools (OpenBLAS behind NumPy and "
                        "Numba's `@`, PyTorch's OpenMP) can then be 10–100× slower while a thread waits for a "
                        "descheduled partner; such cells show a wide min–max. `--threads 1` avoids this.")
    failed = [f"- workload `{name}` failed: {_escape(w['error'])}"
              for name, w in results.get("workloads", {}).items() if w.get("error")]
    parts += ["## Findings", "", *(failed + found or ["- nothing to flag"]), ""]
    times = ", ".join(f"{name} {w['elapsed_s']:.0f} s" for name, w in results.get("workloads", {}).items())
    parts += [f"Wall time per workload process: {times}.", ""]
    return "\n".join(parts)


def chart(results, path):
    """A log-scale bar chart of every system's time ÷ the hand-written Numba time, per row (and the
    compile latencies); returns None, or why no chart was drawn."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"matplotlib not installed ({exc})"
    rows = [r for r in results["rows"] if _median(r["systems"].get(REFERENCE))]
    latency = [e for e in results.get("latency", []) if "cold" in e]
    if not rows and not latency:
        return "nothing measured"
    height = 0.42 * len(rows) * 1.0 + 2.5 + (0.5 * len(latency) + 2 if latency else 0)
    fig, axes = plt.subplots(2 if latency else 1, 1, figsize=(10, height), squeeze=False,
                             gridspec_kw={"height_ratios": [max(len(rows), 1), max(len(latency) * 0.6, 1)]
                                          if latency else [1]})
    ax = axes[0, 0]
    systems = [s for s in SYSTEMS]
    width = 0.8 / len(systems)
    colors = plt.get_cmap("tab10").colors
    labels = [f"{r['workload'].split(' ', 1)[1]}: {r['case']}" for r in rows]
    for k, name in enumerate(systems):
        ys, xs = [], []
        for i, row in enumerate(rows):
            t = _median(row["systems"].get(name))
            if t is not None:
                ys.append(i + (k - (len(systems) - 1) / 2) * width)
                xs.append(t / _median(row["systems"][REFERENCE]))
        ax.barh(ys, xs, height=width, color=colors[k % len(colors)], label=name)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("time ÷ hand-written Numba time (log scale; lower is faster)")
    ax.set_title("Gradient time relative to the hand-written Numba gradient", pad=28)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(systems), frameon=False)
    ax.grid(axis="x", which="both", alpha=0.3)
    if latency:
        ax = axes[1, 0]
        names = [f"{e['gradient'].split(' (')[0]} — {e['system']}" for e in latency]
        for k, kind in enumerate(("cold", "warm")):
            ax.barh([i + (k - 0.5) * 0.4 for i in range(len(latency))], [e[kind]["median"] for e in latency],
                    height=0.4, label=kind, color=colors[k])
        ax.set_yticks(range(len(latency)))
        ax.set_yticklabels(names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("seconds, build + first call in a fresh process")
        ax.set_title("Compile latency")
        ax.legend(fontsize=8)
        ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
