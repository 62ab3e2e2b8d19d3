"""The other autodiff systems (JAX, PyTorch, HIPS autograd), imported only when a case needs them.

Each peer offers the same small set of NumPy-like operations (:attr:`Peer.ops`), so a workload writes
its loss once as ``loss(ops, *args)`` and :func:`grad_builders` turns it into one builder per peer (see
:mod:`harness`): JAX ``jax.jit(jax.grad(...))`` in float64, PyTorch eager ``torch.autograd.grad`` on
float64 tensors, autograd ``grad``. Workloads that need a peer's own idiom (``lax.scan``, an optimizer
loop) call :func:`load` and write their builder themselves.
"""
import importlib
from types import SimpleNamespace

import numpy as np

from harness import NotInstalled, as_tuple

_LOADED = {}


def load(name):
    """The peer called ``name`` ("JAX", "PyTorch" or "autograd"); raises NotInstalled if it is not."""
    if name not in _LOADED:
        try:
            _LOADED[name] = _FACTORIES[name]()
        except ImportError as exc:
            _LOADED[name] = NotInstalled(f"not installed ({exc})")
    peer = _LOADED[name]
    if isinstance(peer, NotInstalled):
        raise peer
    return peer


def versions():
    """Version (and thread settings) of every peer that imports, for the report header."""
    out = {}
    for name in _FACTORIES:
        try:
            out[name] = load(name).version
        except Exception as exc:  # noqa: BLE001 - NotInstalled, or a broken installation
            out[name] = str(exc) if isinstance(exc, NotInstalled) else f"import fails: {exc!r}"
    return out


class Peer:
    """An autodiff library: array conversion, NumPy-like ops and a gradient builder."""
    name = ""
    version = ""
    ops = None

    def array(self, value, requires_grad=False):
        """``value`` (a NumPy array or float) as this library's float64 array."""
        raise NotImplementedError

    def grad(self, loss, args, wrt):
        """``(run, to_numpy)`` for the gradient of ``loss(ops, *args)`` w.r.t. positions ``wrt``."""
        raise NotImplementedError


class JaxPeer(Peer):
    name = "JAX"

    def __init__(self):
        jax = importlib.import_module("jax")
        jax.config.update("jax_enable_x64", True)
        self.jax = jax
        self.jnp = importlib.import_module("jax.numpy")
        self.lax = jax.lax
        self.version = f"jax {jax.__version__} (x64, {jax.devices()[0].platform})"
        self.ops = SimpleNamespace(
            sigmoid=jax.nn.sigmoid, tanh=self.jnp.tanh, relu=jax.nn.relu, sum=self.jnp.sum,
            mean=self.jnp.mean, log_softmax=lambda x: jax.nn.log_softmax(x, axis=-1))

    def array(self, value, requires_grad=False):
        return self.jnp.asarray(value, dtype=self.jnp.float64)

    def jit_grad(self, f, args, wrt):
        """``(run, to_numpy)`` for ``jax.jit(jax.grad(f, argnums=wrt))`` on ``args``."""
        g = self.jax.jit(self.jax.grad(f, argnums=tuple(wrt)))
        arrays = [self.array(a) for a in args]
        return (lambda: self.jax.block_until_ready(g(*arrays))), as_tuple

    def grad(self, loss, args, wrt):
        return self.jit_grad(lambda *a: loss(self.ops, *a), args, wrt)


class TorchPeer(Peer):
    name = "PyTorch"

    def __init__(self):
        torch = importlib.import_module("torch")
        self.torch = torch
        self.version = f"torch {torch.__version__} (eager, {torch.get_num_threads()} threads)"
        self.ops = SimpleNamespace(
            sigmoid=torch.sigmoid, tanh=torch.tanh, relu=torch.relu, sum=torch.sum, mean=torch.mean,
            log_softmax=lambda x: torch.log_softmax(x, dim=-1))

    def array(self, value, requires_grad=False):
        if isinstance(value, np.ndarray):
            t = self.torch.from_numpy(np.ascontiguousarray(value, dtype=np.float64))
        else:
            t = self.torch.tensor(value, dtype=self.torch.float64)
        return t.requires_grad_(True) if requires_grad else t

    def to_numpy(self, out):
        return tuple(t.detach().numpy() for t in out)

    def grad(self, loss, args, wrt):
        tensors = [self.array(a, requires_grad=i in wrt) for i, a in enumerate(args)]
        leaves = [tensors[i] for i in wrt]

        def run():
            return self.torch.autograd.grad(loss(self.ops, *tensors), leaves)
        return run, self.to_numpy


class AutogradPeer(Peer):
    name = "autograd"

    def __init__(self):
        autograd = importlib.import_module("autograd")
        anp = importlib.import_module("autograd.numpy")
        logsumexp = importlib.import_module("autograd.scipy.special").logsumexp
        self.autograd = autograd
        self.anp = anp
        try:
            from importlib.metadata import version
            self.version = f"autograd {version('autograd')}"
        except Exception:  # noqa: BLE001
            self.version = "autograd (version unknown)"
        self.ops = SimpleNamespace(
            sigmoid=lambda x: 0.5 * (anp.tanh(0.5 * x) + 1.0),   # overflow-free logistic
            tanh=anp.tanh, relu=lambda x: anp.maximum(x, 0.0), sum=anp.sum, mean=anp.mean,
            log_softmax=lambda x: x - logsumexp(x, axis=-1, keepdims=True))

    def array(self, value, requires_grad=False):
        return value

    def grad(self, loss, args, wrt):
        g = self.autograd.grad(lambda *a: loss(self.ops, *a), argnum=tuple(wrt))
        return (lambda: g(*args)), as_tuple


_FACTORIES = {"JAX": JaxPeer, "PyTorch": TorchPeer, "autograd": AutogradPeer}


def grad_builders(loss, args, wrt):
    """A builder per peer for the gradient of ``loss(ops, *args)`` w.r.t. the positions ``wrt``."""
    def builder(name):
        return lambda: load(name).grad(loss, args, wrt)
    return {name: builder(name) for name in _FACTORIES}
