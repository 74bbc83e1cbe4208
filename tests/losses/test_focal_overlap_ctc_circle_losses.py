"""The losses of issue 12: categorical focal and generalized cross-entropy, Dice, Tversky, CTC
and Circle. Functions against plain float64 numpy (tests/reference_losses.py: explicit loops,
CTC by enumerating every path), gradients against central differences, every reduction with
sample weights (Circle's mask of positive losses included), finite values and gradients on
extreme inputs, configs, lookup by name, errors naming the loss and the argument, the values
printed in Keras's docstrings, and Keras 3's own numbers where Keras is installed."""
from __future__ import annotations

import os
import zlib

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import losses
from nbkeras.core.device import current_device
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

import reference_losses as ref  # tests/reference_losses.py (tests/ is on sys.path: pyproject.toml)
from op_checks import ATOL, RTOL, assert_matches as assert_close, tensor  # tests/op_checks.py

seeds = st.integers(0, 2**32 - 1)
lead_shapes = nst.shapes(min_rank=1, max_rank=3, min_side=1, max_side=4)
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def one_hot(rng, shape, axis=-1):
    labels = rng.integers(0, shape[axis], np.delete(np.array(shape), axis % len(shape)))
    return np.moveaxis(np.eye(shape[axis])[labels], -1, axis)


def soft_or_hard_labels(rng, shape, axis=-1):
    if rng.random() < 0.5:
        return one_hot(rng, shape, axis)
    p = rng.uniform(0.05, 1.0, shape)
    return p / p.sum(axis=axis, keepdims=True)


