"""Model: a Layer with sublayers, `summary` and `get_layer`. `Model(inputs, outputs)` makes
a functional model; subclassing `Model` makes a model whose `call` is yours."""
from __future__ import annotations

import json

from ..layers.layer import Layer, _as_shapes, _shapes_to_tensors
from ..trainers.trainer import Trainer
from .summary import print_summary


class Model(Trainer, Layer):
    """Subclass it (define `__init__` with layers as attributes, and `call`), or call
    `Model(inputs, outputs)` for a functional model."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs):
            from .functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"Model '{self.name}' has no graph and no `call`: make a "
                                  "functional model with Model(inputs, outputs), or subclass "
                                  "Model and define `call`")

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        """A functional config (`layers`, `input_layers`, `output_layers`, as Keras 3 writes
        it) rebuilds the graph; a subclassed model's config is its `__init__` arguments."""
        from .functional import Functional, functional_from_config

        graph = all(key in config for key in ("layers", "input_layers", "output_layers"))
        if cls is Model or issubclass(cls, Functional):
            if not graph:
                raise ValueError(f"{cls.__name__}.from_config: the config has no graph (it needs "
                                 "'layers', 'input_layers' and 'output_layers'; received keys "
                                 f"{sorted(config)}); for a subclassed model call "
                                 "YourModel.from_config(config)")
            return functional_from_config(cls, config, custom_objects)
        try:
            return cls(**config)
        except TypeError as error:
            raise TypeError("Unable to revive model from config. When overriding the "
                            "`get_config()` method, make sure that the returned config contains "
                            "all items used as arguments in the  constructor to "
                            f"{cls}, which is the default behavior. You can override this "
                            "default behavior by defining a `from_config(cls, config)` class "
                            "method to specify how to create an instance of "
                            f"{cls.__name__} from its config.\n\nReceived config={config}\n\n"
                            f"Error encountered during deserialization: {error}") from error

    def get_build_config(self) -> dict | None:
        """As a layer's; a model built at construction records what Keras records then: a
        Sequential its input's batch shape, a functional model None."""
        from .functional import Functional

        config = super().get_build_config()
        if config is None and self.built:
            return {"input_shape": None if isinstance(self, Functional) else self.input_shape}
        return config

    def build_from_config(self, config: dict | None) -> None:
        """As a layer's; a model without its own `build` (a subclassed model) is built by
        running `call` on symbolic inputs of the recorded shape, as Keras builds it."""
        if not config or "input_shape" not in config or type(self).build is not Layer.build:
            super().build_from_config(config)
            return
        inputs = _shapes_to_tensors(_as_shapes(config["input_shape"]), self.dtype)
        self._maybe_build(inputs)
        self._call_with_context(inputs, {})

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called `name`, or at position `index` of `model.layers`."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"{type(self).__name__} '{self.name}': get_layer index {index} "
                                 f"is out of range; the model has {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{type(self).__name__} '{self.name}': no layer named {name!r}; its "
                         f"layers are {[layer.name for layer in self.layers]}")

    def summary(self, line_length: int | None = None, positions=None, print_fn=None,
                expand_nested: bool = False, show_trainable: bool = False) -> None:
        """Print the layers, their output shapes and parameter counts, as Keras does."""
        print_summary(self, line_length, positions, print_fn, expand_nested, show_trainable)

    def save(self, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
        """Write the model (config, weights, compiled state and optimizer variables) to a
        Keras 3 `.keras` file, atomically (see `nk.saving.save_model`)."""
        from ..saving.keras_archive import save_model

        save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def to_json(self, **kwargs) -> str:
        """The model's config in Keras's serialized form, as JSON (`kwargs` go to
        `json.dumps`); `nk.models.model_from_json` rebuilds the model, with fresh weights."""
        from ..saving.serialization_lib import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """Write the weights (and the optimizer's state, once compiled) to a `.weights.h5`
        file in Keras 3's layout, atomically."""
        from ..saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch: bool = False, by_name=None) -> None:
        """Read a `.weights.h5` file (or the weights of a `.keras` file, as Keras), and the
        optimizer's state when the model is compiled and the file has it, or a legacy
        `.h5`/`.hdf5` weights file (Keras 2's layout, as Keras's published ImageNet weights)
        by topology or, with `by_name=True`, by layer name; on any error nothing is
        changed."""
        from ..saving import load_weights
        from ..saving.keras_archive import SUFFIX, load_archive_weights
        from ..saving.legacy_h5 import is_legacy_path, load_legacy_weights

        if by_name is not None and not is_legacy_path(filepath):
            raise ValueError("`by_name` only supports loading legacy '.h5' or '.hdf5' files. "
                             f"Received: {filepath}")
        if str(filepath).endswith(SUFFIX):
            load_archive_weights(self, filepath, skip_mismatch=skip_mismatch)
        elif is_legacy_path(filepath):
            load_legacy_weights(self, filepath, skip_mismatch=skip_mismatch,
                                by_name=bool(by_name))
        else:
            load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def _saveable_children(self) -> list[tuple[str, object]]:
        """As Keras: Sequential and Functional models list `layers` first (a subclassed
        model has `layers` among its attributes, in name order)."""
        from .functional import Functional
        from .sequential import Sequential

        children = super()._saveable_children()
        if isinstance(self, (Functional, Sequential)):
            return [("layers", self.layers)] + [c for c in children if c[0] != "layers"]
        return children

    def profile(self, x, y=None, **kwargs) -> list[dict]:
        """Time one training step layer by layer: forward, backward, share, GFLOP/s
        (see `nk.utils.profile`)."""
        from ..utils.profiling import profile

        return profile(self, x, y, **kwargs)


def model_from_json(json_string: str, custom_objects: dict | None = None):
    """The model a `model.to_json()` string (or Keras's) describes, with fresh weights."""
    from ..saving.serialization_lib import deserialize_keras_object

    return deserialize_keras_object(json.loads(json_string), custom_objects=custom_objects)
