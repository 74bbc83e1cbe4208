"""Recurrent layers next to PyTorch on the CPU, in one process: LSTM(128) and GRU(128) over
(batch 64, 100 steps, 64 features), forward + backward (gradients of sum(y * dy) by the input
and every weight), milliseconds and the speed ratio; then where LSTM's time goes: its matrix
products alone, as the fused kernels run them, next to PyTorch's.

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
from nbkeras.kernels.cpu.blas import address, product_of_transposed  # noqa: E402
from nbkeras.kernels.cpu.gemm import dot_in_row_runs, small_product_limit  # noqa: E402
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
def _per_step_products(blocks, x_t, kernel, kernel_t, h, w, w_t, inputs, steps, small,
                       gemm_address):
    """`steps` times the products of one LSTM step as kernels/cpu/recurrent.py runs them
    (in runs of rows where BLAS has small products), each thread on its own block of rows:
    forward x_t @ kernel and h @ w, backward q @ kernel_t, q @ w_t and the weight
    gradients' partial sum dw += inputs.T @ q."""
    batch = h.shape[0]
    for block in numba.prange(blocks):
        lo, hi = block * batch // blocks, (block + 1) * batch // blocks
        rows, step_x, step_inputs = h[lo:hi].copy(), x_t[lo:hi].copy(), inputs[lo:hi].copy()
        p = np.empty((hi - lo, w.shape[1]), h.dtype)
        q = np.empty((hi - lo, w.shape[1]), h.dtype)
        back = np.empty((hi - lo, w_t.shape[1]), h.dtype)
        dx = np.empty((hi - lo, kernel_t.shape[1]), h.dtype)
        dw = np.zeros((inputs.shape[1], w.shape[1]), h.dtype)
        columns = w.shape[1] if small == 0 else max(16, small // (inputs.shape[1] * (hi - lo))
                                                    // 16 * 16)
        for _ in range(steps):
            dot_in_row_runs(gemm_address, step_x, kernel, p, small)
            dot_in_row_runs(gemm_address, rows, w, q, small)
            dot_in_row_runs(gemm_address, q, kernel_t, dx, small)
            dot_in_row_runs(gemm_address, q, w_t, back, small)
            product_of_transposed(gemm_address, step_inputs, q, dw, True, columns)


def lstm_product_rows(batch: int = 64, steps: int = 100, features: int = 64, units: int = 128,
                      repeats: int = 10, torch=None) -> list[Row]:
    """LSTM's matrix products alone at the shapes the fused kernels run them, every step's
    forward (input projection, recurrent product) and backward (their input gradients, the
    weight gradients' sum), next to PyTorch's doing the same products on the whole batch."""
    rng = np.random.default_rng(1)
    width = 4 * units

    def draw(*shape):
        return rng.standard_normal(shape, dtype=np.float32)
    h, w, x_t = draw(batch, units), draw(units, width), draw(batch, features)
    kernel, inputs = draw(features, width), draw(batch, features + units + 1)
    w_t, kernel_t = np.ascontiguousarray(w.T), np.ascontiguousarray(kernel.T)
    blocks = min(batch, numba.get_num_threads())

    def ours() -> None:
        with single_threaded_blas():
            _per_step_products(blocks, x_t, kernel, kernel_t, h, w, w_t, inputs, steps,
                               small_product_limit(), address(np.float32))
    row = Row(f"LSTM's products alone, {steps} steps: ({batch}, {features}) @ ({features}, "
              f"{width}), ({batch}, {units}) @ ({units}, {width}), back and weight gradients",
              "ms", False)
    start = time.perf_counter()
    ours()
    row.compile_s = time.perf_counter() - start
    sides = {"nbkeras": ours}
    if torch is not None:
        sides["pytorch"] = _torch_products(torch, x_t, kernel, h, w, inputs, steps)
    row.values.update({name: seconds * 1e3
                       for name, seconds in best_times(sides, repeats).items()})
    return [row]


def _torch_products(torch, x_t, kernel, h, w, inputs, steps: int):
    """PyTorch doing the same products on the whole batch at once."""
    x_t, kernel, h, w, inputs = map(torch.from_numpy, (x_t, kernel, h, w, inputs))
    w_t, kernel_t = w.T.contiguous(), kernel.T.contiguous()
    dw = torch.zeros((inputs.shape[1], w.shape[1]))

    def per_step() -> None:
        for _ in range(steps):
            torch.mm(x_t, kernel)
            q = torch.mm(h, w)
            torch.mm(q, kernel_t)
            torch.mm(q, w_t)
            dw.addmm_(inputs.T, q)
    return per_step


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
