"""Random numbers: the counter-based draws of kernels/counter_random.py (the numbers the CUDA
kernels draw), one loop per kind of draw, and the seeding of Numba's internal generator.

Parameter arrays (alpha, beta, counts, probabilities, low, high) hold one value or one per
output element (flat, C order): a loop reads element i * step, step 0 or 1."""
import math

import numpy as np
from numba import njit

from .. import counter_random

__all__ = ["dropout_mask", "random_normal", "random_uniform", "random_truncated_normal",
           "random_gamma", "random_beta", "random_binomial", "random_integers",
           "random_categorical", "random_permutation"]

_bits = njit(cache=True)(counter_random.random_bits)
_unit32 = njit(cache=True)(counter_random.unit32)
_unit64 = njit(cache=True)(counter_random.unit64)
_PI32 = np.float32(math.pi)


@njit(cache=True)
def _cospi32(x):
    return math.cos(_PI32 * x)


@njit(cache=True)
def _cospi64(x):
    return math.cos(math.pi * x)


_S32 = counter_random.Samplers(njit, np.float32, _cospi32)
_S64 = counter_random.Samplers(njit, np.float64, _cospi64)
_standard_32, _shaped_32 = _S32.standard, _S32.shaped
_standard_64, _shaped_64 = _S64.standard, _S64.shaped
_binomial, _gumbel = _S64.binomial, _S64.gumbel       # drawn in float64 only


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
def _standard32(kind, out, seed, counter):
    """out[i] = draw i of `kind` (counter_random.KINDS 0-2)."""
    for i in range(np.uint64(out.size)):
        out[i] = _standard_32(kind, seed, counter, i)


@njit(cache=True)
def _standard64(kind, out, seed, counter):
    """out[i] = draw i of `kind` (counter_random.KINDS 0-2)."""
    for i in range(np.uint64(out.size)):
        out[i] = _standard_64(kind, seed, counter, i)


@njit(cache=True)
def _shaped32(kind, out, a, b, seed, counter):
    """out[i] = draw i of `kind` (counter_random.KINDS 3-4) with parameters a[i], b[i]."""
    step_a, step_b = np.uint64(a.size > 1), np.uint64(b.size > 1)
    for i in range(np.uint64(out.size)):
        out[i] = _shaped_32(kind, a[i * step_a], b[i * step_b], seed, counter, i)


@njit(cache=True)
def _shaped64(kind, out, a, b, seed, counter):
    """out[i] = draw i of `kind` (counter_random.KINDS 3-4) with parameters a[i], b[i]."""
    step_a, step_b = np.uint64(a.size > 1), np.uint64(b.size > 1)
    for i in range(np.uint64(out.size)):
        out[i] = _shaped_64(kind, a[i * step_a], b[i * step_b], seed, counter, i)


@njit(cache=True)
def _fill_binomial(out, counts, probabilities, seed, counter):
    step_n, step_p = np.uint64(counts.size > 1), np.uint64(probabilities.size > 1)
    for i in range(np.uint64(out.size)):
        out[i] = _binomial(counts[i * step_n], probabilities[i * step_p], seed, counter, i)


@njit(cache=True)
def _fill_integers(out, low, high, seed, counter):
    step_l, step_h = np.uint64(low.size > 1), np.uint64(high.size > 1)
    for i in range(np.uint64(out.size)):
        lo, hi = low[i * step_l], high[i * step_h]
        out[i] = lo + np.int64(_bits(seed, counter, i) % np.uint64(hi - lo)) if hi > lo else lo


@njit(cache=True)
def _fill_categorical(out, logits, seed, counter):
    """out[r, s] = the argmax over c of logits[r, c] + Gumbel noise (r S + s) C + c."""
    rows, classes, samples = logits.shape[0], logits.shape[1], out.shape[1]
    for r in range(rows):
        for s in range(samples):
            base = np.uint64((r * samples + s) * classes)
            best, arg = logits[r, 0] + _gumbel(seed, counter, base), 0
            for c in range(1, classes):
                v = logits[r, c] + _gumbel(seed, counter, base + np.uint64(c))
                if v > best:
                    best, arg = v, c
            out[r, s] = arg


