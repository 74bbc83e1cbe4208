"""keras.ops next to PyTorch on the CPU, in one process: eager forward calls of a
representative set (elementwise on 1M floats, a row reduction, einsum as a batched matmul,
sort, top_k, segment_sum, dot_product_attention), milliseconds and the speed ratio.

    python benchmarks/ops.py [--threads 2] [--repeats 20]

`run.py` includes these rows. Inputs are made once per framework (nbkeras Tensors, torch
tensors) so the timings hold only the op; each case warms up first, and nbkeras's first call
(Numba compile or cache load) is reported apart.
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
from nbkeras import ops  # noqa: E402

from cases import Row, load_torch  # noqa: E402
from dense import best_time  # noqa: E402


def _case(name: str, ours: Callable[[], object], theirs: Callable[[], object] | None,
          repeats: int) -> Row:
    row = Row(name, "ms", False)
    start = time.perf_counter()
    ours()
    row.compile_s = time.perf_counter() - start
    row.values["nbkeras"] = best_time(ours, repeats) * 1e3
    if theirs is not None:
        row.values["pytorch"] = best_time(theirs, repeats) * 1e3
    return row


def ops_rows(scale: float = 1.0, repeats: int = 20, torch=None) -> list[Row]:
    """The op cases at `scale` times their sizes (tests run them tiny)."""
    rng = np.random.default_rng(0)
    n = max(int(1_000_000 * scale), 8)
    rows_, cols = max(int(1000 * scale), 4), 1000
    batch, side = max(int(32 * scale), 1), 128
    data_rows, segments = max(int(100_000 * scale), 8), max(int(1000 * scale), 2)
    b, t, heads, depth = max(int(8 * scale), 1), 128, 8, 64
    arrays = {
        "a": rng.standard_normal(n, dtype=np.float32),
        "b": rng.standard_normal(n, dtype=np.float32),
        "matrix": rng.standard_normal((rows_, cols), dtype=np.float32),
        "left": rng.standard_normal((batch, side, side), dtype=np.float32),
        "right": rng.standard_normal((batch, side, side), dtype=np.float32),
        "data": rng.standard_normal((data_rows, 16), dtype=np.float32),
        "q": rng.standard_normal((b, t, heads, depth), dtype=np.float32),
        "k": rng.standard_normal((b, t, heads, depth), dtype=np.float32),
        "v": rng.standard_normal((b, t, heads, depth), dtype=np.float32),
    }
    ids = np.sort(rng.integers(0, segments, data_rows))
    x = {name: ops.convert_to_tensor(value) for name, value in arrays.items()}
    ours = {
        f"add, {n:,} float32": lambda: ops.add(x["a"], x["b"]),
        f"exp, {n:,} float32": lambda: ops.exp(x["a"]),
        f"sum over rows, {rows_}x{cols}": lambda: ops.sum(x["matrix"], axis=-1),
        f"einsum bij,bjk->bik, {batch}x{side}x{side}":
            lambda: ops.einsum("bij,bjk->bik", x["left"], x["right"]),
        f"sort rows, {rows_}x{cols}": lambda: ops.sort(x["matrix"], axis=-1),
        f"top_k k=10, {rows_}x{cols}": lambda: ops.top_k(x["matrix"], 10),
        f"segment_sum, {data_rows}x16 into {segments}":
            lambda: ops.segment_sum(x["data"], ids, segments, sorted=True),
        f"dot_product_attention, ({b}, {t}, {heads}, {depth})":
            lambda: ops.dot_product_attention(x["q"], x["k"], x["v"]),
    }
    theirs = dict.fromkeys(ours)
    if torch is not None:
        y = {name: torch.from_numpy(value) for name, value in arrays.items()}
        segment_ids = torch.from_numpy(ids)
        heads_first = {name: y[name].transpose(1, 2) for name in ("q", "k", "v")}
        theirs = dict(zip(ours, [
            lambda: torch.add(y["a"], y["b"]),
            lambda: torch.exp(y["a"]),
            lambda: y["matrix"].sum(-1),
            lambda: torch.einsum("bij,bjk->bik", y["left"], y["right"]),
            lambda: torch.sort(y["matrix"], -1),
            lambda: torch.topk(y["matrix"], 10),
            lambda: torch.zeros(segments, 16).index_add_(0, segment_ids, y["data"]),
            lambda: torch.nn.functional.scaled_dot_product_attention(
                heads_first["q"], heads_first["k"], heads_first["v"]).transpose(1, 2),
        ]))
    return [_case(name, fn, theirs[name], repeats) for name, fn in ours.items()]


def main(argv=None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    import threadpoolctl

    from run import table

    torch = load_torch(args.threads)
    with threadpoolctl.threadpool_limits(limits=args.threads):
        nk.config.set_num_threads(args.threads)
        rows = ops_rows(1.0, args.repeats, torch)
    print(table(rows))
    print("Ratios are nbkeras / peer as speeds: > 1 means nbkeras is faster.")
    return rows


if __name__ == "__main__":
    main()
