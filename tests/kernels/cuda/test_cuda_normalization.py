"""The CUDA normalization kernels compute what the CPU ones compute, forward and backward, on
Hypothesis-drawn tiny (P, M, Q, K) views of every layout (batch norm with the channels last,
P == 1 and K == 1, which takes the column-reduction path; batch norm with the channels first;
layer norm, M == Q == 1; group norm, any view), with or without gamma/beta, with the batch's
or given statistics, centered or rms, and on fixed sizes where the kernels loop: groups larger
than a block, more column tiles and row chunks than the grid has blocks, sizes that are no
multiple of the block.

The reference is the CPU kernel run in float64 on the same values: the CPU's float32
channels-last backward folds the mean into its constant term (x * coef_x + coef_0), which
cancels where the group is tiny or rms-scaled, whereas the CUDA kernels keep (x - mean)."""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import normalization as cpu
from nbkeras.kernels.cuda import normalization as cuda
from nbkeras.kernels.cuda.runtime import THREADS, to_device, to_host

# float64 leaves room for the conditioning of the backward: with a group of one element and
# loc 5, 1 - x_hat ** 2 cancels about seven digits, and the two devices order the sums apart
TOLERANCE = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-8, atol=1e-10)}
DTYPES = [np.float32, np.float64]
SIDE = st.integers(1, 4)
LAYOUTS = {   # strategies of (P, M, Q, K)
    "batch_channels_last": st.tuples(st.just(1), SIDE, SIDE, st.just(1)),
    "batch_channels_first": st.tuples(st.just(1), SIDE, SIDE, SIDE),
    "layer": st.tuples(SIDE, st.just(1), st.just(1), SIDE),
    "group": st.tuples(SIDE, SIDE, SIDE, SIDE),
}


def _device(a):
    return None if a is None else to_device(a)


def _float64(a):
    return None if a is None else a.astype(np.float64)


def _check(x, dy, gamma, beta, statistics, epsilon, center):
    """CUDA forward and backward (on device arrays) against the CPU's in float64; the
    backward of both gets the CUDA forward's statistics, or the given ones."""
    tolerance = TOLERANCE[x.dtype.type]
    mean, variance = statistics if statistics is not None else (None, None)
    want = cpu.normalize_forward(_float64(x), _float64(gamma), _float64(beta), _float64(mean),
                                 _float64(variance), epsilon, center)
    got = cuda.normalize_forward(to_device(x), _device(gamma), _device(beta), _device(mean),
                                 _device(variance), epsilon, center)
    for g, w in zip(got, want):
        g = to_host(g)
        assert g.dtype == x.dtype
        np.testing.assert_allclose(g, w.reshape(g.shape), **tolerance)
    batch_stats = statistics is None
    mean, variance = [to_host(a) for a in got[1:]] if batch_stats else statistics
    want = cpu.normalize_backward(_float64(dy), _float64(x), _float64(gamma), _float64(mean),
                                  _float64(variance), epsilon, batch_stats, center)
    got = cuda.normalize_backward(to_device(dy), to_device(x), _device(gamma), to_device(mean),
                                  to_device(variance), epsilon, batch_stats, center)
    for g, w in zip(got, want):
        if w is None:
            assert g is None
            continue
        g = to_host(g)
        assert (g.shape, g.dtype) == (w.shape, x.dtype)
        np.testing.assert_allclose(g, w, **tolerance)


def _inputs(shape, dtype, rng, loc=0.0):
    """x (loc + normal * 2), dy, gamma, beta and statistics of the view `shape`."""
    n_p, _, n_q, n_k = shape
    x = (loc + 2.0 * rng.normal(size=shape)).astype(dtype)
    dy = rng.normal(size=shape).astype(dtype)
    gamma, beta = (rng.normal(size=(n_q, n_k)).astype(dtype) for _ in range(2))
    statistics = (rng.normal(loc, 1.0, (n_p, n_q)).astype(dtype),
                  rng.uniform(0.5, 4.0, (n_p, n_q)).astype(dtype))
    return x, dy, gamma, beta, statistics


