"""Random numbers: the counter-based draws of kernels/counter_random.py (the numbers the CUDA
kernels draw), one loop per kind of draw, the seeding of Numba's internal generator, and the
derivative of a gamma draw in its shape parameter (`gamma_sample_derivative_program`, plain
Python that kernels/cuda/random.py compiles too).

Parameter arrays (alpha, beta, counts, probabilities, low, high) hold one value or one per
output element (flat, C order): a loop reads element i * step, step 0 or 1."""
import math

import numpy as np
from numba import njit

from .. import counter_random

__all__ = ["dropout_mask", "random_normal", "random_uniform", "random_truncated_normal",
           "random_gamma", "random_beta", "random_binomial", "random_integers",
           "random_gamma_grad", "random_categorical", "random_permutation"]

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


def gamma_sample_derivative_program(compile):
    """`derivative(alpha, x)`, built by `compile` (njit here, a CUDA device function in
    kernels/cuda/random.py): dx/dalpha of a Gamma(alpha, 1) draw x >= 0, alpha > 0, in
    float64, by implicit differentiation of the CDF P(alpha, x) (the regularized lower
    incomplete gamma): -(dP/dalpha) / (dP/dx), as XLA's random_gamma_grad (JAX's). Below
    x = max(alpha, 1), P's series x^a e^-x sum_n x^n / Gamma(a + n + 1) differentiated term
    by term; above, the continued fraction of 1 - P and its derivative; 0 at x = 0. Within
    about 1e-12 of the exact value for alpha up to 1e10."""
    eps, terms, fractions = 2.0 ** -52, 1 << 24, 2000

    def digamma(a):
        """psi(a), a > 0: psi(a) = psi(a + 1) - 1/a up to a >= 10, then its asymptotic
        series (error below 1e-14 there)."""
        shift = 0.0
        while a < 10.0:
            shift -= 1.0 / a
            a += 1.0
        t = 1.0 / (a * a)
        return (shift + math.log(a) - 0.5 / a
                - t * (1.0 / 12.0 - t * (1.0 / 120.0 - t * (1.0 / 252.0
                                                           - t * (1.0 / 240.0 - t / 132.0)))))

    digamma = compile(digamma)

    def series(a, x):
        """P = x^a e^-x / Gamma(a + 1) s, s = sum_n c_n, c_n = c_(n-1) x / (a + n), c_0 = 1:
        -(dP/da) / (dP/dx) = -(ds/da + s (log x - psi(a + 1))) x / a."""
        r, c, s, dc, ds = a, 1.0, 1.0, 0.0, 0.0
        for _ in range(terms):
            r += 1.0
            dc = dc * (x / r) - c * x / (r * r)
            ds += dc
            c *= x / r
            s += c
            if abs(dc) <= eps * abs(ds):
                break
        return -(ds + s * (math.log(x) - digamma(a + 1.0))) * x / a

    series = compile(series)

    def continued_fraction(a, x):
        """1 - P = x^a e^-x / Gamma(a) f, f Legendre's continued fraction by its convergents
        p_k / q_k (rescaled when large), each carried with its derivative in a:
        -(dP/da) / (dP/dx) = (df/da + f (log x - psi(a))) x."""
        y = 1.0 - a
        z = x + y + 1.0
        c = 0.0
        p2, q2, p1, q1 = 1.0, x, x + 1.0, z * x
        dp2, dq2, dp1, dq1 = 0.0, 0.0, 0.0, -x
        f = p1 / q1
        df = (dp1 - f * dq1) / q1
        for _ in range(fractions):
            c += 1.0
            y += 1.0
            z += 2.0
            yc = y * c
            p, q = p1 * z - p2 * yc, q1 * z - q2 * yc
            dp = dp1 * z - p1 - dp2 * yc + p2 * c
            dq = dq1 * z - q1 - dq2 * yc + q2 * c
            converged = False
            if q != 0.0:
                f = p / q
                step = (dp - f * dq) / q
                converged = abs(step - df) <= eps * abs(step)
                df = step
            p2, p1, q2, q1, dp2, dp1, dq2, dq1 = p1, p, q1, q, dp1, dp, dq1, dq
            if abs(p) > 1.0 / eps:
                p2, p1, q2, q1 = p2 * eps, p1 * eps, q2 * eps, q1 * eps
                dp2, dp1, dq2, dq1 = dp2 * eps, dp1 * eps, dq2 * eps, dq1 * eps
            if converged:
                break
        return (df + f * (math.log(x) - digamma(a))) * x

    continued_fraction = compile(continued_fraction)

    def derivative(alpha, x):
        if x == 0.0:
            return 0.0
        if x > 1.0 and x > alpha:
            return continued_fraction(alpha, x)
        return series(alpha, x)

    return compile(derivative)


_gamma_derivative = gamma_sample_derivative_program(njit(cache=True))


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
def _fill_gamma_grad(out, alpha, x):
    """out[i] = dx/dalpha of the Gamma(alpha[i]) draw x[i] (float64)."""
    step = np.uint64(alpha.size > 1)
    for i in range(np.uint64(out.size)):
        out[i] = _gamma_derivative(alpha[i * step], x[i])


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


def random_gamma_grad(alpha, x):
    """dx/dalpha of Gamma(alpha, 1) draws x (alpha one value or one per element), in x's
    dtype, computed in float64: minus the CDF's derivative in alpha over its density."""
    flat = _parameter(x, np.float64, np.size(x))
    out = np.empty(flat.size)
    _fill_gamma_grad(out, _parameter(alpha, np.float64, out.size), flat)
    return out.reshape(np.shape(x)).astype(x.dtype, copy=False)


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
