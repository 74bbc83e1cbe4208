"""Weight initializers, as in `keras.initializers`: `init(shape, dtype) -> np.ndarray`.

Formulas, defaults and config keys are Keras 3's, so configs move between the two.
Random initializers draw from a numpy Generator: a fresh one from `seed` at every call
when a seed is given (so the same initializer repeats its values), else one derived from
nbkeras's global generator (so `nk.config.set_random_seed` makes runs repeat).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .core.dtype import standardize_dtype
from .core.random import make_generator
from .serialization import ConfigObject, registry, resolve
from .serialization import serialize as serialize  # noqa: F401 (public)

Shape = tuple[int, ...]

@dataclass
class Initializer(ConfigObject):
    """Base class. Subclasses define `generate(shape) -> array` (or override `__call__`)."""

    def __call__(self, shape: Shape, dtype=None) -> np.ndarray:
        """A C-contiguous array of `shape` and `dtype` (floatx by default)."""
        shape = tuple(int(n) for n in shape)
        return np.asarray(self.generate(shape), dtype=standardize_dtype(dtype), order="C")

    def generate(self, shape: Shape) -> np.ndarray:
        """The values (any float array of `shape`); each initializer defines it."""
        raise TypeError(f"{type(self).__name__} must define generate (abstract) or __call__")


@dataclass
class Constant(Initializer):
    """Every entry equals `value`."""

    value: float = 0.0

    def generate(self, shape: Shape) -> np.ndarray:
        return np.full(shape, self.value)


@dataclass
class Zeros(Initializer):
    """All zeros."""

    def generate(self, shape: Shape) -> np.ndarray:
        return np.zeros(shape)


@dataclass
class Ones(Initializer):
    """All ones."""

    def generate(self, shape: Shape) -> np.ndarray:
        return np.ones(shape)


@dataclass
class Identity(Initializer):
    """`gain` times the identity matrix; 2-D shapes only (rectangular allowed)."""

    gain: float = 1.0

    def generate(self, shape: Shape) -> np.ndarray:
        if len(shape) != 2:
            raise ValueError(f"Identity initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return self.gain * np.eye(*shape)


class RandomInitializer(Initializer):
    """Base of the random initializers; subclasses declare `seed: int | None = None` last,
    after their own fields, so positional arguments follow Keras's order."""

    seed: int | None

    def __post_init__(self) -> None:
        if self.seed is not None and (isinstance(self.seed, bool) or
                                      not isinstance(self.seed, (int, np.integer))):
            raise ValueError(f"{type(self).__name__}: seed must be an int or None; "
                             f"received seed={self.seed!r}")

    def rng(self) -> np.random.Generator:
        """A generator from `seed`, or from nbkeras's global generator when seed is None."""
        return make_generator(None if self.seed is None else int(self.seed))


def draw_truncated_normal(rng: np.random.Generator, shape: Shape, mean: float,
                     stddev: float) -> np.ndarray:
    """N(mean, stddev²) draws of `shape`, redrawing any beyond 2 stddev of the mean."""
    values = rng.normal(mean, stddev, shape)
    outside = np.abs(values - mean) > 2 * stddev
    while outside.any():
        values[outside] = rng.normal(mean, stddev, int(outside.sum()))
        outside = np.abs(values - mean) > 2 * stddev
    return values


@dataclass
class RandomNormal(RandomInitializer):
    """Draws from N(mean, stddev²)."""

    mean: float = 0.0
    stddev: float = 0.05
    seed: int | None = None

    def generate(self, shape: Shape) -> np.ndarray:
        return self.rng().normal(self.mean, self.stddev, shape)


@dataclass
class RandomUniform(RandomInitializer):
    """Draws from U[minval, maxval)."""

    minval: float = -0.05
    maxval: float = 0.05
    seed: int | None = None

    def generate(self, shape: Shape) -> np.ndarray:
        return self.rng().uniform(self.minval, self.maxval, shape)


@dataclass
class TruncatedNormal(RandomInitializer):
    """Draws from N(mean, stddev²), redrawing values more than 2 stddev from the mean."""

    mean: float = 0.0
    stddev: float = 0.05
    seed: int | None = None

    def generate(self, shape: Shape) -> np.ndarray:
        return draw_truncated_normal(self.rng(), shape, self.mean, self.stddev)


