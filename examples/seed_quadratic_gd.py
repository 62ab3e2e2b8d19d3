"""Minimise (x - 3)^2 by gradient descent with learning rate 0.18.

Reproduces seed 000 (the ``tf.train`` notes), cells In [12]-[22]: ``goal = tf.pow(x - 3, 2)``,
``tf.train.GradientDescentOptimizer(learning_rate=0.18).minimize(goal)`` and ``train()``, which
re-initialises ``x`` (the truncated normal drew 0.06676739 that time) and then, ten times, prints
``x`` before the step and ``goal`` after it.  The seed printed (float32)::

    x:  [0.06676739]   goal:  [3.5241385]
    x:  [1.1227311]    goal:  [1.4434869]
    ...
    x:  [2.9471598]    goal:  [0.00114364]

Here ``x`` is a NumPy array of shape (1,) (TensorFlow's ``[1]``), updated in place, first by
``srcgrad.train.GradientDescentOptimizer(0.18).minimize`` and then by hand with ``srcgrad.grad``.
Both reproduce the seed's numbers (to float32 precision: we compute in float64).

Run with:  python examples/seed_quadratic_gd.py
"""

import numpy as np

import srcgrad

X0 = 0.06676739          # the seed's starting value after x.initializer.run()
LEARNING_RATE = 0.18
STEPS = 10

# What the seed printed, in order: (x before the step, goal after the step).
SEED_X = [0.06676739, 1.1227311, 1.798548, 2.2310708, 2.5078852, 2.6850467, 2.79843, 2.8709953,
          2.917437, 2.9471598]
SEED_GOAL = [3.5241385, 1.4434869, 0.5912522, 0.24217696, 0.0991956, 0.04063048, 0.01664222,
             0.00681664, 0.00279209, 0.00114364]


def goal(x):
    """The seed's ``tf.pow(x - 3, 2)``, summed to a scalar (x has one element)."""
    return np.sum((x - 3.0) ** 2)


def with_optimizer():
    print("== tf.train.GradientDescentOptimizer(0.18).minimize(goal), 10 steps ==")
    x = np.array([X0])
    optimizer = srcgrad.train.GradientDescentOptimizer(LEARNING_RATE)
    xs, goals = [], []
    for _ in range(STEPS):
        print("x: ", x)
        xs.append(float(x[0]))
        optimizer.minimize(goal, [x])       # updates x in place
        goals.append(float(goal(x)))
        print("goal: ", np.array([goals[-1]]))
    return x, xs, goals


def by_hand():
    print("== by hand: x -= 0.18 * srcgrad.grad(goal)(x) ==")
    dgoal = srcgrad.grad(goal)
    x = np.array([X0])
    for step in range(STEPS):
        g = dgoal(x)
        x = x - LEARNING_RATE * g
        print(f"step {step + 1:2d}: dgoal/dx = {g[0]: .7f}   x = {x[0]:.7f}   goal = {goal(x):.8f}")
    return x


def main():
    x_opt, xs, goals = with_optimizer()
    np.testing.assert_allclose(xs, SEED_X, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(goals, SEED_GOAL, rtol=1e-4, atol=1e-7)
    print("matches the seed's printed iterates (to float32 precision)")
    print()
    x_hand = by_hand()
    print()
    # Closed form: x_k = 3 + (x0 - 3) * (1 - 2 * lr)^k
    exact = 3.0 + (X0 - 3.0) * (1.0 - 2.0 * LEARNING_RATE) ** STEPS
    print(f"closed form after {STEPS} steps: 3 + (x0 - 3) * 0.64^{STEPS} = {exact:.7f}")
    print(f"final x (minimize): {x_opt[0]:.7f}")
    print(f"final x (by hand):  {x_hand[0]:.7f}")
    if abs(x_opt[0] - exact) > 1e-12 or abs(x_hand[0] - exact) > 1e-12:
        raise SystemExit("gradient descent does not follow the closed form")


if __name__ == "__main__":
    main()
