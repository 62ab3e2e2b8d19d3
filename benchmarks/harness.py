"""Timing, gradient checks and result records shared by every workload.

A workload module builds :class:`Case` objects (one per table row): how to get the reference result
(the hand-written Numba gradient) and, per system, a *builder*: a zero-argument function that imports what
it needs, prepares the inputs in the system's own array type and returns ``(run, to_numpy)``, where
``run()`` computes the gradient once and waits for it (JAX's ``block_until_ready``), and
``to_numpy(out)`` turns what ``run`` returned into a tuple of NumPy arrays / floats.

:func:`measure` then, for each system: builds it (a missing library gives a "not installed" cell, an
exception an "error" cell, :class:`Skip` a "skipped" cell), calls it once (this call compiles, and its
result is checked against the reference), warms up, and times it (:func:`time_call`).
"""
import gc
import math
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

# Benchmark the checkout this file belongs to (import harness before srcgrad).
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The column order of every table; the first is the reference the others are checked against.
SYSTEMS = ("hand Numba", "srcgrad", "NumPy", "JAX", "PyTorch", "autograd")
REFERENCE = "hand Numba"
PEERS = ("NumPy", "JAX", "PyTorch", "autograd")   # "fastest peer" is the fastest of these

RTOL = 1e-8     # agreement with the reference: max |a - r| / max |r|, per gradient


class NotInstalled(Exception):
    """Raised by a builder whose library cannot be imported."""


class Skip(Exception):
    """Raised by a builder that is deliberately not run for this case (the message says why)."""


@dataclass
class Settings:
    """How hard to time: ``quick`` is the CI smoke-test size."""
    quick: bool = False
    warmup: int = 2            # untimed calls after the first (compiling) call ...
    warmup_s: float = 0.5      # ... and at least this long (thread pools settle on a busy machine)
    min_repeats: int = 7
    max_repeats: int = 41
    budget_s: float = 1.0      # aim for about this much timed work per system and case
    min_sample_s: float = 2e-4  # calls faster than this are batched, `number` calls per sample

    @classmethod
    def make(cls, quick):
        if quick:
            return cls(quick=True, warmup_s=0.1, min_repeats=3, max_repeats=7, budget_s=0.1)
        return cls()


@dataclass
class Case:
    """One table row: a gradient (or a training epoch) computed by every system."""
    workload: str                          # e.g. "1 elementwise"
    name: str                              # e.g. "sum(sigmoid(x)), n=1e5"
    reference: Callable[[], tuple]         # hand-written Numba result, as a tuple of arrays / floats
    systems: dict                          # system name -> builder (see module docstring)
    primal: dict = field(default_factory=dict)  # "srcgrad" / "hand" -> builder of the primal
    repeats: int = None                    # override Settings.min_repeats (e.g. fewer for an epoch)
    notes: list = field(default_factory=list)
    rtol: float = RTOL
    params: dict = field(default_factory=dict)   # sizes etc., copied to the results file


def plain(fn, *args):
    """A builder result for a NumPy-level function: ``run`` calls ``fn(*args)``."""
    return (lambda: fn(*args)), as_tuple


def as_tuple(out):
    """``out`` (one array/float or a tuple of them) as a tuple of NumPy arrays / floats."""
    if not isinstance(out, (tuple, list)):
        out = (out,)
    return tuple(np.asarray(o, dtype=np.float64) for o in out)


def rel_error(got, want):
    """The largest, over the gradients, of ``max |got - want| / max |want|``."""
    got, want = as_tuple(got), as_tuple(want)
    if len(got) != len(want):
        return math.inf
    worst = 0.0
    for g, w in zip(got, want):
        if g.shape != w.shape:
            return math.inf
        scale = max(float(np.max(np.abs(w))) if w.size else 0.0, 1e-300)
        diff = float(np.max(np.abs(g - w))) if w.size else 0.0
        worst = max(worst, diff / scale if np.isfinite(diff) else math.inf)
    return worst


