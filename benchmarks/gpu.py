"""nbkeras on an NVIDIA GPU ("cuda"), next to PyTorch CUDA eager on the same GPU.

    python benchmarks/gpu.py [--batch-size 128] [--steps 20] [--quick] [--overheads]

Needs an NVIDIA GPU and the `cuda` extra (Numba's simulator is far too slow for the convnet:
`--quick`, batch 2, did not finish in 25 minutes there). Prints:

- the Simple MNIST convnet (mnist_convnet.py) training and inference samples/s on "cuda", and
  PyTorch CUDA eager's on the same GPU where torch sees one (else "-"), with the ratios;
- CUDA kernel launches per training step (every `kernel[blocks, threads](...)` counted);
- per kernel at the convnet's sizes: time, GFLOP/s or GB/s, and the share of the GPU's floor
  (H100/H200: 67 TFLOP/s fp32, 3.35/4.8 TB/s; pass --peak-tflops / --peak-tbs for others);
- the launch overhead of a one-element kernel, and the cost of a 4 MiB device allocation
  from the active allocator (the caching pool of kernels/cuda/memory.py by default; run again
  with NBKERAS_CUDA_ALLOCATOR=numba and --overheads for Numba's own, the "without" figure).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import nbkeras as nk
from mnist_convnet import nbkeras_model, torch_model


def _seconds(fn, repeats: int, synchronize) -> float:
    """Median seconds of fn() over `repeats` calls after one warm-up, synchronized."""
    fn()
    synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def count_launches(fn) -> int:
    """CUDA kernel launches made by fn()."""
    from numba.cuda.dispatcher import CUDADispatcher

    launches = [0]
    configure = CUDADispatcher.__getitem__

    def counting(self, config):
        launches[0] += 1
        return configure(self, config)
    CUDADispatcher.__getitem__ = counting
    try:
        fn()
    finally:
        CUDADispatcher.__getitem__ = configure
    return launches[0]


def convnet(batch: int, steps: int, synchronize):
    """(train samples/s, predict samples/s, launches per train step) on "cuda"."""
    rng = np.random.default_rng(0)
    x = rng.random((batch, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    with nk.device("cuda"):
        model = nbkeras_model()
        xd, yd = nk.ops.convert_to_tensor(x), nk.ops.convert_to_tensor(y)

    def train():
        model.train_on_batch(xd, yd)

    def predict():
        model.predict_on_batch(xd)
    train_s = _seconds(train, steps, synchronize)
    predict_s = _seconds(predict, steps, synchronize)
    return batch / train_s, batch / predict_s, count_launches(train)


def torch_convnet(batch: int, steps: int):
    """(train samples/s, predict samples/s) of PyTorch CUDA eager, or (None, None)."""
    try:
        import torch
    except ImportError:
        return None, None
    if not torch.cuda.is_available():
        return None, None
    rng = np.random.default_rng(0)
    device = torch.device("cuda")
    net = torch_model(torch).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.tensor(rng.random((batch, 1, 28, 28), dtype=np.float32), device=device)
    y = torch.tensor(rng.integers(0, 10, batch), device=device)

    def train():
        net.train()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()

    def predict():
        net.eval()
        with torch.no_grad():
            net(x)
    train_s = _seconds(train, steps, torch.cuda.synchronize)
    predict_s = _seconds(predict, steps, torch.cuda.synchronize)
    return batch / train_s, batch / predict_s


def kernel_rows(batch: int, repeats: int, synchronize, peak_flops: float, peak_bytes: float):
    """(name, seconds, rate text, share of the floor) for the convnet's hot kernels."""
    from nbkeras.kernels import cuda
    from nbkeras.kernels.geometry import Window

    rng = np.random.default_rng(1)

    def device(*shape):
        return cuda.asarray(rng.standard_normal(shape).astype(np.float32))
    x, w, b = device(batch, 13, 13, 32), device(3, 3, 32, 64), device(64)
    valid = Window((3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1))
    y = cuda.conv_forward(x, w, valid, 1, b, True)
    dy = device(*y.shape)
    conv_flops = 2 * batch * 11 * 11 * 64 * 9 * 32
    pooled = device(batch, 26, 26, 32)
    pool = Window((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1))
    pool_y = cuda.max_pool_forward(pooled, pool)
    a, m = device(batch, 1600), device(1600, 128)
    cases = [
        ("conv forward 13x13x32->64 (+bias, relu)", lambda: cuda.conv_forward(x, w, valid, 1, b,
                                                                            True), conv_flops, 0),
        ("conv backward, fused", lambda: cuda.conv_backward(dy, x, w, valid, 1, y), 2 * conv_flops,
         0),
        ("max-pool forward 26x26x32", lambda: cuda.max_pool_forward(pooled, pool), 0,
         4 * (pooled.size + pool_y.size)),
        ("gemm 1600 -> 128", lambda: cuda.gemm(a, m), 2 * batch * 1600 * 128, 0),
    ]
    cases += [(f"gemm {n}^3 by {name}", fn, 2 * n ** 3, 0)
              for n, name, fn in _gemm_pairs(device, (256, 1024, 4096))]
    rows = []
    for name, fn, flops, nbytes in cases:
        seconds = _seconds(fn, repeats, synchronize)
        if flops:
            rate, share = f"{flops / seconds / 1e9:.1f} GFLOP/s", flops / seconds / peak_flops
        else:
            rate, share = f"{nbytes / seconds / 1e9:.1f} GB/s", nbytes / seconds / peak_bytes
        rows.append((name, seconds, rate, share))
    return rows


