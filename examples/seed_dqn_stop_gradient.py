"""A DQN loss whose target network is held by ``srcgrad.stop_gradient``.

Reproduces seed 004 (Tensorflow学习笔记08 - Gradient), section 2 "tf.stop_gradient":

    q = build_network(o)                 # main (online) network
    q_targ = build_network(o2)           # target network
    q_a = tf.reduce_sum(q * tf.one_hot(a, num_actions), 1)
    q_targ_a = tf.reduce_max(q_targ, 1)
    target = tf.stop_gradient(r + gamma * q_targ_a)
    loss = tf.reduce_mean(tf.square(q_a - target))

and shows what the seed explains: with ``stop_gradient`` the gradient with respect to the target
network's weights is exactly zero, while the online network's is not; without it the loss would
push the target network too. The stopped version has the same gradient as the seed's "placeholder"
variant, where ``q_target`` is computed first and fed in as data. Then a few ``RMSPropOptimizer``
steps train the online network only (``var_list`` holds its weights), copying it to the target
network every 25 steps ("make assign statement so q_targ lags q").

First, the ``tf.stop_gradient``/``stop_gradients`` cells of seed 000 (In [3], [4], [5], [38], [42])
with ``srcgrad.gradients``: ``[1.0, 1.0]``, ``[3.0, 1.0]``, ``[None, 6.0]`` (TensorFlow's None for
a variable whose only path is stopped) and ``[1.0, 1.0]``.

Run with:  python examples/seed_dqn_stop_gradient.py
"""

import numpy as np

import srcgrad
from srcgrad import nn

NUM_ACTIONS = 3
GAMMA = 0.9


# -- seed 000: tf.gradients with stop_gradients, and tf.stop_gradient ------------------------------------------
def a_plus_2a(a):
    b = 2 * a
    return a + b


def stopped_product(w1, w2):
    a = w1 * 3.0
    a_stoped = srcgrad.stop_gradient(a)
    return a_stoped * w2


def stopped_sum(a, b):
    c = a + b
    c_stoped = srcgrad.stop_gradient(c)
    d = a + b
    return c_stoped + d


# -- seed 004: DQN ----------------------------------------------------------------------------------------------
def build_network(W1, b1, W2, b2, o):
    """A small Q network: one relu hidden layer, one Q value per action."""
    return nn.relu(o @ W1 + b1) @ W2 + b2


def dqn_loss(W1, b1, W2, b2, T1, c1, T2, c2, o, a, r, o2):
    """Mean squared Bellman error; (W1, b1, W2, b2) is the online network, (T1, c1, T2, c2) the target."""
    q = build_network(W1, b1, W2, b2, o)
    q_targ = build_network(T1, c1, T2, c2, o2)
    q_a = np.sum(q * nn.one_hot(a, NUM_ACTIONS), axis=1)
    q_targ_a = np.max(q_targ, axis=1)
    target = srcgrad.stop_gradient(r + GAMMA * q_targ_a)
    return np.mean((q_a - target) ** 2)


def dqn_loss_no_stop(W1, b1, W2, b2, T1, c1, T2, c2, o, a, r, o2):
    """The same loss without stop_gradient: the target network gets a gradient too."""
    q = build_network(W1, b1, W2, b2, o)
    q_targ = build_network(T1, c1, T2, c2, o2)
    q_a = np.sum(q * nn.one_hot(a, NUM_ACTIONS), axis=1)
    q_targ_a = np.max(q_targ, axis=1)
    target = r + GAMMA * q_targ_a
    return np.mean((q_a - target) ** 2)


def dqn_loss_placeholder(W1, b1, W2, b2, o, a, q_target):
    """The seed's first variant: q_target computed beforehand and fed in (a placeholder)."""
    q = build_network(W1, b1, W2, b2, o)
    q_a = np.sum(q * nn.one_hot(a, NUM_ACTIONS), axis=1)
    return np.mean((q_a - q_target) ** 2)


