"""nbkeras.losses and the fused cross-entropy ops (nbkeras.ops.losses): forwards against plain
float64 numpy (tests/reference_losses.py), gradients against central differences, Keras's
reductions and sample weights, stability on +-1e4 logits in float32 and float64, dtypes,
lookup by name and config round trips."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import losses
from nbkeras.ops import losses as loss_ops
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

import reference_losses as ref  # tests/reference_losses.py (tests/ is on sys.path: pyproject.toml)
from op_checks import ATOL, RTOL, assert_matches as assert_close, tensor  # tests/op_checks.py

seeds = st.integers(0, 2**32 - 1)
lead_shapes = nst.shapes(min_rank=1, max_rank=3, min_side=1, max_side=4)


def probabilities(rng, shape, axis=-1):
    """Rows of positive numbers summing to 1 along `axis`."""
    p = rng.uniform(0.05, 1.0, shape)
    return p / p.sum(axis=axis, keepdims=True)


def one_hot(rng, shape, axis=-1):
    labels = rng.integers(0, shape[axis], np.delete(np.array(shape), axis % len(shape)))
    return np.moveaxis(np.eye(shape[axis])[labels], -1, axis)


def soft_or_hard_labels(rng, shape, axis=-1):
    return probabilities(rng, shape, axis) if rng.random() < 0.5 else one_hot(rng, shape, axis)


# ------------------------------------------------------------------------------ fused ops

@given(lead=lead_shapes, classes=st.integers(1, 5), seed=seeds, data=st.data())
def test_softmax_cross_entropy_with_logits_matches_reference(lead, classes, seed, data):
    rng = np.random.default_rng(seed)
    shape = lead + (classes,)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    logits = rng.normal(0.0, 3.0, shape)
    labels = soft_or_hard_labels(rng, shape, axis)
    moved = (np.moveaxis(labels, axis, -1), np.moveaxis(logits, axis, -1))
    assert_close(loss_ops.softmax_cross_entropy_with_logits(labels, logits, axis),
                 ref.softmax_cross_entropy(*moved))
    # labels need not sum to 1 for the gradient to be exact (dlogits = p * sum(z) - z)
    check_grads(lambda z, x: loss_ops.softmax_cross_entropy_with_logits(z, x, axis),
                [labels * rng.uniform(0.5, 2.0, shape), logits])


@given(lead=lead_shapes, classes=st.integers(1, 5), seed=seeds, data=st.data())
def test_sparse_softmax_cross_entropy_with_logits_matches_reference(lead, classes, seed, data):
    rng = np.random.default_rng(seed)
    shape = lead + (classes,)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    logits = rng.normal(0.0, 3.0, shape)
    labels = rng.integers(0, shape[axis], np.delete(np.array(shape), axis % len(shape)))
    assert_close(loss_ops.sparse_softmax_cross_entropy_with_logits(labels, logits, axis),
                 ref.sparse_softmax_cross_entropy(labels, np.moveaxis(logits, axis, -1)))
    check_grads(lambda x: loss_ops.sparse_softmax_cross_entropy_with_logits(labels, x, axis),
                [logits])


@given(shape=nst.shapes(min_rank=0, max_rank=3, max_side=4), seed=seeds)
def test_sigmoid_cross_entropy_with_logits_matches_reference(device, shape, seed):
    rng = np.random.default_rng(seed)
    logits, labels = rng.normal(0.0, 4.0, shape), rng.uniform(0.0, 1.0, shape)
    assert_close(loss_ops.sigmoid_cross_entropy_with_logits(labels, logits),
                 ref.sigmoid_cross_entropy(labels, logits))
    check_grads(loss_ops.sigmoid_cross_entropy_with_logits, [labels, logits])


def test_fused_ops_reject_bad_shapes_and_labels(device):
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"softmax_cross_entropy.*\(2, 4\).*\(2, 3\)"):
        loss_ops.softmax_cross_entropy_with_logits(np.zeros((2, 4)), x)
    with pytest.raises(ValueError, match=r"sparse_softmax.*\(3,\).*\(2,\)"):
        loss_ops.sparse_softmax_cross_entropy_with_logits(np.zeros(3, int), x)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\); received label 3"):
        loss_ops.sparse_softmax_cross_entropy_with_logits(np.array([0, 3]), x)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\); received label -1"):
        loss_ops.sparse_softmax_cross_entropy_with_logits(np.array([-1, 2]), x)
    with pytest.raises(ValueError, match=r"sigmoid_cross_entropy.*\(3,\).*\(2, 3\)"):
        loss_ops.sigmoid_cross_entropy_with_logits(np.zeros(3), x)


# --------------------------------------------------------------------------- stability

HUGE = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [-1e4, -1e4, -1e4], [1e4, 3.0, -2.0]])


def _value_and_grad(fn, logits, dtype):
    x = tensor(logits.astype(dtype))
    with nk.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        total = y.sum()
    return y, tape.gradient(total, x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_ops_are_exact_and_finite_on_huge_logits(device, dtype):
    z = np.eye(3)[[1, 0, 2, 0]].astype(dtype)
    labels = np.array([1, 0, 2, 0])
    cases = [
        (lambda x: loss_ops.softmax_cross_entropy_with_logits(z, x),
         ref.softmax_cross_entropy(z, HUGE)),
        (lambda x: loss_ops.sparse_softmax_cross_entropy_with_logits(labels, x),
         ref.sparse_softmax_cross_entropy(labels, HUGE)),
        (lambda x: loss_ops.sigmoid_cross_entropy_with_logits(z, x),
         ref.sigmoid_cross_entropy(z, HUGE)),
    ]
    atol = 2e-3 if dtype == "float32" else 1e-9    # float32 spacing near 1e4 is 1e-3
    for fn, expected in cases:
        y, g = _value_and_grad(fn, HUGE, dtype)
        assert y.dtype == dtype and g.dtype == dtype
        assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(g.numpy()))
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6, atol=atol)
    # softmax rows: (1e4, -1e4, 0) -> p = (1, 0, 0), so dlogits = p - z exactly
    _, g = _value_and_grad(cases[0][0], HUGE, dtype)
    np.testing.assert_allclose(g.numpy()[:3], [[1, -1, 0], [-1, 0.5, 0.5], [1 / 3, 1 / 3, -2 / 3]],
                               rtol=1e-6, atol=atol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("make", [
    lambda: losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
    lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
    lambda: losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
    lambda: losses.BinaryFocalCrossentropy(from_logits=True, apply_class_balancing=True),
], ids=["categorical", "sparse", "binary", "binary_focal"])
def test_loss_classes_stay_finite_on_huge_logits(make, dtype):
    loss = make()
    sparse = isinstance(loss, losses.SparseCategoricalCrossentropy)
    y_true = np.array([1, 0, 2, 0]) if sparse else np.eye(3)[[1, 0, 2, 0]]
    y, g = _value_and_grad(lambda x: loss(y_true, x, sample_weight=[1.0, 2.0, 0.5, 1.0]),
                           HUGE, dtype)
    assert y.dtype == dtype and g.dtype == dtype
    assert np.isfinite(float(y)) and np.all(np.isfinite(g.numpy())), (y, g)


@pytest.mark.parametrize("fn", [
    lambda z, x: losses.categorical_crossentropy(z, x, from_logits=True),
    lambda z, x: losses.categorical_crossentropy(z, x, from_logits=False),
    lambda z, x: losses.binary_crossentropy(z, x, from_logits=True),
    lambda z, x: losses.binary_crossentropy(z, x, from_logits=False),
    lambda z, x: losses.sparse_categorical_crossentropy(np.argmax(z, -1), x, from_logits=True),
], ids=["cce_logits", "cce_probs", "bce_logits", "bce_probs", "scce_logits"])
def test_float32_stays_float32(fn):
    rng = np.random.default_rng(0)
    z = one_hot(rng, (4, 3)).astype("float32")
    x = rng.uniform(0.1, 0.9, (4, 3)).astype("float32")
    y, g = _value_and_grad(lambda t: fn(z, t), x, "float32")
    assert y.dtype == "float32" and g.dtype == "float32"


# ---------------------------------------------------------------- elementwise-style losses

def _regression(rng, shape):
    return rng.normal(0, 1, shape), rng.normal(0, 1, shape)


def _away_from_zero_difference(rng, shape):
    y_true = rng.normal(0, 1, shape)
    return y_true, y_true + nst.away_from(rng.normal(0, 1, shape), (0.0,), 0.05)


def _huber_inputs(rng, shape):
    y_true = rng.normal(0, 1, shape)
    return y_true, y_true + nst.away_from(rng.normal(0, 1.5, shape), (-1.0, 1.0), 0.05)


def _hinge_inputs(rng, shape):
    """Labels -1/1 (or 0/1, which hinge maps to -1/1) and margins 1 - t*p away from 0."""
    binary = rng.random() < 0.5
    y_true = rng.integers(0, 2, shape).astype(float)
    signs = 2 * y_true - 1 if binary else None
    if not binary:
        y_true = signs = 2 * y_true - 1
    margins = nst.away_from(rng.normal(0, 1, shape), (0.0,), 0.05)
    return y_true, signs * (1 - margins)


def _categorical_hinge_inputs(rng, shape):
    y_true = one_hot(rng, shape)
    y_pred = nst.distinct(shape, rng, min_gap=0.05)
    y_pred += 0.1 - y_pred.min()      # all > 0: the true class's 0 in (1 - y) * p never ties
    rows, preds = y_true.reshape(-1, shape[-1]), y_pred.reshape(-1, shape[-1])
    for t, p in zip(rows, preds):          # keep max(neg - pos + 1, 0) away from its kink
        if abs(np.max((1 - t) * p) - np.sum(t * p) + 1) < 0.05:
            p[np.argmax(t)] -= 0.2
    return y_true, y_pred


def _positive(rng, shape):
    return rng.uniform(0.0, 2.0, shape), rng.uniform(0.5, 2.5, shape)


def _probability_pairs(rng, shape):
    return rng.uniform(0.01, 0.99, shape), rng.uniform(0.01, 0.99, shape)


ELEMENTWISE = {
    "mean_squared_error": (losses.mean_squared_error, ref.mean_squared_error, _regression),
    "mean_absolute_error": (losses.mean_absolute_error, ref.mean_absolute_error,
                            _away_from_zero_difference),
    "mean_absolute_percentage_error": (losses.mean_absolute_percentage_error,
                                       ref.mean_absolute_percentage_error,
                                       _away_from_zero_difference),
    "mean_squared_logarithmic_error": (losses.mean_squared_logarithmic_error,
                                       ref.mean_squared_logarithmic_error, _positive),
    "huber": (losses.huber, ref.huber, _huber_inputs),
    "log_cosh": (losses.log_cosh, ref.log_cosh, _regression),
    "hinge": (losses.hinge, ref.hinge, _hinge_inputs),
    "squared_hinge": (losses.squared_hinge, ref.squared_hinge, _hinge_inputs),
    "categorical_hinge": (losses.categorical_hinge, ref.categorical_hinge,
                          _categorical_hinge_inputs),
    "kl_divergence": (losses.kl_divergence, ref.kl_divergence, _probability_pairs),
    "poisson": (losses.poisson, ref.poisson, _positive),
    "cosine_similarity": (losses.cosine_similarity, ref.cosine_similarity, _regression),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@given(shape=nst.shapes(min_rank=1, max_rank=3, min_side=2, max_side=4), seed=seeds)
def test_loss_functions_match_reference_and_finite_differences(name, shape, seed):
    fn, reference, make = ELEMENTWISE[name]
    y_true, y_pred = make(np.random.default_rng(seed), shape)
    assert_close(fn(y_true, y_pred), reference(y_true, y_pred))
    check_grads(lambda p: fn(y_true, p), [y_pred])


@given(shape=nst.shapes(min_rank=1, max_rank=3, min_side=2, max_side=4), seed=seeds,
       data=st.data())
def test_cosine_similarity_along_any_axis(shape, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    y_true, y_pred = _regression(np.random.default_rng(seed), shape)
    assert_close(losses.cosine_similarity(y_true, y_pred, axis=axis),
                 ref.cosine_similarity(y_true, y_pred, axis=axis))
    check_grads(lambda t, p: losses.cosine_similarity(t, p, axis=axis), [y_true, y_pred])


@given(delta=st.sampled_from([0.5, 1.0, 2.5]), seed=seeds)
def test_huber_delta(delta, seed):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(0, 1, (3, 4))
    y_pred = y_true + nst.away_from(rng.normal(0, 2, (3, 4)), (-delta, delta), 0.05)
    assert_close(losses.huber(y_true, y_pred, delta), ref.huber(y_true, y_pred, delta))
    check_grads(lambda p: losses.huber(y_true, p, delta), [y_pred])


def test_hinge_maps_binary_labels_and_keeps_signed_ones(device):
    y_pred = np.array([[0.3, -0.8, 1.5]])
    expected = np.mean(np.maximum(1 - np.array([[1, -1, 1]]) * y_pred, 0), axis=-1)
    assert_close(losses.hinge(np.array([[1.0, 0.0, 1.0]]), y_pred), expected)
    assert_close(losses.hinge(np.array([[1.0, -1.0, 1.0]]), y_pred), expected)


# ------------------------------------------------------------------------ cross-entropy

@st.composite
def class_shapes(draw, min_classes=2):
    lead = draw(lead_shapes)
    shape = lead + (draw(st.integers(min_classes, 4)),)
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


smoothing = st.sampled_from([0.0, 0.1, 0.35])


@given(case=class_shapes(), from_logits=st.booleans(), label_smoothing=smoothing, seed=seeds)
def test_categorical_crossentropy(case, from_logits, label_smoothing, seed):
    shape, axis = case
    rng = np.random.default_rng(seed)
    y_true = soft_or_hard_labels(rng, shape, axis)
    y_pred = rng.normal(0, 3, shape) if from_logits else rng.uniform(0.05, 1.0, shape)
    kwargs = dict(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
    assert_close(losses.categorical_crossentropy(y_true, y_pred, **kwargs),
                 ref.categorical_crossentropy(y_true, y_pred, **kwargs))
    check_grads(lambda p: losses.categorical_crossentropy(y_true, p, **kwargs), [y_pred])


@given(case=class_shapes(), from_logits=st.booleans(), seed=seeds,
       ignore=st.sampled_from([None, 0, -1]), column=st.booleans())
def test_sparse_categorical_crossentropy(case, from_logits, seed, ignore, column):
    shape, axis = case
    rng = np.random.default_rng(seed)
    lead = tuple(np.delete(np.array(shape), axis % len(shape)))
    labels = rng.integers(0, shape[axis], lead)
    if ignore is not None:
        labels = np.where(rng.random(lead) < 0.3, ignore, labels)
    y_true = labels[..., None] if column and axis % len(shape) == len(shape) - 1 else labels
    y_pred = rng.normal(0, 3, shape) if from_logits else rng.uniform(0.05, 1.0, shape)
    kwargs = dict(from_logits=from_logits, ignore_class=ignore, axis=axis)
    assert_close(losses.sparse_categorical_crossentropy(y_true, y_pred, **kwargs),
                 ref.sparse_categorical_crossentropy(labels, y_pred, **kwargs))
    check_grads(lambda p: losses.sparse_categorical_crossentropy(y_true, p, **kwargs), [y_pred])


@given(shape=nst.shapes(min_rank=1, max_rank=3, max_side=4), from_logits=st.booleans(),
       label_smoothing=smoothing, seed=seeds, data=st.data())
def test_binary_crossentropy(shape, from_logits, label_smoothing, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, shape) if rng.random() < 0.5 else rng.uniform(0, 1, shape)
    y_pred = rng.normal(0, 3, shape) if from_logits else rng.uniform(0.02, 0.98, shape)
    kwargs = dict(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
    assert_close(losses.binary_crossentropy(y_true, y_pred, **kwargs),
                 ref.binary_crossentropy(y_true, y_pred, **kwargs))
    check_grads(lambda p: losses.binary_crossentropy(y_true, p, **kwargs), [y_pred])


@given(shape=nst.shapes(min_rank=1, max_rank=3, max_side=4), from_logits=st.booleans(),
       balancing=st.booleans(), alpha=st.sampled_from([0.25, 0.6]),
       gamma=st.sampled_from([0.0, 1.0, 2.0, 3.5]), label_smoothing=smoothing, seed=seeds,
       data=st.data())
def test_binary_focal_crossentropy(shape, from_logits, balancing, alpha, gamma, label_smoothing,
                                   seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, shape).astype(float)
    y_pred = rng.normal(0, 3, shape) if from_logits else rng.uniform(0.02, 0.98, shape)
    kwargs = dict(apply_class_balancing=balancing, alpha=alpha, gamma=gamma,
                  from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
    assert_close(losses.binary_focal_crossentropy(y_true, y_pred, **kwargs),
                 ref.binary_focal_crossentropy(y_true, y_pred, **kwargs))
    check_grads(lambda p: losses.binary_focal_crossentropy(y_true, p, **kwargs), [y_pred])


def test_crossentropy_from_probabilities_clips_with_epsilon(device):
    y_true = np.array([[1.0, 0.0], [0.0, 1.0]])
    y_pred = np.array([[0.0, 1.0], [0.0, 1.0]])
    bce = losses.binary_crossentropy(y_true, y_pred).numpy()
    np.testing.assert_allclose(bce, [-np.log(1e-7), -np.log(1 - 1e-7)], rtol=1e-6)
    cce = losses.categorical_crossentropy(y_true, y_pred).numpy()
    np.testing.assert_allclose(cce, [-np.log(1e-7), -np.log(1 - 1e-7)], rtol=1e-6)


@given(case=class_shapes(), seed=seeds)
def test_categorical_crossentropy_of_probabilities_differentiates_labels_and_output(case, seed):
    """The fused op of probabilities (ProbabilityCrossEntropy): both cotangents against
    central differences, and the loss against plain numpy, along any axis."""
    shape, axis = case
    rng = np.random.default_rng(seed)
    y_true = probabilities(rng, shape, axis)
    y_pred = rng.uniform(0.05, 1.0, shape)
    p = np.clip(y_pred / y_pred.sum(axis=axis, keepdims=True), 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(
        np.asarray(nk.ops.categorical_crossentropy(y_true, y_pred, axis=axis)),
        -(y_true * np.log(p)).sum(axis=axis), rtol=1e-12, atol=1e-12)
    check_grads(lambda t, p: nk.ops.categorical_crossentropy(t, p, axis=axis),
                [y_true, y_pred])


def test_clipped_probabilities_pass_no_gradient_through_the_clip(device):
    """Values the clip moves (0, and a row's only nonzero value) get the gradient of the
    renormalization alone, as the composed ops (divide, clip, log) give it."""
    y_true = np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0], [0.1, 0.1, 0.8]])
    y_pred = np.array([[0.0, 2.0, 1.0], [0.0, 0.0, 3.0], [0.2, 0.3, 0.5]])
    dy = np.array([1.0, -2.0, 0.5])

    def composed(t, p):
        q = nk.ops.clip(p / nk.ops.sum(p, axis=-1, keepdims=True), 1e-7, 1 - 1e-7)
        return -nk.ops.sum(t * nk.ops.log(q), axis=-1)

    gradients = []
    for fn in (nk.ops.categorical_crossentropy, composed):
        t, p = nk.ops.convert_to_tensor(y_true), nk.ops.convert_to_tensor(y_pred)
        with nk.GradientTape() as tape:
            tape.watch([t, p])
            loss = fn(t, p)
        gradients.append([np.asarray(g) for g in
                          tape.gradient(loss, [t, p], output_gradients=dy)])
    for fused, expected in zip(*gradients):
        np.testing.assert_allclose(fused, expected, rtol=1e-12, atol=1e-12)


def test_crossentropy_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"target.shape=\(2, 3\), output.shape=\(2, 4\)"):
        losses.categorical_crossentropy(np.zeros((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"target.shape=\(2, 1\), output.shape=\(2, 3\)"):
        losses.binary_crossentropy(np.zeros((2, 1)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        losses.sparse_categorical_crossentropy(np.array([0, 5]), np.ones((2, 3)))
    with pytest.raises(ValueError, match="axis"):
        losses.categorical_crossentropy(np.zeros((2, 3)), np.ones((2, 3)), axis=True)


def test_keras_documented_values():
    """Values printed in Keras 3's docstrings (computed in float32 there)."""
    y_true, y_pred = np.array([[0, 1], [0, 0]]), np.array([[-18.6, 0.51], [2.94, -12.8]])
    bce = losses.BinaryCrossentropy(from_logits=True)
    assert float(bce(y_true, y_pred)) == pytest.approx(0.8654, abs=1e-4)
    assert float(bce(y_true, y_pred, sample_weight=[0.8, 0.2])) == pytest.approx(0.243, abs=1e-3)
    focal = losses.BinaryFocalCrossentropy(gamma=3, from_logits=True)
    assert float(focal(y_true, y_pred)) == pytest.approx(0.647, abs=1e-3)
    assert float(focal(y_true, y_pred, sample_weight=[0.8, 0.2])) == pytest.approx(0.133, abs=1e-3)
    balanced = losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=3,
                                              from_logits=True)
    assert float(balanced(y_true, y_pred)) == pytest.approx(0.482, abs=1e-3)
    y_true, y_pred = np.array([[0, 1, 0], [0, 0, 1]]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    assert float(losses.CategoricalCrossentropy()(y_true, y_pred)) == pytest.approx(1.177, abs=1e-3)
    assert float(losses.CategoricalCrossentropy()(y_true, y_pred, sample_weight=np.array(
        [0.3, 0.7]))) == pytest.approx(0.814, abs=1e-3)
    assert float(losses.SparseCategoricalCrossentropy(reduction="sum")(
        [1, 2], y_pred)) == pytest.approx(2.354, abs=1e-3)
    assert float(losses.Huber()(np.array([[0, 1], [0, 0]]), np.array(
        [[0.6, 0.4], [0.4, 0.6]]))) == pytest.approx(0.155, abs=1e-3)
    assert float(losses.LogCosh()(np.array([[0., 1.], [0., 0.]]), np.array(
        [[1., 1.], [0., 0.]]))) == pytest.approx(0.108, abs=1e-3)


# ------------------------------------------------------------ Loss classes and reductions

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def _weights(rng, kind, values_shape):
    if kind == "none":
        return None
    if kind == "scalar":
        return float(rng.uniform(0.5, 2.0))
    if kind == "column":
        return rng.uniform(0.0, 2.0, values_shape + (1,))
    return rng.uniform(0.0, 2.0, values_shape)


CLASS_CASES = {
    "mse": lambda rng, lead: (losses.MeanSquaredError, {}, _regression(rng, lead + (3,)),
                              ref.mean_squared_error),
    "huber": lambda rng, lead: (losses.Huber, {"delta": 0.7}, _huber_inputs(rng, lead + (3,)),
                                lambda t, p: ref.huber(t, p, 0.7)),
    "cce_logits": lambda rng, lead: (
        losses.CategoricalCrossentropy, {"from_logits": True, "label_smoothing": 0.1},
        (one_hot(rng, lead + (4,)), rng.normal(0, 2, lead + (4,))),
        lambda t, p: ref.categorical_crossentropy(t, p, True, 0.1)),
    "bce": lambda rng, lead: (
        losses.BinaryCrossentropy, {}, (rng.integers(0, 2, lead + (2,)),
                                        rng.uniform(0.05, 0.95, lead + (2,))),
        ref.binary_crossentropy),
    "scce_logits": lambda rng, lead: (
        losses.SparseCategoricalCrossentropy, {"from_logits": True},
        (rng.integers(0, 3, lead), rng.normal(0, 2, lead + (3,))),
        lambda t, p: ref.sparse_categorical_crossentropy(t, p, True)),
}


@pytest.mark.parametrize("case", sorted(CLASS_CASES))
@given(lead=nst.shapes(min_rank=1, max_rank=2, max_side=4),
       reduction=st.sampled_from(REDUCTIONS),
       weight_kind=st.sampled_from(["none", "scalar", "vector", "column"]), seed=seeds)
def test_loss_classes_reduce_and_weight_as_keras(case, lead, reduction, weight_kind, seed):
    rng = np.random.default_rng(seed)
    cls, kwargs, (y_true, y_pred), reference = CLASS_CASES[case](rng, lead)
    sample_weight = _weights(rng, weight_kind, lead)
    loss = cls(reduction=reduction, **kwargs)
    got = loss(y_true, y_pred, sample_weight=sample_weight)
    expected = ref.reduce(reference(y_true, y_pred), sample_weight, reduction)
    assert got.dtype == "float64"
    np.testing.assert_allclose(np.ravel(got.numpy()), np.ravel(expected), rtol=RTOL, atol=ATOL)
    check_grads(lambda p: loss(y_true, p, sample_weight=sample_weight), [y_pred])


def test_loss_class_is_differentiable_on_a_tape_with_weights():
    rng = np.random.default_rng(3)
    kernel = nk.Variable(rng.normal(0, 1, (4, 3)), name="kernel")
    x, y = rng.normal(0, 1, (5, 4)), rng.integers(0, 3, 5)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    with nk.GradientTape() as tape:
        value = loss(y, nk.ops.matmul(x, kernel))
    grad = tape.gradient(value, kernel).numpy()
    logits = x @ kernel.numpy()
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    expected = x.T @ (p - np.eye(3)[y]) / 5
    assert value.shape == () and value.dtype == "float64"
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-12)


