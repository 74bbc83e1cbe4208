"""The CPU normalization kernels in float32 keep their precision when a channel's mean is far
larger than its spread (inputs that are not zero-centred, as raw pixel values or a layer
without a bias before batch normalization give)."""
import numpy as np
import pytest

from nbkeras.kernels import cpu


@pytest.mark.parametrize("layout", ["batch_channels_last", "layer"])
@pytest.mark.parametrize("loc", [0.0, 1e4])
def test_float32_backward_is_as_precise_as_float64_with_a_large_mean(layout, loc):
    rng = np.random.default_rng(3)
    shape = (1, 64, 3, 1) if layout == "batch_channels_last" else (8, 1, 1, 24)
    x = (loc + 0.01 * rng.standard_normal(shape)).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    gamma = rng.uniform(0.5, 2.0, shape[2:]).astype(np.float32)
    _, mean, variance = cpu.normalize_forward(x, gamma, None, None, None, 1e-3, True)
    got = cpu.normalize_backward(dy, x, gamma, mean, variance, 1e-3, True, True)[0]
    want = cpu.normalize_backward(dy.astype(np.float64), x.astype(np.float64),
                                  gamma.astype(np.float64), mean.astype(np.float64),
                                  variance.astype(np.float64), 1e-3, True, True)[0]
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4 * scale)
