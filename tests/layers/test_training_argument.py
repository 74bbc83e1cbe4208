"""The `training` argument resolves as in Keras 3: the caller's value, else the enclosing
call's, else the default of the layer's own `call` signature — so a model called without
`training` augments (RandomFlip's `call` defaults to True) and does not drop (Dropout's
defaults to False)."""
from __future__ import annotations

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers


def _recorders(base):
    """User layers, written the Keras way, that record the `training` their call receives:
    one whose `call` defaults `training` to None, one to True."""

    class Recorder(base):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seen = []

    class DefaultNone(Recorder):
        def call(self, x, training=None):
            self.seen.append(training)
            return x

    class DefaultTrue(Recorder):
        def call(self, x, training=True):
            self.seen.append(training)
            return x

    return {None: DefaultNone, True: DefaultTrue}


def _scenarios(lib, base):
    """What the inner layers see for each way of calling a nested model."""
    seen = {}
    for default, cls in _recorders(base).items():
        inner_layer = cls()
        inner = lib.Sequential([lib.layers.Input((3,)), inner_layer])
        outer = lib.Sequential([lib.layers.Input((3,)), inner])
        x = np.random.default_rng(0).standard_normal((2, 3)).astype("float32")
        for label, call in [("plain", lambda: outer(x)), ("true", lambda: outer(x, training=True)),
                            ("false", lambda: outer(x, training=False)),
                            ("inner plain", lambda: inner_layer(x))]:
            inner_layer.seen.clear()
            call()
            seen[(default, label)] = inner_layer.seen[-1]
    return seen


def test_nested_calls_resolve_training_as_keras():
    keras = pytest.importorskip("keras")
    expected = _scenarios(keras, keras.layers.Layer)
    assert _scenarios(nk, nk.layers.Layer) == expected
    assert expected[(True, "plain")] is True and expected[(None, "plain")] is None


def test_a_model_of_augmentation_layers_augments_when_called_without_training():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (16, 6, 6, 3)).astype("float32")
    augment = nk.Sequential([layers.Input((6, 6, 3)), layers.RandomFlip("horizontal", seed=3),
                             layers.Dropout(0.9, seed=4)])
    flipped = np.asarray(augment(x))
    changed = [not np.array_equal(a, b) for a, b in zip(flipped, x)]
    assert any(changed) and not all(changed)          # flips some images; drops nothing
    for i in np.flatnonzero(changed):
        np.testing.assert_array_equal(flipped[i], x[i, :, ::-1])
    np.testing.assert_array_equal(np.asarray(augment(x, training=False)), x)
    np.testing.assert_array_equal(augment.predict(x, verbose=0), x)


def test_functional_model_passes_the_callers_training_to_its_layers():
    inputs = nk.Input((4,))
    model = nk.Model(inputs, layers.Dropout(0.5, seed=0)(inputs))
    x = np.ones((64, 4), "float32")
    np.testing.assert_array_equal(np.asarray(model(x)), x)
    dropped = np.asarray(model(x, training=True))
    assert np.any(dropped == 0) and np.allclose(dropped[dropped != 0], 2.0)
