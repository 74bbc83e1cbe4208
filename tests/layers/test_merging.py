"""Merging layers: values against numpy, shapes, gradients, use in functional models."""
import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

ELEMENTWISE = {
    layers.Add: lambda xs: sum(xs),
    layers.Multiply: lambda xs: np.prod(np.stack(np.broadcast_arrays(*xs)), axis=0),
    layers.Average: lambda xs: sum(xs) / len(xs),
    layers.Maximum: lambda xs: np.max(np.stack(np.broadcast_arrays(*xs)), axis=0),
    layers.Minimum: lambda xs: np.min(np.stack(np.broadcast_arrays(*xs)), axis=0),
}


def merged(layer):
    """The layer as a function of separate arrays (check_grads passes inputs separately)."""
    def fn(*xs):
        return layer(list(xs))
    return fn


@given(cls=st.sampled_from(sorted(ELEMENTWISE, key=lambda c: c.__name__)),
       count=st.integers(2, 4), shape=nst.shapes(2, 3, 1, 4), data=st.data())
def test_elementwise_merges(cls, count, shape, data):
    xs = list(data.draw(nst.arrays((count, *shape), no_ties=True)))   # no ties across inputs
    layer = cls(dtype="float64")
    np.testing.assert_allclose(np.asarray(layer(xs)), ELEMENTWISE[cls](xs), rtol=1e-12)
    check_grads(merged(layer), xs)
    symbolic = layer([nk.Input(shape[1:], dtype="float64") for _ in xs])
    assert symbolic.shape == (None, *shape[1:])


@given(shape=nst.shapes(2, 4, 1, 4), axis=st.integers(-1, 1), data=st.data())
def test_concatenate_and_subtract(shape, axis, data):
    a, b = data.draw(nst.arrays(shape)), data.draw(nst.arrays(shape))
    layer = layers.Concatenate(axis=axis, dtype="float64")
    np.testing.assert_array_equal(np.asarray(layer([a, b])), np.concatenate([a, b], axis=axis))
    check_grads(merged(layer), [a, b])
    assert layer.compute_output_shape([shape, shape])[axis] == 2 * shape[axis]
    np.testing.assert_array_equal(np.asarray(layers.Subtract(dtype="float64")([a, b])), a - b)


@given(n=st.integers(1, 3), k=st.integers(1, 4), m=st.integers(1, 3), normalize=st.booleans(),
       data=st.data())
def test_dot_matches_einsum(n, k, m, normalize, data):
    x = data.draw(nst.arrays((n, m, k)))
    y = data.draw(nst.arrays((n, k, m + 1)))
    layer = layers.Dot(axes=(2, 1), normalize=normalize, dtype="float64")
    if normalize:
        x_ref = x * np.minimum(1 / np.sqrt((x ** 2).sum(2, keepdims=True)), 1e7)   # Keras 3
        y_ref = y * np.minimum(1 / np.sqrt((y ** 2).sum(1, keepdims=True)), 1e7)
    else:
        x_ref, y_ref = x, y
    np.testing.assert_allclose(np.asarray(layer([x, y])),
                               np.einsum("nmk,nkq->nmq", x_ref, y_ref), rtol=1e-10, atol=1e-12)
    check_grads(merged(layer), [x, y])
    vectors = layers.Dot(axes=1, dtype="float64")([x[:, 0], x[:, 0]])
    np.testing.assert_allclose(np.asarray(vectors), (x[:, 0] ** 2).sum(1, keepdims=True))


def test_merges_in_a_functional_model_and_their_errors():
    a, b = nk.Input((4,)), nk.Input((4,))
    shared = layers.Dense(3)
    joined = layers.Concatenate()([shared(a), shared(b), layers.Add()([a, b])])
    model = nk.Model([a, b], layers.Dense(1)(joined))
    assert joined.shape == (None, 10)
    assert model([np.ones((2, 4)), np.zeros((2, 4))]).shape == (2, 1)
    with pytest.raises(ValueError, match=r"Add '\w+' must be called on a list of at least 2"):
        layers.Add()(nk.Input((3,)))
    with pytest.raises(ValueError, match=r"Subtract '\w+' must be called on exactly 2 inputs"):
        layers.Subtract()([nk.Input((3,))] * 3)
    with pytest.raises(ValueError, match=r"Concatenate '\w+'.*same shape except along axis"):
        layers.Concatenate(axis=1)([nk.Input((3, 2)), nk.Input((4, 5))])
    with pytest.raises(ValueError, match=r"cannot be broadcast"):
        layers.Multiply()([nk.Input((3,)), nk.Input((4,))])
    config = layers.Concatenate(axis=2).get_config()
    assert layers.Concatenate.from_config(config).axis == 2


# ---- the functional interfaces: add, subtract, ..., concatenate, dot ------------------------
FUNCTIONAL = [(layers.add, layers.Add, {}), (layers.subtract, layers.Subtract, {}),
              (layers.multiply, layers.Multiply, {}), (layers.average, layers.Average, {}),
              (layers.maximum, layers.Maximum, {}), (layers.minimum, layers.Minimum, {}),
              (layers.concatenate, layers.Concatenate, {"axis": 1}),
              (layers.dot, layers.Dot, {"axes": 1, "normalize": True})]


@given(index=st.integers(0, len(FUNCTIONAL) - 1), batch=st.integers(1, 3),
       size=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_functional_interfaces_equal_their_layers(index, batch, size, seed):
    fn, cls, kwargs = FUNCTIONAL[index]
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(batch, size)) for _ in range(2)]
    out = fn(xs, dtype="float64", name=f"{fn.__name__}_{seed}", **kwargs)
    np.testing.assert_allclose(np.asarray(out), np.asarray(cls(dtype="float64", **kwargs)(xs)),
                               rtol=1e-12)


def test_functional_interfaces_on_symbolic_inputs_build_a_model():
    rng = np.random.default_rng(7)
    xs = [rng.normal(size=(5, 3)).astype("float32") for _ in range(2)]
    for fn, cls, kwargs in FUNCTIONAL:
        inputs = [nk.Input((3,)), nk.Input((3,))]
        y = fn(inputs, name=f"merged_{fn.__name__}", **kwargs)
        model = nk.Model(inputs, y)
        merge_layer = model.get_layer(f"merged_{fn.__name__}")
        assert type(merge_layer) is cls
        assert all(getattr(merge_layer, k) == v for k, v in kwargs.items())
        np.testing.assert_allclose(np.asarray(model(xs)), np.asarray(cls(**kwargs)(xs)),
                                   rtol=1e-6)


def test_functional_interfaces_have_keras_signatures():
    keras = pytest.importorskip("keras")
    for fn, _, _ in FUNCTIONAL:
        assert inspect.signature(fn) == inspect.signature(getattr(keras.layers, fn.__name__))