def compute_fans(shape: Shape, input_axes=None, output_axes=None) -> tuple[int, int]:
    """(fan_in, fan_out) as Keras computes them: the products of the sizes of `input_axes`
    and `output_axes` when both are given (EinsumDense's kernels); else (in, out) for a
    matrix, n for a vector, receptive field size times (in, out) for a conv kernel (..., in,
    out), 1 for a scalar."""
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[a] for a in input_axes),
                math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
# stddev of the standard normal truncated to [-2, 2]; dividing by it restores the variance.
_TRUNCATED_STDDEV = 0.87962566103423978


class ScaledInitializer(RandomInitializer):
    """Variance `scale / n` with n the fan of `mode`: shared by VarianceScaling and its presets."""

    scale: float
    mode: str
    distribution: str

    def generate(self, shape: Shape) -> np.ndarray:
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        variance = self.scale / max(1.0, fan[self.mode])
        rng = self.rng()
        if self.distribution == "truncated_normal":
            return draw_truncated_normal(rng, shape, 0.0, math.sqrt(variance) / _TRUNCATED_STDDEV)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(variance), shape)
        limit = math.sqrt(3.0 * variance)
        return rng.uniform(-limit, limit, shape)


@dataclass
class VarianceScaling(ScaledInitializer):
    """Variance `scale / fan` (fan_in, fan_out or their mean); distribution "truncated_normal"
    (alias "normal"), "untruncated_normal" or "uniform"."""

    scale: float = 1.0
    mode: str = "fan_in"
    distribution: str = "truncated_normal"
    seed: int | None = None
    input_axes: list | None = None      # the kernel axes that count as fan in and fan out
    output_axes: list | None = None     # (both, or neither: compute_fans)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.scale > 0.0:
            raise ValueError(f"VarianceScaling: scale must be a positive float; "
                             f"received scale={self.scale!r}")
        if self.mode not in _MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {_MODES}; "
                             f"received mode={self.mode!r}")
        self.distribution = str(self.distribution).lower()
        if self.distribution == "normal":
            self.distribution = "truncated_normal"
        if self.distribution not in _DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: distribution must be one of {_DISTRIBUTIONS}; "
                             f"received distribution={self.distribution!r}")


@dataclass
class _Preset(ScaledInitializer):
    """A VarianceScaling whose scale, mode and distribution are fixed class attributes;
    its config is the seed and the fan axes, as in Keras."""

    seed: int | None = None
    input_axes: list | None = None
    output_axes: list | None = None


@dataclass
class GlorotUniform(_Preset):
    """U[-limit, limit] with limit = sqrt(6 / (fan_in + fan_out))."""

    scale, mode, distribution = 1.0, "fan_avg", "uniform"


@dataclass
class GlorotNormal(_Preset):
    """Truncated normal with stddev = sqrt(2 / (fan_in + fan_out))."""

    scale, mode, distribution = 1.0, "fan_avg", "truncated_normal"


@dataclass
class HeUniform(_Preset):
    """U[-limit, limit] with limit = sqrt(6 / fan_in)."""

    scale, mode, distribution = 2.0, "fan_in", "uniform"


@dataclass
class HeNormal(_Preset):
    """Truncated normal with stddev = sqrt(2 / fan_in)."""

    scale, mode, distribution = 2.0, "fan_in", "truncated_normal"


@dataclass
class LecunUniform(_Preset):
    """U[-limit, limit] with limit = sqrt(3 / fan_in)."""

    scale, mode, distribution = 1.0, "fan_in", "uniform"


@dataclass
class LecunNormal(_Preset):
    """Truncated normal with stddev = sqrt(1 / fan_in)."""

    scale, mode, distribution = 1.0, "fan_in", "truncated_normal"


@dataclass
class Orthogonal(RandomInitializer):
    """`gain` times a random orthogonal matrix (Q of the QR of a normal draw), shaped
    (prod(shape[:-1]), shape[-1]) and reshaped: orthonormal rows or columns, whichever fit."""

    gain: float = 1.0
    seed: int | None = None

    def generate(self, shape: Shape) -> np.ndarray:
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the tensor to initialize must be at least "
                             f"two-dimensional. Received: shape={shape} of rank {len(shape)}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        q, r = np.linalg.qr(self.rng().standard_normal((max(rows, cols), min(rows, cols))))
        q = q * np.sign(np.diag(r))  # makes Q uniformly distributed over orthogonal matrices
        return self.gain * (q.T if rows < cols else q).reshape(shape)


