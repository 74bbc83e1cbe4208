"""The keras.io "Simple MNIST convnet" in nbkeras and in PyTorch (CPU), side by side.

    python benchmarks/mnist_convnet.py [--threads 2] [--batch-size 128] [--steps 20]

Input 28x28x1 -> Conv2D 32 3x3 relu -> MaxPooling2D 2 -> Conv2D 64 3x3 relu -> MaxPooling2D 2
-> Flatten -> Dropout 0.5 -> Dense 10 softmax; Adam; batch 128. Random data of MNIST's shape
(speed does not depend on the pixel values). Prints training and inference samples/s for
both frameworks and the ratios nbkeras / PyTorch; compile time (first step) separately.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import nbkeras as nk
from nbkeras.utils.precompile import simple_mnist_convnet


# the compiled convnet, (N, 28, 28, 1) -> (N, 10); nbkeras_model(keras) builds Keras's own
nbkeras_model = simple_mnist_convnet


def torch_model(torch):
    """The same convnet in PyTorch, (N, 1, 28, 28) -> (N, 10) logits."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))


def torch_steps(torch, x: np.ndarray, y: np.ndarray):
    """(train_step, predict_step) closures of the PyTorch convnet with Adam on one batch:
    x (N, 28, 28, 1) float32, y (N, 10) one-hot."""
    net = torch_model(torch)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    tx = torch.tensor(x.transpose(0, 3, 1, 2).copy())
    ty = torch.tensor(y.argmax(1))

    def train():
        net.train()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(tx), ty).backward()
        optimizer.step()

    def predict():
        net.eval()
        with torch.no_grad():
            torch.softmax(net(tx), dim=1)

    return train, predict


def rates(steps: dict, batch: int, repeats: int, rounds: int = 5) -> dict:
    """Samples per second of each `steps[name]()`: after one warm-up call each, `rounds`
    rounds that time `repeats` calls of every step in turn, so that all frameworks see the
    same load on a shared machine; each step's best round counts, the least disturbed one."""
    for step in steps.values():
        step()
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(repeats):
                step()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: batch * repeats / seconds for name, seconds in best.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    batch = args.batch_size
    nk.config.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.random((batch, 28, 28, 1), dtype=np.float32)
    y = nk.utils.to_categorical(rng.integers(0, 10, batch), 10)

    model = nbkeras_model()
    start = time.perf_counter()
    model.train_on_batch(x, y)
    model.predict_on_batch(x)
    first_step = time.perf_counter() - start
    steps = {("nbkeras", "train"): lambda: model.train_on_batch(x, y),
             ("nbkeras", "predict"): lambda: model.predict_on_batch(x)}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(args.threads)
        steps[("pytorch", "train")], steps[("pytorch", "predict")] = torch_steps(torch, x, y)
    measured = rates(steps, batch, args.steps)
    results = {name: (measured[(name, "train")], measured[(name, "predict")])
               for name, _ in measured}
    print(f"Simple MNIST convnet, batch {batch}, {args.threads} threads "
          f"(nbkeras first train+predict step incl. compile: {first_step:.1f} s)")
    print(f"  {'':10s} {'train samples/s':>16s} {'predict samples/s':>18s}")
    for name, (train, predict) in results.items():
        print(f"  {name:10s} {train:16.0f} {predict:18.0f}")
    if "pytorch" in results:
        ours, theirs = results["nbkeras"], results["pytorch"]
        print(f"  {'ratio':10s} {ours[0] / theirs[0]:16.2f} {ours[1] / theirs[1]:18.2f}"
              "   (nbkeras / PyTorch; > 1 means nbkeras is faster)")
    return results


if __name__ == "__main__":
    main()