def probability_rows(rng, shape):
    p = rng.uniform(0.05, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


def unit_rows(rng, n, dim):
    e = rng.normal(0, 1, (n, dim))
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def circle_inputs(rng, n, dim, classes, margin=0.4, gap=0.03):
    """Labels and embeddings of norms in [0.5, 0.95] (so no distance sits at 0, where
    max(1 - s, 0) has its kink, nor at 1 + margin, the kink of the negative weights)."""
    for _ in range(200):
        labels = rng.integers(0, classes, n)
        e = unit_rows(rng, n, dim) * rng.uniform(0.5, 0.95, (n, 1))
        s = e @ e.T
        if np.all(np.abs(s - 1) > gap) and np.all(np.abs(s + margin) > gap):
            return labels, e
    assume(False)


def ctc_inputs(rng, batch, steps, classes):
    """Labels (batch, steps) of classes 1.. padded with 0, each spelling a sequence that fits
    in `steps` (a repeat needs a blank between), and logits (batch, steps, classes)."""
    rows = np.zeros((batch, steps), np.int64)
    for b in range(batch):
        while True:
            length = int(rng.integers(0, steps + 1))
            seq = rng.integers(1, classes, length)
            if length + int(np.sum(seq[1:] == seq[:-1])) <= steps:
                rows[b, :length] = seq
                break
    return rows, rng.normal(0, 1.5, (batch, steps, classes))


# ------------------------------------------------------------------------------ functions

@st.composite
def class_shapes(draw):
    shape = draw(lead_shapes) + (draw(st.integers(2, 4)),)
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


@given(case=class_shapes(), from_logits=st.booleans(),
       label_smoothing=st.sampled_from([0.0, 0.1, 0.35]),
       gamma=st.sampled_from([0.0, 1.0, 2.0, 3.5]),
       per_class_alpha=st.booleans(), seed=seeds)
def test_categorical_focal_crossentropy(case, from_logits, label_smoothing, gamma,
                                        per_class_alpha, seed):
    shape, axis = case
    rng = np.random.default_rng(seed)
    y_true = soft_or_hard_labels(rng, shape, axis)
    # probabilities stay above epsilon and below 1 - epsilon: off the clip's kinks
    y_pred = rng.uniform(-4, 4, shape) if from_logits else rng.uniform(0.05, 1.0, shape)
    alpha = list(rng.uniform(0.1, 1.0, shape[axis])) if per_class_alpha else 0.25
    kwargs = dict(alpha=alpha, gamma=gamma, from_logits=from_logits,
                  label_smoothing=label_smoothing, axis=axis)
    assert_close(losses.categorical_focal_crossentropy(y_true, y_pred, **kwargs),
                 ref.categorical_focal_crossentropy(y_true, y_pred, **kwargs))
    check_grads(lambda p: losses.categorical_focal_crossentropy(y_true, p, **kwargs), [y_pred])


@given(lead=lead_shapes, classes=st.integers(1, 4), q=st.sampled_from([0.1, 0.5, 0.7, 1.0]),
       column=st.booleans(), seed=seeds)
def test_categorical_generalized_cross_entropy(lead, classes, q, column, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, lead)
    y_pred = probability_rows(rng, lead + (classes,))
    y_true = labels[..., None] if column else labels
    assert_close(losses.categorical_generalized_cross_entropy(y_true, y_pred, q),
                 ref.categorical_generalized_cross_entropy(labels, y_pred, q))
    check_grads(lambda p: losses.categorical_generalized_cross_entropy(y_true, p, q), [y_pred])


@st.composite
def overlap_cases(draw):
    shape = draw(nst.shapes(min_rank=1, max_rank=3, min_side=1, max_side=4))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return shape, None
    if kind == "int":
        return shape, draw(st.integers(-len(shape), len(shape) - 1))
    axes = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    return shape, tuple(axes)


@given(case=overlap_cases(), alpha=st.sampled_from([0.5, 0.3, 0.9]),
       beta=st.sampled_from([0.5, 0.7, 0.1]), seed=seeds)
def test_dice_and_tversky(case, alpha, beta, seed):
    shape, axis = case
    rng = np.random.default_rng(seed)
    y_true = (rng.integers(0, 2, shape).astype(float) if rng.random() < 0.5
              else rng.uniform(0, 1, shape))
    y_pred = rng.uniform(0.01, 1, shape)
    assert_close(losses.dice(y_true, y_pred, axis=axis), ref.dice(y_true, y_pred, axis))
    assert_close(losses.tversky(y_true, y_pred, alpha, beta, axis=axis),
                 ref.tversky(y_true, y_pred, alpha, beta, axis))
    check_grads(lambda t, p: losses.dice(t, p, axis=axis), [y_true, y_pred])
    check_grads(lambda t, p: losses.tversky(t, p, alpha, beta, axis=axis), [y_true, y_pred])


def test_tversky_with_equal_weights_is_dice():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.uniform(0, 1, (3, 4)), rng.uniform(0, 1, (3, 4))
    # equal up to where epsilon sits: 2I / (S + 2 eps) against 2I / (S + eps)
    assert_close(losses.tversky(y_true, y_pred, axis=1),
                 losses.dice(y_true, y_pred, axis=1).numpy(), rtol=1e-6)


@given(n=st.integers(2, 6), dim=st.integers(2, 4), classes=st.integers(1, 3),
       gamma=st.sampled_from([2.0, 10.0, 80.0]), margin=st.sampled_from([0.25, 0.4]),
       remove_diagonal=st.booleans(), seed=seeds)
def test_circle(n, dim, classes, gamma, margin, remove_diagonal, seed):
    rng = np.random.default_rng(seed)
    labels, e = circle_inputs(rng, n, dim, classes, margin)
    kwargs = dict(remove_diagonal=remove_diagonal, gamma=gamma, margin=margin)
    assert_close(losses.circle(labels, e, **kwargs), ref.circle(labels, e, **kwargs))
    check_grads(lambda x: losses.circle(labels, x, **kwargs), [e])


@given(n=st.integers(1, 4), m=st.integers(2, 5), dim=st.integers(2, 4), seed=seeds)
def test_circle_with_reference_embeddings(n, m, dim, seed):
    rng = np.random.default_rng(seed)
    labels, ref_labels = rng.integers(0, 2, n), rng.integers(0, 2, (m, 1))
    e, r = unit_rows(rng, n, dim), unit_rows(rng, m, dim)
    s = e @ r.T
    assume(np.all(np.abs(s - 1) > 0.03) and np.all(np.abs(s + 0.4) > 0.03))
    kwargs = dict(ref_labels=ref_labels, remove_diagonal=False, gamma=5.0)
    assert_close(losses.circle(labels, e, ref_embeddings=r, **kwargs),
                 ref.circle(labels, e, ref_embeddings=r, **kwargs))
    check_grads(lambda x, y: losses.circle(labels, x, ref_embeddings=y, **kwargs), [e, r])


def test_circle_rows_without_pairs_give_zero_and_finite_gradients():
    """Labels 2 and 3 have no positive partner: Keras's -inf fill gives a loss of 0 there
    and NaN gradients; nbkeras's finite fill gives the same 0 and zero gradients."""
    labels = np.array([0, 1, 0, 2, 1, 3])
    e = unit_rows(np.random.default_rng(1), 6, 4)
    x = tensor(e)
    with nk.GradientTape() as tape:
        tape.watch(x)
        values = losses.circle(labels, x)
        total = nk.ops.sum(values)
    grad = tape.gradient(total, x).numpy()
    assert values.numpy()[3] == 0 and values.numpy()[5] == 0
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(values.numpy(), ref.circle(labels, e), rtol=RTOL, atol=ATOL)
    assert losses.circle([0], e[:1]).numpy().tolist() == [0.0]     # a batch of one: no pairs


@given(batch=st.integers(1, 3), steps=st.integers(1, 5), classes=st.integers(2, 4), seed=seeds)
def test_ctc(batch, steps, classes, seed):
    rng = np.random.default_rng(seed)
    labels, logits = ctc_inputs(rng, batch, steps, classes)
    assert_close(losses.ctc(labels, logits), ref.ctc(labels, logits), rtol=1e-9)
    check_grads(lambda x: losses.ctc(labels, x), [logits])


def test_ctc_labels_that_cannot_fit_give_inf():
    labels = np.array([[1, 1, 0], [1, 2, 0]])        # 1, 1 needs 3 steps; 1, 2 needs 2
    got = losses.ctc(labels, np.zeros((2, 2, 3))).numpy()
    assert got[0] == np.inf and np.isfinite(got[1])


# ------------------------------------------------------------------- Loss classes, reductions

def _focal_case(rng, lead):
    y_true, y_pred = one_hot(rng, lead + (3,)), rng.uniform(-3, 3, lead + (3,))
    kwargs = dict(alpha=[0.2, 0.5, 0.3], gamma=1.5, from_logits=True, label_smoothing=0.1)
    return (losses.CategoricalFocalCrossentropy, kwargs, y_true, y_pred, lead,
            lambda t, p: ref.categorical_focal_crossentropy(t, p, **kwargs))


def _gce_case(rng, lead):
    labels = rng.integers(0, 3, lead)
    return (losses.CategoricalGeneralizedCrossEntropy, {"q": 0.3}, labels,
            probability_rows(rng, lead + (3,)), lead,
            lambda t, p: ref.categorical_generalized_cross_entropy(t, p, 0.3))


def _dice_case(rng, lead):
    axis = tuple(range(1, len(lead) + 2))
    y_true, y_pred = rng.integers(0, 2, lead + (2, 3)), rng.uniform(0.01, 1, lead + (2, 3))
    return (losses.Dice, {"axis": axis}, y_true, y_pred, lead[:1],
            lambda t, p: ref.dice(t, p, axis))


def _tversky_case(rng, lead):
    y_true, y_pred = rng.uniform(0, 1, lead + (4,)), rng.uniform(0.01, 1, lead + (4,))
    kwargs = dict(alpha=0.3, beta=0.7, axis=-1)
    return losses.Tversky, kwargs, y_true, y_pred, lead, lambda t, p: ref.tversky(t, p, **kwargs)


def _circle_case(rng, lead):
    n = int(np.prod(lead)) + 1
    labels, e = circle_inputs(rng, n, 3, 2, 0.4)
    return (losses.Circle, {"gamma": 4.0}, labels, e, (n,),
            lambda t, p: ref.circle(t, p, gamma=4.0))


def _ctc_case(rng, lead):
    batch = int(np.prod(lead))
    labels, logits = ctc_inputs(rng, batch, 4, 3)
    return losses.CTC, {}, labels, logits, (batch,), ref.ctc


CLASS_CASES = {"focal": _focal_case, "gce": _gce_case, "dice": _dice_case,
               "tversky": _tversky_case, "circle": _circle_case, "ctc": _ctc_case}


def _weights(rng, kind, shape):
    if kind == "none":
        return None
    if kind == "scalar":
        return float(rng.uniform(0.5, 2.0))
    if kind == "column":
        return rng.uniform(0.0, 2.0, shape + (1,))
    return rng.uniform(0.0, 2.0, shape)


@pytest.mark.parametrize("case", sorted(CLASS_CASES))
@given(lead=nst.shapes(min_rank=1, max_rank=2, max_side=3), reduction=st.sampled_from(REDUCTIONS),
       weight_kind=st.sampled_from(["none", "scalar", "vector", "column"]), seed=seeds)
def test_loss_classes_reduce_and_weight_as_keras(case, lead, reduction, weight_kind, seed):
    rng = np.random.default_rng(seed)
    cls, kwargs, y_true, y_pred, values_shape, reference = CLASS_CASES[case](rng, lead)
    if case in ("circle", "ctc", "dice"):
        lead = values_shape                  # one value per sample: a (batch,) weight
    sample_weight = _weights(rng, weight_kind, lead)
    loss = cls(reduction=reduction, **kwargs)
    values = reference(y_true, y_pred)
    mask = values > 0 if case == "circle" else None      # Keras masks Circle's zero losses
    expected = ref.reduce(values, sample_weight, reduction, mask=mask)
    got = loss(y_true, y_pred, sample_weight=sample_weight)
    assert got.dtype == "float64"
    np.testing.assert_allclose(np.ravel(got.numpy()), np.ravel(expected), rtol=RTOL, atol=ATOL)
    check_grads(lambda p: loss(y_true, p, sample_weight=sample_weight), [y_pred])


@pytest.mark.parametrize("case", sorted(CLASS_CASES))
def test_loss_classes_on_every_device(device, case):
    """Each class composes ops only, so it runs where its inputs live: value and gradient on
    the device against the float64 reference and central differences."""
    rng = np.random.default_rng(7)
    cls, kwargs, y_true, y_pred, values_shape, reference = CLASS_CASES[case](rng, (2, 2))
    if case not in ("circle", "ctc", "dice"):
        values_shape = (2, 2)
    sample_weight = rng.uniform(0.5, 2.0, values_shape)
    loss = cls(reduction="sum", **kwargs)
    values = reference(y_true, y_pred)
    expected = ref.reduce(values, sample_weight, "sum",
                          mask=values > 0 if case == "circle" else None)
    assert_close(loss(y_true, tensor(y_pred), sample_weight=sample_weight), expected)
    mode = "projection" if current_device() == "cuda" else "auto"
    check_grads(lambda p: loss(y_true, p, sample_weight=sample_weight), [y_pred], mode=mode)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_focal_and_circle_stay_finite_on_extreme_inputs(dtype):
    huge = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [-1e4, -1e4, -1e4], [1e4, 3.0, -2.0]])
    y_true = np.eye(3)[[1, 0, 2, 0]]
    for loss, y_pred in [
            (losses.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1), huge),
            (losses.CategoricalFocalCrossentropy(), np.abs(huge) / 1e4),
            (losses.Circle(), unit_rows(np.random.default_rng(0), 4, 3))]:
        target = np.array([0, 1, 0, 2]) if isinstance(loss, losses.Circle) else y_true
        x = tensor(y_pred.astype(dtype))
        with nk.GradientTape() as tape:
            tape.watch(x)
            value = loss(target, x, sample_weight=[1.0, 2.0, 0.5, 1.0])
        grad = tape.gradient(value, x)
        assert value.dtype == dtype and grad.dtype == dtype
        assert np.isfinite(float(value)) and np.all(np.isfinite(grad.numpy())), (loss, value, grad)