def _gemm_pairs(device, sizes):
    """(n, "numba" or "cublas", a product of two n x n float32 device arrays) for each size:
    the Numba kernel and, where CuPy is installed, cuBLAS (where to switch is chosen from
    these rows; kernels/cuda/cublas.py)."""
    from nbkeras.kernels.cuda import gemm
    from nbkeras.kernels.cuda.runtime import from_foreign

    try:
        import cupy
    except ImportError:
        cupy = None
    for n in sizes:
        a, b = device(n, n), device(n, n)
        yield n, "numba", lambda a=a, b=b: gemm.matmul(a, b)
        if cupy is not None:
            yield n, "cublas", lambda a=a, b=b: from_foreign(cupy.matmul(cupy.asarray(a),
                                                                          cupy.asarray(b)))


def overheads(synchronize) -> tuple[float, float]:
    """(seconds per one-element kernel launch, seconds per 4 MiB device allocation)."""
    from nbkeras.kernels import cuda
    from nbkeras.kernels.cuda import runtime

    one = cuda.asarray(np.ones(1, np.float32))
    launch = _seconds(lambda: cuda.add(one, one), 50, synchronize)
    allocate = _seconds(lambda: runtime.empty((1 << 20,), np.float32), 50, synchronize)
    return launch, allocate


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="batch 2, 1 step: a first look")
    parser.add_argument("--peak-tflops", type=float, default=67.0)
    parser.add_argument("--peak-tbs", type=float, default=4.8)
    parser.add_argument("--overheads", action="store_true",
                        help="only the launch and allocation costs")
    args = parser.parse_args(argv)
    batch, steps = (2, 1) if args.quick else (args.batch_size, args.steps)
    from nbkeras.kernels.cuda import memory, runtime

    if args.overheads:
        return print_overheads(runtime.synchronize, memory.active_allocator())

    train, predict, launches = convnet(batch, steps, runtime.synchronize)
    torch_train, torch_predict = torch_convnet(batch, steps)
    print(f"Simple MNIST convnet, batch {batch}, on {'the simulator' if runtime.SIMULATOR else 'cuda'}")
    print(f"{'':10} {'nbkeras':>12} {'torch cuda':>12} {'ratio':>8}")
    for label, ours, theirs in (("train/s", train, torch_train),
                                ("predict/s", predict, torch_predict)):
        ratio = "-" if theirs is None else f"{ours / theirs:.2f}"
        peer = "-" if theirs is None else f"{theirs:.0f}"
        print(f"{label:10} {ours:12.0f} {peer:>12} {ratio:>8}")
    print(f"kernel launches per training step: {launches}")
    print(f"\n{'kernel':44} {'ms':>9} {'rate':>16} {'of floor':>9}")
    for name, seconds, rate, share in kernel_rows(batch, steps, runtime.synchronize,
                                                   args.peak_tflops * 1e12, args.peak_tbs * 1e12):
        print(f"{name:44} {seconds * 1e3:9.3f} {rate:>16} {share:9.1%}")
    print()
    print_overheads(runtime.synchronize, memory.active_allocator())


def print_overheads(synchronize, allocator: str) -> None:
    launch, allocate = overheads(synchronize)
    print(f"launch overhead (1-element add): {launch * 1e6:.1f} us; 4 MiB allocation: "
          f"{allocate * 1e6:.1f} us (allocator: {allocator})")


if __name__ == "__main__":
    main()
