"""``tf.train.ExponentialMovingAverage`` over NumPy arrays."""
import numpy as np

from ..errors import ArgumentError
from . import kernels


class ExponentialMovingAverage:
    """Shadow copies of variables that follow them slowly:
    ``shadow -= (1 - decay) * (shadow - variable)`` at each :meth:`apply`.

    With ``num_updates`` (a number, or a step counter array read at each apply) the decay is
    ``min(decay, (1 + num_updates) / (10 + num_updates))``, so early averages move faster.
    """

    def __init__(self, decay, num_updates=None):
        self.decay = float(decay)
        self.num_updates = num_updates
        self._shadows = {}          # id(variable) -> (variable, shadow)

    def effective_decay(self):
        if self.num_updates is None:
            return self.decay
        n = float(np.asarray(self.num_updates))
        return min(self.decay, (1.0 + n) / (10.0 + n))

    def apply(self, var_list):
        """Create shadows for new variables (equal to them), then update every shadow."""
        decay = self.effective_decay()
        for var in var_list:
            if not isinstance(var, np.ndarray) or var.dtype.kind != "f":
                raise ArgumentError("ExponentialMovingAverage averages NumPy float arrays")
            entry = self._shadows.get(id(var))
            if entry is None or entry[0] is not var:
                entry = self._shadows[id(var)] = (var, np.array(var, order="C"))
            kernels.ema_step(entry[1], var, decay)

    def average(self, var):
        """The shadow of ``var`` (None if ``apply`` never saw it)."""
        entry = self._shadows.get(id(var))
        return entry[1] if entry is not None and entry[0] is var else None