def test_keras_documented_values():
    """Values printed in Keras 3's docstrings (computed in float32 there)."""
    y_true, y_pred = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
    focal = losses.CategoricalFocalCrossentropy()
    assert float(focal(y_true, y_pred)) == pytest.approx(0.23315276, rel=1e-6)
    assert float(focal(y_true, y_pred, sample_weight=np.array([0.3, 0.7]))) == pytest.approx(
        0.1632, abs=1e-4)
    assert float(losses.CategoricalFocalCrossentropy(reduction="sum")(
        y_true, y_pred)) == pytest.approx(0.46631, abs=1e-5)
    np.testing.assert_allclose(losses.CategoricalFocalCrossentropy(reduction=None)(
        y_true, y_pred).numpy(), [3.2058331e-05, 4.6627346e-01], rtol=1e-6)
    np.testing.assert_allclose(losses.categorical_focal_crossentropy(
        [[0, 1, 0], [0, 0, 1]], [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]).numpy(),
        [2.63401289e-04, 6.75912094e-01], rtol=1e-6)
    y_true = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
    y_pred = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]
    np.testing.assert_allclose(losses.Dice(axis=(1, 2, 3), reduction=None)(
        y_true, y_pred).numpy(), [0.5, 0.75757575], rtol=1e-6)
    assert float(losses.Dice()(y_true, y_pred)) == pytest.approx(0.6164384, rel=1e-6)
    assert losses.dice(y_true, y_pred).shape == ()


