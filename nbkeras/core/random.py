"""nbkeras's random generators: one global numpy Generator, reseeded by `set_random_seed`,
and per-layer generators derived from it (or from a layer's own `seed`)."""
from __future__ import annotations

import numpy as np

_global = np.random.default_rng()


def reset_global_generator(seed: int) -> None:
    global _global
    _global = np.random.default_rng(seed)


def global_generator() -> np.random.Generator:
    return _global


def make_generator(seed: int | None = None) -> np.random.Generator:
    """A fresh generator: from `seed` if given, else drawn from the global generator, so
    that `set_random_seed` makes every unseeded layer repeat too."""
    if seed is None:
        seed = int(_global.integers(2**63))
    return np.random.default_rng(seed)
