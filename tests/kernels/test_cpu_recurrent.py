"""The fused recurrent kernels with their batch split into blocks, one per Numba thread, and
their per-step products cut into runs of rows (OpenBLAS's small products), give what one
block in one product gives (which the layer tests check against a float64 numpy loop and
finite differences): every cell, forward and backward, an odd batch (blocks of unequal size,
runs with a shorter last one), masked steps and an all-masked row, work above the parallel
threshold."""
from unittest import mock

import numpy as np
import pytest

import nbkeras as nk
from nbkeras.kernels.cpu import recurrent
from nbkeras.kernels.cpu.parallel import PARALLEL_MIN_ELEMENTS

GATES = {"simple": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}


def _run(cell, threads, arrays, small_limit=0):
    """Forward and backward of recurrent's kernels on `threads` Numba threads, with
    `small_limit` as gemm.small_product_limit()."""
    x, kernel, rk, bias, h0, c0, mask, d_hs, d_c = arrays
    before = nk.config.get_num_threads()
    nk.config.set_num_threads(threads)
    try:
        with mock.patch.object(recurrent, "small_product_limit", lambda: small_limit):
            hs, c_last, saved = recurrent.recurrent_forward(cell, x, kernel, rk, bias, h0, c0,
                                                            mask)
            grads = recurrent.recurrent_backward(cell, d_hs, d_c, kernel, rk, bias, h0, c0,
                                                 saved)
    finally:
        nk.config.set_num_threads(before)
    return [hs, c_last, *grads]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", sorted(GATES))
def test_blocks_and_runs_of_rows_give_what_one_block_in_one_product_gives(cell, dtype):
    rng = np.random.default_rng(sorted(GATES).index(cell))
    batch, steps, features, units = 21, 103, 3, 64
    assert batch * steps * units >= PARALLEL_MIN_ELEMENTS
    width = GATES[cell] * units

    def draw(*shape, scale=0.3):
        return (rng.standard_normal(shape) * scale).astype(dtype)
    mask = rng.random((batch, steps)) < 0.7
    mask[3] = False
    # a contracting recurrence: with a recurrent kernel of spectral radius above 1 (SimpleRNN
    # with 0.3-scaled weights: about 2.4), float32 rounding differences of the per-step
    # products (which BLAS rounds by the rows it is given) grow step by step into O(1) ones
    arrays = (draw(batch, steps, features), draw(features, width),
              draw(units, width, scale=0.3 / units ** 0.5),
              draw(2, width) if cell == "gru" else draw(width), draw(batch, units),
              draw(batch, units) if cell == "lstm" else None, mask,
              draw(batch, steps, units), draw(batch, units) if cell == "lstm" else None)
    want = _run(cell, 1, arrays)
    # limits that cut the recurrent products (and GRU's candidate's) into runs of 8 rows, or
    # only the projections (x_t kernel, dx) into runs of 4, in blocks of 21 or 10 and 11 rows
    for small_limit in (8 * units * width, 4 * features * width):
        for threads in (1, 2):
            _assert_close(_run(cell, threads, arrays, small_limit), want, dtype)
    _assert_close(_run(cell, 2, arrays), want, dtype)
    np.testing.assert_array_equal(want[0][3], np.broadcast_to(arrays[4][3], (steps, units)))


def _assert_close(got, want, dtype):
    # float32: a block of rows rounds its sums a little differently from the whole
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12,
                                                                           atol=1e-13)
    for name, a, b in zip(("hs", "c_last", "dx", "dkernel", "drk", "dbias", "dh0", "dc0"),
                          want, got):
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.dtype == dtype and a.shape == b.shape, name
            np.testing.assert_allclose(b, a, err_msg=name, **tolerance)
