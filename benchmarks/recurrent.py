"""Recurrent layers next to PyTorch on the CPU, in one process: LSTM(128) and GRU(128) over
(batch 64, 100 steps, 64 features), forward + backward (gradients of sum(y * dy) by the input
and every weight), milliseconds and the speed ratio; then where LSTM's time goes: its matrix
products alone, at the shapes the fused kernels run them, next to PyTorch's.

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

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbkeras as nk  # noqa: E402
from nbkeras import layers, ops  # noqa: E402

from cases import Row, load_torch  # noqa: E402
from nbkeras.kernels.cpu.gemm import dot_in_row_runs, gemm, small_product_limit  # noqa: E402
from nbkeras.kernels.cpu.parallel import single_threaded_blas  # noqa: E402


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


@numba.njit(parallel=True, cache=True)
def _per_step_products(blocks, x_t, kernel, kernel_t, h, w, w_t, steps, small):
    """`steps` times the products of one step forward (x_t @ kernel, h @ w) and backward
    (q @ kernel_t, q @ w_t), each thread on its own block of rows, as
    kernels/cpu/recurrent.py runs them (in runs of rows where BLAS has small products)."""
    batch = h.shape[0]
    for block in numba.prange(blocks):
        lo, hi = block * batch // blocks, (block + 1) * batch // blocks
        rows, inputs = h[lo:hi].copy(), x_t[lo:hi].copy()
        p = np.empty((hi - lo, w.shape[1]), h.dtype)
        q = np.empty((hi - lo, w.shape[1]), h.dtype)
        back = np.empty((hi - lo, w_t.shape[1]), h.dtype)
        dx = np.empty((hi - lo, kernel_t.shape[1]), h.dtype)
        for _ in range(steps):
            dot_in_row_runs(inputs, kernel, p, small)
            dot_in_row_runs(rows, w, q, small)
            dot_in_row_runs(q, kernel_t, dx, small)
            dot_in_row_runs(q, w_t, back, small)


def lstm_product_rows(batch: int = 64, steps: int = 100, features: int = 64, units: int = 128,
                      repeats: int = 10, torch=None) -> list[Row]:
    """LSTM's matrix products alone, nbkeras's BLAS calls next to PyTorch's at the same
    shapes: the per-step products (the input projection and the recurrent product forward,
    their input gradients backward), and the product over all steps (both weight
    gradients)."""
    rng = np.random.default_rng(1)
    width = 4 * units

    def draw(*shape):
        return rng.standard_normal(shape, dtype=np.float32)
    h, w, x_t, dp = draw(batch, units), draw(units, width), draw(batch, features), \
        draw(batch * steps, width)
    kernel, inputs = draw(features, width), draw(batch * steps, features + units + 1)
    w_t, kernel_t = np.ascontiguousarray(w.T), np.ascontiguousarray(kernel.T)
    blocks = min(batch, numba.get_num_threads())

    def per_step() -> None:
        with single_threaded_blas():
            _per_step_products(blocks, x_t, kernel, kernel_t, h, w, w_t, steps,
                               small_product_limit())

    def all_steps() -> None:
        gemm(inputs.T, dp)
    theirs = (_torch_products(torch, x_t, kernel, h, w, dp, inputs, steps)
              if torch is not None else (None, None))
    rows = []
    for name, ours, peer in [
            (f"LSTM per-step products alone, {steps} x ({batch}, {features}) @ ({features}, "
             f"{width}) and ({batch}, {units}) @ ({units}, {width}), and back", per_step,
             theirs[0]),
            (f"LSTM weight gradients over all {steps} steps alone", all_steps, theirs[1])]:
        row = Row(name, "ms", False)
        start = time.perf_counter()
        ours()
        row.compile_s = time.perf_counter() - start
        sides = {"nbkeras": ours} if peer is None else {"nbkeras": ours, "pytorch": peer}
        row.values.update({name: seconds * 1e3
                           for name, seconds in best_times(sides, repeats).items()})
        rows.append(row)
    return rows


def _torch_products(torch, x_t, kernel, h, w, dp, inputs, steps: int):
    """PyTorch doing the same products (per step, over all steps) on the whole batch at
    once."""
    x_t, kernel, h, w, dp, inputs = map(torch.from_numpy, (x_t, kernel, h, w, dp, inputs))
    w_t, kernel_t = w.T.contiguous(), kernel.T.contiguous()

    def per_step() -> None:
        for _ in range(steps):
            torch.mm(x_t, kernel)
            q = torch.mm(h, w)
            torch.mm(q, kernel_t)
            torch.mm(q, w_t)

    def all_steps() -> None:
        torch.mm(inputs.T, dp)
    return per_step, all_steps


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
        rows += lstm_product_rows(repeats=args.repeats, torch=torch)
    print(table(rows))
    print("Ratios are nbkeras / peer as speeds: > 1 means nbkeras is faster.")
    return rows


if __name__ == "__main__":
    main()
