"""The graph executor (nbkeras/models/executor.py): Functional and Sequential models, nk.Function
and the profiler run one plan per graph, with Keras's semantics of training, shared layers,
nested models, several inputs and outputs, and feature models."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.layers import Layer
from nbkeras.models.executor import Plan


def data(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.fixture
def plan_runs(monkeypatch):
    """The plans run while the test runs, with their `call` argument."""
    runs, real = [], Plan.run

    def recording(plan, inputs, training=None, call=None):
        runs.append((plan, training, call))
        return real(plan, inputs, training, call)

    monkeypatch.setattr(Plan, "run", recording)
    return runs


def test_functional_plan_matches_the_layers_called_by_hand_on_a_multi_io_graph(plan_runs):
    """Two named inputs, a shared layer at two depths, an op call, a nested Sequential and two
    outputs: one plan step per recorded call, and the numbers of the layers called by hand."""
    a, b = nk.Input((3,), name="a"), nk.Input((3,), name="b")
    shared = layers.Dense(3, activation="tanh")
    inner = nk.Sequential([nk.Input((3,)), layers.Dense(4), layers.Dense(2)])
    h = shared(a)
    summed = h + b                                  # an op node
    twice = shared(summed)                          # the shared layer again, one level deeper
    out = inner(twice)
    model = nk.Model({"a": a, "b": b}, [out, layers.Concatenate()([h, twice])])
    assert len(model._plan.steps) == len(model._nodes) == 5
    xa, xb = data(0, 4, 3), data(1, 4, 3)
    plan_runs.clear()                               # the symbolic call of `inner` ran its plan
    got = model({"b": xb, "a": xa})
    assert [plan for plan, _, _ in plan_runs] == [model._plan, inner._plan]
    h_ = shared(xa)
    twice_ = shared(np.asarray(h_) + xb)
    expected = [inner(twice_), np.concatenate([np.asarray(h_), np.asarray(twice_)], -1)]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-6, atol=1e-6)


def test_training_reaches_every_layer_over_a_recorded_training_argument_as_keras():
    """Keras 3: a model's `training` (not None) replaces the one a layer call recorded."""
    inputs = nk.Input((200,))
    free = layers.Dropout(0.5)(inputs)
    on = layers.Dropout(0.5)(inputs, training=True)           # recorded with the call
    off = layers.Dropout(0.5)(inputs, training=False)
    model = nk.Model(inputs, [free, on, off])
    x = np.ones((2, 200), "float32")
    for training, drops in ((True, [True, True, True]), (False, [False, False, False]),
                            (None, [False, True, False])):
        assert [bool((np.asarray(t) == 0).any()) for t in model(x, training=training)] == drops
    # `call` itself, outside a layer call, passes `training` on as `__call__` does
    out_free, _, _ = model.call(x, training=True)
    assert (np.asarray(out_free) == 0).any()
    sequential = nk.Sequential([nk.Input((200,)), layers.Dropout(0.5)])
    assert (np.asarray(sequential.call(x, training=True)) == 0).any()
    assert not (np.asarray(sequential.call(x)) == 0).any()


def test_sequential_plan_follows_add_and_pop():
    model = nk.Sequential([nk.Input((3,)), layers.Dense(4)])
    x = data(2, 5, 3)
    assert model(x).shape == (5, 4)
    plan = model._plan
    model.add(layers.Dense(2))
    assert model(x).shape == (5, 2) and model._plan is not plan
    model.pop()
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(model.layers[0](x)), rtol=1e-6)
    deferred = nk.Sequential([layers.Dense(4), layers.Dense(1)])   # built by its first call
    assert deferred(x).shape == (5, 1) and len(deferred._plan.steps) == 2


def test_feature_model_of_an_intermediate_output_runs_its_own_plan():
    model = nk.Sequential([nk.Input((6,)), layers.Dense(5, activation="relu"),
                           layers.Dense(4), layers.Dense(1)])
    features = nk.Model(model.inputs, model.get_layer(index=1).output)
    x = data(3, 2, 6)
    assert len(features._plan.steps) == 2
    np.testing.assert_allclose(np.asarray(features(x)),
                               np.asarray(model.layers[1](model.layers[0](x))), rtol=1e-6)


def test_masks_travel_through_the_plan():
    inputs = nk.Input((4,), dtype="int32")
    embedded = layers.Embedding(10, 3, mask_zero=True)(inputs)
    model = nk.Model(inputs, layers.GlobalAveragePooling1D()(embedded))
    x = np.array([[1, 2, 0, 0], [3, 0, 0, 0]], "int32")
    table = model.layers[1].get_weights()[0]
    expected = [table[[1, 2]].mean(0), table[[3]].mean(0)]
    np.testing.assert_allclose(np.asarray(model(x)), expected, rtol=1e-6)


