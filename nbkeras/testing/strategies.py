"""Hypothesis strategies for gradient checks: shapes, broadcastable pairs, and float64
arrays kept away from kinks (ReLU at 0) and ties (max pooling).

Arrays are drawn as (shape, seed) and filled by numpy from the seed: Hypothesis shrinks the
shape and seed, and large arrays cost nothing to draw.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


def shapes(min_rank: int = 1, max_rank: int = 4, min_side: int = 1, max_side: int = 5):
    """Tuples of `min_rank..max_rank` sizes in `min_side..max_side`."""
    return st.lists(st.integers(min_side, max_side), min_size=min_rank,
                    max_size=max_rank).map(tuple)


@st.composite
def broadcastable_shapes(draw, min_rank: int = 0, max_rank: int = 4, max_side: int = 4):
    """A pair of shapes that broadcast together: some axes of the second set to 1 or dropped
    from the front."""
    shape = draw(shapes(min_rank, max_rank, 1, max_side))
    ones = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    other = tuple(1 if one else n for n, one in zip(shape, ones))
    dropped = draw(st.integers(0, len(other)))
    first, second = shape, other[dropped:]
    return (second, first) if draw(st.booleans()) else (first, second)


def away_from(values: np.ndarray, points=(0.0,), margin: float = 1e-2) -> np.ndarray:
    """values with every element within `margin` of a kink point pushed `2 * margin` away
    from it, so finite differences (far smaller steps) never straddle the kink."""
    values = np.array(values, dtype=np.float64)
    for p in points:
        near = np.abs(values - p) < margin
        values[near] = p + np.where(values[near] >= p, 2 * margin, -2 * margin)
    return values


def distinct(shape: tuple, rng: np.random.Generator, min_gap: float = 1e-2,
             scale: float = 1.0) -> np.ndarray:
    """Values whose pairwise gaps are all at least `min_gap`: no ties for max/min/maximum
    (a random permutation of an evenly spaced grid, shifted and jittered below the gap)."""
    size = int(np.prod(shape))
    step = max(min_gap * 2, scale * 4 / max(size, 1))
    grid = (np.arange(size) - size / 2) * step + rng.uniform(0, step / 4)
    return rng.permutation(grid).reshape(shape)


@st.composite
def arrays(draw, shape, kinks=(), margin: float = 1e-2, scale: float = 1.0,
           no_ties: bool = False, positive: bool = False):
    """A float64 array of `shape` (a tuple or a strategy), normal with std `scale`, drawn
    from a Hypothesis-chosen seed; `kinks` are points to stay `margin` away from,
    `no_ties` makes all values distinct, `positive` keeps them in [0.5, 2.5)."""
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else tuple(shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if positive:
        return rng.uniform(0.5, 2.5, shape)
    values = distinct(shape, rng, scale=scale) if no_ties else rng.normal(0.0, scale, shape)
    return away_from(values, kinks, margin) if kinks else values


def dense_configs():
    """Dense layer configs: units, activation, use_bias."""
    return st.fixed_dictionaries({
        "units": st.integers(1, 5),
        "activation": st.sampled_from([None, "relu", "tanh", "sigmoid", "gelu", "elu", "softmax",
                                       "silu", "softplus", "selu", "mish", "softsign"]),
        "use_bias": st.booleans(),
    })
