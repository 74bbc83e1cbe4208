"""Inference fusions as rewrites of the executor's plan: over Hypothesis-drawn small convnets the
rewritten plan gives the layer-by-layer numbers, it rewrites exactly the pairs the rule allows,
and it never fuses where it must not (training, a tape, a conv output read elsewhere or
returned, an activity regularizer, a subclass)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import nbkeras as nk
import nbkeras.models.fusion as fusion
from nbkeras import layers

FUSABLE = (None, "relu", "tanh", "sigmoid")


@pytest.fixture
def fused_calls(monkeypatch):
    """The (conv, pool) layer names of the fused calls made while the test runs."""
    calls, real = [], fusion.conv_max_pool

    def counting(conv, pool, x):
        calls.append((conv.name, pool.name))
        return real(conv, pool, x)

    monkeypatch.setattr(fusion, "conv_max_pool", counting)
    return calls


def plan_groups(model) -> list[tuple[str, ...]]:
    """The layer names of each step of the model's plan (two for a fused step)."""
    return [tuple(op.name for op in step.operations) for step in model._plan.steps]


blocks = st.lists(st.fixed_dictionaries({
    "filters": st.integers(1, 3), "kernel": st.integers(1, 3),
    "activation": st.sampled_from(FUSABLE + ("softmax", "gelu")),
    "pool": st.sampled_from([None, (2, "valid"), (1, "valid"), (2, "same")]),
    "conv_output": st.sampled_from(["pool only", "also returned", "also read"]),
}), min_size=1, max_size=2)


def build(blocks_drawn, channels: int, functional: bool):
    """A convnet of the drawn blocks (conv ["same" padding], maybe a max pool) and the (conv,
    pool) pairs the rewrite rule fuses in it."""
    convs = [layers.Conv2D(b["filters"], b["kernel"], padding="same",
                           activation=b["activation"]) for b in blocks_drawn]
    pools = [None if b["pool"] is None else layers.MaxPooling2D(b["pool"][0],
                                                               padding=b["pool"][1])
             for b in blocks_drawn]
    x = inputs = nk.Input((6, 5, channels))
    extra, expected = [], []
    for block, conv, pool in zip(blocks_drawn, convs, pools):
        y = conv(x)
        x = y if pool is None else pool(y)
        shared = functional and block["conv_output"] != "pool only"
        if shared:
            extra.append(y if block["conv_output"] == "also returned"
                         else layers.GlobalAveragePooling2D()(y))
        if (pool is not None and block["pool"][1] == "valid" and block["activation"] in FUSABLE
                and not shared):
            expected.append((conv.name, pool.name))
    chain = [layer for pair in zip(convs, pools) for layer in pair if layer is not None]
    if not functional:
        return nk.Sequential([nk.Input((6, 5, channels)), *chain]), chain, expected
    return nk.Model(inputs, [x, *extra]), chain, expected


@given(drawn=blocks, channels=st.integers(1, 3), batch=st.integers(1, 3),
       functional=st.booleans(), seed=st.integers(0, 2**16))
def test_rewritten_plan_equals_layer_by_layer(drawn, channels, batch, functional, seed):
    calls = []
    real = fusion.conv_max_pool
    fusion.conv_max_pool = lambda conv, pool, x: calls.append((conv.name, pool.name)) or real(
        conv, pool, x)
    try:
        model, chain, expected = build(drawn, channels, functional)
        x = np.random.default_rng(seed).standard_normal((batch, 6, 5, channels)) \
            .astype("float32")
        got = model(x)
    finally:
        fusion.conv_max_pool = real
    assert [g for g in plan_groups(model) if len(g) == 2] == expected
    assert calls == expected
    y = x
    for layer in chain:
        y = layer(y)
    main = got[0] if functional else got
    np.testing.assert_allclose(np.asarray(main), np.asarray(y), rtol=1e-6, atol=1e-6)


def convnet(**conv_kwargs):
    return nk.Sequential([nk.Input((8, 8, 1)), layers.Conv2D(2, 3, **conv_kwargs),
                          layers.MaxPooling2D(2), layers.Flatten()])


def test_the_plan_never_fuses_a_conv_with_an_activity_regularizer_or_a_subclass(fused_calls):
    class Doubled(layers.Conv2D):
        def call(self, inputs):
            return super().call(inputs) * 2.0

    class Renamed(layers.Conv2D):       # any subclass runs as written
        pass

    x = np.random.default_rng(0).standard_normal((2, 8, 8, 1)).astype("float32")
    regularized = convnet(activity_regularizer="l2")
    for model in (regularized,
                  nk.Sequential([nk.Input((8, 8, 1)), Doubled(2, 3), layers.MaxPooling2D(2)]),
                  nk.Sequential([nk.Input((8, 8, 1)), Renamed(2, 3), layers.MaxPooling2D(2)])):
        model(x)
        assert all(len(group) == 1 for group in plan_groups(model))
    assert fused_calls == []
    regularized(x)
    assert len(regularized.losses) == 1          # the regularizer saw the conv's output


def test_the_fused_step_runs_its_layers_in_training_under_a_tape_and_on_symbols(fused_calls):
    model = convnet(activation="relu")
    x = np.random.default_rng(1).standard_normal((2, 8, 8, 1)).astype("float32")
    model(x)
    assert plan_groups(model)[0] == (model.layers[0].name, model.layers[1].name)
    assert len(fused_calls) == 1
    model(x, training=True)
    with nk.GradientTape():
        model(x)
    outer = nk.Model(inputs := nk.Input((8, 8, 1)), model(inputs))    # symbolic: makes nodes
    assert len(fused_calls) == 1
    np.testing.assert_allclose(np.asarray(outer(x)), np.asarray(model(x)), rtol=1e-6)
    assert len(fused_calls) == 3                 # both inference calls fuse
    deferred = nk.Sequential([layers.Conv2D(1, 3), layers.MaxPooling2D(3)])
    small, large = (np.ones((1, n, n, 1), "float32") for n in (4, 5))
    assert deferred(small).shape == (1, 0, 0, 1)            # no window fits: layer by layer
    assert len(fused_calls) == 3
    assert deferred(large).shape == (1, 1, 1, 1) and len(fused_calls) == 4
