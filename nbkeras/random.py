"""`nk.random`, as `keras.random`: draws on the current device from the counter-based
generator of kernels/counter_random.py, so a seeded draw gives the same numbers on the CPU
and on a GPU (floats up to their last bits).

Seeding, as Keras: `seed` is an int (the same numbers at every call), a `SeedGenerator`
(each draw takes its next state, so calls differ and a run repeats), or None (a stream drawn
from the global generator, which `nk.utils.set_random_seed` resets). The numbers are not
Keras's (another generator); the distributions are.

Float draws default to `nk.config.floatx()`; float16 is drawn in float32 and cast.
Gradients: `normal`, `uniform` and `truncated_normal` are `sample * stddev + mean` (and
`minval + u * (maxval - minval)`) in ops, so tensors given as mean/stddev/minval/maxval get
gradients; `dropout` and `shuffle` pass gradients to their input. `gamma` draws get
gradients in alpha, and `beta` draws in alpha and beta, as on JAX: by implicit
reparameterization (the draw moves with its parameters at a fixed value of its CDF). The
parameters of `binomial` are read as constants, and integer draws (`randint`,
`categorical`) have none.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core.device import current_device, kernels_for
from .core.dtype import is_float, standardize_dtype
from .core.keras_tensor import KerasTensor
from .core.random import SeedGenerator, draw_state
from .core.spec import Spec
from .core.tensor import Tensor
from .ops.core import cast
from .ops.elementwise import add, maximum, multiply, subtract
from .ops.dropout import dropout as _dropout
from .ops.op import Op, convert_to_tensor, float_dtype

__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal",
           "randint", "shuffle", "truncated_normal", "uniform"]


# ---------------------------------------------------------------------------- arguments

def _state(seed, who: str) -> tuple[int, int]:
    """(seed, counter) of the draw, after checking `seed`'s type as Keras does."""
    _check_seed(seed, who)
    return draw_state(seed)


def _check_seed(seed, who: str) -> None:
    if not (seed is None or isinstance(seed, SeedGenerator)
            or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool))):
        raise ValueError(f"{who}: seed must be an int, a SeedGenerator or None; received "
                         f"seed={seed!r} (of type {type(seed).__name__})")


