"""Fourier transforms and framing, as keras.ops: fft, fft2, ifft2, rfft, irfft, stft, istft,
extract_sequences; complex values travel as (real, imag) pairs of float tensors, as in Keras.

A transform along an axis of length n is a product with its n x n cosine and sine matrices
(made once per length on the host in float64): BLAS on the CPU, the GEMM kernel on CUDA, and
exact gradients through matmul's VJP. That is O(n^2) per row rather than an FFT's
O(n log n): a win for the frame lengths of `stft` (up to a few thousand), a loss for long
signals, where an FFT kernel would pay. Framing and overlap-add are gathers and segment sums.
`view_as_complex` / `view_as_real` reinterpret memory (complex tensors are values only:
nbkeras differentiates real tensors).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import config
from ..core.dtype import is_float
from ..core.tensor import Tensor
from .elementwise import add, divide, multiply, negative, subtract
from .manipulation import swapaxes
from .matmul import matmul
from .op import convert_to_tensor
from .padding import pad
from .scatter import segment_sum
from .shape import GetItem, reshape, stack, transpose

__all__ = ["fft", "fft2", "ifft2", "rfft", "irfft", "stft", "istft", "extract_sequences",
           "view_as_complex", "view_as_real", "polar"]


@lru_cache(maxsize=64)
def _waves(n: int, rows: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of 2 pi j k / n for j < rows, k < columns (float64, read-only)."""
    angle = 2 * np.pi * np.outer(np.arange(rows), np.arange(columns) % n) / n
    cos, sin = np.cos(angle), np.sin(angle)
    cos.flags.writeable = sin.flags.writeable = False
    return cos, sin


def _float(x, who: str):
    x = x if hasattr(x, "shape") and not isinstance(x, np.ndarray) else convert_to_tensor(x)
    if not is_float(x.dtype):
        x = convert_to_tensor(x, config.floatx())
    if len(x.shape) < 1:
        raise ValueError(f"{who}: x must have rank >= 1; received shape {x.shape}")
    return x


