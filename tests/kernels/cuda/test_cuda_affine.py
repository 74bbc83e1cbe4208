"""The CUDA affine image resampler computes what the CPU one computes (both orders, every fill
mode, flips, unmoved images) on Hypothesis-drawn small batches whose matrices reach past every
edge, and on a batch with more elements than the simulator's grid has threads."""
import inspect

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.api import AFFINE_FILL_MODES
from nbkeras.kernels.cpu import affine as cpu
from nbkeras.kernels.cuda import affine as cuda
from nbkeras.kernels.cuda.runtime import MAX_BLOCKS, THREADS, to_host


def _check(x, rng, order, mode) -> None:
    batch = x.shape[0]
    matrices = rng.uniform(-2, 2, (batch, 2, 3))
    matrices[:, :, 2] *= 3
    moved, flips = rng.random(batch) < 0.8, rng.random((batch, 2)) < 0.5
    got = to_host(cuda.affine_transform_images(x, matrices, moved, flips, order, mode, 0.25))
    want = cpu.affine_transform_images(x, matrices, moved, flips, order, mode, 0.25)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    np.testing.assert_allclose(got, want, rtol=1e-6 if x.dtype == np.float32 else 1e-13,
                               atol=1e-6 if x.dtype == np.float32 else 1e-13)


def test_exports_the_cpu_functions_with_their_signatures():
    assert cuda.__all__ == cpu.__all__
    for name in cpu.__all__:
        assert (inspect.signature(getattr(cuda, name))
                == inspect.signature(getattr(cpu, name))), name


@settings(max_examples=8)
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5),
                       st.integers(1, 3)),
       order=st.sampled_from([0, 1]), mode=st.sampled_from(AFFINE_FILL_MODES),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1))
def test_matches_cpu(shape, order, mode, dtype, seed):
    rng = np.random.default_rng(seed)
    _check(rng.standard_normal(shape).astype(dtype), rng, order, mode)


def test_grid_loops_over_more_elements_than_threads():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, THREADS * MAX_BLOCKS // 2 + 3, 1)).astype(np.float32)
    _check(x, rng, 1, "reflect")
