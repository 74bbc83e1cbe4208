"""What the optimizer tests share: a random problem, gradient steps applied to it, and a short
`fit` that must lower the loss."""
from __future__ import annotations

import numpy as np

import nbkeras as nk
from nbkeras import layers


def random_problem(rng: np.random.Generator, shapes, dtype, steps: int = 4):
    """Weights of `shapes` and `steps` lists of gradients for them, drawn from `rng`."""
    weights = [rng.normal(size=shape).astype(dtype) for shape in shapes]
    grads = [[rng.normal(size=shape).astype(dtype) for shape in shapes] for _ in range(steps)]
    return weights, grads


def apply_steps(optimizer, weights, grad_steps, names=None) -> list:
    """Variables made from `weights` (named `names`, else w0, w1, ...) after `optimizer`
    applied each list of gradients in turn."""
    names = names or [f"w{i}" for i in range(len(weights))]
    variables = [nk.Variable(w, name=name) for name, w in zip(names, weights)]
    for grads in grad_steps:
        optimizer.apply_gradients(zip(grads, variables))
    return variables


def assert_fit_reduces_the_loss(optimizer, seed: int = 0) -> None:
    """A small regression model compiled with `optimizer` lowers its loss over 5 epochs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = x @ rng.normal(size=(4, 1)).astype("float32")
    model = nk.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                           layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    losses = model.fit(x, y, batch_size=16, epochs=5, verbose=0).history["loss"]
    assert losses[-1] < losses[0] and np.isfinite(losses).all()
