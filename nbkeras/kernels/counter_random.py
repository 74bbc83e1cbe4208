"""The counter-based random numbers both devices draw: 64 random bits are a splitmix64 hash
of (seed, counter, index), with no state, so element `index` of draw `counter` of a stream
`seed` is the same number on the CPU and on a GPU, whatever the thread layout.

Plain Python over numpy integer types, each function on its own (a compiled function can
only call compiled ones): kernels/cpu compiles them with `@njit`, kernels/cuda as inlined
device functions, and a kernel composes `unit32(random_bits(seed, counter, i))`.
"""
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_COUNTER = np.uint64(0xD1B54A32D192ED03)
_SHIFT_30, _SHIFT_27, _SHIFT_31 = np.uint64(30), np.uint64(27), np.uint64(31)
_SHIFT_40, _SHIFT_11 = np.uint64(40), np.uint64(11)
_TWO_TO_MINUS_24 = np.float32(2.0 ** -24)
_TWO_TO_MINUS_53 = np.float64(2.0 ** -53)


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