def time_call(run, settings, min_repeats=None):
    """Median, min and max seconds per ``run()`` after untimed warm-up calls (at least
    ``settings.warmup`` of them, for at least ``settings.warmup_s``).

    Fast calls are batched (``number`` calls per sample, as ``timeit`` does) so a sample is at least
    ``min_sample_s``; the number of samples fits ``budget_s`` between ``min_repeats`` and
    ``max_repeats``. The garbage collector is off while timing.
    """
    t_last = 0.0
    calls = 0
    start = time.perf_counter()
    while calls < settings.warmup or time.perf_counter() - start < settings.warmup_s:
        t0 = time.perf_counter()
        run()
        t_last = time.perf_counter() - t0
        calls += 1
    t_last = max(t_last, 1e-9)
    number = max(1, int(settings.min_sample_s / t_last)) if t_last < settings.min_sample_s else 1
    low = min_repeats or settings.min_repeats
    repeats = int(min(settings.max_repeats, max(low, settings.budget_s / (t_last * number))))
    samples = []
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(number):
                run()
            samples.append((time.perf_counter() - t0) / number)
    finally:
        if gc_was_on:
            gc.enable()
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "repeats": repeats, "number": number}


def paired_ratio(run_a, number_a, run_b, number_b, pairs):
    """Median over ``pairs`` of (time per call of ``run_b``) ÷ (time per call of ``run_a``), the two
    timed in alternating batches, so both see the same state of a shared machine (whose speed can
    drift by tens of percent between two back-to-back measurements)."""
    ratios = []
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for _ in range(pairs):
            times = []
            for run, number in ((run_a, number_a), (run_b, number_b)):
                t0 = time.perf_counter()
                for _ in range(number):
                    run()
                times.append((time.perf_counter() - t0) / number)
            ratios.append(times[1] / times[0])
    finally:
        if gc_was_on:
            gc.enable()
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
            "pairs": pairs}


def _error_text(exc):
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def measure_system(builder, settings, reference=None, rtol=RTOL, min_repeats=None):
    """One cell: build, first call (compile + check against ``reference``), warm-up, timing."""
    try:
        run, to_numpy = builder()
    except NotInstalled as exc:
        return {"status": "not installed", "note": str(exc)}
    except Skip as exc:
        return {"status": "skipped", "note": str(exc)}
    except Exception as exc:  # noqa: BLE001 - any failure becomes the cell's text
        return {"status": "error", "note": _error_text(exc), "traceback": traceback.format_exc()}
    cell = {"run": run}          # kept for the paired ratio; measure() removes it
    try:
        t0 = time.perf_counter()
        out = run()
        cell["first_call_s"] = time.perf_counter() - t0
        if reference is not None:
            err = rel_error(to_numpy(out), reference)
            cell["rel_err"] = err
            cell["status"] = "ok" if err <= rtol else "MISMATCH"
        else:
            cell["status"] = "ok"
        cell.update(time_call(run, settings, min_repeats))
    except Exception as exc:  # noqa: BLE001
        cell.update(status="error", note=_error_text(exc), traceback=traceback.format_exc())
    return cell


