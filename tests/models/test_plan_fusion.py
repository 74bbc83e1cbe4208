"""Inference fusions as rewrites of the executor's plan (nbkeras/models/fusion.py): a Conv or Dense
step with the BatchNormalization, activation layer and (conv) max pooling that alone read it.
Over Hypothesis-drawn small models the rewritten plan gives the layer-by-layer numbers and
fuses exactly the chains the rule allows; it never fuses in training, under a tape, on a
masked input, across an output read elsewhere or returned, with an activity regularizer or
with a subclass. In training, a pooled block whose windows read part of a "valid"
convolution's output runs on the input cropped to what they read, with the same outputs and
gradients."""
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

import nbkeras as nk
import nbkeras.models.fusion as fusion
from nbkeras import layers

FUSABLE = ("linear", "relu", "tanh", "sigmoid")
TOLERANCE = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


@contextmanager
def recording_fused_calls():
    """The layer names of each fused call made inside the block."""
    calls, real = [], fusion.run_block

    def counting(block, x, checked=False, op=None, out=None):
        calls.append(tuple(layer.name for layer in block.layers))
        return real(block, x, checked, op, out)

    fusion.run_block = counting
    try:
        yield calls
    finally:
        fusion.run_block = real


@pytest.fixture
def fused_calls():
    with recording_fused_calls() as calls:
        yield calls


def plan_groups(model) -> list[tuple[str, ...]]:
    """The layer names of each step of the model's plan (several for a fused step)."""
    return [tuple(getattr(op, "name", type(op).__name__) for op in step.operations)
            for step in model._plan.steps]