def test_exports_the_cpu_functions_with_their_signatures():
    assert sorted(cuda.__all__) == sorted(cpu.__all__)
    for name in cpu.__all__:
        assert (inspect.signature(getattr(cuda, name))
                == inspect.signature(getattr(cpu, name))), name


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@settings(max_examples=8)
@given(data=st.data(), dtype=st.sampled_from(DTYPES), has_gamma=st.booleans(),
       has_beta=st.booleans(), given_statistics=st.booleans(), center=st.booleans(),
       epsilon=st.sampled_from([1e-3, 1e-5, 0.1]), loc=st.sampled_from([0.0, 5.0]))
def test_matches_cpu(layout, data, dtype, has_gamma, has_beta, given_statistics, center,
                     epsilon, loc):
    shape = data.draw(LAYOUTS[layout], label="shape")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    x, dy, gamma, beta, statistics = _inputs(shape, dtype, np.random.default_rng(seed), loc)
    _check(x, dy, gamma if has_gamma else None, beta if has_beta else None,
           statistics if given_statistics else None, epsilon, center)


@pytest.mark.parametrize("given_statistics, center", [(False, True), (True, False)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [
    (1, 37, THREADS // 2 + 3, 1),      # channels last: several column tiles and row chunks
    (3, 1, 1, 2 * THREADS + 5),        # layer norm: rows longer than a block
    (2, 7, 3, 11),                     # group norm: groups of 77 elements, more than a block
], ids=["batch_channels_last", "layer", "group"])
def test_matches_cpu_when_the_kernels_loop(shape, dtype, given_statistics, center):
    x, dy, gamma, beta, statistics = _inputs(shape, dtype, np.random.default_rng(len(shape)),
                                             loc=3.0)
    _check(x, dy, gamma, beta, statistics if given_statistics else None, 1e-3, center)


def test_takes_host_arrays_and_flat_statistics():
    """ops.batch_normalization passes per-channel statistics (C,); host arrays are moved."""
    x, dy, gamma, beta, (mean, variance) = _inputs((1, 5, 3, 2), np.float32,
                                                   np.random.default_rng(0))
    want = cpu.normalize_forward(x, gamma, beta, mean[0], variance[0])
    got = cuda.normalize_forward(x, gamma, beta, mean[0], variance[0])
    np.testing.assert_allclose(to_host(got[0]), want[0], **TOLERANCE[np.float32])
    want = cpu.normalize_backward(dy, x, gamma, mean[0], variance[0], batch_stats=False)
    got = cuda.normalize_backward(dy, x, gamma, mean[0], variance[0], batch_stats=False)
    for g, w in zip(got, want):
        np.testing.assert_allclose(to_host(g), w, **TOLERANCE[np.float32])


@pytest.mark.parametrize("given_statistics", [False, True])
@pytest.mark.parametrize("shape", [(1, 0, 3, 1), (1, 2, 3, 0), (2, 0, 1, 3), (0, 2, 3, 1),
                                   (1, 2, 0, 3)])
def test_empty_views_on_both_devices(shape, given_statistics):
    """No values (a batch of 0, or a spatial axis of 0 after valid pooling): an empty
    output; statistics of empty groups NaN (0 / 0), as Keras's; zero parameter and
    statistics gradients (sums over nothing)."""
    x, dy, gamma, beta, statistics = _inputs(shape, np.float32, np.random.default_rng(1))
    mean, variance = statistics if given_statistics else (None, None)
    n_p, n_m, n_q, n_k = shape
    for kernels in (cpu, cuda):
        y, got_mean, got_variance = (to_host(a) for a in kernels.normalize_forward(
            x, gamma, beta, mean, variance))
        assert y.shape == shape and got_mean.shape == got_variance.shape == (n_p, n_q)
        if given_statistics:
            np.testing.assert_array_equal(got_mean, mean)
        else:
            assert np.isnan(got_mean).all() and np.isnan(got_variance).all()
        grads = kernels.normalize_backward(dy, x, gamma, statistics[0], statistics[1],
                                           batch_stats=not given_statistics)
        assert to_host(grads[0]).shape == shape
        for g, want_shape in zip(grads[1:], [(n_q, n_k)] * 2 + [(n_p, n_q)] * 2):
            if g is None:
                assert not given_statistics
                continue
            np.testing.assert_array_equal(to_host(g), np.zeros(want_shape, np.float32))
