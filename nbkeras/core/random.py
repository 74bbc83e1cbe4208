"""nbkeras's random generators: one global numpy Generator, reseeded by `set_random_seed`,
per-layer numpy generators derived from it (initializers), and `SeedGenerator` streams for
the noise drawn in kernels (dropout masks, Gaussian noise), which are counter-based and give
the same numbers on every device."""
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


class SeedGenerator:
    """A stream of random draws, as Keras's `keras.random.SeedGenerator(seed)`: draw number
    `counter` of stream `seed` is the same on the CPU and on a GPU (kernels/counter_random.py).
    Without a seed, the stream's seed comes from the global generator (`set_random_seed`)."""

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs):
        if kwargs:
            raise ValueError(f"SeedGenerator: unrecognized keyword arguments {kwargs}")
        if seed is not None and (isinstance(seed, bool)
                                 or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"SeedGenerator: seed must be an int or None; received seed={seed!r}")
        self._initial_seed = seed
        self.seed = int(_global.integers(2**63)) if seed is None else int(seed) % 2**64
        self.counter = 0
        self.name = name or "seed_generator"

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "SeedGenerator":
        return cls(**config)

    def next(self) -> tuple[int, int]:
        """(seed, counter) of the next draw."""
        state = (self.seed, self.counter)
        self.counter += 1
        return state

    def __repr__(self) -> str:
        return f"<SeedGenerator seed={self.seed} counter={self.counter}>"


def draw_state(seed) -> tuple[int, int]:
    """(seed, counter) for a draw: the next of a SeedGenerator; (seed, 0) for an int (the same
    numbers every call, as Keras); the next of a fresh global stream for None."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        return (int(_global.integers(2**63)), 0)
    return (int(seed) % 2**64, 0)