@given(lead=nst.shapes(min_rank=1, max_rank=2, max_side=5), seed=seeds,
       reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans())
def test_sparse_ignore_class_is_left_out_of_the_mean(lead, seed, reduction, weighted):
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(lead) < 0.4, 255, rng.integers(0, 3, lead))
    y_pred = rng.normal(0, 2, lead + (3,))
    sample_weight = rng.uniform(0.5, 2.0, lead) if weighted else None
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255,
                                                reduction=reduction)
    values = ref.sparse_categorical_crossentropy(labels, y_pred, True, ignore_class=255)
    expected = ref.reduce(values, sample_weight, reduction, mask=labels != 255)
    got = loss(labels, y_pred, sample_weight=sample_weight)
    np.testing.assert_allclose(np.ravel(got.numpy()), np.ravel(expected), rtol=RTOL, atol=ATOL)
    check_grads(lambda p: loss(labels, p, sample_weight=sample_weight), [y_pred])


def test_loss_classes_match_ranks_cast_and_use_dtype():
    y_pred = np.array([[0.2], [0.7], [0.9]])
    flat = losses.BinaryCrossentropy()(np.array([0, 1, 1]), y_pred)
    column = losses.BinaryCrossentropy()(np.array([[0], [1], [1]]), y_pred)
    assert_close(flat, column.numpy())
    assert_close(losses.MeanSquaredError()(np.array([[1.0], [2.0]]), np.array([1.5, 2.5])),
                 0.25)
    as32 = losses.MeanSquaredError(dtype="float32")(np.ones((2, 2)), np.zeros((2, 2)))
    assert as32.dtype == "float32"
    assert losses.MeanSquaredError()(np.ones((2, 2), "int64"),
                                     np.zeros((2, 2), "float32")).dtype == "float32"
    assert losses.MeanSquaredError().dtype == nk.config.floatx()


