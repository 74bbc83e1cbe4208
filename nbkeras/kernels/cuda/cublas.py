"""Large matrix products through cuBLAS, by way of CuPy (the `cuda-blas` extra), zero-copy in
both directions through `__cuda_array_interface__`; gemm.matmul asks here first and runs its
own tiled kernel when this declines.

Opt-in until measured: NBKERAS_CUDA_BLAS=cublas chooses it ("numba", the default, keeps every
product in the Numba kernel). No GPU has been lent to measure where cuBLAS starts to pay;
`benchmarks/gpu.py` times both at the convnet's products, and MIN_WORK and the default are
to be set from those figures. CuPy runs on the legacy default stream, as every nbkeras
kernel does, so the product is ordered with them without a synchronization.
"""
from __future__ import annotations

import functools
import os

from .runtime import SIMULATOR, from_foreign

CHOICES = ("numba", "cublas")
MIN_WORK = 1 << 18        # M * N * K (times the batch) below which CuPy's call costs more


@functools.cache
def _cupy():
    """The cupy module when cuBLAS is chosen (and not in the simulator), else None."""
    choice = os.environ.get("NBKERAS_CUDA_BLAS", "numba")
    if choice not in CHOICES:
        raise ValueError(f"NBKERAS_CUDA_BLAS must be one of {CHOICES}; received {choice!r}")
    if choice == "numba" or SIMULATOR:
        return None
    try:
        import cupy
    except ImportError as error:
        raise ImportError("NBKERAS_CUDA_BLAS=cublas needs CuPy: "
                          "pip install 'nbkeras[cuda-blas]'") from error
    return cupy


def product(a, b, work: int):
    """numpy's matmul of device arrays a and b by cuBLAS, when chosen, for float operands of
    one dtype and at least MIN_WORK multiply-adds; None otherwise."""
    cupy = _cupy()
    if cupy is None or work < MIN_WORK or a.dtype != b.dtype or a.dtype.kind != "f":
        return None
    return from_foreign(cupy.matmul(cupy.asarray(a), cupy.asarray(b)))
