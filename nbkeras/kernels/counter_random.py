"""The counter-based random numbers both devices draw: 64 random bits are a splitmix64 hash
of (seed, counter, index), with no state, so element `index` of draw `counter` of a stream
`seed` is the same number on the CPU and on a GPU, whatever the thread layout.

Plain Python over numpy integer types and `math`. The three functions below stand alone:
kernels/cpu compiles them with `@njit`, kernels/cuda as inlined device functions.
`Samplers(compile, float_type, cospi)` builds the composite draws (normal, truncated normal,
gamma, beta, binomial, Gumbel noise) over helpers compiled the same way, since a compiled
function can only call compiled ones.

Index layout: element i of a draw that takes a bounded number of uniforms (rejection
samplers) owns the 64-bit words i * SLOT ... i * SLOT + SLOT - 1 of the draw, so elements
never share a word and each element's numbers do not depend on the others.
"""
import math

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_COUNTER = np.uint64(0xD1B54A32D192ED03)
_SHIFT_30, _SHIFT_27, _SHIFT_31 = np.uint64(30), np.uint64(27), np.uint64(31)
_SHIFT_40, _SHIFT_11 = np.uint64(40), np.uint64(11)
_TWO_TO_MINUS_24 = np.float32(2.0 ** -24)
_TWO_TO_MINUS_53 = np.float64(2.0 ** -53)

SLOT = 256      # 64-bit words owned by each element of a rejection sampler's draw
TRIES = 64      # proposals a rejection sampler makes before its fallback (see Samplers)
KINDS = ("uniform", "normal", "truncated_normal", "gamma", "beta")   # the draws' codes


def random_bits(seed, counter, index):
    """64 random bits (uint64) for element `index` of draw `counter` of stream `seed`."""
    z = (np.uint64(seed) + np.uint64(counter) * _COUNTER
         + (np.uint64(index) + np.uint64(1)) * _GOLDEN)
    z = (z ^ (z >> _SHIFT_30)) * _MIX_1
    z = (z ^ (z >> _SHIFT_27)) * _MIX_2
    return z ^ (z >> _SHIFT_31)


def unit32(bits):
    """A float32 in [0, 1) from the top 24 of 64 random bits."""
    return np.float32(bits >> _SHIFT_40) * _TWO_TO_MINUS_24


def unit64(bits):
    """A float64 in [0, 1) from the top 53 of 64 random bits."""
    return np.float64(bits >> _SHIFT_11) * _TWO_TO_MINUS_53


