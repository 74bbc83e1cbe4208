"""MultiHeadAttention next to PyTorch on the CPU, in one process: 8 heads of key_dim 64
over (batch 32, 128 steps, 512 features), self-attention, forward + backward (gradients of
sum(y * dy) by the input and every weight), milliseconds and the speed ratio.

    python benchmarks/attention.py [--threads 2] [--repeats 10]

nbkeras projects query, key and value in one product (self-attention on one tensor), runs
its fused attention kernel and the output EinsumDense; PyTorch its nn.MultiheadAttention
(batch_first, same sizes; it also packs the three input projections). Each case warms up first; nbkeras's first
call (Numba compile or cache load) is reported apart. The two sides run in turns, so on
shared cores both see the same load.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbkeras as nk  # noqa: E402
from nbkeras import layers, ops  # noqa: E402

from cases import Row, load_torch  # noqa: E402
from recurrent import best_times  # noqa: E402


def attention_rows(batch: int = 32, steps: int = 128, width: int = 512, heads: int = 8,
                   key_dim: int = 64, repeats: int = 10, torch=None) -> list[Row]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, width), dtype=np.float32)
    dy = rng.standard_normal((batch, steps, width), dtype=np.float32)
    row = Row(f"MultiHeadAttention({heads}x{key_dim}) fwd+bwd, ({batch}, {steps}, {width})",
              "ms", False)
    layer, tensor = layers.MultiHeadAttention(heads, key_dim), ops.convert_to_tensor(x)

    def ours() -> None:
        with nk.GradientTape() as tape:
            tape.watch(tensor)
            loss = ops.sum(ops.multiply(layer(tensor, tensor), dy))
        tape.gradient(loss, [tensor, *layer.trainable_weights])

    start = time.perf_counter()
    ours()
    row.compile_s = time.perf_counter() - start
    sides = {"nbkeras": ours}
    if torch is not None:
        module = torch.nn.MultiheadAttention(width, heads, batch_first=True)
        source, cotangent = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(dy)

        def theirs() -> None:
            module.zero_grad(set_to_none=True)
            source.grad = None
            output, _ = module(source, source, source, need_weights=False)
            (output * cotangent).sum().backward()

        sides["pytorch"] = theirs
    row.values.update({name: seconds * 1e3
                       for name, seconds in best_times(sides, repeats).items()})
    return [row]


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
        rows = attention_rows(repeats=args.repeats, torch=torch)
    print(table(rows))
    print("Ratios are nbkeras / peer as speeds: > 1 means nbkeras is faster.")
    return rows


if __name__ == "__main__":
    main()