def randomize_statistics(layer, seed: int) -> None:
    """Non-trivial gamma, beta and moving statistics for a BatchNormalization."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(0.5, 2, w.shape).astype(w.dtype) if "variance" in w.path
                       or "gamma" in w.path else rng.standard_normal(w.shape).astype(w.dtype)
                       for w in layer.weights])


def expected_chain(head_activation: str, followers: list, conv: bool) -> list:
    """The layers the rule fuses after the head: followers while each is allowed."""
    activation, fused, normalized, pooled = head_activation, [], False, False
    if activation not in FUSABLE:
        return []
    for kind, layer in followers:
        if kind == "bn-channels" and activation == "linear" and not normalized and not pooled:
            normalized = True
        elif (kind == "relu" or kind == "activation" and layer.activation in FUSABLE) \
                and activation == "linear" and not pooled:
            activation = "relu" if kind == "relu" else layer.activation
        elif kind == "pool-valid" and conv and not pooled:
            pooled = True
        else:
            break
        fused.append(layer)
    return fused


def follower(kind: str, dtype: str, act: str, channel_axis: int):
    return {"bn-channels": lambda: layers.BatchNormalization(axis=channel_axis, dtype=dtype),
            "bn-other": lambda: layers.BatchNormalization(axis=1, dtype=dtype),
            "activation": lambda: layers.Activation(act, dtype=dtype),
            "relu": lambda: layers.ReLU(dtype=dtype),
            "capped-relu": lambda: layers.ReLU(max_value=0.5, dtype=dtype),
            "pool-valid": lambda: layers.MaxPooling2D(2, dtype=dtype),
            "pool-same": lambda: layers.MaxPooling2D(2, padding="same", dtype=dtype)}[kind]()


# the kinds a chain can take drawn twice as often as the others
FOLLOWING = ["bn-channels", "activation", "relu", "pool-valid"] * 2 + [
    "bn-other", "capped-relu", "pool-same"]


@given(conv=st.booleans(), head_activation=st.sampled_from(["linear"] * 3 + [
           "relu", "tanh", "sigmoid", "softmax", "gelu"]),
       kinds=st.lists(st.sampled_from(FOLLOWING), min_size=1, max_size=4),
       act=st.sampled_from(FUSABLE + ("gelu",)), dtype=st.sampled_from(["float32", "float64"]),
       use=st.sampled_from(["alone", "alone", "head also returned", "head also read"]),
       batch=st.integers(1, 3), seed=st.integers(0, 2**16))
@example(conv=True, head_activation="linear", kinds=["pool-valid"] * 3 + ["bn-other"],
         act="linear", dtype="float32", use="alone", batch=1, seed=0)   # pooled to 0 x 0
def test_rewritten_plan_equals_layer_by_layer(conv, head_activation, kinds, act, dtype, use,
                                              batch, seed):
    """A Conv2D (on (6, 5, 2) images) or Dense (on (4, 3) sequences) head and drawn
    followers, in a Sequential or, with the head's output also used, a Functional model."""
    if not conv:               # pooling follows only a convolution here: it has no images
        kinds = [k for k in kinds if not k.startswith("pool")]
    shape = (6, 5, 2) if conv else (4, 3)
    head = (layers.Conv2D(3, 2, padding="same", activation=head_activation, dtype=dtype)
            if conv else layers.Dense(3, activation=head_activation, dtype=dtype))
    followers = [(k, follower(k, dtype, act, len(shape) if conv else -1)) for k in kinds]
    chain = [head] + [layer for _, layer in followers]
    inputs = nk.Input(shape, dtype=dtype)
    x = inputs
    for layer in chain:
        x = layer(x)
    if use == "alone":
        model = nk.Sequential([nk.Input(shape, dtype=dtype), *chain])
    else:
        y = head._inbound_nodes[-1].outputs[0]
        extra = y if use == "head also returned" else layers.Activation("tanh")(y)
        model = nk.Model(inputs, [x, extra])
    for _, layer in followers:
        if isinstance(layer, layers.BatchNormalization):
            randomize_statistics(layer, seed)
    fused = [] if use != "alone" else expected_chain(
        "linear" if head_activation is None else head_activation, followers, conv)
    data = np.random.default_rng(seed).standard_normal((batch, *shape)).astype(dtype)
    with recording_fused_calls() as calls:
        got = model(data)
    expected_group = [tuple(layer.name for layer in [head, *fused])] if fused else []
    assert [g for g in plan_groups(model) if len(g) > 1] == expected_group
    assert calls == expected_group
    y = data
    for layer in chain:
        y = layer(y)
    main = got if use == "alone" else got[0]
    np.testing.assert_allclose(np.asarray(main), np.asarray(y), **TOLERANCE[dtype])


CONV_RANKS = {1: (layers.Conv1D, layers.MaxPooling1D, (7, 2)),
              2: (layers.Conv2D, layers.MaxPooling2D, (6, 5, 2)),
              3: (layers.Conv3D, layers.MaxPooling3D, (5, 4, 4, 2))}