class Samplers:
    """The composite draws in one float precision (`float_type`, np.float32 or np.float64:
    every constant and operation stays in it, so a float32 kernel has no float64
    instruction), each function built by `compile` (`njit`, or a CUDA device function).
    `cospi(x)` is cos(pi x) in that precision.

    Rejection samplers make at most TRIES proposals; the chance that all are rejected is
    below 1e-38 (BTRS; below 1e-80 for the others), and each states its fallback value."""

    def __init__(self, compile, float_type, cospi):
        f = float_type
        zero, half, one, two = f(0.0), f(0.5), f(1.0), f(2.0)
        third, nine, ten, squeeze = f(1.0 / 3.0), f(9.0), f(10.0), f(0.0331)
        half_log_two_pi = f(0.5 * math.log(2.0 * math.pi))
        inversion_steps = f(110.0)
        tail_1, tail_2, tail_3 = f(1.0 / 12.0), f(1.0 / 360.0), f(1.0 / 1260.0)
        # BTRS's constants (Hormann 1993)
        b_0, b_1, a_0, a_1, a_2 = f(1.15), f(2.53), f(-0.0873), f(0.0248), f(0.01)
        v_0, v_1, alpha_0, alpha_1, box = f(0.92), f(4.2), f(2.83), f(5.1), f(0.07)
        u_one, u_two = np.uint64(1), np.uint64(2)
        u_slot, u_last = np.uint64(SLOT), np.uint64(SLOT - 1)
        bits = compile(random_bits)
        if f is np.float32:
            unit = compile(unit32)
            scale, shift = np.float32(2.0 ** -24), np.uint64(40)
        else:
            unit = compile(unit64)
            scale, shift = np.float64(2.0 ** -53), np.uint64(11)

        def open_unit(seed, counter, index):
            """A uniform in (0, 1): the midpoint of the cell of `unit`."""
            return (f(bits(seed, counter, index) >> shift) + half) * scale

        open_unit = compile(open_unit)

        def box_muller(u, v):
            """N(0, 1) from two uniforms in [0, 1)."""
            return math.sqrt(-two * math.log(one - u)) * cospi(two * v)

        box_muller = compile(box_muller)

        def normal(seed, counter, index):
            """N(0, 1) by Box-Muller from the uniforms 2 index and 2 index + 1."""
            i = np.uint64(index) * u_two
            return box_muller(unit(bits(seed, counter, i)), unit(bits(seed, counter, i + u_one)))

        def truncated_normal(seed, counter, index):
            """N(0, 1) conditioned on |z| <= 2: Box-Muller proposals rejected outside
            (acceptance 0.954); the fallback is the last proposal clipped to [-2, 2]."""
            base = np.uint64(index) * u_slot
            z = zero
            for j in range(TRIES):
                i = base + np.uint64(2 * j)
                z = box_muller(unit(bits(seed, counter, i)), unit(bits(seed, counter, i + u_one)))
                if abs(z) <= two:
                    return z
            return min(max(z, -two), two)

        def marsaglia_tsang(a, seed, counter, base):
            """Gamma(a, 1) for a >= 1 (Marsaglia and Tsang, 2000): d (1 + c x)**3 for a
            normal x, accepted with the squeeze or the log test (acceptance >= 0.95); words
            base + 3 j .. base + 3 j + 2 serve proposal j; the fallback is d."""
            d = a - third
            c = one / math.sqrt(nine * d)
            for j in range(TRIES):
                i = base + np.uint64(3 * j)
                x = box_muller(unit(bits(seed, counter, i)), unit(bits(seed, counter, i + u_one)))
                v = one + c * x
                if v > zero:
                    v = v * v * v
                    w = one - unit(bits(seed, counter, i + u_two))       # in (0, 1]
                    x2 = x * x
                    if (w < one - squeeze * x2 * x2
                            or math.log(w) < half * x2 + d * (one - v + math.log(v))):
                        return d * v
            return d

        marsaglia_tsang = compile(marsaglia_tsang)

        def gamma_parts(alpha, seed, counter, index):
            """(g, log_boost): a Gamma(alpha) draw is g * exp(log_boost). Below alpha = 1, g
            is a Gamma(alpha + 1) draw and log_boost = log(w) / alpha for a uniform w in
            (0, 1] (the last word of the slot), so tiny alphas can stay in log space."""
            base = np.uint64(index) * u_slot
            if alpha >= one:
                return marsaglia_tsang(alpha, seed, counter, base), zero
            w = one - unit(bits(seed, counter, base + u_last))
            return marsaglia_tsang(alpha + one, seed, counter, base), math.log(w) / alpha

        gamma_parts = compile(gamma_parts)

        def gamma(alpha, seed, counter, index):
            """Gamma(alpha, 1), alpha > 0, from the words of slot `index`."""
            g, log_boost = gamma_parts(alpha, seed, counter, index)
            return g * math.exp(log_boost)

        def beta(a, b, seed, counter, index):
            """Beta(a, b) = X / (X + Y) for X ~ Gamma(a) (slot 2 index) and Y ~ Gamma(b)
            (slot 2 index + 1), as the logistic of log X - log Y, so that two draws that
            underflow (tiny a and b) still give their ratio."""
            i = np.uint64(index) * u_two
            x, log_bx = gamma_parts(a, seed, counter, i)
            y, log_by = gamma_parts(b, seed, counter, i + u_one)
            t = (math.log(x) + log_bx) - (math.log(y) + log_by)
            if t >= zero:
                return one / (one + math.exp(-t))
            e = math.exp(t)
            return e / (one + e)

        def stirling_tail(k):
            """log(k!) - ((k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2), k >= 0 whole:
            by the sum of logs up to k = 9, by its asymptotic series above."""
            if k <= nine:
                log_factorial = zero
                i = two
                while i <= k:
                    log_factorial += math.log(i)
                    i += one
                return log_factorial - ((k + half) * math.log(k + one) - (k + one)
                                        + half_log_two_pi)
            k1 = k + one
            k1sq = k1 * k1
            return (tail_1 - (tail_2 - tail_3 / k1sq) / k1sq) / k1

        stirling_tail = compile(stirling_tail)

        def binomial_inversion(n, p, seed, counter, base):
            """Binomial(n, p) for p <= 1/2 and n p < 10 by inversion: the CDF walked from 0
            with one uniform; the walk stops at n and after 110 steps (P(X > 110) < 1e-60
            for a mean below 10)."""
            q = one - p
            ratio = p / q
            r = math.exp(n * math.log1p(-p))            # P(X = 0)
            u = unit(bits(seed, counter, base))
            x = zero
            while u > r and x < n and x < inversion_steps:
                u -= r
                x += one
                r *= ratio * (n - x + one) / x
            return x

        binomial_inversion = compile(binomial_inversion)

        def binomial_btrs(n, p, seed, counter, base):
            """Binomial(n, p) for p <= 1/2 and n p >= 10 by Hormann's transformed rejection
            with squeeze (BTRS, 1993); words base + 2 j, base + 2 j + 1 serve proposal j
            (acceptance > 0.75 for n p >= 10); the fallback is the mode."""
            q = one - p
            spq = math.sqrt(n * p * q)
            b = b_0 + b_1 * spq
            a = a_0 + a_1 * b + a_2 * p
            c = n * p + half
            v_r = v_0 - v_1 / b
            alpha = (alpha_0 + alpha_1 / b) * spq
            r = p / q
            m = f(math.floor((n + one) * p))
            for j in range(TRIES):
                i = base + np.uint64(2 * j)
                u = unit(bits(seed, counter, i)) - half
                v = unit(bits(seed, counter, i + u_one))
                us = half - abs(u)
                k = f(math.floor((two * a / us + b) * u + c))
                if k < zero or k > n:
                    continue
                if us >= box and v <= v_r:
                    return k
                if v == zero:
                    return k            # log(0) = -inf is below any bound
                v = math.log(v * alpha / (a / (us * us) + b))
                bound = ((m + half) * math.log((m + one) / (r * (n - m + one)))
                         + (n + one) * math.log((n - m + one) / (n - k + one))
                         + (k + half) * math.log(r * (n - k + one) / (k + one))
                         + stirling_tail(m) + stirling_tail(n - m)
                         - stirling_tail(k) - stirling_tail(n - k))
                if v <= bound:
                    return k
            return m

        binomial_btrs = compile(binomial_btrs)

        def binomial(n, p, seed, counter, index):
            """Binomial(n, p), n >= 0 whole, 0 <= p <= 1, from the words of slot `index`:
            X(n, p) = n - X(n, 1 - p) above p = 1/2, then inversion or BTRS."""
            base = np.uint64(index) * u_slot
            flip = p > half
            p = one - p if flip else p
            if n * p < ten:
                x = binomial_inversion(n, p, seed, counter, base)
            else:
                x = binomial_btrs(n, p, seed, counter, base)
            return n - x if flip else x

        def gumbel(seed, counter, index):
            """Standard Gumbel noise -log(-log(u)), u uniform in (0, 1)."""
            return -math.log(-math.log(open_unit(seed, counter, index)))

        normal, truncated_normal = compile(normal), compile(truncated_normal)
        gamma, beta = compile(gamma), compile(beta)

        def standard(kind, seed, counter, index):
            """Element `index` of a draw of KINDS[kind], kind 0, 1 or 2 (no parameters)."""
            if kind == 0:
                return unit(bits(seed, counter, index))
            if kind == 1:
                return normal(seed, counter, index)
            return truncated_normal(seed, counter, index)

        def shaped(kind, a, b, seed, counter, index):
            """Element `index` of a draw of KINDS[kind], kind 3 (gamma, alpha a) or 4 (beta,
            alpha a and beta b): apart from `standard`, whose kernels stay quick to compile."""
            if kind == 3:
                return gamma(a, seed, counter, index)
            return beta(a, b, seed, counter, index)

        self.standard, self.shaped = compile(standard), compile(shaped)
        self.binomial = compile(binomial)      # the kernels draw these two in float64
        self.gumbel = compile(gumbel)