def test_invalid_reduction_names_the_choices():
    with pytest.raises(ValueError,
                       match="reduction.*sum_over_batch_size.*received reduction='avg'"):
        losses.MeanSquaredError(reduction="avg")


# -------------------------------------------------------------------- lookup and config

def test_get_follows_keras():
    assert losses.get("mse") is losses.mean_squared_error is losses.mse is losses.MSE
    assert losses.get("mae") is losses.mean_absolute_error
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    instance = losses.Huber(delta=2.0)
    assert losses.get(instance) is instance
    assert losses.get(np.mean) is np.mean
    assert losses.get(None) is None
    got = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert isinstance(got, losses.CategoricalCrossentropy) and got.from_logits
    with pytest.raises(ValueError, match="Unknown loss: 'msq'"):
        losses.get("msq")


LOSS_CLASSES = {
    losses.MeanSquaredError: {}, losses.MeanAbsoluteError: {},
    losses.MeanAbsolutePercentageError: {}, losses.MeanSquaredLogarithmicError: {},
    losses.CosineSimilarity: {"axis": 1}, losses.Huber: {"delta": 0.3}, losses.LogCosh: {},
    losses.Hinge: {}, losses.SquaredHinge: {}, losses.CategoricalHinge: {},
    losses.KLDivergence: {}, losses.Poisson: {},
    losses.BinaryCrossentropy: {"from_logits": True, "label_smoothing": 0.2, "axis": 1},
    losses.BinaryFocalCrossentropy: {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5},
    losses.CategoricalCrossentropy: {"label_smoothing": 0.1},
    losses.SparseCategoricalCrossentropy: {"from_logits": True, "ignore_class": -1},
}


