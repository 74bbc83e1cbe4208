"""Random numbers, the CUDA twins of `kernels.cpu.random`: the counter-based draws of
kernels/counter_random.py compiled as inlined device functions, one grid-stride kernel per
draw. Element i depends only on (seed, counter, i), so the numbers are the CPU's exactly
(dropout masks bit for bit; normals up to the last bits of log and cos)."""
import math

import numpy as np
from numba import types

from .. import counter_random
from .runtime import THREADS, blocks, cospi32, cospi64, device, empty, grid, gridsize, kernel

__all__ = ["dropout_mask", "random_normal"]

_bits = device(counter_random.random_bits)
_unit32 = device(counter_random.unit32)
_unit64 = device(counter_random.unit64)
_U64 = types.uint64


@kernel(*[(types.float32[::1], _U64, _U64, types.float32, types.float32, types.float32)])
def _mask32(out, seed, counter, rate, scale, zero):
    """out[i] = scale where the uniform i is >= rate, else zero."""
    for i in range(grid(1), out.shape[0], gridsize(1)):
        out[i] = scale if _unit32(_bits(seed, counter, i)) >= rate else zero


@kernel(*[(types.float64[::1], _U64, _U64, types.float64, types.float64, types.float64)])
def _mask64(out, seed, counter, rate, scale, zero):
    """out[i] = scale where the uniform i is >= rate, else zero."""
    for i in range(grid(1), out.shape[0], gridsize(1)):
        out[i] = scale if _unit64(_bits(seed, counter, i)) >= rate else zero


@kernel(*[(types.float32[::1], _U64, _U64, types.float32, types.float32, types.float32)])
def _normal32(out, seed, counter, one, minus_two, two):
    """Box-Muller on the uniforms 2i and 2i + 1 (cos(2 pi v) as cospi(2 v))."""
    for i in range(grid(1), out.shape[0], gridsize(1)):
        u = _unit32(_bits(seed, counter, 2 * i))
        v = _unit32(_bits(seed, counter, 2 * i + 1))
        out[i] = math.sqrt(minus_two * math.log(one - u)) * cospi32(two * v)


@kernel(*[(types.float64[::1], _U64, _U64, types.float64, types.float64, types.float64)])
def _normal64(out, seed, counter, one, minus_two, two):
    """Box-Muller on the uniforms 2i and 2i + 1 (cos(2 pi v) as cospi(2 v))."""
    for i in range(grid(1), out.shape[0], gridsize(1)):
        u = _unit64(_bits(seed, counter, 2 * i))
        v = _unit64(_bits(seed, counter, 2 * i + 1))
        out[i] = math.sqrt(minus_two * math.log(one - u)) * cospi64(two * v)


def _launch(kernels, shape, dtype, seed, counter, *constants):
    out = empty(shape, dtype)
    flat = out.reshape(-1)
    if flat.shape[0]:
        t = out.dtype.type
        kernels[out.dtype.type][blocks(flat.shape[0]), THREADS](
            flat, np.uint64(seed), np.uint64(counter), *[t(c) for c in constants])
    return out


def dropout_mask(shape, rate, seed, counter, dtype):
    """1 / (1 - rate) where uniform i of draw `counter` of stream `seed` is >= rate, else 0;
    `shape`, float32 or float64."""
    return _launch({np.float32: _mask32, np.float64: _mask64}, tuple(shape), dtype, seed,
                   counter, rate, 1.0 / (1.0 - rate), 0.0)


def random_normal(shape, seed, counter, dtype):
    """N(0, 1) of `shape` by Box-Muller from the uniforms 2i and 2i + 1 of the same draw."""
    return _launch({np.float32: _normal32, np.float64: _normal64}, tuple(shape), dtype, seed,
                   counter, 1.0, -2.0, 2.0)