@given(rank=st.sampled_from([0, 1, 2, 3]), head_activation=st.sampled_from(FUSABLE),
       norm=st.booleans(), layer_activation=st.sampled_from([None, "relu-layer", *FUSABLE]),
       pool=st.booleans(), channels_first=st.booleans(), functional=st.booleans(),
       dtype=st.sampled_from(["float32", "float64"]), batch=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_fusable_chains_fuse_and_equal_layer_by_layer(rank, head_activation, norm,
                                                      layer_activation, pool, channels_first,
                                                      functional, dtype, batch, seed):
    """Chains the rule always fuses: a linear head (a Dense, rank 0, or a Conv1D/2D/3D, in
    either layout) with BatchNormalization and an activation layer (each drawn), or a head
    with a fused activation; then, after a convolution, max pooling (drawn)."""
    conv = rank > 0
    if not conv and not norm and layer_activation is None:
        layer_activation = head_activation        # a Dense fuses only with a follower
    linear = norm or layer_activation is not None
    activation = "linear" if linear else head_activation
    if conv:
        conv_class, pool_class, shape = CONV_RANKS[rank]
        data_format = "channels_first" if channels_first else "channels_last"
        shape = (shape[-1], *shape[:-1]) if channels_first else shape
        head = conv_class(2, 2, activation=activation, data_format=data_format, dtype=dtype)
    else:
        data_format, shape = None, (4, 3)
        head = layers.Dense(3, activation=activation, dtype=dtype)
    chain = [head]
    if norm:
        axis = 1 if data_format == "channels_first" else -1
        chain.append(layers.BatchNormalization(axis=axis, dtype=dtype))
    if layer_activation == "relu-layer":
        chain.append(layers.ReLU(dtype=dtype))
    elif layer_activation is not None:
        chain.append(layers.Activation(layer_activation, dtype=dtype))
    if conv and (pool or len(chain) == 1):
        chain.append(pool_class(2, data_format=data_format, dtype=dtype))
    if functional:
        x = inputs = nk.Input(shape, dtype=dtype)
        for layer in chain:
            x = layer(x)
        model = nk.Model(inputs, x)
    else:
        model = nk.Sequential([nk.Input(shape, dtype=dtype), *chain])
    for layer in chain:
        if isinstance(layer, layers.BatchNormalization):
            randomize_statistics(layer, seed)
    data = np.random.default_rng(seed).standard_normal((batch, *shape)).astype(dtype)
    with recording_fused_calls() as calls:
        got = model(data)
    assert plan_groups(model) == calls == [tuple(layer.name for layer in chain)]
    y = data
    for layer in chain:
        y = layer(y)
    np.testing.assert_allclose(np.asarray(got), np.asarray(y), **TOLERANCE[dtype])


def conv_block(**conv_kwargs):
    model = nk.Sequential([nk.Input((8, 8, 1)), layers.Conv2D(2, 3, **conv_kwargs),
                           layers.BatchNormalization(), layers.ReLU(), layers.MaxPooling2D(2),
                           layers.Flatten()])
    randomize_statistics(model.layers[1], 0)
    return model


def dense_block(**dense_kwargs):
    model = nk.Sequential([nk.Input((4, 3)), layers.Dense(5, **dense_kwargs),
                           layers.BatchNormalization(), layers.Activation("sigmoid")])
    randomize_statistics(model.layers[1], 1)
    return model


def test_conv_bn_relu_pool_and_dense_bn_activation_become_one_step_each(fused_calls):
    conv, dense = conv_block(), dense_block()
    assert plan_groups(conv) == [tuple(l.name for l in conv.layers[:4]), (conv.layers[4].name,)]
    assert plan_groups(dense) == [tuple(l.name for l in dense.layers)]
    for model, shape in ((conv, (3, 8, 8, 1)), (dense, (2, 4, 3))):
        x = np.random.default_rng(2).standard_normal(shape).astype("float32")
        y = x
        for layer in model.layers:
            y = layer(y)
        np.testing.assert_allclose(np.asarray(model(x, training=False)), np.asarray(y),
                                   rtol=2e-5, atol=2e-5)
    assert len(fused_calls) == 2


def test_folding_reads_the_statistics_of_each_call(fused_calls):
    model = dense_block()
    x = np.random.default_rng(3).standard_normal((2, 4, 3)).astype("float32")
    before = np.asarray(model(x))
    randomize_statistics(model.layers[1], 4)
    after = np.asarray(model(x))
    y = model.layers[2](model.layers[1](model.layers[0](x)))
    np.testing.assert_allclose(after, np.asarray(y), rtol=2e-5, atol=2e-5)
    assert not np.allclose(before, after) and len(fused_calls) == 2


def test_never_fused_in_training_under_a_tape_or_on_symbols(fused_calls):
    model = conv_block()
    x = np.random.default_rng(5).standard_normal((2, 8, 8, 1)).astype("float32")
    model(x)
    assert len(fused_calls) == 1
    statistics = model.layers[1].get_weights()
    trained = np.asarray(model(x, training=True))        # batch statistics, moving averages
    assert not all(np.allclose(a, b) for a, b in zip(statistics, model.layers[1].get_weights()))
    y = x
    for layer in model.layers:
        y = layer(y, training=True) if isinstance(layer, layers.BatchNormalization) else layer(y)
    with nk.GradientTape():
        model(x)
    outer = nk.Model(inputs := nk.Input((8, 8, 1)), model(inputs))
    assert len(fused_calls) == 1
    assert trained.shape == np.asarray(y).shape
    np.testing.assert_allclose(np.asarray(outer(x)), np.asarray(model(x)), rtol=1e-6)
    assert len(fused_calls) == 3                           # both inference calls fuse
    deferred = nk.Sequential([layers.Conv2D(1, 3), layers.MaxPooling2D(3)])
    small, large = (np.ones((1, n, n, 1), "float32") for n in (4, 5))
    assert deferred(small).shape == (1, 0, 0, 1)           # no window fits: layer by layer
    assert len(fused_calls) == 3
    assert deferred(large).shape == (1, 1, 1, 1) and len(fused_calls) == 4


def test_never_fused_with_a_regularizer_a_subclass_a_recorded_training_an_op_or_a_mask(
        fused_calls):
    class Doubled(layers.Conv2D):
        def call(self, inputs):
            return super().call(inputs) * 2.0

    class Renamed(layers.Dense):          # any subclass runs as written
        pass

    inputs = nk.Input((4, 3))
    pinned = layers.BatchNormalization()(layers.Dense(2)(inputs), training=True)
    models = [conv_block(activity_regularizer="l2"), dense_block(activity_regularizer="l2"),
              nk.Sequential([nk.Input((8, 8, 1)), Doubled(2, 3), layers.MaxPooling2D(2)]),
              nk.Sequential([nk.Input((4, 3)), Renamed(2), layers.ReLU()]),
              nk.Model(inputs, pinned),
              nk.Model(inputs, nk.ops.relu(layers.Dense(2)(inputs)))]   # an op, not a layer
    for model in models:
        model(np.ones((2, *model.input_shape[1:]), "float32"))
        assert all(len(group) == 1 for group in plan_groups(model))
    assert len(models[0].losses) == 1                      # the regularizer saw the conv's output
    masked = nk.Sequential([nk.Input((4, 3)), layers.Masking(), layers.Dense(2),
                            layers.Activation("relu")])
    x = np.ones((2, 4, 3), "float32")
    x[0, 1] = 0.0
    y = masked(x)
    assert len(plan_groups(masked)) == 2 and np.asarray(y._keras_mask).tolist() == [
        [True, False, True, True], [True] * 4]
    assert fused_calls == []


def test_a_fused_block_checks_its_input_until_a_call_needed_no_conversion(monkeypatch):
    model = conv_block()
    head = model.layers[0]
    checks = []
    real = type(head)._maybe_build
    monkeypatch.setattr(type(head), "_maybe_build",
                        lambda layer, *args: checks.append(layer) or real(layer, *args))
    x = np.random.default_rng(5).standard_normal((3, 8, 8, 1)).astype("float32")
    y = x
    for layer in model.layers:
        y = layer(y)
    checks.clear()
    tensor = nk.ops.convert_to_tensor(x)
    for _ in range(3):
        np.testing.assert_allclose(np.asarray(model(tensor)), np.asarray(y), rtol=2e-5,
                                   atol=2e-5)
    assert checks.count(head) == 1                     # the first call only
    for call in (lambda: nk.Sequential.call(model, x.astype("float64")),   # to be cast
                 lambda: model(x[:2])):                                  # another shape
        checks.clear()
        call()
        assert head in checks
    with pytest.raises(ValueError, match=f"Conv2D '{head.name}'"):
        model(np.zeros((3, 8, 8, 2), "float32"))


def test_repeated_convolution_blocks_apply_their_op_to_the_current_weights(monkeypatch):
    """After a call that needed no conversion, a conv block's calls on inputs of the same
    shape apply its Conv op directly: the numbers of the first call, with weights read on
    every call; an input of another shape goes through ops.conv again."""
    from nbkeras.ops.conv import Conv

    applied, real = [], Conv.apply
    monkeypatch.setattr(Conv, "apply", lambda op, *a: applied.append(op) or real(op, *a))
    model = nk.Sequential([nk.Input((9, 9, 8)), layers.Conv2D(8, 3, activation="relu"),
                           layers.MaxPooling2D(2), layers.Conv2D(4, 3, padding="same"),
                           layers.Flatten(), layers.Dense(3)])
    x = nk.ops.convert_to_tensor(
        np.random.default_rng(6).standard_normal((2, 9, 9, 8)).astype("float32"))
    first = np.asarray(model(x))
    calls = len(applied)
    assert np.array_equal(np.asarray(model(x)), first)
    assert len(applied) == calls + 2                   # both blocks, directly
    assert [op.max_pool for op in applied[-2:]] == [((2, 2), (2, 2)), None]
    weights = model.get_weights()
    model.set_weights([w * 2 for w in weights])
    y = x
    for layer in model.layers:
        y = layer(y)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(y), rtol=2e-5, atol=2e-5)
    calls = len(applied)
    model(x[:1])                                       # another shape: checked again
    assert len(applied) == calls + 2 and model.layers[0].built
    array = np.asarray(x)[:, ::-1]     # a numpy input, as predict passes it: repeated too
    expected = np.asarray(model(array))
    checked, conv = [], fusion.ops.conv
    monkeypatch.setattr(fusion.ops, "conv", lambda *a, **k: checked.append(a) or conv(*a, **k))
    np.testing.assert_array_equal(np.asarray(model(array)), expected)
    # the fused block applied its op; the unfused Conv2D's call runs ops.conv, as always
    assert [tuple(args[0].shape) for args in checked] == [(2, 3, 3, 8)]
    y = array
    for layer in model.layers:
        y = layer(y)
    np.testing.assert_allclose(expected, np.asarray(y), rtol=2e-5, atol=2e-5)


