"""Per-kernel throughput next to the machine's matrix-product rate, and per-kernel compile cost.

    python benchmarks/kernels.py [--threads 2] [--repeats 20]

The CPU kernels at the sizes they have in the Simple MNIST convnet (batch 128, float32):
convolution forward (bias and relu fused), backward-input, backward-kernel, and the fused
training backward (relu mask, bias, kernel and input gradients in one pass); max pooling and
batch normalization forward and backward. Convolutions are in GFLOP/s (a multiply-add is 2)
and as a share of numpy's `a @ b` at n = 1024 on the same threads (the roof), counting the
direct convolution's multiply-adds: the second convolution's forward runs Winograd's F(2x2,
3x3) (2.25x fewer), so its share can pass 100%; the memory-bound
kernels in GB/s (each array read or written once). "compile s" is the kernel's first call in
a fresh process with an empty Numba cache, "cache load s" the same in a second process on that
warm cache (kernels sharing helpers are timed in this order, so a later one may find a helper
compiled).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dense import best_time  # noqa: E402

from nbkeras.kernels.geometry import Window  # noqa: E402


@dataclass
class Case:
    """One kernel call: `run()` does it; `flops` (None: memory-bound) and `nbytes` describe it."""
    name: str
    shape: str
    run: Callable[[], object]
    flops: int | None
    nbytes: int


def _conv_cases(label: str, x_shape: tuple, filters: int, rng) -> list[Case]:
    """A 3x3 valid convolution of x_shape (N, H, W, C) to `filters` channels."""
    from nbkeras.kernels import cpu

    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((3, 3, x_shape[-1], filters)).astype(np.float32)
    b = rng.standard_normal(filters).astype(np.float32)
    out_shape = (x_shape[0], x_shape[1] - 2, x_shape[2] - 2, filters)
    y = np.maximum(rng.standard_normal(out_shape).astype(np.float32), 0)   # a relu output
    dy = rng.standard_normal(out_shape).astype(np.float32)
    geometry = Window((3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1))
    pool = Window((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1))
    pooled = cpu.max_pool_forward(y, pool)        # fit hands the convolution its pool's
    dy_pooled = rng.standard_normal(pooled.shape).astype(np.float32)   # gradient unmade
    flops = 2 * y.size * int(np.prod(w.shape[:-1]))
    first = x_shape[-1] == 1            # the model's first layer: no input gradient in fit
    shape = f"{label} {x_shape[1]}x{x_shape[2]}x{x_shape[3]} -> {filters}"
    return [
        Case("conv forward (+bias, relu)", shape,
             lambda: cpu.conv_forward(x, w, geometry, 1, b, True), flops, 0),
        Case("conv backward-input", shape,
             lambda: cpu.conv_backward_input(dy, w, x.shape, geometry), flops, 0),
        Case("conv backward-kernel", shape,
             lambda: cpu.conv_backward_kernel(dy, x, w.shape, geometry), flops, 0),
        Case("conv backward, fused (relu)", shape,
             lambda: cpu.conv_backward(dy, x, w, geometry, 1, y, not first),
             flops * (1 if first else 2), 0),
        Case("conv backward from its 2x2 max-pool's gradient (as in fit)", shape,
             lambda: cpu.conv_backward(dy_pooled, x, w, geometry, 1, y, not first, True,
                                       (y, pooled, pool)),
             flops * (1 if first else 2), 0),
    ]


def _pool_cases(batch: int, rng) -> list[Case]:
    """2x2 max pooling of the first convolution's output, (N, 26, 26, 32)."""
    from nbkeras.kernels import cpu

    x = rng.standard_normal((batch, 26, 26, 32)).astype(np.float32)
    y = x.reshape(batch, 13, 2, 13, 2, 32).max(axis=(2, 4))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    pool = Window((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1))
    shape = "26x26x32, 2x2"
    return [Case("max-pool forward", shape, lambda: cpu.max_pool_forward(x, pool), None,
                 x.nbytes + y.nbytes),
            Case("max-pool backward", shape, lambda: cpu.max_pool_backward(dy, x, y, pool),
                 None, 2 * x.nbytes + 2 * y.nbytes)]


