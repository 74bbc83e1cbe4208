"""Wrapper: the base of layers that wrap another layer (TimeDistributed, as Keras's)."""
from __future__ import annotations

from dataclasses import dataclass

from ..layer import Layer


@dataclass(eq=False)
class Wrapper(Layer):
    """Abstract base of a layer that wraps `layer` and augments it (Keras's
    `keras.layers.Wrapper`). It builds the wrapped layer and keeps it in its config as Keras's
    serialized entry (`{"module", "class_name", "config", "registered_name"}`); subclasses
    write `call`. The wrapped layer's weights are the wrapper's (`weights`, saving)."""

    layer: Layer

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.layer, Layer):
            raise ValueError(f"{type(self).__name__} '{self.name}': layer must be an nbkeras "
                             f"Layer instance; received layer={self.layer!r}")
        self._track(self.layer)   # assigned by the dataclass __init__, before tracking began

    def build(self, input_shape=None) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} '{self.name}': Wrapper is abstract; "
                                  "subclass it and write `call` (or use TimeDistributed or "
                                  "Bidirectional)")

    def get_config(self) -> dict:
        from ...models.functional import _serialize_layer   # models import the layers

        config = super().get_config()
        config["layer"] = _serialize_layer(self.layer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from ...models.functional import deserialize_layer

        config = dict(config)
        layer = config.pop("layer")
        if isinstance(layer, dict):
            layer = deserialize_layer(layer, custom_objects)
        return cls(layer, **config)


__all__ = ["Wrapper"]
