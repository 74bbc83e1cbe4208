"""Winograd's F(2x2, 3x3) (kernels/cpu/winograd.py) against a plain-numpy convolution: every
padding, odd and even sizes down to one cell, tiles cut into blocks and chunks at every
boundary, bias, relu and the fused 2x2 max-pool, float32 and float64; and conv_forward sends
it only the convolutions it computes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import blas, conv, winograd
from nbkeras.kernels.cpu.gemm import small_product_limit
from nbkeras.kernels.cpu.parallel import run_chunks, single_threaded_blas
from nbkeras.kernels.geometry import Window, window

POOL = Window((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1))


def reference(x, w, padding, bias, relu, pooled):
    """The 3x3 correlation of x (N, H, W, C) padded by ((top, bottom), (left, right)), in
    float64, + bias, relu, then 2x2 max-pool (strides 2) if pooled."""
    x = np.pad(x.astype(np.float64), ((0, 0), *padding, (0, 0)))
    out_h, out_w = x.shape[1] - 2, x.shape[2] - 2
    y = sum(x[:, p:p + out_h, q:q + out_w] @ w[p, q].astype(np.float64)
            for p in range(3) for q in range(3))
    if pooled:
        h, w_ = out_h // 2 * 2, out_w // 2 * 2
        y = y[:, :h, :w_].reshape(y.shape[0], h // 2, 2, w_ // 2, 2, -1).max(axis=(2, 4))
    y = y + (0 if bias is None else bias)
    return np.maximum(y, 0) if relu else y


paddings = st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                     st.tuples(st.integers(0, 2), st.integers(0, 2)))


@settings(max_examples=80, deadline=None)
@given(batch=st.integers(1, 3), height=st.integers(1, 9), width=st.integers(1, 9),
       channels=st.integers(1, 12), filters=st.integers(1, 20), padding=paddings,
       has_bias=st.booleans(), relu=st.booleans(), pooled=st.booleans(),
       block=st.integers(1, 9), chunks=st.integers(1, 3),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1))
def test_tiles_in_any_blocks_and_chunks_equal_the_convolution(
        batch, height, width, channels, filters, padding, has_bias, relu, pooled, block,
        chunks, dtype, seed):
    out_h = height + sum(padding[0]) - 2
    out_w = width + sum(padding[1]) - 2
    if pooled:
        out_h, out_w = out_h // 2, out_w // 2
    if out_h < 1 or out_w < 1:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, height, width, channels)).astype(dtype)
    w = rng.standard_normal((3, 3, channels, filters)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype) if has_bias else None
    y = np.full((batch, out_h, out_w, filters), np.nan, dtype)
    with single_threaded_blas():
        run_chunks(winograd.winograd_forward, chunks, x, winograd.transformed_kernel(w, dtype),
                   np.zeros(0, dtype) if bias is None else bias, padding[0][0], padding[1][0],
                   relu, pooled, y, block, small_product_limit(), blas.address(dtype))
    want = reference(x, w, padding, bias, relu, pooled)
    scale = np.sqrt(9 * channels)                   # the sum's typical size
    tolerance = 1e-5 * scale if dtype == np.float32 else 1e-12 * scale
    np.testing.assert_allclose(y, want, rtol=0, atol=tolerance)


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 4), size=st.integers(4, 16), channels=st.integers(8, 40),
       filters=st.integers(1, 40), padding=st.sampled_from(["valid", "same"]),
       relu=st.booleans(), pooled=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_conv_forward_runs_3x3_convolutions_through_winograd(batch, size, channels, filters,
                                                             padding, relu, pooled, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, size, size + 1, channels)).astype(np.float32)
    w = rng.standard_normal((3, 3, channels, filters)).astype(np.float32)
    bias = rng.standard_normal(filters).astype(np.float32)
    geometry = window(padding, x.shape[1:3], (3, 3), (1, 1))
    pool = POOL if pooled else None
    assert winograd.applies(geometry, 1, channels, pool)
    y = conv.conv_forward(x, w, geometry, 1, bias, relu, pool)
    want = reference(x, w, geometry.padding, bias, relu, pooled)
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-5 * np.sqrt(9 * channels))


@pytest.mark.parametrize("rank, size, strides, dilation, groups, channels, pool", [
    (2, (3, 3), (2, 2), (1, 1), 1, 16, None),       # strided
    (2, (3, 3), (1, 1), (2, 2), 1, 16, None),       # dilated
    (2, (3, 3), (1, 1), (1, 1), 2, 16, None),       # grouped
    (2, (5, 5), (1, 1), (1, 1), 1, 16, None),       # another size
    (2, (3, 1), (1, 1), (1, 1), 1, 16, None),
    (1, (3,), (1,), (1,), 1, 16, None),             # 1-D
    (3, (3, 3, 3), (1, 1, 1), (1, 1, 1), 1, 16, None),
    (2, (3, 3), (1, 1), (1, 1), 1, 4, None),        # few input channels: direct is faster
    (2, (3, 3), (1, 1), (1, 1), 1, 16, Window((3, 3), (2, 2), ((0, 0),) * 2, (1, 1))),
    (2, (3, 3), (1, 1), (1, 1), 1, 16, Window((2, 2), (1, 1), ((0, 0),) * 2, (1, 1))),
])
def test_other_convolutions_stay_direct(rank, size, strides, dilation, groups, channels, pool):
    geometry = Window(size, strides, ((1, 1),) * rank, dilation)
    assert not winograd.applies(geometry, groups, channels, pool)


def test_the_kernel_transform_is_g_w_g_transposed():
    w = np.random.default_rng(0).standard_normal((3, 3, 2, 5))
    g = winograd.KERNEL_TRANSFORM
    u = winograd.transformed_kernel(w, np.float64).reshape(4, 4, 2, 5)
    for c in range(2):
        for f in range(5):
            np.testing.assert_allclose(u[:, :, c, f], g @ w[:, :, c, f] @ g.T, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(channels=st.integers(1, 6), filters=st.integers(1, 6),
       writes=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(
           ["random", "same", "negative zero", "nan"])), min_size=1, max_size=6),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1))
def test_kept_transforms_follow_every_write_into_the_kernel(channels, filters, writes, dtype,
                                                           seed):
    """The kept U is always the transform of what w holds now, through in-place writes (as a
    Variable's assign and the optimizers make), a write of the same value, 0.0 -> -0.0 and a
    NaN."""
    rng = np.random.default_rng(seed)
    transforms = winograd.KernelTransforms(limit_bytes=1 << 20)
    w = rng.standard_normal((3, 3, channels, filters)).astype(dtype)
    for index, kind in writes:
        u = transforms(w, dtype)
        np.testing.assert_array_equal(u, winograd.transformed_kernel(w, dtype))
        assert transforms(w, dtype) is u                      # unchanged w: the kept U
        at = np.unravel_index(index % w.size, w.shape)
        if kind == "negative zero":            # kept for 0.0, then the write of -0.0
            w[at] = 0.0
            transforms(w, dtype)
        w[at] = {"random": rng.standard_normal(), "same": w[at], "negative zero": -0.0,
                 "nan": np.nan}[kind]
        np.testing.assert_array_equal(transforms(w, dtype), winograd.transformed_kernel(w, dtype))


def test_kept_transforms_tell_negative_zero_apart():
    transforms = winograd.KernelTransforms(limit_bytes=1 << 20)
    w = np.zeros((3, 3, 1, 1), np.float32)
    u = transforms(w, np.float32)
    w[1, 1, 0, 0] = -0.0
    assert transforms(w, np.float32) is not u


def test_kept_transforms_stay_within_their_byte_limit_dropping_the_oldest():
    rng = np.random.default_rng(0)
    kernels = [rng.standard_normal((3, 3, 4, 4)).astype(np.float32) for _ in range(4)]
    per_kernel = kernels[0].nbytes + winograd.transformed_kernel(kernels[0], np.float32).nbytes
    transforms = winograd.KernelTransforms(limit_bytes=2 * per_kernel)
    first = [transforms(w, np.float32) for w in kernels[:2]]
    assert transforms(kernels[0], np.float32) is first[0]          # kernels[0] most recent
    transforms(kernels[2], np.float32)                              # drops kernels[1]
    assert transforms(kernels[0], np.float32) is first[0]
    assert transforms(kernels[1], np.float32) is not first[1]
    assert transforms._bytes <= 2 * per_kernel


def test_kept_transforms_key_on_the_dtype_and_skip_non_contiguous_kernels():
    transforms = winograd.KernelTransforms(limit_bytes=1 << 20)
    w = np.random.default_rng(1).standard_normal((3, 3, 2, 6))
    assert transforms(w, np.float32).dtype == np.float32
    assert transforms(w, np.float64).dtype == np.float64
    view = w[:, :, :, ::2]
    np.testing.assert_array_equal(transforms(view, np.float64),
                                  winograd.transformed_kernel(view, np.float64))
    assert len(transforms._entries) == 2


def test_predict_after_assigning_new_kernel_values_uses_them():
    """The inference plan convolves a Variable's array in place batch after batch; a new value
    assigned into it (or set_weights) shows in the next predict."""
    import nbkeras as nk
    rng = np.random.default_rng(2)
    model = nk.Sequential([nk.Input((9, 9, 8)), nk.layers.Conv2D(5, 3, activation="relu"),
                           nk.layers.MaxPooling2D(2)])
    x = rng.standard_normal((4, 9, 9, 8)).astype(np.float32)
    for _ in range(3):
        w = rng.standard_normal((3, 3, 8, 5)).astype(np.float32)
        b = rng.standard_normal(5).astype(np.float32)
        model.set_weights([w, b])
        for _ in range(2):
            np.testing.assert_allclose(model.predict(x, verbose=0),
                                       reference(x, w, ((0, 0), (0, 0)), b, True, True),
                                       rtol=1e-4, atol=1e-4)
        model.layers[0].kernel.assign(-w)
        np.testing.assert_allclose(model.predict(x, verbose=0),
                                   reference(x, -w, ((0, 0), (0, 0)), b, True, True),
                                   rtol=1e-4, atol=1e-4)
