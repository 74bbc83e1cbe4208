"""nbkeras/ops/signal.py: fft, fft2, ifft2, rfft, irfft, stft, istft, extract_sequences and the
complex views.

Forwards against numpy.fft and scipy.signal in float64 (Keras's own numpy backend computes
stft/istft with scipy.signal and rescales: the references repeat that), shapes of KerasTensor
calls against the eager ones, gradients against central differences, on every device of the
`device` fixture."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, check_composed_grads


def assert_pair(got, expected_complex, rtol=1e-9, atol=1e-9):
    assert_matches(got[0], expected_complex.real, rtol=rtol, atol=atol)
    assert_matches(got[1], expected_complex.imag, rtol=rtol, atol=atol)


def both_parts(fn):
    """A real-valued function of fn's (real, imag) output for check_grads."""
    return lambda re, im: ops.add(*[ops.multiply(part, i + 1.0) for i, part in
                                    enumerate(fn((re, im)))])


@given(shape=nst.shapes(1, 3, 1, 6), seed=st.integers(0, 2**32 - 1))
def test_fft_and_its_2d_forms(device, shape, seed):
    rng = np.random.default_rng(seed)
    re, im = rng.standard_normal(shape), rng.standard_normal(shape)
    assert_pair(ops.fft((re, im)), np.fft.fft(re + 1j * im))
    check_composed_grads(both_parts(ops.fft), [re, im])
    if len(shape) >= 2:
        assert_pair(ops.fft2((re, im)), np.fft.fft2(re + 1j * im))
        assert_pair(ops.ifft2((re, im)), np.fft.ifft2(re + 1j * im))
        check_composed_grads(both_parts(ops.ifft2), [re, im])


@given(shape=nst.shapes(1, 3, 1, 7), fft_length=st.one_of(st.none(), st.integers(1, 9)),
       seed=st.integers(0, 2**32 - 1))
