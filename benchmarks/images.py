"""ImageDataGenerator augmentation throughput next to Keras's (scipy.ndimage per image and
channel) in one process: images/s of `datagen.flow(x, batch_size)[i]` over batches of
32x32x3 and 224x224x3 float32 images with rotation, width/height shift, zoom and horizontal
flip (Keras's parameter draws and numbers on both sides; nbkeras resamples each batch with one
kernel call).

    python benchmarks/images.py [--threads 2] [--repeats 3]

Each case warms up first; nbkeras's first call (Numba compile or cache load) is reported
apart. The Keras column is Keras 3's legacy ImageDataGenerator (NumPy and SciPy, so its
backend does not matter).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbkeras as nk  # noqa: E402
from nbkeras.preprocessing.image import ImageDataGenerator  # noqa: E402

from cases import Row  # noqa: E402
from dense import best_time  # noqa: E402

AUGMENTATION = dict(rotation_range=20, width_shift_range=0.1, height_shift_range=0.1,
                    zoom_range=0.15, horizontal_flip=True)


def keras_generator():
    """Keras's legacy ImageDataGenerator class, or None when Keras is not installed."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        from keras.src.legacy.preprocessing.image import ImageDataGenerator as KerasGenerator
    except ImportError:
        return None
    return KerasGenerator


def _throughput(generator, x, batch_size: int, repeats: int) -> float:
    """Images per second of the iterator's batches over all of x (best of `repeats`)."""
    iterator = generator.flow(x, batch_size=batch_size, shuffle=False, seed=0)

    def epoch() -> None:
        for index in range(len(iterator)):
            iterator[index]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # Keras's scipy.ndimage alias
        return len(x) / best_time(epoch, repeats)


def images_rows(sizes=(32, 224), batch: int = 32, batches: int = 4, repeats: int = 3,
                keras=None) -> list[Row]:
    rows = []
    for size in sizes:
        x = np.random.default_rng(size).uniform(0, 255, (batch * batches, size, size, 3))
        x = x.astype(np.float32)
        row = Row(f"ImageDataGenerator flow, {size}x{size}x3, batch {batch}", "images/s", True)
        ours = ImageDataGenerator(**AUGMENTATION)
        start = time.perf_counter()
        ours.flow(x[:2], batch_size=2)[0]
        row.compile_s = time.perf_counter() - start
        row.values["nbkeras"] = _throughput(ours, x, batch, repeats)
        if keras is not None:
            row.values["keras-jax"] = _throughput(keras(**AUGMENTATION), x, batch, repeats)
        rows.append(row)
    return rows


def main(argv=None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import threadpoolctl

    from run import table

    with threadpoolctl.threadpool_limits(limits=args.threads):
        nk.config.set_num_threads(args.threads)
        rows = images_rows(repeats=args.repeats, keras=keras_generator())
    print(table(rows))
    print("Ratios are nbkeras / peer as speeds: > 1 means nbkeras is faster.")
    return rows


if __name__ == "__main__":
    main()
