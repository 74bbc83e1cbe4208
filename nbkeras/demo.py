"""The main job: `python -m nbkeras.demo`.

Trains a small MLP classifier with a custom GradientTape loop on a synthetic, seeded
two-spirals problem and prints the loss and accuracy per epoch. (It grows into the MNIST-1D
CNN demo once `fit` and the convolution kernels land.)
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import nbkeras as nk
from nbkeras import layers, ops


def two_spirals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points on two interleaved spirals (x (n, 2) float32, y (n,) int64 in {0, 1})."""
    t = rng.uniform(0.25, 1.0, n) * 2 * np.pi
    label = rng.integers(0, 2, n)
    angle = t + np.pi * label
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) / (2 * np.pi)
    return (x + rng.normal(0, 0.02, x.shape)).astype("float32"), label


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    nk.config.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_train, y_train = two_spirals(2000, rng)
    x_test, y_test = two_spirals(1000, rng)
    model = nk.Sequential([
        nk.Input((2,)),
        layers.Dense(64, activation="tanh"),
        layers.Dense(64, activation="tanh"),
        layers.Dense(2),
    ])
    model.summary()
    targets = ops.one_hot(y_train, 2)

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        losses = []
        for i in range(0, len(order), args.batch_size):
            batch = order[i:i + args.batch_size]
            with nk.GradientTape() as tape:
                log_probs = ops.log_softmax(model(x_train[batch], training=True))
                loss = -ops.mean(ops.sum(targets[batch] * log_probs, axis=-1))
            grads = tape.gradient(loss, model.trainable_weights)
            for w, g in zip(model.trainable_weights, grads):   # plain SGD
                w.assign_sub(args.learning_rate * g.numpy())
            losses.append(float(loss))
        accuracy = float(np.mean(np.argmax(np.asarray(model(x_test)), -1) == y_test))
        print(f"epoch {epoch:3d}/{args.epochs}  loss {np.mean(losses):.4f}  "
              f"test accuracy {accuracy:.3f}  ({time.perf_counter() - start:.1f} s)")
    print(f"final test accuracy: {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