def test_rfft_and_irfft(device, shape, fft_length, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    assert_pair(ops.rfft(x, fft_length), np.fft.rfft(x, fft_length))
    check_composed_grads(lambda t: ops.add(*ops.rfft(t, fft_length)), [x])
    bins = rng.standard_normal(shape), rng.standard_normal(shape)
    n = fft_length or 2 * (shape[-1] - 1)
    if n > 0:
        assert_matches(ops.irfft(bins, fft_length), np.fft.irfft(bins[0] + 1j * bins[1], n))
        check_composed_grads(lambda re, im: ops.irfft((re, im), fft_length), list(bins))


def test_symbolic_shapes_match_eager(device):
    x = np.random.default_rng(0).standard_normal((2, 40))
    symbolic = nk.KerasTensor((None, 40), "float64")
    for fn in (lambda t: ops.rfft(t, 16)[0], lambda t: ops.stft(t, 8, 4, 16)[1],
               lambda t: ops.extract_sequences(t, 6, 3), lambda t: ops.fft((t, t))[0]):
        assert fn(symbolic).shape == (None, *fn(x).shape[1:])


def reference_stft(x, length, stride, fft_length, window, center):
    """Keras's numpy-backend recipe: reflect padding, scipy.signal.stft, unscaled."""
    if center:
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(fft_length // 2,) * 2], mode="reflect")
    win = scipy.signal.get_window(window, length) if isinstance(window, str) else (
        np.ones(length) if window is None else window)
    left = (fft_length - length) // 2
    win = np.pad(win, (left, fft_length - length - left))
    z = scipy.signal.stft(x, window=win, nperseg=fft_length, noverlap=fft_length - stride,
                          nfft=fft_length, boundary=None, padded=False, detrend=False)[-1]
    return np.swapaxes(z * win.sum(), -2, -1)


def reference_istft(z, length, stride, fft_length, window, center, size):
    win = scipy.signal.get_window(window, length) if isinstance(window, str) else (
        np.ones(length) if window is None else window)
    left = (fft_length - length) // 2
    win = np.pad(win, (left, fft_length - length - left))
    with warnings.catch_warnings():     # the ends overlap no window: scipy warns, as expected
        warnings.filterwarnings("ignore", "NOLA condition failed")
        x = scipy.signal.istft(z, window=win, nperseg=fft_length, noverlap=fft_length - stride,
                               nfft=fft_length, boundary=False, time_axis=-2, freq_axis=-1)[-1]
    x = x / win.sum() if window is not None else x / stride
    start = fft_length // 2 if center else 0
    return x[..., start:start + size]


CONFIGS = [(8, 4, 8, "hann", True), (7, 3, 16, "hamming", False), (8, 2, 8, None, True),
           (6, 2, 8, "custom", True)]


@pytest.mark.parametrize("length, stride, fft_length, window, center", CONFIGS)
@given(size=st.integers(17, 40), seed=st.integers(0, 2**32 - 1))
def test_stft_and_istft_match_scipy(device, length, stride, fft_length, window, center, size,
                                    seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, size))
    if window == "custom":
        window = rng.uniform(0.5, 1.5, length)
    spectrum = ops.stft(x, length, stride, fft_length, window, center)
    expected = reference_stft(x, length, stride, fft_length, window, center)
    assert_pair(spectrum, expected)
    signal = ops.istft(spectrum, length, stride, fft_length, size - 3, window, center)
    assert_matches(signal, reference_istft(expected, length, stride, fft_length, window, center,
                                           size - 3), rtol=1e-8, atol=1e-9)
    check_composed_grads(lambda t: ops.add(*ops.stft(t, length, stride, fft_length,
                                                            window, center)), [x])
    check_composed_grads(lambda re, im: ops.istft((re, im), length, stride, fft_length,
                                                        None, window, center),
                       [expected.real, expected.imag])


def test_extract_sequences(device):
    x = np.random.default_rng(1).standard_normal((3, 11))
    expected = np.stack([x[:, s:s + 4] for s in range(0, 8, 3)], axis=1)
    assert_matches(ops.extract_sequences(x, 4, 3), expected)
    check_composed_grads(lambda t: ops.extract_sequences(t, 4, 3), [x])


def test_bad_arguments_name_the_op(device):
    with pytest.raises(ValueError, match="fft: x must be a \\(real, imag\\) tuple"):
        ops.fft(np.ones(4))
    with pytest.raises(ValueError, match="stft: fft_length must be >= sequence_length"):
        ops.stft(np.ones(20), 8, 4, 4)
    with pytest.raises(ValueError, match="stft: a window name must be 'hann' or 'hamming'"):
        ops.stft(np.ones(20), 8, 4, 8, window="blackman")
    with pytest.raises(ValueError, match=r"stft: the window must have shape \(8,\)"):
        ops.stft(np.ones(20), 8, 4, 8, window=np.ones(5))


def test_complex_views_round_trip():
    x = np.random.default_rng(2).standard_normal((3, 2)).astype(np.float32)
    c = ops.view_as_complex(x)
    assert c.dtype == "complex64"
    np.testing.assert_array_equal(c.numpy(), x[:, 0] + 1j * x[:, 1])
    np.testing.assert_array_equal(ops.view_as_real(c).numpy(), x)
    with pytest.raises(ValueError, match="view_as_complex: x must be float with a last axis of 2"):
        ops.view_as_complex(np.ones((3, 3)))


@pytest.mark.parametrize("dtype, complex_dtype", [("float32", "complex64"),
                                                  ("float64", "complex128"),
                                                  ("int32", "complex64")])
def test_polar(device, dtype, complex_dtype):
    rng = np.random.default_rng(3)
    magnitude = rng.uniform(0, 3, (2, 3)).astype(dtype)
    angle = rng.uniform(-3, 3, (3,)).astype(dtype)
    z = ops.polar(magnitude, angle)
    assert z.dtype == complex_dtype and z.shape == (2, 3)
    expected = magnitude.astype(np.float64) * np.exp(1j * angle.astype(np.float64))
    np.testing.assert_allclose(np.asarray(z), expected, rtol=1e-6, atol=1e-6)
    assert ops.polar(2.0, np.float32(0.5)).shape == ()
