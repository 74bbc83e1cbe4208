"""nbkeras/ops/nn_functions.py: the extra activations, sparsemax, normalize,
rms_normalization, psnr, depth_to_space / space_to_depth, multi_hot, adaptive pooling and
unfold / fold.

Forwards against plain float64 numpy written independently (loops over bins and patches,
sparsemax's threshold by bisection), KerasTensor calls against the eager shape and dtype,
gradients against central differences (check_grads) with inputs kept off the kinks, on every
device of the `device` fixture (tests/conftest.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, assert_op


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# name: (op, reference, kinks)
ACTIVATIONS = {
    "celu": (lambda x: ops.celu(x, alpha=0.7),
             lambda x: np.where(x > 0, x, 0.7 * np.expm1(x / 0.7)), (0.0,)),
    "hard_shrink": (lambda x: ops.hard_shrink(x, 0.3),
                    lambda x: np.where(np.abs(x) > 0.3, x, 0.0), (-0.3, 0.3)),
    "hard_silu": (ops.hard_silu, lambda x: x * np.clip(x + 3, 0, 6) / 6, (-3.0, 3.0)),
    "hard_swish": (ops.hard_swish, lambda x: x * np.clip(x + 3, 0, 6) / 6, (-3.0, 3.0)),
    "hard_tanh": (ops.hard_tanh, lambda x: np.clip(x, -1, 1), (-1.0, 1.0)),
    "log_sigmoid": (ops.log_sigmoid, lambda x: -np.logaddexp(0, -x), ()),
    "soft_shrink": (lambda x: ops.soft_shrink(x, 0.4),
                    lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.4, 0), (-0.4, 0.4)),
    "sparse_plus": (ops.sparse_plus,
                    lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
                    (-1.0, 1.0)),
    "sparse_sigmoid": (ops.sparse_sigmoid, lambda x: np.clip((x + 1) / 2, 0, 1), (-1.0, 1.0)),
    "squareplus": (lambda x: ops.squareplus(x, b=2),
                   lambda x: (x + np.sqrt(x * x + 2)) / 2, ()),
    "tanh_shrink": (ops.tanh_shrink, lambda x: x - np.tanh(x), ()),
    "threshold": (lambda x: ops.threshold(x, 0.2, -1.5),
                  lambda x: np.where(x > 0.2, x, -1.5), (0.2,)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(data=st.data(), shape=nst.shapes(0, 3, 1, 4))
def test_activation(device, name, data, shape):
    op, reference, kinks = ACTIVATIONS[name]
    x = data.draw(nst.arrays(shape, kinks=kinks, margin=0.05, scale=2.5))
    assert_op(op, reference, x)


def test_activations_are_stable_and_follow_keras_dtypes(device):
    big = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    assert_matches(ops.log_sigmoid(big), -np.logaddexp(0, -big))
    assert ops.celu(np.arange(3, dtype="int32")).dtype == "float32"
    assert ops.hard_tanh(np.array([-3, 0, 3], "int32")).dtype == "int32"
    assert ops.threshold(np.array([1, 2], "int32"), 1, 0).dtype == "int32"
    assert ops.threshold(np.array([1, 2], "int32"), 1, 0.5).dtype == "float32"
    assert ops.squareplus(np.ones(2, "float32")).dtype == "float32"


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), axis_seed=st.integers(0, 10))
def test_glu(device, data, shape, axis_seed):
    axis = axis_seed % len(shape)
    shape = tuple(2 * n if i == axis else n for i, n in enumerate(shape))
    x = data.draw(nst.arrays(shape))

    def reference(x):
        a, b = np.split(x, 2, axis=axis)
        return a * _sigmoid(b)
    assert_op(lambda t: ops.glu(t, axis=axis), reference, x)


def test_glu_rejects_an_odd_axis():
    with pytest.raises(ValueError, match="glu.*even"):
        ops.glu(np.ones((2, 3)))


def _sparsemax_reference(x, axis):
    """The simplex projection with its threshold found by bisection: sum(max(z - tau, 0)) = 1."""
    z = np.moveaxis(x, axis, -1)
    out = np.empty_like(z)
    for index in np.ndindex(z.shape[:-1]):
        row = z[index]
        low, high = row.max() - 1, row.max()
        for _ in range(200):
            tau = (low + high) / 2
            low, high = (tau, high) if np.maximum(row - tau, 0).sum() > 1 else (low, tau)
        out[index] = np.maximum(row - (low + high) / 2, 0)
    return np.moveaxis(out, -1, axis)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 5), axis_seed=st.integers(0, 10))
def test_sparsemax(device, data, shape, axis_seed):
    axis = axis_seed % len(shape) - len(shape) * (axis_seed % 2)
    x = data.draw(nst.arrays(shape, no_ties=True, scale=0.5))
    y = _sparsemax_reference(x, axis)
    z = np.moveaxis(x, axis, -1)
    tau = (z - np.moveaxis(y, axis, -1)).max(axis=-1, keepdims=True)   # z - y = tau on the support
    assume(np.abs(z - tau).min() > 1e-3)      # off the kinks: no entry at the threshold
    assert_op(lambda t: ops.sparsemax(t, axis=axis), lambda t: y, x, atol=1e-9)
    np.testing.assert_allclose(np.asarray(ops.sparsemax(x, axis=axis)).sum(axis=axis), 1.0)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), order=st.sampled_from([1, 2, 3]),
       axis_seed=st.integers(0, 10))
def test_normalize(device, data, shape, order, axis_seed):
    axis = axis_seed % len(shape)
    x = data.draw(nst.arrays(shape, kinks=(0.0,), margin=0.05))

    def reference(x):
        norm = (np.abs(x) ** order).sum(axis=axis, keepdims=True) ** (1 / order)
        return x / np.maximum(norm, 1e-7)
    assert_op(lambda t: ops.normalize(t, axis=axis, order=order), reference, x)


def test_normalize_edges():
    assert_matches(ops.normalize(np.zeros((2, 3))), np.zeros((2, 3)))
    assert ops.normalize(np.array(4.0)).shape == (1,)
    with pytest.raises(ValueError, match="normalize: order"):
        ops.normalize(np.ones(3), order=0)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), with_scale=st.booleans(),
       two_axes=st.booleans())
def test_rms_normalization(device, data, shape, with_scale, two_axes):
    axis = (0, len(shape) - 1) if two_axes and len(shape) > 1 else -1
    x = data.draw(nst.arrays(shape))
    scale = data.draw(nst.arrays(shape[-1:])) if with_scale else None

    def reference(x, *scale):
        y = x / np.sqrt((x * x).mean(axis=axis, keepdims=True) + 1e-5)
        return y * scale[0] if scale else y
    inputs = (x, scale) if with_scale else (x,)
    assert_op(lambda t, *s: ops.rms_normalization(t, *s, axis=axis, epsilon=1e-5), reference,
              *inputs)
    assert ops.rms_normalization(np.ones((2, 3), "int32")).dtype == "int32"   # Keras casts back


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4))
def test_psnr(device, data, shape):
    x1 = data.draw(nst.arrays(shape))
    x2 = x1 + data.draw(nst.arrays(shape, kinks=(0.0,), margin=0.1))   # mse > 0
    assert_op(lambda a, b: ops.psnr(a, b, 2.0),
              lambda a, b: 20 * np.log10(2.0) - 10 * np.log10(((a - b) ** 2).mean()), x1, x2)
    assert ops.psnr(np.ones(3, "int32"), np.zeros(3, "int32"), 1).dtype == "float32"
    with pytest.raises(ValueError, match="psnr.*same shape"):
        ops.psnr(np.ones(3), np.ones(4), 1.0)


def _depth_to_space_reference(x, b, data_format):
    channels_last = x if data_format == "channels_last" else np.moveaxis(x, 1, -1)
    n, h, w, c = channels_last.shape
    c2 = c // (b * b)
    out = np.empty((n, h * b, w * b, c2))
    for i in range(h * b):
        for j in range(w * b):
            for k in range(c2):
                cell = ((i % b) * b + j % b) * c2 + k if data_format == "channels_last" \
                    else k * b * b + (i % b) * b + j % b
                out[:, i, j, k] = channels_last[:, i // b, j // b, cell]
    return out if data_format == "channels_last" else np.moveaxis(out, -1, 1)


@given(data=st.data(), b=st.integers(1, 3), sides=nst.shapes(3, 3, 1, 3),
       data_format=st.sampled_from(["channels_last", "channels_first"]))
def test_depth_to_space_and_back(device, data, b, sides, data_format):
    h, w, c = sides
    shape = (2, h, w, c * b * b) if data_format == "channels_last" else (2, c * b * b, h, w)
    x = data.draw(nst.arrays(shape))
    reference = lambda t: _depth_to_space_reference(t, b, data_format)   # noqa: E731
    assert_op(lambda t: ops.depth_to_space(t, b, data_format), reference, x)
    y = reference(x)
    assert_op(lambda t: ops.space_to_depth(t, b, data_format), lambda t: x, y)
    with pytest.raises(ValueError, match="depth_to_space"):
        ops.depth_to_space(np.ones((1, 2, 2)), 2)


def test_multi_hot(device):
    labels = np.array([[0, 4, 4], [1, 1, 2]])
    assert_matches(ops.multi_hot(labels, 5), np.array([[1, 0, 0, 0, 1], [0, 1, 1, 0, 0.0]]),
                   dtype="float32")
    assert_matches(ops.multi_hot(np.array([3, 0]), num_tokens=4), [1, 0, 0, 1.0],
                   dtype="float32")
    expected_axis0 = np.zeros((5, 3))
    for i in range(2):
        for j in range(3):
            expected_axis0[labels[i, j], j] = 1
    assert_matches(ops.multi_hot(labels, 5, axis=0, dtype="float64"), expected_axis0)
    symbolic = ops.multi_hot(nk.KerasTensor((None, 3), "int32"), 5, dtype="int32")
    assert (symbolic.shape, symbolic.dtype) == ((None, 5), "int32")
    with pytest.raises(ValueError, match="multi_hot"):
        ops.multi_hot(labels)


def _bins(n, out):
    return [(j * n // out, -(-(j + 1) * n // out)) for j in range(out)]


def _adaptive_reference(x, out, reduce, data_format):
    """Each output cell reduces its box of input cells (floor/ceil bin edges)."""
    channels_last = x if data_format == "channels_last" else np.moveaxis(x, 1, -1)
    spatial = channels_last.shape[1:-1]
    result = np.empty((x.shape[0], *out, channels_last.shape[-1]))
    for cell in np.ndindex(*out):
        box = tuple(slice(*_bins(n, o)[j]) for n, o, j in zip(spatial, out, cell))
        result[(slice(None), *cell)] = reduce(channels_last[(slice(None), *box)],
                                              axis=tuple(range(1, 1 + len(out))))
    return result if data_format == "channels_last" else np.moveaxis(result, -1, 1)


@pytest.mark.parametrize("kind", ["average", "max"])
@given(data=st.data(), spatial=nst.shapes(1, 3, 1, 5), outs=nst.shapes(3, 3, 1, 4),
       data_format=st.sampled_from(["channels_last", "channels_first"]))
def test_adaptive_pool(device, kind, data, spatial, outs, data_format):
    out = outs[:len(spatial)]
    shape = (2, *spatial, 2) if data_format == "channels_last" else (2, 2, *spatial)
    x = data.draw(nst.arrays(shape, no_ties=kind == "max"))
    op = ops.adaptive_average_pool if kind == "average" else ops.adaptive_max_pool
    reduce = np.mean if kind == "average" else np.max
    assert_op(lambda t: op(t, out, data_format),
              lambda t: _adaptive_reference(t, out, reduce, data_format), x)


def _unfold_reference(x, k, d, p, s):
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    oh = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.empty((n, c * k[0] * k[1], oh * ow))
    for ci in range(c):
        for i in range(k[0]):
            for j in range(k[1]):
                for a in range(oh):
                    for b in range(ow):
                        out[:, (ci * k[0] + i) * k[1] + j, a * ow + b] = \
                            padded[:, ci, a * s[0] + i * d[0], b * s[1] + j * d[1]]
    return out


def _fold_reference(cols, size, k, d, p, s):
    n = cols.shape[0]
    c = cols.shape[1] // (k[0] * k[1])
    padded = np.zeros((n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]))
    ow = (size[1] + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    for ci in range(c):
        for i in range(k[0]):
            for j in range(k[1]):
                for patch in range(cols.shape[2]):
                    a, b = divmod(patch, ow)
                    padded[:, ci, a * s[0] + i * d[0], b * s[1] + j * d[1]] += \
                        cols[:, (ci * k[0] + i) * k[1] + j, patch]
    return padded[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


@st.composite
def _im2col_cases(draw):
    k = draw(nst.shapes(2, 2, 1, 3))
    d, s = draw(nst.shapes(2, 2, 1, 2)), draw(nst.shapes(2, 2, 1, 2))
    p = draw(nst.shapes(2, 2, 0, 1))
    size = tuple(d[i] * (k[i] - 1) + 1 + draw(st.integers(0, 3)) for i in range(2))
    return k, d, p, s, size


@given(data=st.data(), case=_im2col_cases())
def test_unfold_and_fold(device, data, case):
    k, d, p, s, size = case
    kwargs = dict(kernel_size=k, dilation=d, padding=p, stride=s)
    x = data.draw(nst.arrays((2, 2, *size)))
    assert_op(lambda t: ops.unfold(t, **kwargs), lambda t: _unfold_reference(t, k, d, p, s), x)
    cols = _unfold_reference(x, k, d, p, s)
    assert_op(lambda t: ops.fold(t, size, **kwargs),
              lambda t: _fold_reference(t, size, k, d, p, s), cols)
    with pytest.raises(ValueError, match="fold"):
        ops.fold(np.concatenate([cols, cols[:, :, :1]], axis=2), size, **kwargs)
