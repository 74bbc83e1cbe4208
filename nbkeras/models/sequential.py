"""Sequential: a plain stack of layers, each with one input and one output."""
from __future__ import annotations

from ..core.keras_tensor import KerasTensor
from ..layers.input_layer import InputLayer
from ..layers.layer import Layer, unique_name
from ..saving.serialization_lib import serialize_keras_object
from .input_rank import adjust_input_rank
from .functional import deserialize_layer
from .executor import Plan
from .model import Model


class Sequential(Model):
    """`Sequential([Input(shape), layer, ...])`. Without an Input (or `input_shape=` on the
    first layer) the model builds itself on its first call."""

    def __init__(self, layers=None, trainable: bool = True, name: str | None = None):
        super().__init__(name=name, trainable=trainable)
        self._input_layer: InputLayer | None = None
        self._graph_output: KerasTensor | None = None
        self._plan: Plan | None = None            # of the layer chain; None after a change
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._build_graph()

    def add(self, layer, rebuild: bool = True) -> None:
        """Append a layer (or set the input, for an `Input` tensor or an `InputLayer`)."""
        if isinstance(layer, KerasTensor) and isinstance(getattr(layer.node, "operation", None),
                                                         InputLayer):
            layer = layer.node.operation
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._layers:
                raise ValueError(f"Sequential '{self.name}': an input can only be the first "
                                 f"element; received {layer.name!r} after other layers")
            self._input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential '{self.name}': add expects a Layer; received "
                             f"{type(layer).__name__} {layer!r}")
        if not self._layers and self._input_layer is None and layer.input_shape is not None:
            self._input_layer = InputLayer(shape=layer.input_shape, dtype=layer.dtype)
        self._layers.append(layer)
        self._plan = None
        if rebuild:
            self._build_graph()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise ValueError(f"Sequential '{self.name}': pop on a model without layers")
        layer = self._layers.pop()
        self._plan = None
        if rebuild:
            self._build_graph()
        return layer

    def _build_graph(self) -> None:
        """With a known input, call every layer symbolically: builds the weights, checks that
        the shapes flow and records the output shapes shown by `summary`. Makes the plan
        that runs the chain (executor.py)."""
        self._graph_output = None
        self._plan = Plan.of_chain(self._layers)
        if self._input_layer is None:
            return
        x = self._input_layer.output
        for layer in self._layers:
            x = layer(x)
        self._graph_output = x
        self.built = True
        if self._layers:   # Keras builds a Functional of the chain here, which takes the next
            unique_name("functional")   # default name: later models' names follow Keras's

    def build(self, input_shape) -> None:
        if self._input_layer is None:
            self._input_layer = InputLayer(batch_shape=tuple(input_shape), dtype=self.dtype)
            self._build_graph()

    def call(self, inputs, training=None):
        return self._execute(inputs, training)

    def _execute(self, inputs, training=None, call=None):
        """The output for `inputs`, computed by the plan of the layer chain (executor.py:
        `training` and `call` as `Plan.run` takes them); a change of layers without a
        rebuild makes a new plan here."""
        if self._plan is None:
            self._plan = Plan.of_chain(self._layers)
        x = inputs if self._input_layer is None else adjust_input_rank(
            self._input_layer.output, inputs)
        return self._plan.run([x], training, call)[0]

    def _convert_input(self, x):
        return x   # each layer converts and casts its own inputs

    def _maybe_build(self, inputs, kwargs=None) -> None:
        if self._input_layer is None:
            self.build(tuple(inputs.shape))
        self.built = True

    @property
    def inputs(self) -> list:
        if self._input_layer is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined inputs yet.")
        return [self._input_layer.output]

    @property
    def outputs(self) -> list:
        if self._graph_output is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined outputs yet.")
        return [self._graph_output]

    @property
    def input(self):
        return self._input_layer.output if self._input_layer else super().input

    @property
    def output(self):
        return self._graph_output if self._graph_output is not None else super().output

    @property
    def input_shape(self):
        input_layer = self.__dict__.get("_input_layer")   # None also while __init__ runs
        return input_layer.batch_shape if input_layer else None

    @input_shape.setter
    def input_shape(self, value) -> None:   # the base dataclass field; the InputLayer knows it
        pass

    @property
    def output_shape(self):
        if self._graph_output is None:
            raise AttributeError(f"Sequential '{self.name}' has no output shape yet: give it an "
                                 "Input or call it on data first")
        return self._graph_output.shape

    def get_config(self) -> dict:
        """Keras 3's config: every layer's entry (the input layer first) and, once the input
        is known, its batch shape."""
        layers = ([self._input_layer] if self._input_layer else []) + self._layers
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype,
                  "layers": [serialize_keras_object(layer) for layer in layers]}
        if self._input_layer is not None:
            config["build_input_shape"] = self._input_layer.batch_shape
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        """The model a config of Keras 3 or nbkeras describes (fresh weights)."""
        model = cls([deserialize_layer(entry, custom_objects) for entry in config["layers"]],
                    trainable=config.get("trainable", True), name=config.get("name"))
        if model._input_layer is None and config.get("build_input_shape"):
            model.build(tuple(config["build_input_shape"]))
        return model
