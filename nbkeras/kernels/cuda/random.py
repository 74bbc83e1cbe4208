"""Random numbers, the CUDA twins of `kernels.cpu.random`: the counter-based draws of
kernels/counter_random.py compiled as inlined device functions, one grid-stride kernel per
kind of draw (and `kernels.cpu.random.gamma_sample_derivative_program` compiled as device
functions for random_gamma_grad). Element i depends only on (seed, counter, i), so the
numbers are the CPU's
(dropout masks, integers and permutations bit for bit; floats up to the last bits of log,
exp and cos, which can in rare cases flip a rejection sampler's decision).

Parameter arrays (alpha, beta, counts, probabilities, low, high) hold one value or one per
output element (flat, C order): a kernel reads element i * step, step 0 or 1."""
import math

import numpy as np
from numba import types

from .. import counter_random
from ..cpu import random as host
from . import array
from .runtime import (THREADS, blocks, cospi32, cospi64, device, empty, grid, gridsize,
                      is_device_array, kernel, to_device)

__all__ = ["dropout_mask", "random_normal", "random_uniform", "random_truncated_normal",
           "random_gamma", "random_beta", "random_binomial", "random_integers",
           "random_gamma_grad", "random_categorical", "random_permutation"]

_bits = device(counter_random.random_bits)
_unit32 = device(counter_random.unit32)
_unit64 = device(counter_random.unit64)
_S32 = counter_random.Samplers(device, np.float32, cospi32)
_S64 = counter_random.Samplers(device, np.float64, cospi64)
_standard_32, _shaped_32 = _S32.standard, _S32.shaped
_standard_64, _shaped_64 = _S64.standard, _S64.shaped
_binomial, _gumbel = _S64.binomial, _S64.gumbel       # drawn in float64 only
_gamma_derivative = host.gamma_sample_derivative_program(device)
_U64, _I64 = types.uint64, types.int64


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


@kernel((_I64, types.float32[::1], _U64, _U64))
def _standard32(kind, out, seed, counter):
    """out[i] = draw i of `kind` (counter_random.KINDS 0-2)."""
    for i in range(grid(1), out.shape[0], gridsize(1)):
        out[i] = _standard_32(kind, seed, counter, i)


@kernel((_I64, types.float64[::1], _U64, _U64))
def _standard64(kind, out, seed, counter):
    """out[i] = draw i of `kind` (counter_random.KINDS 0-2)."""
    for i in range(grid(1), out.shape[0], gridsize(1)):
        out[i] = _standard_64(kind, seed, counter, i)


@kernel((_I64, types.float32[::1], types.float32[::1], types.float32[::1], _U64, _U64))
def _shaped32(kind, out, a, b, seed, counter):
    """out[i] = draw i of `kind` (counter_random.KINDS 3-4) with parameters a[i], b[i]."""
    step_a, step_b = 1 if a.shape[0] > 1 else 0, 1 if b.shape[0] > 1 else 0
    for i in range(grid(1), out.shape[0], gridsize(1)):
        out[i] = _shaped_32(kind, a[i * step_a], b[i * step_b], seed, counter, i)


@kernel((_I64, types.float64[::1], types.float64[::1], types.float64[::1], _U64, _U64))
def _shaped64(kind, out, a, b, seed, counter):
    """out[i] = draw i of `kind` (counter_random.KINDS 3-4) with parameters a[i], b[i]."""
    step_a, step_b = 1 if a.shape[0] > 1 else 0, 1 if b.shape[0] > 1 else 0
    for i in range(grid(1), out.shape[0], gridsize(1)):
        out[i] = _shaped_64(kind, a[i * step_a], b[i * step_b], seed, counter, i)


@kernel((types.float64[::1], types.float64[::1], types.float64[::1]))
def _fill_gamma_grad(out, alpha, x):
    """out[i] = dx/dalpha of the Gamma(alpha[i]) draw x[i] (float64)."""
    step = 1 if alpha.shape[0] > 1 else 0
    for i in range(grid(1), out.shape[0], gridsize(1)):
        out[i] = _gamma_derivative(alpha[i * step], x[i])