def _parts(x, who: str):
    """The (real, imag) pair of a complex input, as float tensors of one shape."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{who}: x must be a (real, imag) tuple of tensors; received "
                         f"{type(x).__name__}")
    real, imag = _float(x[0], who), _float(x[1], who)
    if tuple(real.shape) != tuple(imag.shape):
        raise ValueError(f"{who}: the real and imaginary parts must have one shape; received "
                         f"{real.shape} and {imag.shape}")
    return real, imag


def _matrix(values: np.ndarray, like) -> Tensor:
    return convert_to_tensor(values, like.dtype, device=getattr(like, "device", None))


def _dft_last(real, imag, inverse: bool):
    """The (inverse) discrete Fourier transform of real + i imag along the last axis."""
    n = real.shape[-1]
    cos, sin = (_matrix(m, real) for m in _waves(n, n, n))
    sign = 1.0 if inverse else -1.0      # e^(sign i theta) = cos + sign i sin
    out_real = add(matmul(real, cos), multiply(matmul(imag, sin), -sign))
    out_imag = add(matmul(imag, cos), multiply(matmul(real, sin), sign))
    return (divide(out_real, n), divide(out_imag, n)) if inverse else (out_real, out_imag)


def fft(x):
    """The discrete Fourier transform along the last axis of x = (real, imag)."""
    return _dft_last(*_parts(x, "fft"), inverse=False)


def _dft_2d(x, who: str, inverse: bool):
    real, imag = _parts(x, who)
    if len(real.shape) < 2:
        raise ValueError(f"{who}: x must have rank >= 2; received shape {real.shape}")
    real, imag = _dft_last(real, imag, inverse)
    real, imag = _dft_last(swapaxes(real, -1, -2), swapaxes(imag, -1, -2), inverse)
    return swapaxes(real, -1, -2), swapaxes(imag, -1, -2)


def fft2(x):
    """The 2-D discrete Fourier transform over the last two axes of x = (real, imag)."""
    return _dft_2d(x, "fft2", inverse=False)


def ifft2(x):
    """The inverse 2-D discrete Fourier transform over the last two axes."""
    return _dft_2d(x, "ifft2", inverse=True)


def _fit_last(x, length: int):
    """x cropped or zero-padded at the end of its last axis to `length`."""
    size = x.shape[-1]
    if size > length:
        return GetItem((Ellipsis, np.s_[:length]))(x)
    if size < length:
        return pad(x, [(0, 0)] * (len(x.shape) - 1) + [(0, length - size)])
    return x


def rfft(x, fft_length=None):
    """The transform of real x along its last axis (cropped or zero-padded to fft_length):
    the fft_length // 2 + 1 non-negative frequencies, as (real, imag)."""
    x = _float(x, "rfft")
    n = int(fft_length or x.shape[-1])
    x = _fit_last(x, n)
    cos, sin = (_matrix(m, x) for m in _waves(n, n, n // 2 + 1))
    return matmul(x, cos), negative(matmul(x, sin))


def irfft(x, fft_length=None):
    """The real signal of length fft_length (default 2 (m - 1)) whose rfft is x = (real, imag)
    of m bins; bins beyond fft_length // 2 + 1 are dropped, missing ones are zero."""
    real, imag = _parts(x, "irfft")
    n = int(fft_length or 2 * (real.shape[-1] - 1))
    if n <= 0:
        raise ValueError(f"irfft: fft_length must be positive; received {fft_length!r} for "
                         f"{real.shape[-1]} bins")
    bins = n // 2 + 1
    real, imag = _fit_last(real, bins), _fit_last(imag, bins)
    weight = np.full((bins, 1), 2.0)
    weight[0] = 1.0
    if n % 2 == 0:
        weight[-1] = 1.0                 # the Nyquist bin counts once
    cos, sin = _waves(n, bins, n)
    return subtract(matmul(real, _matrix(weight * cos / n, real)),
                    matmul(imag, _matrix(weight * sin / n, real)))


def _frame_starts(size: int, length: int, stride: int, who: str) -> np.ndarray:
    if length <= 0 or stride <= 0:
        raise ValueError(f"{who}: sequence_length and sequence_stride must be positive; "
                         f"received {length} and {stride}")
    return np.arange(max((size - length) // stride + 1, 0)) * stride


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` every `sequence_stride` along the last axis:
    (..., n) -> (..., frames, sequence_length)."""
    x = x if hasattr(x, "shape") and not isinstance(x, np.ndarray) else convert_to_tensor(x)
    starts = _frame_starts(x.shape[-1], int(sequence_length), int(sequence_stride),
                           "extract_sequences")
    return GetItem((Ellipsis, starts[:, None] + np.arange(int(sequence_length))))(x)


def _window(window, sequence_length: int, fft_length: int, like, who: str):
    """The window centred in fft_length (host float64 for a name, else the tensor), or None."""
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"{who}: a window name must be 'hann' or 'hamming'; received "
                             f"{window!r}")
        from scipy.signal import get_window
        window = get_window(window, sequence_length)        # periodic, as Keras
    elif not hasattr(window, "shape") or isinstance(window, np.ndarray):
        window = np.asarray(window, np.float64)
    if tuple(window.shape) != (sequence_length,):
        raise ValueError(f"{who}: the window must have shape ({sequence_length},); received "
                         f"{tuple(window.shape)}")
    left = (fft_length - sequence_length) // 2
    pairs = [(left, fft_length - sequence_length - left)]
    if isinstance(window, np.ndarray):
        return np.pad(window, pairs)
    return pad(convert_to_tensor(window, like.dtype), pairs)


def _check_lengths(sequence_length: int, fft_length: int, who: str):
    if fft_length < sequence_length:
        raise ValueError(f"{who}: fft_length must be >= sequence_length; received "
                         f"sequence_length={sequence_length}, fft_length={fft_length}")


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform along the last axis: frames of fft_length every
    sequence_stride (reflect-padded by fft_length // 2 at both ends if `center`), windowed,
    transformed: (real, imag), each (..., frames, fft_length // 2 + 1)."""
    sequence_length, fft_length = int(sequence_length), int(fft_length)
    _check_lengths(sequence_length, fft_length, "stft")
    x = _float(x, "stft")
    if center:
        size, half = x.shape[-1], fft_length // 2
        x = GetItem((Ellipsis, np.pad(np.arange(size), half, mode="reflect")))(x)
    frames = extract_sequences(x, fft_length, sequence_stride)
    window = _window(window, sequence_length, fft_length, x, "stft")
    if window is not None:
        frames = multiply(frames, window if not isinstance(window, np.ndarray)
                          else _matrix(window, frames))
    return rfft(frames, fft_length)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """The inverse of `stft`: each frame's irfft, windowed and overlap-added, divided by the
    overlapping windows' squares (where above 1e-10), then the centre padding removed and
    cut to `length` if given."""
    sequence_length, fft_length = int(sequence_length), int(fft_length)
    stride = int(sequence_stride)
    _check_lengths(sequence_length, fft_length, "istft")
    real, _ = _parts(x, "istft")
    frames = irfft(x, fft_length)                                  # (..., T, fft_length)
    count = real.shape[-2]
    window = _window(window, sequence_length, fft_length, real, "istft")
    host_window = (np.ones(fft_length) if window is None else window
                   if isinstance(window, np.ndarray) else window.numpy().astype(np.float64))
    if window is not None:
        frames = multiply(frames, window if not isinstance(window, np.ndarray)
                          else _matrix(window, frames))
    else:
        frames = multiply(frames, fft_length / stride)              # Keras's scale
    total = fft_length + stride * (count - 1)
    cells = (np.arange(count)[:, None] * stride + np.arange(fft_length)).reshape(-1)
    batch = tuple(frames.shape[:-2])
    columns = reshape(frames, (-1, count * fft_length))               # (B, T F)
    added = transpose(segment_sum(transpose(columns, (1, 0)), cells, total), (1, 0))
    norm = np.zeros(total)
    np.add.at(norm, cells, np.tile(host_window ** 2, count))
    signal = reshape(divide(added, _matrix(np.where(norm > 1e-10, norm, 1.0), added)),
                     batch + (total,))
    start = fft_length // 2 if center else 0
    end = (start + int(length) if length is not None else
           total - fft_length // 2 if center else total)
    return GetItem((Ellipsis, np.s_[start:end]))(signal)


def _contiguous(x: Tensor):
    """x's array, C-contiguous (device arrays always are)."""
    return np.ascontiguousarray(x.data) if isinstance(x.data, np.ndarray) else x.data


def view_as_complex(x):
    """A complex tensor from x (..., 2) = (real, imag) in the last axis (a value: complex
    tensors carry no gradient)."""
    x = convert_to_tensor(x)
    if not x.shape or x.shape[-1] != 2 or not is_float(x.dtype):
        raise ValueError(f"view_as_complex: x must be float with a last axis of 2; received "
                         f"shape {x.shape}, dtype {x.dtype}")
    complex_dtype = np.complex64 if x.dtype == "float32" else np.complex128
    return Tensor(_contiguous(x).view(complex_dtype).reshape(x.shape[:-1]))


def view_as_real(x):
    """x's complex values as (..., 2) floats (real, imag)."""
    x = convert_to_tensor(x)
    if np.dtype(x.dtype).kind != "c":
        raise ValueError(f"view_as_real: x must be complex; received dtype {x.dtype}")
    floats = np.float32 if x.dtype == "complex64" else np.float64
    return Tensor(_contiguous(x).view(floats).reshape(tuple(x.shape) + (2,)))


def polar(abs_, angle):
    """The complex tensor abs_ * (cos(angle) + i sin(angle)), broadcast (complex64 from
    float32 or integer inputs, complex128 from float64; a value: complex tensors carry no
    gradient)."""
    from .math import cos, sin            # math builds on the ops this module uses

    magnitude, theta = (convert_to_tensor(v) for v in (abs_, angle))
    if not is_float(magnitude.dtype):
        magnitude = convert_to_tensor(magnitude, config.floatx())
    real, imag = multiply(magnitude, cos(theta)), multiply(magnitude, sin(theta))
    return view_as_complex(stack([real, imag], -1))