@dataclass
class STFT(Initializer):
    """Kernels (frame_length, 1, fft_length // 2 + 1) of a short-time Fourier transform, as
    Keras's: cos (side "real") or sin (side "imag") of -2 pi t f / fft_length, times a window
    (a scipy.signal.windows name, its values, or None) divided by its L2 norm (scaling
    "density") or its sum (scaling "spectrum"); `periodic` windows as scipy's."""

    side: str = "real"
    window: str | list | None = "hann"
    scaling: str | None = "density"
    periodic: bool = False

    def __post_init__(self) -> None:
        if self.side not in ("real", "imag"):
            raise ValueError(f"STFT: side should be 'real' or 'imag', not {self.side!r}")
        if isinstance(self.window, str):
            import scipy.signal   # here, not at import: loading scipy.signal takes a while

            try:
                scipy.signal.get_window(self.window, 1)
            except ValueError as error:
                raise ValueError(f"STFT: unknown window {self.window!r} (a name in "
                                 f"scipy.signal.windows): {error}") from error
        if self.scaling is not None and self.scaling not in ("density", "spectrum"):
            raise ValueError("STFT: scaling is invalid, it must be None, 'density' or "
                             f"'spectrum'. Received scaling={self.scaling!r}")

    def generate(self, shape: Shape) -> np.ndarray:
        if len(shape) != 3:
            raise ValueError(f"STFT: the shape must be (frame_length, input_channels, "
                             f"fft_length // 2 + 1). Received: shape={shape}")
        frame_length, _, bins = shape
        time = np.arange(frame_length, dtype=np.float64).reshape(frame_length, 1, 1)
        freq = np.arange(bins, dtype=np.float64).reshape(1, 1, bins) / ((bins - 1) * 2)
        args = -2.0 * time * freq * np.pi
        kernel = np.cos(args) if self.side == "real" else np.sin(args)
        if self.window is None:
            return kernel
        import scipy.signal

        window = (scipy.signal.get_window(self.window, frame_length, self.periodic)
                  if isinstance(self.window, str) else np.asarray(self.window, np.float64))
        if window.ndim != 1 or window.shape[-1] != frame_length:
            raise ValueError(f"STFT: the shape of `window` must be equal to [frame_length]. "
                             f"Received: window shape={window.shape}")
        window = window.reshape(frame_length, 1, 1)
        scale = {"density": lambda: np.sqrt(np.sum(np.square(window))),
                 "spectrum": lambda: np.sum(np.abs(window)), None: lambda: 1.0}[self.scaling]()
        return kernel * window / scale


# Keras's lowercase aliases, and its names kept for compatibility.
constant, zeros, ones, identity, stft = Constant, Zeros, Ones, Identity, STFT
IdentityInitializer, OrthogonalInitializer, STFTInitializer = Identity, Orthogonal, STFT
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, Orthogonal
glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal = (
    GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal)

_INITIALIZERS = registry(
    [Constant, Zeros, Ones, Identity, RandomNormal, RandomUniform, TruncatedNormal,
     VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
     LecunNormal, Orthogonal, STFT],
    zero=Zeros, one=Ones, normal=RandomNormal, uniform=RandomUniform,
    OrthogonalInitializer=Orthogonal, IdentityInitializer=Identity, STFTInitializer=STFT)


def get(identifier) -> Initializer | Callable | None:
    """An initializer from None, a Keras name ("glorot_uniform", "GlorotUniform"), a dict
    `{"class_name": ..., "config": {...}}`, a class, an instance or a callable `(shape, dtype)`."""
    return resolve(identifier, "initializer", _INITIALIZERS)


def deserialize(config, custom_objects: dict | None = None) -> Initializer | Callable | None:
    """The initializer a `serialize` dict (Keras's or nbkeras's) or a name describes;
    `custom_objects` adds names of your own classes."""
    return resolve(config, "initializer", {**_INITIALIZERS, **(custom_objects or {})})

