"""One parity check, nbkeras against Keras 3 on JAX, for a layer built from one config.

`check_parity` builds both layers with the same config in float64, fills the nbkeras weights
with random values and moves them to Keras with `get_weights`/`set_weights` (the weight
layout: same count, shapes and order, trainable and non-trainable alike), then compares the
forward output and the gradients of `sum(y * r)` (a random projection `r`) with respect to
each input and every trainable weight: nbkeras through `nk.GradientTape`, Keras through
`jax.value_and_grad` over `layer.stateless_call`. In training mode the updated
non-trainable weights (BatchNormalization's moving statistics) are compared too.

Importing this module skips the calling test module where Keras is not installed.
"""
from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")       # also set by conftest.py; either comes first
keras = pytest.importorskip("keras")
jax = pytest.importorskip("jax")
if keras.backend.backend() != "jax":
    pytest.skip(f"the parity suite compares with Keras on JAX; KERAS_BACKEND is "
                f"{keras.backend.backend()!r}", allow_module_level=True)
jax.config.update("jax_enable_x64", True)        # float64 on both sides: tight tolerances
import jax.numpy as jnp  # noqa: E402
from keras.src.backend.common import dtypes as _keras_dtypes  # noqa: E402

# Keras on JAX promotes with `result_type` and then maps float64 to float32 ("to be aligned
# with JAX's default", i.e. x64 off), so a float64 BatchNormalization, LayerNormalization, ...
# silently computes in float32 (~1e-7 relative error). With x64 on, float64 is JAX's own
# result; keep it, so the reference computes in the precision its layers were given.
_keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"

import nbkeras as nk  # noqa: E402

FORWARD_RTOL = 1e-7
GRADIENT_RTOL = 1e-6

# Keras get_config keys that nbkeras lacks, on purpose or not yet; every other Keras key
# must be in ours (compare_configs).
KNOWN_CONFIG_GAPS = {
    # Batch renormalization (Ioffe 2017) is not implemented; renorm=False is Keras's default.
    "BatchNormalization": {"renorm", "renorm_clipping", "renorm_momentum"},
    # No quantized kernels in nbkeras (Keras 3: int8/float8/int4 Dense via this config).
    "Dense": {"quantization_config"},
}


def keras_layer(name: str, config: dict, fast_init: bool = False):
    """The Keras layer of the same class name and config, in float64. `fast_init`: zeros for
    every initializer the caller left unset (their weights are overwritten anyway, and
    Keras on JAX compiles a random initializer for every new weight shape)."""
    cls = getattr(keras.layers, name)
    if fast_init:
        config = {**{key: "zeros" for key in inspect.signature(cls).parameters
                     if key.endswith("_initializer")}, **config}
    return cls(**config, dtype="float64")


def nbkeras_layer(name: str, config: dict):
    return getattr(nk.layers, name)(**config, dtype="float64")


def close(actual, expected, rtol: float, what: str) -> None:
    """allclose with an absolute floor of rtol / 100 times the expected values' scale, so
    entries that cancel to near zero are judged against the size of the whole array."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale * 1e-2,
                               err_msg=what)


def random_weights(layer, rng: np.random.Generator) -> list[np.ndarray]:
    """Random values for every weight: normal, and in [0.5, 1.5) for a variance (kept
    positive) and for gamma/scale-like weights (kept away from zero)."""
    values = []
    for w in layer.weights:
        positive = any(key in w.name for key in ("variance", "gamma"))
        values.append(rng.uniform(0.5, 1.5, w.shape) if positive
                      else rng.normal(0.0, 0.5, w.shape))
    return values


def _value(variable) -> np.ndarray:
    """A Keras variable's value (its `numpy()` warns under numpy 2: no `copy` keyword)."""
    return np.asarray(variable.value)


def _keras_call_kwargs(layer, training: bool) -> dict:
    """`training=` for a Keras `call` that takes it (stateless_call calls `call` directly)."""
    return {"training": training} if "training" in inspect.signature(layer.call).parameters else {}


