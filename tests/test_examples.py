"""Smoke tests for the example scripts in ``examples/``: each runs as ``python examples/<name>.py``
in a subprocess from the repository root, must exit with status 0, and must print the numbers it
is about (the seed notebook's values, a learned weight, a zero gradient), which are checked here.

The subprocess shares srcgrad's cache with the rest of the test suite (``SRCGRAD_CACHE_DIR``, set
by ``conftest.py`` to the repository's ``.srcgrad_cache`` unless already set), so a second run only
loads compiled code. The repository root comes first on ``PYTHONPATH``, so the examples import
this checkout's srcgrad.
"""

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


@functools.lru_cache(maxsize=None)
def run_example(name):
    """stdout of ``python examples/<name>.py``; fails the test if it exits with an error."""
    env = dict(os.environ)
    env.setdefault("SRCGRAD_CACHE_DIR", str(ROOT / ".srcgrad_cache"))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (f"examples/{name}.py exited with {proc.returncode}\n"
                                  f"--- stdout ---\n{proc.stdout[-4000:]}\n"
                                  f"--- stderr ---\n{proc.stderr[-4000:]}")
    return proc.stdout


def numbers(pattern, text):
    """Every float in the first line of ``text`` that contains ``pattern`` (a plain substring),
    after the pattern."""
    for line in text.splitlines():
        if pattern in line:
            return [float(v) for v in re.findall(FLOAT, line.split(pattern, 1)[1])]
    raise AssertionError(f"no line containing {pattern!r} in the output:\n{text}")


def number(pattern, text):
    values = numbers(pattern, text)
    assert values, f"no number after {pattern!r}"
    return values[0]