def seed000_cells():
    print("== seed 000: tf.gradients(..., stop_gradients) and tf.stop_gradient ==")
    both = srcgrad.gradients(a_plus_2a, ("a", "b"))(0.0)
    stopped = srcgrad.gradients(a_plus_2a, ("a", "b"), stop_gradients=("a", "b"))(0.0)
    product = srcgrad.gradients(stopped_product, ("w1", "w2"))(2.0, 2.0)
    summed = srcgrad.gradients(stopped_sum, ("a", "b"))(1.0, 1.0)
    print("In [4]  b = 2a, d(a + b)/[a, b]                        :", list(both))
    print("In [3]  the same with stop_gradients=[a, b]            :", list(stopped))
    print("In [38] stop_gradient(w1 * 3) * w2, d/[w1, w2]         :", list(product))
    print("In [42] stop_gradient(a + b) + (a + b), d/[a, b]       :", list(summed))
    if (list(both), list(stopped), list(product), list(summed)) != \
            ([3.0, 1.0], [1.0, 1.0], [None, 6.0], [1.0, 1.0]):
        raise SystemExit("seed 000's stop_gradient cells are not reproduced")


def init_network(rng, dim_o, hidden):
    return [rng.randn(dim_o, hidden) * 0.5, np.zeros(hidden),
            rng.randn(hidden, NUM_ACTIONS) * 0.5, np.zeros(NUM_ACTIONS)]


def norms(grads):
    return "  ".join(f"{np.linalg.norm(g):.4f}" for g in grads)


def main():
    seed000_cells()
    print()

    rng = np.random.RandomState(0)
    dim_o, hidden, batch = 4, 8, 32
    online = init_network(rng, dim_o, hidden)
    target_net = init_network(rng, dim_o, hidden)
    o = rng.randn(batch, dim_o)
    a = rng.randint(0, NUM_ACTIONS, batch)
    r = rng.randn(batch)
    o2 = rng.randn(batch, dim_o)

    print(f"== seed 004: DQN loss on a batch of {batch} transitions (obs dim {dim_o}, "
          f"{NUM_ACTIONS} actions) ==")
    everything = tuple(range(8))
    loss, grads = srcgrad.value_and_grad(dqn_loss, wrt=everything)(*online, *target_net, o, a, r, o2)
    _, grads_no_stop = srcgrad.value_and_grad(dqn_loss_no_stop, wrt=everything)(
        *online, *target_net, o, a, r, o2)
    print(f"loss = {loss:.6f}")
    print("gradient norms               W1      b1      W2      b2   |  T1      c1      T2      c2")
    print("with stop_gradient     ", norms(grads[:4]), " | ", norms(grads[4:]))
    print("without stop_gradient  ", norms(grads_no_stop[:4]), " | ", norms(grads_no_stop[4:]))
    target_max = max(np.max(np.abs(g)) for g in grads[4:])
    online_norm = np.sqrt(sum(np.sum(g * g) for g in grads[:4]))
    leak_norm = np.sqrt(sum(np.sum(g * g) for g in grads_no_stop[4:]))
    print(f"max |d loss / d target weights| with stop_gradient: {target_max}")
    print(f"online network gradient norm: {online_norm:.6f}")
    print(f"target network gradient norm without stop_gradient: {leak_norm:.6f}")
    if target_max != 0.0 or online_norm == 0.0 or leak_norm == 0.0:
        raise SystemExit("stop_gradient did not separate the two networks")

    # The placeholder variant: q_target computed outside and fed in as data.
    q_target = r + GAMMA * np.max(build_network(*target_net, o2), axis=1)
    placeholder = srcgrad.grad(dqn_loss_placeholder, wrt=(0, 1, 2, 3))(*online, o, a, q_target)
    diff = max(np.max(np.abs(g - p)) for g, p in zip(grads[:4], placeholder))
    print(f"max |stop_gradient - placeholder| over the online gradients: {diff:.1e}")
    if diff > 1e-12:
        raise SystemExit("stop_gradient and the placeholder variant disagree")
    print()

    print("== training the online network: RMSPropOptimizer(0.01).minimize(dqn_loss, var_list=online) ==")
    frozen = [t.copy() for t in target_net]
    optimizer = srcgrad.train.RMSPropOptimizer(0.01)
    for step in range(100):
        if step % 25 == 0:
            for t, w in zip(target_net, online):     # the target network lags the online one
                t[...] = w
            frozen = [t.copy() for t in target_net]
        loss = optimizer.minimize(dqn_loss, online, *target_net, o, a, r, o2)
        if step % 25 == 0 or step == 99:
            print(f"step {step:3d}: loss {loss:.6f}")
        if any(not np.array_equal(t, f) for t, f in zip(target_net, frozen)):
            raise SystemExit("minimize changed the target network")
    print(f"final loss: {loss:.6f}")
    print("the target network only changed when it was copied from the online one")


if __name__ == "__main__":
    main()