@kernel((types.float64[::1], types.float64[::1], types.float64[::1], _U64, _U64))
def _fill_binomial(out, counts, probabilities, seed, counter):
    step_n, step_p = 1 if counts.shape[0] > 1 else 0, 1 if probabilities.shape[0] > 1 else 0
    for i in range(grid(1), out.shape[0], gridsize(1)):
        out[i] = _binomial(counts[i * step_n], probabilities[i * step_p], seed, counter, i)


@kernel((_I64[::1], _I64[::1], _I64[::1], _U64, _U64))
def _fill_integers(out, low, high, seed, counter):
    step_l, step_h = 1 if low.shape[0] > 1 else 0, 1 if high.shape[0] > 1 else 0
    for i in range(grid(1), out.shape[0], gridsize(1)):
        lo, hi = low[i * step_l], high[i * step_h]
        out[i] = lo + np.int64(_bits(seed, counter, i) % np.uint64(hi - lo)) if hi > lo else lo


@kernel((_I64[:, ::1], types.float64[:, ::1], _U64, _U64))
def _fill_categorical(out, logits, seed, counter):
    """out[r, s] = the argmax over c of logits[r, c] + Gumbel noise (r S + s) C + c; one
    thread per (r, s)."""
    samples, classes = out.shape[1], logits.shape[1]
    for t in range(grid(1), out.shape[0] * samples, gridsize(1)):
        r = t // samples
        base = t * classes
        best, arg = logits[r, 0] + _gumbel(seed, counter, base), 0
        for c in range(1, classes):
            v = logits[r, c] + _gumbel(seed, counter, base + c)
            if v > best:
                best, arg = v, c
        out[r, t - r * samples] = arg


