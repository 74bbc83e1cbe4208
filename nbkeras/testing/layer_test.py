"""layer_test: the contract every layer keeps, checked in one call."""
from __future__ import annotations

import numpy as np

from ..core.keras_tensor import KerasTensor
from ..layers.input_layer import Input
from .gradcheck import check_grads


def layer_test(layer_cls, kwargs: dict | None = None, input_shape: tuple = (2, 3),
               input_data=None, expected_output_shape: tuple | None = None,
               expected_output=None, check_gradients: bool = True, seed: int = 0,
               rtol: float = 1e-6, atol: float = 1e-6):
    """Build, call and round-trip a layer; returns the eager output (a Tensor).

    Checks: construction from `kwargs`; `repr` and `hash`; symbolic call on an Input of
    `input_shape` (batch as None) against `compute_output_shape` and the eager output shape;
    `get_config`/`from_config` round trip; `get_weights`/`set_weights` into a fresh layer
    gives the same outputs; float64 gradients of the input and every weight
    (`check_grads`)."""
    kwargs = dict(kwargs or {})
    x = (np.random.default_rng(seed).standard_normal(input_shape)
         if input_data is None else np.asarray(input_data, np.float64))
    layer = layer_cls(**kwargs, dtype="float64")
    hash(layer)
    _expect(type(layer).__name__ in repr(layer), f"repr of {layer_cls.__name__} lacks its name")

    symbolic = layer(Input(batch_shape=(None, *x.shape[1:]), dtype="float64"))
    _expect(isinstance(symbolic, KerasTensor), f"{layer_cls.__name__} on an Input gave {symbolic!r}")
    y = layer(x)
    y_array = np.asarray(y)
    shape = tuple(y_array.shape)
    _same_shape(layer, "symbolic output", symbolic.shape, (None, *shape[1:]))
    _same_shape(layer, "compute_output_shape", layer.compute_output_shape(x.shape), shape)
    if expected_output_shape is not None:
        _same_shape(layer, "output", shape, tuple(expected_output_shape))
    if expected_output is not None:
        np.testing.assert_allclose(y_array, expected_output, rtol=rtol, atol=atol)

    config = layer.get_config()
    clone = layer_cls.from_config(config)
    _expect(clone.get_config() == config,
            f"{layer_cls.__name__}: from_config(get_config()) changed the config")
    clone.build(tuple(x.shape))          # as a user does: build by hand, then set_weights
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), y_array, rtol=1e-12, atol=1e-12,
                               err_msg=f"{layer_cls.__name__}: a clone with the same weights "
                                       "computes different outputs")
    if check_gradients:
        check_grads(layer, [x])
    return y


def _expect(ok: bool, message: str) -> None:
    if not ok:
        raise AssertionError(message)


def _same_shape(layer, what: str, got, expected) -> None:
    _expect(tuple(got) == tuple(expected), f"{type(layer).__name__} '{layer.name}': {what} "
                                           f"shape {tuple(got)} != expected {tuple(expected)}")