def test_seed_quadratic_gd():
    out = run_example("seed_quadratic_gd")
    # the seed's printed iterates (float32): x before each step and goal after it
    xs = [float(v) for v in re.findall(rf"^x:\s+\[({FLOAT})\]", out, re.M)]
    goals = [float(v) for v in re.findall(rf"^goal:\s+\[({FLOAT})\]", out, re.M)]
    np.testing.assert_allclose(xs, [0.06676739, 1.1227311, 1.798548, 2.2310708, 2.5078852,
                                    2.6850467, 2.79843, 2.8709953, 2.917437, 2.9471598],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(goals, [3.5241385, 1.4434869, 0.5912522, 0.24217696, 0.0991956,
                                       0.04063048, 0.01664222, 0.00681664, 0.00279209, 0.00114364],
                               rtol=1e-4, atol=1e-7)
    # after the 10th step: 3 - sqrt(0.00114364) in the seed's float32
    for line in ("final x (minimize):", "final x (by hand):"):
        assert number(line, out) == pytest.approx(2.9661821, abs=2e-6)
    assert len(re.findall(r"^step\s+\d+: dgoal/dx", out, re.M)) == 10


def test_seed_linear_regression():
    out = run_example("seed_linear_regression")
    assert len(re.findall(r"^epoch:\s+\d+", out, re.M)) == 20
    first_loss, last_loss = number("epoch:  0 \t loss:", out), number("epoch: 19 \t loss:", out)
    assert last_loss < 0.05 * first_loss
    w20, b20 = numbers("after 20 steps: w =", out)[:2]
    assert w20 == pytest.approx(3.0, abs=0.05)
    assert b20 == pytest.approx(1.0, abs=0.1)          # the intercept has hardly moved
    w, b = number("learned w =", out), number("learned b =", out)
    assert w == pytest.approx(3.0, abs=0.01)
    assert b == pytest.approx(2.0, abs=0.05)
    slope, intercept = numbers("least squares (np.polyfit): w =", out)[:2]
    assert (w, b) == pytest.approx((slope, intercept), abs=1e-3)


def test_seed_perceptrons_mlp():
    out = run_example("seed_perceptrons_mlp")
    assert number("dy2/dw1           =", out) == 2.0
    assert number("dy2/dy1 * dy1/dw1 =", out) == 2.0
    assert number("dy/dw =", out) == 3.0
    assert number("dy/db =", out) == 1.0
    assert number("d2y/dw2 =", out) == 0.0
    assert numbers("relu'       ", out) == [0.0] * 5 + [1.0] * 5
    assert numbers("leaky_relu' ", out) == [0.2] * 5 + [1.0] * 5
    np.testing.assert_allclose(numbers("sigmoid'    ", out)[:2], [4.5395806e-05, 4.1859140e-04],
                               rtol=1e-4)
    # In [9], [12] and [14]: b's gradients as the seed printed them
    b_grads = [numbers("b grad:", line) for line in out.splitlines() if line.startswith("b grad:")]
    assert len(b_grads) == 3
    np.testing.assert_allclose(b_grads[0], [0.25, -0.25], rtol=1e-6)
    np.testing.assert_allclose(b_grads[1][:1], [-0.15517864], rtol=1e-6)
    np.testing.assert_allclose(b_grads[2], [-0.03703704, 0.07407407, -0.03703704], rtol=1e-6)
    assert number("max |srcgrad - backprop formula| over W1, b1, W2, b2:", out) < 1e-12
    xor = numbers("XOR outputs for inputs 00, 01, 10, 11:", out)
    np.testing.assert_allclose(xor, [0, 1, 1, 0], atol=0.05)
    assert number("final MLP loss:", out) < 0.01
    assert "all seed gradients reproduced" in out


def test_seed_softmax_regression():
    out = run_example("seed_softmax_regression")
    lines = out.splitlines()
    fused = lines[lines.index("calc with softmax_cross_entropy_with_logits") + 1]
    by_hand = lines[lines.index("calc with softmax & cross_entropy") + 1]
    assert float(re.findall(FLOAT, fused)[0]) == pytest.approx(1.91865955, abs=1e-8)
    assert float(by_hand) == pytest.approx(1.91865955, abs=1e-8)
    costs = [float(v) for v in re.findall(rf"^Epoch: \d{{4}} cost= ({FLOAT})", out, re.M)]
    assert len(costs) == 30                                          # three runs of 10 epochs
    minimize, by_hand_run, clipped = costs[:10], costs[10:20], costs[20:]
    assert minimize == by_hand_run                                   # the same updates
    assert minimize[-1] < 0.5 * minimize[0] and clipped[-1] < 0.5 * clipped[0]
    assert clipped[0] != minimize[0]                                 # clipping changed the steps
    accuracies = [float(v) for v in re.findall(rf"^Accuracy: ({FLOAT})", out, re.M)]
    assert len(accuracies) == 3 and min(accuracies) > 0.9
    assert number("max |minimize - compute/apply| over W and b:", out) == 0.0
    first_norm, last_norm, clip_norm, n_clipped, n_steps = numbers("global gradient norm:", out)
    assert first_norm > clip_norm > last_norm
    assert 0 < n_clipped < n_steps == 150


def test_seed_dqn_stop_gradient():
    out = run_example("seed_dqn_stop_gradient")
    assert "In [4]  b = 2a, d(a + b)/[a, b]                        : [3.0, 1.0]" in out
    assert "In [3]  the same with stop_gradients=[a, b]            : [1.0, 1.0]" in out
    assert "In [38] stop_gradient(w1 * 3) * w2, d/[w1, w2]         : [None, 6.0]" in out
    assert "In [42] stop_gradient(a + b) + (a + b), d/[a, b]       : [1.0, 1.0]" in out
    assert number("max |d loss / d target weights| with stop_gradient:", out) == 0.0
    assert number("online network gradient norm:", out) > 0.1
    assert number("target network gradient norm without stop_gradient:", out) > 0.1
    stop = numbers("with stop_gradient     ", out)
    no_stop = numbers("without stop_gradient  ", out)
    assert stop[:4] == no_stop[:4] and min(stop[:4]) > 0          # same online gradient
    assert stop[4:] == [0.0] * 4 and min(no_stop[4:]) > 0
    assert number("max |stop_gradient - placeholder| over the online gradients:", out) == 0.0
    assert number("final loss:", out) < number("step   0: loss", out)
    assert "the target network only changed when it was copied" in out


def test_regularized_training():
    out = run_example("regularized_training")
    penalty = number("apply_regularization(REG, [w1, w2]) =", out)
    assert penalty > 0 and penalty == number("SCALE * (l2_loss(w1) + l2_loss(w2)) =", out)
    assert number("gradient of the penalty = SCALE * w for w1 and w2, 0 for b: max error", out) < 1e-12
    no_penalty = numbers("no penalty: final loss", out)
    penalised = numbers("L2 penalty: final loss", out)
    # each: [final loss, |w|, train MSE, test MSE]
    assert no_penalty[2] < 1e-6                                  # it interpolates the 24 points
    assert penalised[1] < no_penalty[1]                          # smaller weights
    assert number("max |fit - closed form| =", out) < 1e-6
    assert number("test MSE with penalty:", out) < 0.5 * number("test MSE without penalty:", out)