def _batch_norm_cases(batch: int, rng) -> list[Case]:
    """Batch normalization of (N, 24, 24, 64) in training (the batch's statistics)."""
    from nbkeras.kernels import cpu

    x = rng.standard_normal((1, batch * 24 * 24, 64, 1)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    gamma, beta = (rng.standard_normal((64, 1)).astype(np.float32) for _ in range(2))
    mean, variance = x.mean(axis=(1, 3)), x.var(axis=(1, 3))
    shape = "24x24x64, training"
    return [Case("batch-norm forward", shape, lambda: cpu.normalize_forward(x, gamma, beta),
                 None, 2 * x.nbytes),
            Case("batch-norm backward", shape,
                 lambda: cpu.normalize_backward(dy, x, gamma, mean, variance), None,
                 3 * x.nbytes)]


def cases(batch: int = 128, seed: int = 0) -> list[Case]:
    """The kernels, at the convnet's sizes for a batch of `batch`; making them runs no
    kernel (so a first `run()` is the kernel's own compile)."""
    rng = np.random.default_rng(seed)
    return [*_conv_cases("conv2d", (batch, 28, 28, 1), 32, rng),
            *_conv_cases("conv2d_1", (batch, 13, 13, 32), 64, rng),
            *_pool_cases(batch, rng), *_batch_norm_cases(batch, rng)]


def matmul_gflops(threads: int, n: int = 1024, repeats: int = 10) -> float:
    """numpy's float32 `a @ b` at n x n, on `threads` BLAS threads, in GFLOP/s."""
    import threadpoolctl

    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    with threadpoolctl.threadpool_limits(limits=threads):
        return 2 * n ** 3 / best_time(lambda: a @ a, repeats) / 1e9


FIRST_CALLS = """\
import json, sys, time
sys.path.insert(0, {bench!r})
from kernels import cases
seconds = {{}}
for case in cases({batch}):
    start = time.perf_counter()
    case.run()
    seconds[case.name + ", " + case.shape] = time.perf_counter() - start
print(json.dumps(seconds))
"""


def first_calls(cache_dir: str, batch: int) -> dict[str, float]:
    """Seconds of each kernel's first call in a fresh process whose Numba cache is
    `cache_dir`. The sizes are small: a first call is all compile or cache load."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    script = FIRST_CALLS.format(bench=os.path.dirname(os.path.abspath(__file__)), batch=batch)
    return json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True,
                                     text=True, check=True, env=env).stdout)


def measure(threads: int = 2, repeats: int = 20, batch: int = 128,
            compile_batch: int = 4) -> tuple[float, list[dict]]:
    """(matmul GFLOP/s, one dict per kernel: name, shape, ms, gflops, gbs, roof_share,
    compile_s, load_s), every kernel on `threads` Numba threads."""
    import threadpoolctl

    import nbkeras as nk

    roof = matmul_gflops(threads)
    with tempfile.TemporaryDirectory(prefix="nbkeras-numba-cache-") as cache_dir:
        cold = first_calls(cache_dir, compile_batch)
        warm = first_calls(cache_dir, compile_batch)
    previous = nk.config.get_num_threads()
    nk.config.set_num_threads(threads)
    rows = []
    try:
        with threadpoolctl.threadpool_limits(limits=threads):
            for case in cases(batch):
                seconds = best_time(case.run, repeats)
                key = f"{case.name}, {case.shape}"
                gflops = None if case.flops is None else case.flops / seconds / 1e9
                rows.append({"name": case.name, "shape": case.shape, "ms": seconds * 1e3,
                             "gflops": gflops,
                             "gbs": None if case.flops is not None else
                             case.nbytes / seconds / 1e9,
                             "roof_share": None if gflops is None else gflops / roof,
                             "compile_s": cold.get(key), "load_s": warm.get(key)})
    finally:
        nk.config.set_num_threads(previous)
    return roof, rows


def _cell(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(roof: float, rows: list[dict], threads: int) -> str:
    """The kernels as a Markdown table under a line giving the matmul roof."""
    lines = [f"numpy float32 `a @ b` at n = 1024, {threads} threads: {roof:.1f} GFLOP/s (the "
             "roof). Batch 128, float32, best of the repeats.", "",
             "| kernel | size | ms | GFLOP/s | % of roof | GB/s | compile s (empty cache) | "
             "cache load s (warm) |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        share = None if row["roof_share"] is None else 100 * row["roof_share"]
        lines.append(f"| {row['name']} | {row['shape']} | {_cell(row['ms'])} | "
                     f"{_cell(row['gflops'], 1)} | {_cell(share, 0)} | {_cell(row['gbs'], 1)} | "
                     f"{_cell(row['compile_s'])} | {_cell(row['load_s'], 3)} |")
    return "\n".join(lines)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    text = table(*measure(args.threads, args.repeats), args.threads)
    print(text)
    return text


if __name__ == "__main__":
    main()
