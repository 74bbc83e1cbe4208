"""Linear algebra over device arrays, by way of the host: the CUDA twin of
kernels/cpu/linalg.py with its names and signatures.

Numba's CUDA target has no solver library (no cuSOLVER binding), and the decompositions
(Cholesky, eigen, SVD, QR, LU, solves) are sequential pivoting algorithms a hand-written
grid-stride kernel would run badly. So each of these kernels copies its (small) matrices to
the host, runs the CPU kernel (LAPACK through numpy/scipy) and copies the results back.
Cost: two PCIe transfers of the operands and results plus a synchronization per call
(tens of microseconds, then about 10 GB/s), on top of LAPACK's O(M^3) per matrix on the
CPU; fine for the small matrices of research code (covariances, Gram matrices, small
whitening transforms), not for large batched solves in a training loop. The ops compose
everything else (products, transposes, masks) from device kernels, so only the
factorization itself crosses the bus.
"""
from __future__ import annotations

import functools

import numpy as np

from ..cpu import linalg as host
from .runtime import is_device_array, to_device, to_host

__all__ = ["cholesky", "eigh", "eig", "svd", "qr", "inv", "slogdet", "solve",
           "solve_triangular", "lstsq", "lu_factor"]


def _through_host(function):
    """The CPU kernel `function` over device arrays: its array arguments copied to the host,
    its array results (one or a tuple) copied to the device."""
    @functools.wraps(function)
    def run(*args):
        result = function(*[to_host(a) if is_device_array(a) else a for a in args])
        if isinstance(result, tuple):
            return tuple(to_device(np.asarray(r)) for r in result)
        return to_device(np.asarray(result))           # 0-d stays 0-d
    return run


cholesky = _through_host(host.cholesky)
eigh = _through_host(host.eigh)
eig = _through_host(host.eig)
svd = _through_host(host.svd)
qr = _through_host(host.qr)
inv = _through_host(host.inv)
slogdet = _through_host(host.slogdet)
solve = _through_host(host.solve)
solve_triangular = _through_host(host.solve_triangular)
lstsq = _through_host(host.lstsq)
lu_factor = _through_host(host.lu_factor)
