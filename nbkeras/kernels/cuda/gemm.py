"""Matrix products over Numba device arrays: the CUDA twin of kernels/cpu/gemm.py, and the
kernel behind `array.matmul` (numpy's matmul: broadcast batch axes, 1-D operands).

One shared-memory tiled kernel: a block of (TILE, TILE) threads computes one TILE x TILE
tile of the output per task, each thread accumulating its element in a register while the
block walks K in steps of TILE, staging one tile of each operand in shared memory (reads
and writes coalesced along the rows; the tails are bounds-checked and padded with zeros).
With NBKERAS_CUDA_BLAS=cublas and CuPy installed, large float products go to cuBLAS instead
(cublas.py: opt-in until a GPU measures where it pays).
"""
from __future__ import annotations

import math

import numpy as np
from numba import types

from . import cublas
from .runtime import (FLOATS, TILE, block_index, blocks, empty, grid_size, kernel,
                      shared_array, syncthreads, thread_index, to_device)

__all__ = ["gemm"]

_DTYPES = FLOATS + (types.int32, types.int64)


@kernel(*[(t[::1], t[::1], t[::1], types.int64, types.int64, types.int64, types.int64[:, ::1],
           t) for t in _DTYPES])
def _gemm_tiles(a, b, out, m, k, n, batches, zero):
    """out[p] = a[p] @ b[p], a[p] (M, K), b[p] (K, N), out[p] (M, N) at p * M * N, for each
    index p of the batch shape batches[0]; a[p] and b[p] start at the offsets that
    batches[1] and batches[2] give (0 on broadcast batch axes). Blocks stride over the
    tasks (batch, tile row, tile column); out's dtype is the accumulator's."""
    tile_a = shared_array((TILE, TILE), out.dtype)
    tile_b = shared_array((TILE, TILE), out.dtype)
    tx, ty = thread_index.x, thread_index.y
    tiles_m = (m + TILE - 1) // TILE
    tiles_n = (n + TILE - 1) // TILE
    n_batch = 1
    for d in range(batches.shape[1]):
        n_batch *= batches[0, d]
    for task in range(block_index.x, n_batch * tiles_m * tiles_n, grid_size.x):
        p = task // (tiles_m * tiles_n)
        row = (task // tiles_n) % tiles_m * TILE + ty
        col = task % tiles_n * TILE + tx
        a0, b0, rest = 0, 0, p
        for d in range(batches.shape[1] - 1, -1, -1):
            a0 += rest % batches[0, d] * batches[1, d]
            b0 += rest % batches[0, d] * batches[2, d]
            rest //= batches[0, d]
        acc = zero
        for k0 in range(0, k, TILE):
            if row < m and k0 + tx < k:
                tile_a[ty, tx] = a[a0 + row * k + k0 + tx]
            else:
                tile_a[ty, tx] = zero
            if k0 + ty < k and col < n:
                tile_b[ty, tx] = b[b0 + (k0 + ty) * n + col]
            else:
                tile_b[ty, tx] = zero
            syncthreads()
            for kk in range(TILE):
                acc += tile_a[ty, kk] * tile_b[kk, tx]
            syncthreads()
        if row < m and col < n:
            out[p * m * n + row * n + col] = acc


def _batch_strides(batch: tuple, target: tuple, matrix: int) -> list[int]:
    """Element offsets per batch axis of a C-contiguous stack of `batch` matrices of
    `matrix` elements, broadcast to the batch shape `target` (0 on broadcast axes)."""
    strides, step = [], matrix
    for n in reversed(batch):
        strides.insert(0, step if n != 1 else 0)
        step *= n
    return [0] * (len(target) - len(batch)) + strides


def matmul(a, b):
    """numpy's matmul: (..., M, K) @ (..., K, N) -> (..., M, N) with broadcast batch axes;
    a 1-D a is a row (K,), a 1-D b a column (K,), and that axis leaves the result. Numpy's
    dtype promotion; operands of other dtypes are converted as the tiles load them."""
    a, b = to_device(a), to_device(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions (a scalar)")
    a_shape = (1,) + tuple(a.shape) if a.ndim == 1 else tuple(a.shape)
    b_shape = tuple(b.shape) + (1,) if b.ndim == 1 else tuple(b.shape)
    (m, k), (k2, n) = a_shape[len(a_shape) - 2:], b_shape[len(b_shape) - 2:]
    if k != k2:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0 "
                         f"(size {k2} is different from {k})")
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    by_cublas = cublas.product(a, b, math.prod(batch) * m * n * k)
    if by_cublas is not None:
        return by_cublas
    out = empty(batch + (m, n), np.matmul.resolve_dtypes((a.dtype, b.dtype, None))[2])
    if out.size:
        batches = ([batch, _batch_strides(a_shape[:-2], batch, m * k),
                    _batch_strides(b_shape[:-2], batch, k * n)] if batch else [[1], [0], [0]])
        tasks = math.prod(batch) * -(-m // TILE) * -(-n // TILE)
        _gemm_tiles[blocks(tasks, 1), (TILE, TILE)](
            a.reshape(a.size), b.reshape(b.size), out.reshape(out.size), m, k, n,
            to_device(np.array(batches, np.int64)), out.dtype.type(0))
    return out.reshape(batch + ((m,) if a.ndim > 1 else ()) + ((n,) if b.ndim > 1 else ()))


def gemm(a, b):
    """a (M, K) @ b (K, N) -> (M, N)."""
    return matmul(a, b)