KERAS_DEFAULT_NAMES = {"Huber": "huber_loss", "LogCosh": "log_cosh",
                       "KLDivergence": "kl_divergence", "MeanSquaredError": "mean_squared_error",
                       "BinaryFocalCrossentropy": "binary_focal_crossentropy",
                       "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy"}


@pytest.mark.parametrize("cls", list(LOSS_CLASSES), ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    loss = cls(reduction="sum", name="custom", **LOSS_CLASSES[cls])
    config = loss.get_config()
    assert config["name"] == "custom" and config["reduction"] == "sum"
    for key, value in LOSS_CLASSES[cls].items():
        assert config[key] == value and getattr(loss, key) == value
    again = losses.deserialize(losses.serialize(loss))
    assert type(again) is cls and again.get_config() == config
    assert cls.from_config(config).get_config() == config
    default = cls()
    assert default.reduction == "sum_over_batch_size"
    assert default.name == KERAS_DEFAULT_NAMES.get(cls.__name__, losses.serialize(
        default)["config"]["name"])


def test_wrapper_and_function_serialization():
    wrapper = losses.LossFunctionWrapper(losses.huber, delta=0.5, reduction="sum")
    config = wrapper.get_config()
    assert config["fn"] == "huber" and config["delta"] == 0.5 and config["name"] == "huber"
    again = losses.LossFunctionWrapper.from_config(config)
    y_true, y_pred = np.zeros((2, 3)), np.full((2, 3), 2.0)
    # |e| = 2 > delta: delta * |e| - delta**2 / 2 = 0.875 per sample, summed over 2
    assert float(again(y_true, y_pred)) == float(wrapper(y_true, y_pred)) == pytest.approx(1.75)
    assert losses.deserialize(losses.serialize(losses.poisson)) is losses.poisson
