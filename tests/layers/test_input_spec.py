"""InputSpec and the input checks of Layer.__call__, as Keras 3.15: rank, dtype, axes, shape,
several (named) inputs, allow_last_axis_squeeze, optional inputs, config; the accept/reject
decisions compared with Keras's own assert_input_compatibility."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nbkeras as nk
from nbkeras.layers.input_spec import InputSpec, assert_input_compatibility


class Scale(nk.layers.Layer):
    """A user layer written the Keras way: the spec set in __init__."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = InputSpec(shape=(None, 4), dtype="float32")

    def call(self, x):
        return x * 2.0


class Pair(nk.layers.Layer):
    """Two named inputs given as a dict; the spec set in build."""

    def build(self, input_shape):
        self.input_spec = [InputSpec(ndim=2, axes={-1: 3}, name="a"),
                           InputSpec(min_ndim=2, name="b", optional=True)]

    def call(self, inputs):
        return inputs["a"] if inputs["b"] is None else inputs["a"] + inputs["b"][..., :3]


def test_exported_where_keras_exports_it():
    assert nk.InputSpec is nk.layers.InputSpec is InputSpec


def test_spec_attributes_as_keras():
    spec = InputSpec(dtype=np.float64, shape=[None, 3], axes={"1": 3})
    assert (spec.dtype, spec.shape, spec.ndim, spec.axes) == ("float64", (None, 3), 2, {1: 3})
    assert repr(spec) == "InputSpec(dtype=float64, shape=(None, 3), ndim=2, axes={1: 3})"
    assert repr(InputSpec()) == "InputSpec()"
    with pytest.raises(TypeError, match="`axes` must be a dict with integer keys"):
        InputSpec(axes={"channels": 3})
    with pytest.raises(ValueError, match="Axis 3 is greater than the maximum allowed value: 2"):
        InputSpec(ndim=3, axes={3: 4})
    with pytest.raises(ValueError, match="Axis 2 is greater .* 1"):
        InputSpec(max_ndim=2, axes={2: 4})
    with pytest.raises(ValueError, match="Cannot convert"):
        InputSpec(shape=(None, -1))


def test_config_round_trip_and_keras_reads_it():
    spec = InputSpec(dtype="int32", shape=(None, 5, 1), max_ndim=4, min_ndim=2, axes={-1: 1},
                     allow_last_axis_squeeze=True, name="ids", optional=True)
    again = InputSpec.from_config(spec.get_config())
    assert again.get_config() == spec.get_config()
    assert (again.allow_last_axis_squeeze, again.name, again.optional) == (True, "ids", True)
    keras = pytest.importorskip("keras")
    theirs = keras.InputSpec(**spec.get_config())
    assert set(theirs.get_config()) <= set(spec.get_config())
    assert all(theirs.get_config()[k] == v for k, v in spec.get_config().items()
               if k in theirs.get_config())
    assert repr(theirs) == repr(spec)


def test_user_layer_eager_calls():
    layer = Scale(name="scale")
    np.testing.assert_allclose(layer(np.ones((2, 4), "float32")), np.full((2, 4), 2.0))
    with pytest.raises(ValueError, match=r"Input 0 of layer Scale 'scale' is incompatible .*"
                       r"expected ndim=2 .*found ndim=3. Full shape received: \(2, 4, 1\)"):
        layer(np.ones((2, 4, 1), "float32"))
    with pytest.raises(ValueError, match=r"expected shape=\(None, 4\), found shape=\(2, 5\)"):
        layer(np.ones((2, 5), "float32"))
    with pytest.raises(ValueError, match="expected dtype=float32, found dtype=int32"):
        layer(np.ones((2, 4), "int32"))
    with pytest.raises(ValueError, match=r"Scale 'scale' expects 1 input\(s\), but it received 2"):
        layer([np.ones((2, 4), "float32"), np.ones((2, 4), "float32")])


def test_user_layer_symbolic_calls():
    layer = Scale(name="scale2")
    model = nk.Model(inputs := nk.Input((4,)), layer(inputs))
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(model(x), 2 * x, rtol=1e-6)
    with pytest.raises(ValueError, match=r"Scale 'scale2'.*expected shape=\(None, 4\), "
                       r"found shape=\(None, 6\)"):
        layer(nk.Input((6,)))
    with pytest.raises(ValueError, match="expected ndim=2 .*found ndim=3"):
        layer(nk.Input((4, 2)))


def test_built_in_layer_names_axis_and_shape():
    dense = nk.layers.Dense(2, name="d")
    dense(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match=r"Dense 'd' .*axis -1 of input shape to have size 3, "
                       r"but received input with shape \(4, 2\)"):
        dense(np.ones((4, 2), "float32"))