def _build_pair(name, config, shapes, rng, keras_as):
    ours = nbkeras_layer(name, config)
    theirs = keras_layer(*(keras_as or (name, config)), fast_init=True)
    if keras_as is None:
        # Before build: Keras's LayerNormalization.build rewrites an int axis as [axis].
        compare_configs(name, ours, theirs)
    ours.build(shapes)
    theirs.build(shapes)
    # Layout: the same weights, in the same order, in the same trainable partition.
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights], (
        f"weight names: nbkeras {[w.name for w in ours.weights]} != Keras "
        f"{[w.name for w in theirs.weights]}")
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights], (
        f"weight shapes: nbkeras {[w.shape for w in ours.weights]} != Keras "
        f"{[tuple(w.shape) for w in theirs.weights]}")
    assert [w.shape for w in ours.trainable_weights] == [
        tuple(w.shape) for w in theirs.trainable_weights], "trainable weights differ"
    assert [w.shape for w in ours.non_trainable_weights] == [
        tuple(w.shape) for w in theirs.non_trainable_weights], "non-trainable weights differ"
    ours.set_weights(random_weights(ours, rng))
    theirs.set_weights(ours.get_weights())
    for a, b in zip(ours.weights, theirs.weights):
        np.testing.assert_array_equal(a.numpy(), _value(b))
    for a, b in zip(ours.trainable_weights, theirs.trainable_weights):
        np.testing.assert_array_equal(a.numpy(), _value(b))   # same order, same roles
    return ours, theirs


def check_parity(name: str, config: dict, inputs, *, training: bool = False,
                 keras_as: tuple | None = None) -> None:
    """Build `name(**config)` in nbkeras and Keras and compare config, layout, forward and
    gradients.

    `inputs` is one float64 array or a list of them (merging layers). `keras_as=(name,
    config)`: the Keras layer to compare with, where Keras 3 names it differently."""
    rng = np.random.default_rng(0)
    several = isinstance(inputs, list)
    arrays = [np.asarray(a, np.float64) for a in (inputs if several else [inputs])]
    shapes = [a.shape for a in arrays]
    ours, theirs = _build_pair(name, config, shapes if several else shapes[0], rng, keras_as)
    before = [_value(w) for w in theirs.non_trainable_variables]

    # nbkeras: one call under the tape (in training mode it also updates the moving stats).
    xs = [nk.ops.convert_to_tensor(a) for a in arrays]
    with nk.GradientTape() as tape:
        tape.watch(xs)
        y = ours(xs if several else xs[0], training=training)
        r = rng.normal(size=tuple(y.shape))
        loss = nk.ops.sum(y * nk.ops.convert_to_tensor(r))
    sources = [*xs, *ours.trainable_weights]
    grads = tape.gradient(loss, sources)

    # Keras: the same projection, differentiated by JAX through stateless_call.
    kwargs = _keras_call_kwargs(theirs, training)

    def projected(trainable, xs):
        y, non_trainable = theirs.stateless_call(trainable, before,
                                                 list(xs) if several else xs[0], **kwargs)
        return jnp.sum(y * r), (y, non_trainable)

    trainable = [jnp.asarray(_value(v)) for v in theirs.trainable_variables]
    # One compiled program per case: far cheaper than compiling each op of an eager run.
    (_, (y_k, updated)), (g_w, g_x) = jax.jit(jax.value_and_grad(projected, argnums=(0, 1),
                                                                 has_aux=True))(
        trainable, [jnp.asarray(a) for a in arrays])

    assert str(np.asarray(y).dtype) == "float64" and str(y_k.dtype) == "float64"
    close(np.asarray(y), y_k, FORWARD_RTOL, f"{name}{config}: forward")
    for i, (g, gk) in enumerate(zip(grads[:len(xs)], g_x)):
        assert g is not None, f"{name}{config}: nbkeras gives no gradient for input {i}"
        close(np.asarray(g), gk, GRADIENT_RTOL, f"{name}{config}: gradient of input {i}")
    for w, g, gk in zip(ours.trainable_weights, grads[len(xs):], g_w):
        assert g is not None, f"{name}{config}: nbkeras gives no gradient for {w.name}"
        close(np.asarray(g), gk, GRADIENT_RTOL, f"{name}{config}: gradient of {w.name}")
    for w, new in zip(ours.non_trainable_weights, updated):
        close(np.asarray(w), new, FORWARD_RTOL, f"{name}{config}: updated {w.name}")


def _plain(value):
    """A config value as comparable data: tuples and lists alike."""
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def compare_configs(name: str, ours, theirs) -> None:
    """Every Keras config key is ours (but KNOWN_CONFIG_GAPS), and each plain value is the
    same: not a serialized object (a dtype policy, a regularizer: Keras writes a dict where
    we may write a name) nor an initializer (the Keras side may be `fast_init`'s zeros)."""
    mine, keras_config = ours.get_config(), theirs.get_config()
    missing = set(keras_config) - set(mine) - KNOWN_CONFIG_GAPS.get(name, set())
    assert not missing, f"{name}: Keras config keys missing from ours: {sorted(missing)}"
    for key, value in keras_config.items():
        if (key in mine and key != "name" and not key.endswith("_initializer")
                and not isinstance(value, dict) and not isinstance(mine[key], dict)):
            assert _plain(mine[key]) == _plain(value), (
                f"{name} config {key!r}: nbkeras {mine[key]!r} != Keras {value!r}")
