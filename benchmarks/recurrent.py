"""Recurrent layers next to PyTorch on the CPU, in one process: LSTM(128) and GRU(128) over
(batch 64, 100 steps, 64 features), forward + backward (gradients of sum(y * dy) by the input
and every weight), milliseconds and the speed ratio.

    python benchmarks/recurrent.py [--threads 2] [--repeats 10]

nbkeras runs its fused path (kernels/cpu/recurrent.py); PyTorch its nn.LSTM / nn.GRU
(batch_first, last step's output, as Keras's return_sequences=False). Each case warms up
first; nbkeras's first call (Numba compile or cache load) is reported apart. The two sides
run in turns, so on shared cores both see the same load.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbkeras as nk  # noqa: E402
from nbkeras import layers, ops  # noqa: E402

from cases import Row, load_torch  # noqa: E402


def best_times(sides: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Best wall time in seconds of each side's step, run in turns after one warm-up call
    each (a change in the machine's load then reaches every side alike)."""
    for step in sides.values():
        step()
    times = {name: [] for name in sides}
    for _ in range(repeats):
        for name, step in sides.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def _ours(layer, x: np.ndarray, dy: np.ndarray):
    tensor = ops.convert_to_tensor(x)

    def step() -> None:
        with nk.GradientTape() as tape:
            tape.watch(tensor)
            loss = ops.sum(ops.multiply(layer(tensor, training=True), dy))
        tape.gradient(loss, [tensor, *layer.trainable_weights])
    return step


def _theirs(torch, module, x: np.ndarray, dy: np.ndarray):
    tensor = torch.from_numpy(x).requires_grad_(True)
    cotangent = torch.from_numpy(dy)

    def step() -> None:
        module.zero_grad(set_to_none=True)
        tensor.grad = None
        output, _ = module(tensor)
        (output[:, -1] * cotangent).sum().backward()
    return step


def recurrent_rows(batch: int = 64, steps: int = 100, features: int = 64, units: int = 128,
                   repeats: int = 10, torch=None) -> list[Row]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, features), dtype=np.float32)
    dy = rng.standard_normal((batch, units), dtype=np.float32)
    rows = []
    for name, ours, theirs in [("LSTM", layers.LSTM, "LSTM"), ("GRU", layers.GRU, "GRU")]:
        row = Row(f"{name}({units}) fwd+bwd, ({batch}, {steps}, {features})", "ms", False)
        step = _ours(ours(units), x, dy)
        start = time.perf_counter()
        step()
        row.compile_s = time.perf_counter() - start
        sides = {"nbkeras": step}
        if torch is not None:
            module = getattr(torch.nn, theirs)(features, units, batch_first=True)
            sides["pytorch"] = _theirs(torch, module, x, dy)
        row.values.update({name: seconds * 1e3
                           for name, seconds in best_times(sides, repeats).items()})
        rows.append(row)
    return rows


def main(argv=None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    import threadpoolctl

    from run import table

    torch = load_torch(args.threads)
    with threadpoolctl.threadpool_limits(limits=args.threads):
        nk.config.set_num_threads(args.threads)
        rows = recurrent_rows(repeats=args.repeats, torch=torch)
    print(table(rows))
    print("Ratios are nbkeras / peer as speeds: > 1 means nbkeras is faster.")
    return rows


if __name__ == "__main__":
    main()
