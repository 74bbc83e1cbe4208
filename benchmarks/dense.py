"""Dense forward + backward against the three raw BLAS products it needs, and PyTorch.

    python benchmarks/dense.py [--batch 256] [--features 1024] [--units 1024] [--threads 2]

Prints milliseconds per step and ratios (nbkeras / BLAS, nbkeras / PyTorch); compile time
(first call) is reported separately from the steady-state time.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import nbkeras as nk
from nbkeras import layers, ops


def best_time(fn, repeats: int = 30) -> float:
    """Best wall time of fn() in seconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--features", type=int, default=1024)
    parser.add_argument("--units", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    nk.config.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.features)).astype("float32")
    dy = rng.standard_normal((args.batch, args.units)).astype("float32")
    layer = layers.Dense(args.units)
    tensor = nk.Tensor(x)

    def nbkeras_step():
        with nk.GradientTape() as tape:
            tape.watch(tensor)
            y = layer(tensor)
            loss = ops.sum(ops.multiply(y, dy))
        tape.gradient(loss, [tensor, layer.kernel, layer.bias])

    start = time.perf_counter()
    nbkeras_step()
    first_call = time.perf_counter() - start
    w = layer.kernel.numpy()

    def blas_step():
        x @ w
        dy @ w.T
        x.T @ dy

    results = {"nbkeras": best_time(nbkeras_step), "blas": best_time(blas_step)}
    try:
        import torch

        torch.set_num_threads(args.threads)
        tx = torch.tensor(x, requires_grad=True)
        tl = torch.nn.Linear(args.features, args.units)
        tdy = torch.tensor(dy)

        def torch_step():
            tx.grad = None
            tl.zero_grad()
            (tl(tx) * tdy).sum().backward()

        results["pytorch"] = best_time(torch_step)
    except ImportError:
        pass
    print(f"Dense {args.features}->{args.units}, batch {args.batch}, float32, "
          f"{args.threads} threads (first call incl. compile: {first_call * 1e3:.1f} ms)")
    for name, seconds in results.items():
        print(f"  {name:8s} {seconds * 1e3:8.2f} ms/step   nbkeras/{name} = "
              f"{results['nbkeras'] / seconds:.2f}")
    return results


if __name__ == "__main__":
    main()