def test_function_runs_a_plan(plan_runs):
    a = nk.Input((2,))
    fn = nk.Function(a, [a * 2.0, layers.Dense(3)(a)])
    doubled, dense = fn(np.ones((1, 2), "float32"))
    np.testing.assert_allclose(np.asarray(doubled), 2.0)
    assert dense.shape == (1, 3) and [plan for plan, _, _ in plan_runs] == [fn._plan]


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_the_profiler_runs_the_plan_step_by_step_in_training(plan_runs, kind):
    conv, pool, dense = layers.Conv2D(2, 3), layers.MaxPooling2D(2), layers.Dense(3)
    stack = [conv, pool, layers.Flatten(), dense]
    if kind == "sequential":
        model = nk.Sequential([nk.Input((6, 6, 1)), *stack])
    else:
        x = inputs = nk.Input((6, 6, 1))
        for layer in stack:
            x = layer(x)
        model = nk.Model(inputs, x)
    rows = model.profile(data(4, 2, 6, 6, 1), print_fn=None, repeats=1)
    assert [row["layer"] for row in rows] == [layer.name for layer in stack]   # never fused
    assert {(plan, training) for plan, training, call in plan_runs} == {(model._plan, True)}
    assert all(call is not None for _, _, call in plan_runs)


graph_calls = st.lists(st.tuples(st.sampled_from(["dense", "shared", "add", "multiply-op"]),
                                 st.integers(0, 2**16), st.integers(0, 2**16)),
                       min_size=1, max_size=6)


@given(calls=graph_calls, n_outputs=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_drawn_graphs_run_as_their_calls_made_one_by_one(calls, n_outputs, seed):
    """Random graphs over two inputs (new and reused Dense layers, an Add layer, an op call),
    several outputs: the model gives what the same calls give on values, in the same order."""
    symbolic = [nk.Input((3,)), nk.Input((3,))]
    rng = np.random.default_rng(seed)
    eager = [rng.standard_normal((2, 3)).astype("float32") for _ in symbolic]
    made = []
    for kind, first, second in calls:
        a, b = first % len(symbolic), second % len(symbolic)
        if kind == "shared" and made:
            layer = made[first % len(made)]
        elif kind in ("dense", "shared"):
            layer = layers.Dense(3, activation="tanh")
            made.append(layer)
        else:
            layer = None
        if layer is not None:
            symbolic.append(layer(symbolic[a]))
            eager.append(layer(eager[a]))
        elif kind == "add":
            add = layers.Add()
            symbolic.append(add([symbolic[a], symbolic[b]]))
            eager.append(add([eager[a], eager[b]]))
        else:
            symbolic.append(symbolic[a] * symbolic[b])
            eager.append(nk.ops.multiply(eager[a], eager[b]))
    picks = [len(symbolic) - 1] + [int(i) for i in rng.integers(2, len(symbolic), n_outputs - 1)]
    model = nk.Model(symbolic[:2], [symbolic[i] for i in picks])
    for _ in range(2):       # the second call repeats the layers' calls (executor.py)
        got = model(eager[:2])
        for g, i in zip(got, picks):
            np.testing.assert_allclose(np.asarray(g), np.asarray(eager[i]), rtol=1e-6,
                                       atol=1e-6)


@pytest.fixture
def full_calls(monkeypatch):
    """The layers that went through a whole `Layer.__call__` (conversion, checks, masks)."""
    called, real = [], Layer._call_eagerly

    def recording(layer, inputs, kwargs):
        called.append(layer)
        return real(layer, inputs, kwargs)

    monkeypatch.setattr(Layer, "_call_eagerly", recording)
    return called


def _mlp():
    return nk.Sequential([nk.Input((6,)), layers.Dense(5, activation="relu"),
                          layers.Dropout(0.5), layers.Dense(3)])


def test_inference_repeats_a_layer_call_without_its_first_call_work(full_calls):
    model = _mlp()
    dense1, _, dense2 = model.layers
    x = nk.ops.convert_to_tensor(data(5, 4, 6))
    expected = np.asarray(dense2(dense1(x)))
    first = model.predict_on_batch(x)      # (after compiling on the batch's first two samples)
    full_calls.clear()
    again = [np.asarray(model(x)), model.predict_on_batch(x), np.asarray(model(x, training=False))]
    assert full_calls == [model, model, model]        # the model's own call; no layer's
    for y in [first] + again:
        np.testing.assert_allclose(y, expected, rtol=1e-6)
    dense1.set_weights([w + 1 for w in dense1.get_weights()])   # calls read the weights anew
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(dense2(dense1(x))), rtol=1e-6)