@njit(cache=True)
def _fill_permutation(out, n, inner, seed, counter):
    """Each line (o, :, q) of out viewed as (outer, n, inner) gets a Fisher-Yates shuffle of
    0 .. n - 1; swap j of line l takes word l n + j."""
    one = np.uint64(1)
    for line in range(np.uint64(out.size // n)):
        start = line // inner * n * inner + line % inner
        for j in range(n):
            out[start + j * inner] = j
        j = n - one
        while j > 0:
            r = _bits(seed, counter, line * n + j) % (j + one)
            out[start + j * inner], out[start + r * inner] = (out[start + r * inner],
                                                              out[start + j * inner])
            j -= one


def _parameter(x, dtype, size: int) -> np.ndarray:
    """x flat, contiguous, of dtype: one value or one per element of an output of `size`."""
    flat = np.ascontiguousarray(np.asarray(x, dtype).reshape(-1))
    if flat.size not in (1, size):
        raise ValueError(f"random kernels: a parameter holds {flat.size} values for "
                         f"{size} draws (give one, or one per draw)")
    return flat


def dropout_mask(shape, rate, seed, counter, dtype):
    """1 / (1 - rate) where uniform i of draw `counter` of stream `seed` is >= rate, else 0;
    `shape`, float32 or float64."""
    out = np.empty(tuple(shape), np.dtype(dtype))
    fill = _fill_mask32 if out.dtype == np.float32 else _fill_mask64
    fill(out.reshape(-1), np.uint64(seed), np.uint64(counter), out.dtype.type(rate),
         out.dtype.type(1.0 / (1.0 - rate)))
    return out


def _draw(kind, shape, dtype, seed, counter, *parameters):
    """Draw `kind` (a name in counter_random.KINDS) with 0 or 2 parameters."""
    out = np.empty(tuple(shape), np.dtype(dtype))
    t, code, flat = out.dtype, counter_random.KINDS.index(kind), out.reshape(-1)
    if parameters:
        a, b = (_parameter(p, t, out.size) for p in parameters)
        (_shaped32 if t == np.float32 else _shaped64)(code, flat, a, b, np.uint64(seed),
                                                      np.uint64(counter))
    else:
        (_standard32 if t == np.float32 else _standard64)(code, flat, np.uint64(seed),
                                                          np.uint64(counter))
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


def random_binomial(shape, counts, probabilities, seed, counter):
    """float64 Binomial(counts, probabilities) of `shape`: counts >= 0 whole, probabilities
    in [0, 1] (one value or one per element); by inversion below a mean of 10, else BTRS."""
    out = np.empty(tuple(shape), np.float64)
    _fill_binomial(out.reshape(-1), _parameter(counts, np.float64, out.size),
                   _parameter(probabilities, np.float64, out.size), np.uint64(seed),
                   np.uint64(counter))
    return out


def random_integers(shape, low, high, seed, counter):
    """int64 uniform in [low, high) (one value or one per element; low where high <= low;
    high - low < 2**63): low + word i mod (high - low)."""
    out = np.empty(tuple(shape), np.int64)
    _fill_integers(out.reshape(-1), _parameter(low, np.int64, out.size),
                   _parameter(high, np.int64, out.size),
                   np.uint64(seed), np.uint64(counter))
    return out


def random_categorical(logits, num_samples, seed, counter):
    """int64 (B, num_samples): class draws from the rows of float64 logits (B, C), C >= 1,
    by Gumbel-max."""
    logits = np.ascontiguousarray(logits, np.float64)
    out = np.empty((logits.shape[0], int(num_samples)), np.int64)
    _fill_categorical(out, logits, np.uint64(seed), np.uint64(counter))
    return out


def random_permutation(shape, axis, seed, counter):
    """int64 of `shape` whose every line along `axis` is an independent uniform permutation
    of 0 .. shape[axis] - 1 (a counter-based Fisher-Yates per line)."""
    shape = tuple(shape)
    out = np.empty(shape, np.int64)
    if out.size:
        _fill_permutation(out.reshape(-1), np.uint64(shape[axis]),
                          np.uint64(math.prod(shape[axis + 1:])), np.uint64(seed),
                          np.uint64(counter))
    return out