def _shape(shape, who: str) -> tuple[int, ...]:
    """`shape` (an int or a sequence of ints >= 0) as a tuple."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        dims = None
    if dims is None or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                               and n >= 0 for n in dims):
        raise ValueError(f"{who}: shape must be a tuple of non-negative ints; received "
                         f"shape={shape!r}")
    return tuple(int(n) for n in dims)


def _float_dtype(dtype, who: str) -> str:
    name = standardize_dtype(dtype)
    if not is_float(name):
        raise ValueError(f"{who}: dtype must be a float dtype; received dtype={dtype}")
    return name


def _drawn_as(dtype: str) -> str:
    """The dtype the kernels draw `dtype` in (float16 in float32)."""
    return "float64" if dtype == "float64" else "float32"


def _as(k, array, dtype: str) -> Tensor:
    return Tensor(array if str(array.dtype) == dtype else k.cast(array, dtype))


def _parameter(x, shape: tuple, who: str, name: str, dtype, valid, rule: str) -> np.ndarray:
    """x (a number or an array broadcastable to `shape`) as a numpy array of `dtype`: one
    value, or one per element of `shape`; `valid(x)` checks its domain (`rule` says it)."""
    if isinstance(x, KerasTensor):
        raise ValueError(f"{who}: {name} must have a value, not be symbolic; received {x!r}")
    values = np.asarray(x)
    if values.dtype.kind not in "biuf":
        raise ValueError(f"{who}: {name} must be a number or an array of numbers; received "
                         f"{name} of dtype {values.dtype}")
    try:
        fits = np.broadcast_shapes(values.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{who}: {name} of shape {values.shape} cannot be broadcast to the "
                         f"output shape {shape}")
    if not np.all(valid(values.astype(np.float64))):
        raise ValueError(f"{who}: {name} must be {rule}; received {name}={x!r}")
    values = values.astype(dtype)      # to an integer dtype: fractions truncated
    return values.reshape(1) if values.size == 1 else np.broadcast_to(values, shape)


def _positive(values):
    return np.isfinite(values) & (values > 0)


def _scale_shift(sample: Tensor, scale, shift) -> Tensor:
    """sample * scale + shift in ops (tensors given as scale or shift, cast to the sample's
    dtype, get gradients); the plain numbers 1 and 0 cost nothing."""
    dtype = sample.dtype
    if not (isinstance(scale, (int, float)) and scale == 1):
        sample = multiply(sample, scale if isinstance(scale, (int, float)) else cast(scale, dtype))
    if not (isinstance(shift, (int, float)) and shift == 0):
        sample = add(sample, shift if isinstance(shift, (int, float)) else cast(shift, dtype))
    return sample


# ---------------------------------------------------------------------------- float draws

def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """N(mean, stddev**2) of `shape` (mean and stddev broadcast against it): Box-Muller."""
    shape, dtype = _shape(shape, "normal"), _float_dtype(dtype, "normal")
    k = kernels_for(current_device())
    z = _as(k, k.random_normal(shape, *_state(seed, "normal"), _drawn_as(dtype)), dtype)
    return _scale_shift(z, stddev, mean)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """N(mean, stddev**2) of `shape` conditioned on lying within two standard deviations
    of the mean (as Keras: values beyond are redrawn; here by rejection in the kernel)."""
    shape, dtype = _shape(shape, "truncated_normal"), _float_dtype(dtype, "truncated_normal")
    k = kernels_for(current_device())
    z = k.random_truncated_normal(shape, *_state(seed, "truncated_normal"), _drawn_as(dtype))
    return _scale_shift(_as(k, z, dtype), stddev, mean)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """U[minval, maxval) of `shape`: max(minval, minval + u (maxval - minval)) for u in
    [0, 1), as Keras's JAX backend (so minval >= maxval gives minval)."""
    shape, dtype = _shape(shape, "uniform"), _float_dtype(dtype, "uniform")
    k = kernels_for(current_device())
    u = _as(k, k.random_uniform(shape, *_state(seed, "uniform"), _drawn_as(dtype)), dtype)
    numbers = isinstance(minval, (int, float)) and isinstance(maxval, (int, float))
    if numbers and (minval, maxval) == (0, 1):
        return u
    low = minval if isinstance(minval, (int, float)) else cast(minval, dtype)
    high = maxval if isinstance(maxval, (int, float)) else cast(maxval, dtype)
    return maximum(_scale_shift(u, maxval - minval if numbers else subtract(high, low), low),
                   low)


def _shape_parameter(x, shape: tuple, who: str, name: str, drawn: str) -> Tensor:
    """alpha or beta (positive and finite, broadcastable to `shape`) as a Tensor of the drawn
    dtype; a Tensor is cast by `ops.cast`, so its gradient flows back to it."""
    _parameter(x, shape, who, name, np.float64, _positive, "positive and finite")
    return cast(x, drawn) if isinstance(x, Tensor) else convert_to_tensor(np.asarray(x, drawn))


def _per_draw(k, x, shape: tuple):
    """A parameter array for the kernels: its one value, or x broadcast to `shape`."""
    return x if x.size == 1 else k.broadcast_to(x, shape)


@dataclass(frozen=True)
class Gamma(Op):
    """alpha (broadcastable to `shape`) -> Gamma(alpha, 1) draws of `shape` in `dtype`
    (float32 or float64), draw `counter` of stream `seed`. Gradient (as JAX's): dx/dalpha =
    -(dP/dalpha) / (dP/dx) at the draw, P the CDF (kernel random_gamma_grad)."""

    shape: tuple
    dtype: str
    seed: int
    counter: int

    def output_spec(self, alpha: Spec) -> Spec:
        return Spec(self.shape, self.dtype)

    def forward(self, k, alpha):
        a = _per_draw(k, alpha, self.shape)
        x = k.random_gamma(self.shape, a, self.seed, self.counter, self.dtype)
        return x, (tuple(alpha.shape), a, x)

    def vjp(self, k, dy, residuals, needs):
        alpha_shape, a, x = residuals
        return (k.sum_to_shape(k.multiply(dy, k.random_gamma_grad(a, x)), alpha_shape),)