# ---- training: the pooled block's input cropped to what its windows read -------------------

def _crop_gradients(model, x, y, crop: bool):
    """(output, loss gradients of every weight) of one taped call, cropping or not."""
    real = fusion.FusedStep.read_crop
    fusion.FusedStep.read_crop = real if crop else (lambda self, x: None)
    try:
        with nk.GradientTape() as tape:
            out = model(x, training=True)
            loss = nk.ops.sum(nk.ops.multiply(out, y))
        return [np.asarray(out)] + [np.asarray(g) for g in
                                    tape.gradient(loss, model.trainable_weights)]
    finally:
        fusion.FusedStep.read_crop = real


@given(rank=st.sampled_from([1, 2, 3]), data=st.data())
def test_training_on_the_cropped_input_gives_the_same_outputs_and_gradients(rank, data):
    """A "valid" convolution whose pooling windows read part of its output runs, in
    training, on the input cells that part reads: the outputs and every weight's gradient
    are those of the whole input (float64), over drawn kernels, strides, dilations, pools,
    an activation layer between and channels first or last."""
    draw = data.draw
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    strides = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    dilation = (1,) * rank if any(s > 1 for s in strides) else tuple(
        draw(st.integers(1, 2)) for _ in range(rank))
    pool = tuple(draw(st.integers(2, 3)) for _ in range(rank))
    pool_strides = tuple(draw(st.integers(1, p)) for p in pool)
    spatial = tuple(draw(st.integers(k * d + p * s + 1, k * d + p * s + 5))
                    for k, d, p, s in zip(kernel, dilation, pool, strides))
    data_format = draw(st.sampled_from(["channels_last", "channels_first"]))
    activation_layer = draw(st.booleans())
    conv = {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D}[rank]
    pooling = {1: layers.MaxPooling1D, 2: layers.MaxPooling2D, 3: layers.MaxPooling3D}[rank]
    channels = 3
    shape = (*spatial, channels) if data_format == "channels_last" else (channels, *spatial)
    model = nk.Sequential(
        [nk.Input(shape, dtype="float64"),
         conv(4, kernel, strides, dilation_rate=dilation, data_format=data_format,
              activation=None if activation_layer else "relu", dtype="float64")]
        + ([layers.Activation("relu", dtype="float64")] if activation_layer else [])
        + [pooling(pool, pool_strides, data_format=data_format, dtype="float64"),
           layers.Flatten(dtype="float64"), layers.Dense(3, dtype="float64")])
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((2, *shape))
    y = rng.standard_normal((2, 3))
    step = next(s for s in model._plan.steps if isinstance(s, fusion.FusedStep))
    crop = step.read_crop(nk.ops.convert_to_tensor(x))
    cropped, whole = (_crop_gradients(model, x, y, c) for c in (True, False))
    for a, b in zip(cropped, whole):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    out = model.layers[0].compute_output_shape((2, *shape))
    first = 1 if data_format == "channels_last" else 2
    read = [(o - p) // s * s + p for o, p, s in zip(out[first:first + rank], pool, pool_strides)]
    assert (crop is not None) == (np.prod(read) <= fusion.READ_FRACTION_TO_CROP * np.prod(
        out[first:first + rank]))


def test_the_convnet_trains_on_the_cropped_input_and_keeps_the_whole_one_for_others():
    """The Simple MNIST convnet's second block runs on 12x12 of its 13x13 input in training;
    in a functional model whose block input also feeds another branch, that branch reads
    the whole input, and the outputs and gradients equal those without the crop."""
    inputs = nk.Input((13, 13, 2), dtype="float64")
    pooled = layers.MaxPooling2D(2, dtype="float64")(
        layers.Conv2D(3, 3, activation="relu", dtype="float64")(inputs))
    side = layers.GlobalAveragePooling2D(dtype="float64")(inputs)
    out = layers.Concatenate(dtype="float64")([layers.Flatten(dtype="float64")(pooled), side])
    model = nk.Model(inputs, layers.Dense(2, dtype="float64")(out))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 13, 13, 2)), rng.standard_normal((3, 2))
    model(x)
    step = next(s for s in model._plan.steps if isinstance(s, fusion.FusedStep))
    assert step.read_crop(nk.ops.convert_to_tensor(x)) == (slice(None), slice(0, 12),
                                                            slice(0, 12))
    for a, b in zip(*(_crop_gradients(model, x, y, c) for c in (True, False))):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_no_crop_with_same_padding_a_norm_a_whole_read_a_mask_or_the_profiler():
    rng = np.random.default_rng(1)
    x = nk.ops.convert_to_tensor(rng.standard_normal((2, 13, 13, 2)).astype("float32"))

    def block_step(*block_layers):
        model = nk.Sequential([nk.Input((13, 13, 2)), *block_layers, layers.Flatten()])
        model(x)
        return model, next(s for s in model._plan.steps if isinstance(s, fusion.FusedStep))

    for block in ([layers.Conv2D(3, 3, padding="same"), layers.MaxPooling2D(2)],
                  [layers.Conv2D(3, 3), layers.BatchNormalization(), layers.MaxPooling2D(2)],
                  [layers.Conv2D(3, 2), layers.MaxPooling2D(2)]):      # 12x12: all read
        assert block_step(*block)[1].read_crop(x) is None
    model, step = block_step(layers.Conv2D(3, 3), layers.MaxPooling2D(2))
    assert step.read_crop(x) is not None
    masked = nk.ops.convert_to_tensor(x.numpy())
    masked._keras_mask = nk.ops.convert_to_tensor(np.ones((2, 13, 13), bool))
    assert step.read_crop(masked) is None
    calls = []
    real = nk.ops.getitem
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fusion.ops, "getitem", lambda *a: calls.append(a) or real(*a))
        model.profile(x.numpy(), print_fn=None)       # the profiler times the layers as they are
        assert not calls
        with nk.GradientTape():
            model(x, training=True)
        assert len(calls) == 1
