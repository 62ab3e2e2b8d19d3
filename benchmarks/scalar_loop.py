"""Workload 6: a scalar recurrence, the kind of loop code tape-based tools are slow on.

    f(x, a) = sum_i h_i,   h_i = tanh(a * h_{i-1} + x_i),   h_{-1} = 0

Gradient w.r.t. ``x`` and ``a``. srcgrad differentiates the plain loop; the hand-written Numba
gradient stores the ``h_i`` and runs the reverse loop. Peers: JAX with ``lax.scan`` (a Python loop
under ``jit`` unrolls and takes minutes to compile), PyTorch and autograd as eager Python loops (run
only up to ``slow_limit`` steps; for longer ones the cell says "skipped: too slow", with the per-step
cost measured on the shorter case extrapolated), NumPy as a hand-written Python loop.

Run alone (``python benchmarks/scalar_loop.py``) it prints srcgrad against the hand-written gradient.
"""
import math

import numpy as np
from numba import njit

import peers
from harness import Case, Skip, fmt_seconds, plain, srcgrad_builder, srcgrad_primal_builder


def f(x, a):
    h = 0.0
    s = 0.0
    for i in range(x.shape[0]):
        h = math.tanh(a * h + x[i])
        s += h
    return s


primal = njit(cache=True)(f)   # both srcgrad's and the hand-written primal: the loop itself


@njit(cache=True)
def hand_grad(x, a):
    n = x.shape[0]
    hs = np.empty(n + 1)  # hs[i + 1] = h_i, hs[0] = h_{-1} = 0
    hs[0] = 0.0
    for i in range(n):
        hs[i + 1] = math.tanh(a * hs[i] + x[i])
    gx = np.empty(n)
    ga = 0.0
    bh = 0.0  # adjoint of h_i flowing back from later steps
    for i in range(n - 1, -1, -1):
        bh += 1.0  # from s += h_i
        h = hs[i + 1]
        bz = bh * (1.0 - h * h)  # through tanh
        gx[i] = bz
        ga += bz * hs[i]
        bh = bz * a  # to h_{i-1}
    return gx, ga


def python_grad(x, a):
    """The same reverse sweep in plain Python over floats (``x.tolist()``): NumPy cannot vectorise a
    recurrence, so this is what a hand-written NumPy program does."""
    xs = x.tolist()
    hs = [0.0]
    for xi in xs:
        hs.append(math.tanh(a * hs[-1] + xi))
    gx = [0.0] * len(xs)
    ga = 0.0
    bh = 0.0
    for i in range(len(xs) - 1, -1, -1):
        bh += 1.0
        h = hs[i + 1]
        bz = bh * (1.0 - h * h)
        gx[i] = bz
        ga += bz * hs[i]
        bh = bz * a
    return np.array(gx), ga


def jax_scan_builder(x, a):
    """``jax.jit(jax.grad(...))`` of the recurrence written with ``lax.scan``."""
    def build():
        jx = peers.load("JAX")
        jnp, lax = jx.jnp, jx.lax

        def loss(x, a):
            def step(h, xi):
                h = jnp.tanh(a * h + xi)
                return h, h
            _, hs = lax.scan(step, jnp.zeros((), x.dtype), x)
            return jnp.sum(hs)
        return jx.jit_grad(loss, (x, a), (0, 1))
    return build


def torch_loop_builder(x, a):
    """Eager PyTorch: a Python loop over ``x.unbind()`` (one autograd node per step), then
    ``torch.autograd.grad``."""
    def build():
        tp = peers.load("PyTorch")
        torch = tp.torch
        tx, ta = tp.array(x, requires_grad=True), tp.array(a, requires_grad=True)

        def run():
            h = torch.zeros((), dtype=torch.float64)
            s = torch.zeros((), dtype=torch.float64)
            for xi in tx.unbind(0):
                h = torch.tanh(ta * h + xi)
                s = s + h
            return torch.autograd.grad(s, (tx, ta))
        return run, tp.to_numpy
    return build


def autograd_loop_builder(x, a):
    """HIPS autograd: the plain Python loop with ``x[i]``, differentiated by ``autograd.grad``."""
    def build():
        ag = peers.load("autograd")
        anp = ag.anp

        def loss(x, a):
            h = 0.0
            s = 0.0
            for i in range(x.shape[0]):
                h = anp.tanh(a * h + x[i])
                s = s + h
            return s
        g = ag.autograd.grad(loss, argnum=(0, 1))
        return plain(g, x, a)
    return build


def skip_too_slow(per_step, n, measured_n):
    """A builder that skips, quoting the cost extrapolated from ``per_step`` seconds per step."""
    def build():
        if per_step is None:
            raise Skip(f"too slow (runs only up to n={measured_n:,})")
        raise Skip(f"too slow (≈ {fmt_seconds(per_step * n)} extrapolated from "
                   f"n={measured_n:,})")
    return build


SLOW_PEERS = {"PyTorch": torch_loop_builder, "autograd": autograd_loop_builder}


def cases(settings, measured=None):
    """Rows for n = 1e4, 1e6 (1e3, 1e4 when quick). Eager peers run at the smallest n only;
    ``measured`` maps peer name to seconds per step from that run, for the skip notes."""
    sizes = (1_000, 10_000) if settings.quick else (10_000, 1_000_000)
    slow_limit = sizes[0]
    rng = np.random.default_rng(6)
    out = []
    for n in sizes:
        x = rng.normal(size=n)
        args = (x, 0.9)
        systems = {
            "hand Numba": lambda args=args: plain(hand_grad, *args),
            "srcgrad": srcgrad_builder(f, args, (0, 1)),
            "NumPy": lambda args=args: plain(python_grad, *args),
            "JAX": jax_scan_builder(*args),
        }
        for name, builder in SLOW_PEERS.items():
            if n <= slow_limit:
                systems[name] = builder(*args)
            else:
                systems[name] = skip_too_slow((measured or {}).get(name), n, slow_limit)
        out.append(Case(
            "6 scalar loop", f"n={n:.0e}".replace("e+0", "e"),
            reference=lambda args=args: hand_grad(*args), systems=systems,
            primal={"srcgrad": srcgrad_primal_builder(f, args),
                    "hand": lambda args=args: plain(primal, *args)},
            repeats=3 if n >= 1_000_000 or settings.quick else None, params={"n": n},
            notes=["NumPy: plain Python loop over x.tolist() (a recurrence does not vectorise)",
                   "JAX: lax.scan under jit", "PyTorch: eager loop over x.unbind()",
                   "autograd: eager loop with x[i]"]))
    return out


def run(settings, log=print):
    """Measure the rows in order, feeding the small case's eager per-step cost to the big case."""
    from harness import measure
    small, big = cases(settings)
    rows = [measure(small, settings, log)]
    n_small, n_big = small.params["n"], big.params["n"]
    measured = {name: rows[0]["systems"][name]["median"] / n_small
                for name in SLOW_PEERS if "median" in rows[0]["systems"].get(name, {})}
    big.systems.update({name: skip_too_slow(measured.get(name), n_big, n_small) for name in SLOW_PEERS})
    rows.append(measure(big, settings, log))
    return rows


if __name__ == "__main__":
    from harness import Settings, describe, measure
    for case in cases(Settings.make(quick=False)):
        for name in list(case.systems):
            if name not in ("hand Numba", "srcgrad"):
                del case.systems[name]
        row = measure(case, Settings.make(quick=False), log=lambda *_: None)
        print(case.name, {k: describe(v) for k, v in row["systems"].items()})