@kernel((_I64[::1], _I64, _I64, _U64, _U64))
def _fill_permutation(out, n, inner, seed, counter):
    """Each line (o, :, q) of out viewed as (outer, n, inner) gets a Fisher-Yates shuffle of
    0 .. n - 1 (one thread per line); swap j of line l takes word l n + j."""
    for line in range(grid(1), out.shape[0] // n, gridsize(1)):
        start = line // inner * n * inner + line % inner
        for j in range(n):
            out[start + j * inner] = j
        for j in range(n - 1, 0, -1):
            r = np.int64(_bits(seed, counter, line * n + j) % np.uint64(j + 1))
            out[start + j * inner], out[start + r * inner] = (out[start + r * inner],
                                                              out[start + j * inner])


def _parameter(x, dtype, size: int):
    """x as a flat contiguous device array of dtype: one value or one per element of an
    output of `size`."""
    flat = (array.cast(x, dtype).reshape(-1) if is_device_array(x)
            else to_device(np.ascontiguousarray(np.asarray(x, dtype).reshape(-1))))
    if flat.size not in (1, size):
        raise ValueError(f"random kernels: a parameter holds {flat.size} values for "
                         f"{size} draws (give one, or one per draw)")
    return flat


def _launch(kernel_, n, *arguments):
    if n:
        kernel_[blocks(n), THREADS](*arguments)


def dropout_mask(shape, rate, seed, counter, dtype):
    """1 / (1 - rate) where uniform i of draw `counter` of stream `seed` is >= rate, else 0;
    `shape`, float32 or float64."""
    out = empty(tuple(shape), dtype)
    t = out.dtype.type
    _launch(_mask32 if t is np.float32 else _mask64, out.size, out.reshape(-1),
            np.uint64(seed), np.uint64(counter), t(rate), t(1.0 / (1.0 - rate)), t(0.0))
    return out


def _draw(kind, shape, dtype, seed, counter, *parameters):
    """Draw `kind` (a name in counter_random.KINDS) with 0 or 2 parameters."""
    out = empty(tuple(shape), dtype)
    t, n, code, flat = out.dtype, out.size, counter_random.KINDS.index(kind), out.reshape(-1)
    if parameters:
        a, b = (_parameter(p, t, n) for p in parameters)
        _launch(_shaped32 if t == np.float32 else _shaped64, n, code, flat, a, b,
                np.uint64(seed), np.uint64(counter))
    else:
        _launch(_standard32 if t == np.float32 else _standard64, n, code, flat,
                np.uint64(seed), np.uint64(counter))
    return out


def random_uniform(shape, seed, counter, dtype):
    """U[0, 1) of `shape`: the top 24 (float32) or 53 (float64) bits of word i."""
    return _draw("uniform", shape, dtype, seed, counter)


def random_normal(shape, seed, counter, dtype):
    """N(0, 1) of `shape` by Box-Muller from the uniforms 2i and 2i + 1 of the draw."""
    return _draw("normal", shape, dtype, seed, counter)


def random_truncated_normal(shape, seed, counter, dtype):
    """N(0, 1) conditioned on [-2, 2], by rejection within slot i of the draw."""
    return _draw("truncated_normal", shape, dtype, seed, counter)


def random_gamma(shape, alpha, seed, counter, dtype):
    """Gamma(alpha, 1), alpha > 0 (one value or one per element), by Marsaglia-Tsang."""
    return _draw("gamma", shape, dtype, seed, counter, alpha, 0.0)


def random_beta(shape, alpha, beta, seed, counter, dtype):
    """Beta(alpha, beta), both > 0 (one value or one per element), from two gammas."""
    return _draw("beta", shape, dtype, seed, counter, alpha, beta)


def random_gamma_grad(alpha, x):
    """dx/dalpha of Gamma(alpha, 1) draws x (alpha one value or one per element), in x's
    dtype, computed in float64: minus the CDF's derivative in alpha over its density."""
    shape, dtype = tuple(x.shape), x.dtype
    flat = _parameter(x, np.float64, x.size)
    out = empty((flat.size,), np.float64)
    _launch(_fill_gamma_grad, out.size, out, _parameter(alpha, np.float64, out.size), flat)
    out = out.reshape(shape)
    return out if dtype == np.float64 else array.cast(out, dtype)


def random_binomial(shape, counts, probabilities, seed, counter):
    """float64 Binomial(counts, probabilities) of `shape`: counts >= 0 whole, probabilities
    in [0, 1] (one value or one per element); by inversion below a mean of 10, else BTRS."""
    out = empty(tuple(shape), np.float64)
    n = out.size
    _launch(_fill_binomial, n, out.reshape(-1), _parameter(counts, np.float64, n),
            _parameter(probabilities, np.float64, n), np.uint64(seed), np.uint64(counter))
    return out


def random_integers(shape, low, high, seed, counter):
    """int64 uniform in [low, high) (one value or one per element; low where high <= low;
    high - low < 2**63): low + word i mod (high - low)."""
    out = empty(tuple(shape), np.int64)
    n = out.size
    _launch(_fill_integers, n, out.reshape(-1), _parameter(low, np.int64, n),
            _parameter(high, np.int64, n), np.uint64(seed), np.uint64(counter))
    return out


def random_categorical(logits, num_samples, seed, counter):
    """int64 (B, num_samples): class draws from the rows of float64 logits (B, C), C >= 1,
    by Gumbel-max."""
    logits = array.cast(logits, np.float64)
    out = empty((logits.shape[0], int(num_samples)), np.int64)
    _launch(_fill_categorical, out.size, out, logits, np.uint64(seed), np.uint64(counter))
    return out


def random_permutation(shape, axis, seed, counter):
    """int64 of `shape` whose every line along `axis` is an independent uniform permutation
    of 0 .. shape[axis] - 1 (a counter-based Fisher-Yates per line)."""
    shape = tuple(shape)
    out = empty(shape, np.int64)
    if out.size:
        _launch(_fill_permutation, out.size // shape[axis], out.reshape(-1), shape[axis],
                math.prod(shape[axis + 1:]), np.uint64(seed), np.uint64(counter))
    return out
