"""predict's reused activation buffers (models/executor.py): a model's batches with and
without them, alternated in one process (ABBA), milliseconds per batch.

    python benchmarks/predict_buffers.py [--threads 2] [--rounds 8]

The models: the Simple MNIST convnet (batch 128: its convolution blocks' outputs are 2.7 MB
and 0.8 MB) and a CNN on 96x96 RGB images whose first block's output is 36 MB at batch 128,
above glibc's largest mmap threshold (32 MB), where a fresh array is new pages each batch.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def large_activation_cnn():
    import nbkeras as nk
    layers = nk.layers
    return nk.Sequential([nk.Input((96, 96, 3)), layers.Conv2D(32, 3, activation="relu"),
                          layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                          layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10)])


def batch_milliseconds(model, batches: list, reuse: bool) -> float:
    """Mean milliseconds of one call per batch, inside reused_buffers() when `reuse`."""
    import contextlib

    from nbkeras.models.fusion import reused_buffers
    start = time.perf_counter()
    with reused_buffers() if reuse else contextlib.nullcontext():
        for batch in batches:
            model(batch)
    return (time.perf_counter() - start) / len(batches) * 1e3


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    import nbkeras as nk
    from mnist_convnet import nbkeras_model
    nk.config.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"ms per batch of 128 ({args.threads} threads, ABBA over {args.rounds} rounds)")
    for title, model, shape in (("Simple MNIST convnet", nbkeras_model(), (28, 28, 1)),
                                ("96x96 CNN, 36 MB block", large_activation_cnn(),
                                 (96, 96, 3))):
        batches = [rng.random((128, *shape), dtype=np.float32) for _ in range(6)]
        for reuse in (False, True, False, True):          # compile, first calls, buffers
            batch_milliseconds(model, batches, reuse)
        times = {False: [], True: []}
        for r in range(args.rounds):
            for reuse in ((False, True) if r % 2 == 0 else (True, False)):
                times[reuse].append(batch_milliseconds(model, batches, reuse))
        fresh, reused = np.median(times[False]), np.median(times[True])
        print(f"  {title:24s} new arrays {fresh:7.2f}  reused buffers {reused:7.2f}  "
              f"ratio {fresh / reused:.2f}")


if __name__ == "__main__":
    main()