def measure(case, settings, log=print):
    """All systems of ``case`` (and its primal timings): a row for the results file."""
    reference = as_tuple(case.reference())
    row = {"workload": case.workload, "case": case.name, "params": dict(case.params), "systems": {},
           "primal": {}, "notes": list(case.notes)}
    for name in SYSTEMS:
        builder = case.systems.get(name)
        if builder is None:
            continue
        cell = measure_system(builder, settings, reference, case.rtol, case.repeats)
        row["systems"][name] = cell
        log(f"  {case.workload} | {case.name} | {name}: {describe(cell)}")
        if cell["status"] == "MISMATCH":
            log(f"  !!! {name} DISAGREES with the hand-written Numba result on {case.name}: "
                f"relative error {cell['rel_err']:.3g} > {case.rtol:g}")
    hand, src = row["systems"].get(REFERENCE, {}), row["systems"].get("srcgrad", {})
    if hand.get("status") == "ok" and src.get("status") == "ok":
        pairs = max(5, min(settings.max_repeats, case.repeats or settings.min_repeats * 3))
        row["paired"] = paired_ratio(hand["run"], hand["number"], src["run"], src["number"], pairs)
        log(f"  {case.workload} | {case.name} | srcgrad ÷ hand, paired: {row['paired']['median']:.2f}×")
    for cell in row["systems"].values():
        cell.pop("run", None)
    for name, builder in case.primal.items():
        cell = measure_system(builder, settings, None, min_repeats=case.repeats)
        cell.pop("run", None)
        row["primal"][name] = cell
        log(f"  {case.workload} | {case.name} | primal {name}: {describe(cell)}")
    return row


def _unit(t):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if t >= scale:
            return unit, scale
    return "µs", 1e-6


def _num(v):
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def fmt_seconds(t):
    """``t`` seconds with a unit that keeps three significant digits."""
    if t is None or not math.isfinite(t):
        return "–"
    unit, scale = _unit(t)
    return f"{_num(t / scale)} {unit}"


def fmt_timing(median, lo, hi):
    """``median (lo–hi)``, all three in the median's unit."""
    unit, scale = _unit(median)
    return f"{_num(median / scale)} {unit} ({_num(lo / scale)}–{_num(hi / scale)})"


def describe(cell):
    """A one-line text for a cell, for logs."""
    status = cell.get("status")
    if status in ("ok", "MISMATCH") and "median" in cell:
        text = fmt_timing(cell["median"], cell["min"], cell["max"])
        if "rel_err" in cell:
            text += f", rel err {cell['rel_err']:.1e}"
        return text if status == "ok" else f"MISMATCH, {text}"
    return f"{status}: {cell.get('note', '')}"


def srcgrad_builder(f, args, wrt, parallel=False):
    """Builder: srcgrad's gradient of ``f`` w.r.t. the positions ``wrt`` (a tuple, so a tuple out)."""
    def build():
        import srcgrad
        return plain(srcgrad.grad(f, wrt=tuple(wrt), parallel=parallel), *args)
    return build


def srcgrad_primal_builder(f, args):
    """Builder: the function srcgrad differentiates, compiled as it is with ``numba.njit``."""
    def build():
        import numba
        return plain(numba.njit(f), *args)
    return build


def gradient_case(workload, name, args, wrt, *, hand, hand_primal, srcgrad_loss, numpy_grad,
                  peer_loss, notes=(), params=None, rtol=RTOL, parallel=False):
    """The usual row: every system computes the gradient of one loss w.r.t. ``args[i] for i in wrt``.

    ``hand`` / ``hand_primal``: the hand-written Numba gradient and loss; ``srcgrad_loss``: the
    NumPy/``srcgrad.nn`` function srcgrad differentiates (its ``njit`` is srcgrad's primal);
    ``numpy_grad``: hand-written NumPy gradient; ``peer_loss(ops, *args)``: the loss for JAX, PyTorch
    and autograd (see :mod:`peers`). ``parallel``: srcgrad's ``grad(..., parallel=True)``, as a user
    with large arrays writes it.
    """
    import peers
    systems = {
        "hand Numba": lambda: plain(hand, *args),
        "srcgrad": srcgrad_builder(srcgrad_loss, args, wrt, parallel),
        "NumPy": lambda: plain(numpy_grad, *args),
        **peers.grad_builders(peer_loss, args, wrt),
    }
    primal = {"srcgrad": srcgrad_primal_builder(srcgrad_loss, args),
              "hand": lambda: plain(hand_primal, *args)}
    return Case(workload, name, reference=lambda: hand(*args), systems=systems, primal=primal,
                notes=list(notes), params=dict(params or {}), rtol=rtol)