def test_a_numpy_input_repeats_the_first_layers_call_as_a_tensor_does(full_calls):
    """A model passes its caller's array on to its first layer: once a call needed no
    conversion of it, the next calls on arrays of its shape and dtype (any strides) repeat
    the layer's call too; an array to be cast never does."""
    model = _mlp()
    dense1, _, dense2 = model.layers
    x = data(9, 4, 6)
    model(x)
    for array in (data(10, 4, 6), data(11, 6, 4).T, data(12, 8, 6)[::2]):
        full_calls.clear()
        y = np.asarray(model(array))
        assert full_calls == [model]                   # no layer's whole call
        np.testing.assert_allclose(y, np.asarray(dense2(dense1(array))), rtol=1e-6)
    cast = data(13, 4, 6).astype("float64")
    for _ in range(2):
        full_calls.clear()
        np.testing.assert_allclose(np.asarray(model(cast)),
                                   np.asarray(dense2(dense1(cast.astype("float32")))),
                                   rtol=1e-5)
        assert dense1 in full_calls


def test_a_new_shape_dtype_or_training_takes_the_whole_call(full_calls):
    model = _mlp()
    x = data(6, 4, 6)
    model(x)
    for other, kwargs in [(data(7, 3, 6), {}), (x.astype("float64"), {}), (x, {"training": True})]:
        full_calls.clear()
        y = np.asarray(model(other, **kwargs))
        assert full_calls[1:] == list(model.layers)
        if kwargs:                                     # dropout ran: some units are zero
            assert y.shape == (4, 3)
        else:
            np.testing.assert_allclose(
                y, np.asarray(model.layers[2](model.layers[0](other.astype("float32")))),
                rtol=1e-5)
    with pytest.raises(ValueError, match="dense"):     # the layer's own error, not a repeat
        model(data(8, 4, 7))


def test_a_tape_masks_and_subclassed_layers_take_the_whole_call(full_calls):
    class Doubling(layers.Layer):
        def call(self, x):
            return x * 2.0

    inputs = nk.Input((4,), dtype="int32")
    embedded = layers.Embedding(10, 3, mask_zero=True)(inputs)
    pooled = layers.GlobalAveragePooling1D()(embedded)
    model = nk.Model(inputs, layers.Dense(2)(Doubling()(pooled)))
    x = np.array([[1, 2, 0, 0], [3, 0, 0, 0]], "int32")
    first = np.asarray(model(x))
    full_calls.clear()
    np.testing.assert_allclose(np.asarray(model(x)), first, rtol=1e-6)
    # the masked Embedding and GlobalAveragePooling1D, and the subclass, always; Dense repeats
    assert [type(layer).__name__ for layer in full_calls[1:]] == [
        "Embedding", "GlobalAveragePooling1D", "Doubling"]
    dense = model.layers[-1]
    full_calls.clear()
    with nk.GradientTape() as tape:
        y = nk.ops.sum(model(x))
    assert dense in full_calls
    assert tape.gradient(y, dense.kernel) is not None


def test_a_layer_with_several_outputs_takes_the_whole_call(full_calls):
    inputs = nk.Input((3, 2))
    sequence, state, _ = layers.LSTM(4, return_sequences=True, return_state=True)(inputs)
    model = nk.Model(inputs, [layers.Dense(2)(sequence), state])
    x = data(9, 2, 3, 2)
    first = [np.asarray(y) for y in model(x)]
    full_calls.clear()
    for y, expected in zip(model(x), first):
        np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-6)
    assert [type(layer).__name__ for layer in full_calls[1:]] == ["LSTM"]


@pytest.mark.parametrize("activation", ["linear", "relu", "softmax", "tanh", None])
def test_repeated_flatten_dropout_and_dense_calls_give_the_layers_numbers(activation):
    """Once they repeat, Flatten, Dropout and Dense (linear, relu, softmax) compute straight
    from the arrays (fusion.repeat_call), other activations through the layer's call: the
    layer-by-layer values exactly, on the current weights, for 2-D and 3-D Dense inputs."""
    from nbkeras.models import fusion

    for shape in [(3, 4, 2), (5, 4)]:
        model = nk.Sequential([nk.Input(shape), layers.Flatten(), layers.Dropout(0.3),
                               layers.Dense(6, activation=activation),
                               layers.Reshape((2, 3)), layers.Dense(4, activation=activation)])
        x = data(20, 7, *shape)
        for step in range(3):
            got = np.asarray(model(x))
            want = x
            for layer in model.layers:
                want = layer(want)
            np.testing.assert_array_equal(got, np.asarray(want))
            if step == 1:                                   # calls read the weights anew
                model.set_weights([w * 1.5 for w in model.get_weights()])
        fast = [s.repeat_call is not None for s in model._plan.steps]
        name = activation or "linear"
        assert fast == [True, True, name in fusion.REPEATED_ACTIVATIONS, False,
                        name in fusion.REPEATED_ACTIVATIONS]


def test_no_repeat_call_for_channels_first_flatten_or_a_subclass():
    from nbkeras.models import fusion

    class MyDense(layers.Dense):
        pass

    assert fusion.repeat_call(layers.Flatten(data_format="channels_first")) is None
    assert fusion.repeat_call(MyDense(3)) is None
    assert fusion.repeat_call(layers.Dense(3, activation=lambda v: v * 2)) is None
