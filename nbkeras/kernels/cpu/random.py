"""Random numbers: the counter-based uniforms and normals of kernels/counter_random.py
(the same numbers the CUDA kernels draw), and the seeding of Numba's internal generator."""
import numpy as np
from numba import njit

from .. import counter_random

__all__ = ["dropout_mask", "random_normal"]

_bits = njit(cache=True)(counter_random.random_bits)
_unit32 = njit(cache=True)(counter_random.unit32)
_unit64 = njit(cache=True)(counter_random.unit64)


@njit(cache=True)
def seed_numba(seed):
    np.random.seed(seed)


@njit(cache=True)
def _fill_mask32(out, seed, counter, rate, scale):
    for i in range(np.uint64(out.size)):
        out[i] = scale if _unit32(_bits(seed, counter, i)) >= rate else np.float32(0.0)


@njit(cache=True)
def _fill_mask64(out, seed, counter, rate, scale):
    for i in range(np.uint64(out.size)):
        out[i] = scale if _unit64(_bits(seed, counter, i)) >= rate else 0.0


@njit(cache=True)
def _fill_normal32(out, seed, counter):
    """Box-Muller on the uniforms 2i and 2i + 1, in float32."""
    for i in range(np.uint64(out.size)):
        u = _unit32(_bits(seed, counter, np.uint64(2) * i))
        v = _unit32(_bits(seed, counter, np.uint64(2) * i + np.uint64(1)))
        radius = np.sqrt(np.float32(-2.0) * np.log(np.float32(1.0) - u))
        out[i] = radius * np.cos(np.float32(2.0 * np.pi) * v)


@njit(cache=True)
def _fill_normal64(out, seed, counter):
    """Box-Muller on the uniforms 2i and 2i + 1, in float64."""
    for i in range(np.uint64(out.size)):
        u = _unit64(_bits(seed, counter, np.uint64(2) * i))
        v = _unit64(_bits(seed, counter, np.uint64(2) * i + np.uint64(1)))
        out[i] = np.sqrt(-2.0 * np.log(1.0 - u)) * np.cos(2.0 * np.pi * v)


def dropout_mask(shape, rate, seed, counter, dtype):
    """1 / (1 - rate) where uniform i of draw `counter` of stream `seed` is >= rate, else 0;
    `shape`, float32 or float64."""
    out = np.empty(tuple(shape), np.dtype(dtype))
    fill = _fill_mask32 if out.dtype == np.float32 else _fill_mask64
    fill(out.reshape(-1), np.uint64(seed), np.uint64(counter), out.dtype.type(rate),
         out.dtype.type(1.0 / (1.0 - rate)))
    return out


def random_normal(shape, seed, counter, dtype):
    """N(0, 1) of `shape` by Box-Muller from the uniforms 2i and 2i + 1 of the same draw."""
    out = np.empty(tuple(shape), np.dtype(dtype))
    fill = _fill_normal32 if out.dtype == np.float32 else _fill_normal64
    fill(out.reshape(-1), np.uint64(seed), np.uint64(counter))
    return out