def test_named_inputs_as_dict_and_optional():
    layer = Pair(name="pair")
    a, b = np.ones((2, 3), "float32"), np.full((2, 5), 2.0, "float32")
    np.testing.assert_allclose(layer({"a": a, "b": b}), np.full((2, 3), 3.0))
    np.testing.assert_allclose(layer({"a": a, "b": None}), a)    # b is optional
    with pytest.raises(ValueError, match=r"Input 0 \('a'\) of layer Pair 'pair'.*axis -1"):
        layer({"a": np.ones((2, 4), "float32"), "b": b})
    with pytest.raises(ValueError, match=r"Input 1 \('b'\).*expected min_ndim=2 .*found ndim=1"):
        layer({"a": a, "b": np.ones(5, "float32")})
    with pytest.raises(ValueError, match=r'Missing data for input "b".*keys \[\'a\'\]'):
        assert_input_compatibility(layer.input_spec, {"a": a}, "Pair 'pair'")
    with pytest.raises(ValueError, match=r"expects 2 named input\(s\) with keys \['a', 'b'\].*"
                       r"received 1 input tensors.*layer\(\{'a': \.\.\., 'b': \.\.\.\}\)"):
        assert_input_compatibility(layer.input_spec, [a], "Pair 'pair'")
    with pytest.raises(ValueError, match="Inputs to a layer should be tensors"):
        assert_input_compatibility(layer.input_spec, {"a": "text", "b": b}, "Pair 'pair'")


def test_nested_specs_match_nested_inputs_in_order():
    spec = {"y": InputSpec(ndim=1), "x": [InputSpec(ndim=2), None]}   # flattened by sorted key
    assert_input_compatibility(spec, {"x": [np.ones((1, 1)), "anything"], "y": np.ones(3)}, "L")
    with pytest.raises(ValueError, match="Input 2 of layer L .*expected ndim=1 .*found ndim=2"):
        assert_input_compatibility(spec, {"x": [np.ones((1, 1)), 0], "y": np.ones((3, 3))}, "L")


def test_allow_last_axis_squeeze():
    spec = InputSpec(shape=(None, 28, 28, 1), allow_last_axis_squeeze=True)
    for shape in [(2, 28, 28), (2, 28, 28, 1)]:
        assert_input_compatibility(spec, np.zeros(shape), "L")
    with pytest.raises(ValueError, match=r"expected shape=\(None, 28, 28, 1\), found shape="
                       r"\(2, 28, 27\)"):
        assert_input_compatibility(spec, np.zeros((2, 28, 27)), "L")
    squeezed = InputSpec(shape=(None, 5), allow_last_axis_squeeze=True)
    assert_input_compatibility(squeezed, np.zeros((3, 5, 1)), "L")
    with pytest.raises(ValueError, match="expected ndim=2"):
        assert_input_compatibility(InputSpec(shape=(None, 5)), np.zeros((3, 5, 1)), "L")


# ---- accept/reject decisions against Keras's own checks -----------------------------------
_dims = st.one_of(st.none(), st.integers(1, 3))


@st.composite
def _spec_and_shape(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), max_size=4)))
    kwargs = {}
    if draw(st.booleans()):
        kwargs["shape"] = tuple(draw(st.lists(_dims, max_size=4)))
    elif draw(st.booleans()):
        kwargs["ndim"] = draw(st.integers(0, 4))
    if draw(st.booleans()):
        kwargs["max_ndim"] = draw(st.integers(0, 4))
    if draw(st.booleans()):
        kwargs["min_ndim"] = draw(st.integers(0, 4))
    rank = kwargs.get("ndim", len(kwargs.get("shape", (0,) * 4)))
    if rank and draw(st.booleans()):
        axis = draw(st.integers(-min(rank, len(shape) or 1), rank - 1))
        kwargs["axes"] = {axis: draw(_dims)}
    kwargs["allow_last_axis_squeeze"] = draw(st.booleans())
    kwargs["dtype"] = draw(st.sampled_from([None, "float32", "int32"]))
    return kwargs, shape, draw(st.sampled_from(["float32", "int32"]))


@settings(max_examples=150, deadline=None)
@given(_spec_and_shape())
def test_decisions_match_keras(case):
    keras = pytest.importorskip("keras")
    from keras.src.layers.input_spec import assert_input_compatibility as keras_check
    kwargs, shape, dtype = case
    x = np.zeros(shape, dtype)
    try:
        theirs = keras.InputSpec(**kwargs)
    except (ValueError, TypeError):
        with pytest.raises((ValueError, TypeError)):
            InputSpec(**kwargs)
        return
    try:
        keras_check(theirs, x, "L")
        keras_accepts = True
    except (ValueError, IndexError):     # IndexError: Keras's reaction to a missing axis
        keras_accepts = False
    try:
        assert_input_compatibility(InputSpec(**kwargs), x, "L")
        accepts = True
    except ValueError:
        accepts = False
    assert accepts == keras_accepts
