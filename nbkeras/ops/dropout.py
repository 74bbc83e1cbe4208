"""Dropout and the noise the regularization layers draw: masks and normals from the
counter-based kernels, on the current device, seeded by a SeedGenerator, an int or None."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.device import current_device, kernels_for
from ..core.dtype import standardize_dtype
from ..core.random import draw_state
from ..core.spec import Spec
from ..core.tensor import Tensor
from .core import cast
from .elementwise import add, multiply, not_equal
from .op import Op, float_dtype


@dataclass(frozen=True)
class Dropout(Op):
    """x (any shape) times a mask of 0 and 1 / (1 - rate), drawn at each call from `seed` (a
    SeedGenerator, an int or None) over `noise_shape` (None entries: x's size) and broadcast."""

    rate: float
    noise_shape: tuple | None
    seed: object

    float_inputs = True

    def output_spec(self, x: Spec) -> Spec:
        return Spec(x.shape, float_dtype(x.dtype))

    def forward(self, k, x):
        shape = tuple(x.shape) if self.noise_shape is None else tuple(
            n if m is None else m for n, m in zip(x.shape, self.noise_shape))
        mask = k.dropout_mask(shape, self.rate, *draw_state(self.seed), x.dtype)
        return k.multiply(x, mask), (mask,)

    def vjp(self, k, dy, residuals, needs):
        return (k.multiply(dy, residuals[0]),)


def dropout(x, rate: float, noise_shape=None, seed=None):
    """x with each element zeroed with probability `rate` and the rest scaled by
    1 / (1 - rate). `noise_shape` (None entries take x's size) shares the mask across axes.
    seed: a SeedGenerator (its next draw), an int (the same mask every call) or None."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1); received rate={rate}")
    if rate == 0:
        return x
    return Dropout(float(rate), None if noise_shape is None else tuple(noise_shape), seed)(x)


def dropout_keep(shape, rate: float, dtype, seed=None):
    """1.0 where an element is kept (probability 1 - rate), 0.0 where dropped, of `shape` and
    float `dtype` on the current device; the same draws as `dropout` with this seed."""
    k = kernels_for(current_device())
    mask = k.dropout_mask(tuple(shape), float(rate), *draw_state(seed), standardize_dtype(dtype))
    return cast(not_equal(Tensor(mask), 0), dtype)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """N(mean, stddev**2) of `shape` on the current device, as `keras.random.normal`; seed
    as in `dropout`."""
    dtype = standardize_dtype(dtype)
    k = kernels_for(current_device())
    noise = Tensor(k.random_normal(tuple(shape), *draw_state(seed), dtype))
    return add(multiply(noise, stddev), mean)
