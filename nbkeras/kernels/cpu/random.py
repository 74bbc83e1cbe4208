"""Seeding of Numba's internal generator (separate from numpy's, per thread)."""
import numpy as np
from numba import njit


@njit(cache=True)
def seed_numba(seed):
    np.random.seed(seed)