@dataclass(frozen=True)
class Beta(Op):
    """alpha, beta (broadcastable to `shape`) -> Beta(alpha, beta) draws of `shape` in
    `dtype`, draw `counter` of stream `seed`. Gradient (as JAX's): the draw is X / (X + Y)
    for the gammas X ~ Gamma(alpha) and Y ~ Gamma(beta) the kernel drew (slots 2i, 2i + 1:
    a gamma draw of shape (..., 2) redraws them), so dB/dalpha = B (1 - B) X'/X and
    dB/dbeta = -B (1 - B) Y'/Y, X' = dX/dalpha and Y' = dY/dbeta as Gamma's, with X and Y
    at least the dtype's smallest normal number (as JAX's)."""

    shape: tuple
    dtype: str
    seed: int
    counter: int

    def output_spec(self, alpha: Spec, beta: Spec) -> Spec:
        return Spec(self.shape, self.dtype)

    def forward(self, k, alpha, beta):
        a, b = _per_draw(k, alpha, self.shape), _per_draw(k, beta, self.shape)
        y = k.random_beta(self.shape, a, b, self.seed, self.counter, self.dtype)
        return y, (tuple(alpha.shape), tuple(beta.shape), a, b, y)

    def vjp(self, k, dy, residuals, needs):
        alpha_shape, beta_shape, a, b, y = residuals
        pairs = k.concatenate([k.expand_dims(k.broadcast_to(p, self.shape), -1)
                               for p in (a, b)], -1)                     # (*shape, 2)
        gammas = k.random_gamma(self.shape + (2,), pairs, self.seed, self.counter, self.dtype)
        gammas = k.maximum(gammas, np.finfo(self.dtype).tiny)
        log_rates = k.divide(k.random_gamma_grad(pairs, gammas), gammas)    # X'/X, Y'/Y
        spread = k.multiply(dy, k.multiply(y, k.subtract(1, y)))             # dy B (1 - B)
        da = k.multiply(spread, k.getitem(log_rates, (Ellipsis, 0)))
        db = k.negative(k.multiply(spread, k.getitem(log_rates, (Ellipsis, 1))))
        return k.sum_to_shape(da, alpha_shape), k.sum_to_shape(db, beta_shape)


def _drawn_in(y: Tensor, dtype: str) -> Tensor:
    return y if y.dtype == dtype else cast(y, dtype)