# ----------------------------------------------------------------------- config and lookup

NEW_CLASSES = {
    losses.CategoricalFocalCrossentropy: {"alpha": 0.4, "gamma": 1.5, "from_logits": True,
                                          "label_smoothing": 0.1, "axis": 1},
    losses.CategoricalGeneralizedCrossEntropy: {"q": 0.7},
    losses.CTC: {},
    losses.Dice: {"axis": (1, 2)},
    losses.Tversky: {"alpha": 0.2, "beta": 0.8, "axis": -1},
    losses.Circle: {"gamma": 32.0, "margin": 0.25, "remove_diagonal": False},
}
DEFAULT_NAMES = {"CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
                 "CategoricalGeneralizedCrossEntropy": "categorical_generalized_cross_entropy",
                 "CTC": "ctc", "Dice": "dice", "Tversky": "tversky", "Circle": "circle"}


@pytest.mark.parametrize("cls", list(NEW_CLASSES), ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    loss = cls(reduction="sum", name="custom", **NEW_CLASSES[cls])
    config = loss.get_config()
    assert config["name"] == "custom" and config["reduction"] == "sum"
    for key, value in NEW_CLASSES[cls].items():
        assert config[key] == value and getattr(loss, key) == value
    again = losses.deserialize(losses.serialize(loss))
    assert type(again) is cls and again.get_config() == config
    assert cls.from_config(config).get_config() == config
    default = cls()
    assert default.reduction == "sum_over_batch_size"
    assert default.name == DEFAULT_NAMES[cls.__name__]


def test_get_and_serialize_by_name():
    for fn in (losses.ctc, losses.dice, losses.tversky, losses.circle,
               losses.categorical_focal_crossentropy,
               losses.categorical_generalized_cross_entropy):
        assert losses.get(fn.__name__) is fn
        assert losses.deserialize(losses.serialize(fn)) is fn
    for cls in NEW_CLASSES:
        assert isinstance(losses.get(cls.__name__), cls)
    got = losses.get({"class_name": "Tversky", "config": {"alpha": 0.1, "beta": 0.9}})
    assert isinstance(got, losses.Tversky) and (got.alpha, got.beta) == (0.1, 0.9)
    with pytest.raises(ValueError, match="Unknown loss: 'dicee'"):
        losses.get("dicee")
    with pytest.raises(ValueError, match="Unknown loss: 'CTCLoss'"):
        losses.deserialize({"class_name": "CTCLoss", "config": {}})


def test_bad_input_names_the_loss_and_the_argument():
    with pytest.raises(ValueError, match=r"dice: y_true and y_pred .*y_true.shape=\(2, 3\), "
                                         r"y_pred.shape=\(2, 4\)"):
        losses.dice(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"tversky: .*y_true.shape=\(3,\)"):
        losses.Tversky()(np.ones(3), np.ones((2, 3)))
    with pytest.raises(ValueError,
                       match=r"categorical_focal_crossentropy: .*y_pred.shape=\(2, 4\)"):
        losses.CategoricalFocalCrossentropy()(np.eye(3)[:2], np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"categorical_focal_crossentropy: alpha .*3 along axis"):
        losses.categorical_focal_crossentropy(np.eye(3), np.ones((3, 3)), alpha=[0.5, 0.5])
    with pytest.raises(ValueError, match="categorical_focal_crossentropy.*axis"):
        losses.categorical_focal_crossentropy(np.eye(3), np.ones((3, 3)), axis=True)
    with pytest.raises(ValueError, match=r"categorical_generalized_cross_entropy: y_true .*"
                                         r"y_true.shape=\(3,\), y_pred.shape=\(2, 3\)"):
        losses.categorical_generalized_cross_entropy(np.zeros(3), np.ones((2, 3)) / 3, 0.5)
    with pytest.raises(ValueError, match=r"categorical_generalized_cross_entropy: y_true must "
                                         r"hold class indices in \[0, 3\); received label 3"):
        losses.CategoricalGeneralizedCrossEntropy()(np.array([0, 3]), np.ones((2, 3)) / 3)
    with pytest.raises(ValueError, match=r"CategoricalGeneralizedCrossEntropy: q .*\(0, 1\); "
                                         r"received q=1.5"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match=r"ctc: y_true must be .*y_true.shape=\(2,\)"):
        losses.CTC()(np.ones(2), np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"ctc: y_pred must be .*y_pred.shape=\(2, 3\)"):
        losses.ctc(np.ones((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"ctc: .*same batch size.*y_true.shape=\(3, 2\)"):
        losses.ctc(np.ones((3, 2)), np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"circle: y_true must hold one integer label per "
                                         r"embedding.*y_true.shape=\(3,\)"):
        losses.Circle()(np.zeros(3), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"circle: ref_embeddings must be .*\(5, 3\)"):
        losses.circle(np.zeros(4), np.ones((4, 2)), ref_embeddings=np.ones((5, 3)))
    with pytest.raises(ValueError, match="reduction.*received reduction='avg'"):
        losses.Dice(reduction="avg")


# ----------------------------------------------------------------------- Keras's numbers

def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


KERAS_CASES = {
    "CategoricalFocalCrossentropy": (dict(alpha=0.3, gamma=2.5), "one_hot", "probabilities"),
    "CategoricalFocalCrossentropy_logits": (
        dict(alpha=[0.2, 0.3, 0.5], from_logits=True, label_smoothing=0.2), "one_hot", "logits"),
    "CategoricalGeneralizedCrossEntropy": (dict(q=0.4), "labels", "probabilities"),
    "Dice": (dict(axis=(1, 2)), "binary", "probabilities"),
    "Tversky": (dict(alpha=0.3, beta=0.7, axis=(1, 2)), "binary", "probabilities"),
    "Circle": (dict(gamma=20.0, margin=0.3), "labels", "embeddings"),
    "CTC": ({}, "ctc", "logits"),
}


@pytest.mark.parametrize("case", sorted(KERAS_CASES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_keras(case, reduction):
    keras = _keras()
    name = case.split("_")[0]
    kwargs, truth, prediction = KERAS_CASES[case]
    rng = np.random.default_rng(zlib.crc32(f"{case} {reduction}".encode()))
    shape = {"ctc": (3, 5, 4), "binary": (4, 3, 2)}.get(truth, (6, 3))
    y_pred = {"probabilities": lambda: rng.uniform(0.05, 1.0, shape),
              "logits": lambda: rng.normal(0, 2, shape),
              "embeddings": lambda: unit_rows(rng, *shape)}[prediction]().astype("float32")
    if name == "CategoricalGeneralizedCrossEntropy":
        y_pred /= y_pred.sum(-1, keepdims=True)
    y_true = {"one_hot": lambda: one_hot(rng, shape), "labels": lambda: rng.integers(0, 3, 6),
              "binary": lambda: rng.integers(0, 2, shape).astype(float),
              "ctc": lambda: ctc_inputs(rng, 3, 5, 4)[0]}[truth]().astype("float32")
    sample_weight = rng.uniform(0.2, 2.0, shape[:1]).astype("float32")
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
    got = ours(y_true, y_pred, sample_weight=sample_weight)
    expected = np.asarray(theirs(y_true, y_pred, sample_weight=sample_weight))
    assert got.dtype == "float32"
    np.testing.assert_allclose(got.numpy(), expected, rtol=2e-5, atol=1e-6)
    keras_config = theirs.get_config()
    assert {k: v for k, v in ours.get_config().items() if k != "dtype"} == keras_config