def gamma(shape, alpha, dtype=None, seed=None):
    """Gamma(alpha, 1) of `shape`, alpha > 0 a number, an array or a tensor broadcastable to
    `shape` (a tensor gets a gradient): Marsaglia and Tsang's method (alpha < 1: a
    Gamma(alpha + 1) draw times u**(1/alpha))."""
    shape, dtype = _shape(shape, "gamma"), _float_dtype(dtype, "gamma")
    drawn = _drawn_as(dtype)
    alpha = _shape_parameter(alpha, shape, "gamma", "alpha", drawn)
    return _drawn_in(Gamma(shape, drawn, *_state(seed, "gamma"))(alpha), dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Beta(alpha, beta) of `shape`, alpha, beta > 0 numbers, arrays or tensors broadcastable
    to `shape` (tensors get gradients): X / (X + Y) for X ~ Gamma(alpha), Y ~ Gamma(beta),
    formed from their logs so that tiny parameters stay exact."""
    shape, dtype = _shape(shape, "beta"), _float_dtype(dtype, "beta")
    drawn = _drawn_as(dtype)
    a = _shape_parameter(alpha, shape, "beta", "alpha", drawn)
    b = _shape_parameter(beta, shape, "beta", "beta", drawn)
    return _drawn_in(Beta(shape, drawn, *_state(seed, "beta"))(a, b), dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Binomial(counts, probabilities) of `shape` as floats: counts >= 0 (fractions are
    dropped, as Keras's JAX backend does) and probabilities in [0, 1], numbers or arrays
    broadcastable to `shape`. Drawn in float64: by inversion of the CDF where the mean
    min(p, 1 - p) n is below 10, else by Hormann's BTRS rejection."""
    shape, dtype = _shape(shape, "binomial"), _float_dtype(dtype, "binomial")
    n = _parameter(counts, shape, "binomial", "counts", np.float64,
                   lambda v: np.isfinite(v) & (v >= 0), "finite and >= 0")
    p = _parameter(probabilities, shape, "binomial", "probabilities", np.float64,
                   lambda v: (v >= 0) & (v <= 1), "in [0, 1]")
    k = kernels_for(current_device())
    draws = k.random_binomial(shape, np.floor(n), p, *_state(seed, "binomial"))
    return _as(k, draws, dtype)


# ---------------------------------------------------------------------------- integer draws

def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform in [minval, maxval) of `shape`, an integer `dtype` (minval and
    maxval numbers or arrays broadcastable to `shape`, fractions truncated; where maxval <=
    minval, minval). minval + a 64-bit word mod (maxval - minval): the modulo bias is below
    (maxval - minval) / 2**64."""
    shape = _shape(shape, "randint")
    name = "int32" if dtype is None else standardize_dtype(dtype)
    if np.dtype(name).kind not in "iu":
        raise ValueError(f"randint: dtype must be an integer dtype; received dtype={dtype}")
    def valid(v):
        return np.isfinite(v) & (np.abs(v) < 2.0 ** 62)

    rule = "finite and within +-2**62"
    low = _parameter(minval, shape, "randint", "minval", np.int64, valid, rule)
    high = _parameter(maxval, shape, "randint", "maxval", np.int64, valid, rule)
    k = kernels_for(current_device())
    return _as(k, k.random_integers(shape, low, high, *_state(seed, "randint")), name)


@dataclass(frozen=True)
class Categorical(Op):
    """logits (B, C) -> (B, num_samples) class indices, each drawn from its row's softmax by
    Gumbel-max in float64. No gradient (integer outputs)."""

    num_samples: int
    dtype: str
    seed: object

    float_inputs = True

    def output_spec(self, logits: Spec) -> Spec:
        if len(logits.shape) != 2 or logits.shape[1] == 0:
            raise ValueError(f"categorical: logits must be 2-D (batch_size, num_classes) with "
                             f"num_classes >= 1; received shape {logits.shape}")
        return Spec((logits.shape[0], self.num_samples), self.dtype)

    def forward(self, k, logits):
        self.output_spec(Spec(tuple(logits.shape), str(logits.dtype)))
        draws = k.random_categorical(logits, self.num_samples, *draw_state(self.seed))
        return (draws if self.dtype == "int64" else k.cast(draws, self.dtype)), ()

    def vjp(self, k, dy, residuals, needs):
        return (None,)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """(batch_size, num_samples) draws from the rows of `logits` (batch_size, num_classes),
    unnormalized log-probabilities (-inf: never drawn)."""
    if not isinstance(num_samples, (int, np.integer)) or num_samples < 0:
        raise ValueError(f"categorical: num_samples must be an int >= 0; received "
                         f"num_samples={num_samples!r}")
    _check_seed(seed, "categorical")
    return Categorical(int(num_samples), standardize_dtype(dtype), seed)(logits)


# ---------------------------------------------------------------------------- permutations

@dataclass(frozen=True)
class Shuffle(Op):
    """x with each line along `axis` permuted independently and uniformly (as Keras's JAX
    backend, `jax.random.permutation(..., independent=True)`); the gradient goes back
    through the same permutation."""

    axis: int
    seed: object

    def output_spec(self, x: Spec) -> Spec:
        if not -len(x.shape) <= self.axis < len(x.shape):
            raise ValueError(f"shuffle: axis {self.axis} is out of range for a tensor of shape "
                             f"{x.shape}")
        return x

    def forward(self, k, x):
        shape = tuple(x.shape)
        self.output_spec(Spec(shape, str(x.dtype)))
        axis = self.axis % len(shape)
        order = k.random_permutation(shape, axis, *draw_state(self.seed))
        key = tuple(order if a == axis else
                    np.arange(n).reshape([n if b == a else 1 for b in range(len(shape))])
                    for a, n in enumerate(shape))
        return k.getitem(x, key), (shape, key)

    def vjp(self, k, dy, residuals, needs):
        shape, key = residuals
        return (k.getitem_backward(dy, shape, key),)


def shuffle(x, axis=0, seed=None):
    """x with the entries of each line along `axis` shuffled (each line on its own)."""
    if not isinstance(axis, (int, np.integer)):
        raise ValueError(f"shuffle: axis must be an int; received axis={axis!r}")
    _check_seed(seed, "shuffle")
    return Shuffle(int(axis), seed)(x)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """inputs with each entry zeroed with probability `rate` in [0, 1] and the others
    scaled by 1 / (1 - rate); `noise_shape` (None entries take the input's size) shares the
    mask across axes. rate 1 multiplies by 0; rate 0 returns the inputs."""
    if not 0 <= rate <= 1:
        raise ValueError(f"dropout: rate must be in [0, 1]; received rate={rate!r}")
    _check_seed(seed, "dropout")
    if rate == 1:
        x = inputs if isinstance(inputs, (Tensor, KerasTensor)) else convert_to_tensor(inputs)
        return multiply(cast(x, float_dtype(x.dtype)), 0.0)
    return _dropout(inputs, rate, noise_shape, seed)
