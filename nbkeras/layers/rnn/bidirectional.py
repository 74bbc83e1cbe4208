"""Bidirectional: a recurrent layer run forwards and a copy of it run backwards, merged."""
from __future__ import annotations

import contextlib
from dataclasses import InitVar, dataclass
from typing import ClassVar

from ... import ops
from ...tree import leaves as flatten
from ..layer import Layer, require
from .rnn import RNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


@dataclass(eq=False)
class Bidirectional(Layer):
    """Runs `layer` (an RNN such as LSTM or GRU, or any sequence layer with `go_backwards`,
    `return_sequences` and `return_state`) over the sequence forwards and a second layer
    over it backwards, and merges their outputs (Keras's `keras.layers.Bidirectional`).

    layer: the forward layer is a fresh copy of it, from its config, named
        `forward_<name>` (the given layer's weights are not reused, as Keras).
    merge_mode: "concat" (last axis), "sum", "mul", "ave", or None (the two outputs as a
        pair).
    weights: optional initial weights, the forward layer's then the backward layer's
        (Keras 3 accepts and ignores them; nbkeras sets them once built).
    backward_layer: the backward layer; by default a copy of `layer` with
        go_backwards=True, named `backward_<name>`. It must differ from the forward layer in
        go_backwards and agree in stateful, return_sequences and return_state.

    With return_sequences the backward outputs are flipped back into time order, and masked
    steps output zeros (both layers get zero_output_for_mask=return_sequences, as Keras).
    Call: `layer(sequences, initial_state=None, mask=None, training=None)`: initial_state's
    first half goes to the forward layer, its second half to the backward one; the mask goes
    to both. Output: the merged output, then with return_state the forward layer's final
    states, then the backward layer's. Weights: the forward layer's, then the backward's.
    """

    _supports_masking_by_default: ClassVar[bool] = True

    layer: Layer
    merge_mode: str | None = "concat"
    weights: InitVar[list | None] = None
    backward_layer: Layer | None = None

    def __post_init__(self, weights) -> None:
        super().__post_init__()
        layer, backward = self.layer, self.backward_layer
        require(self, "layer", isinstance(layer, Layer) and all(
            hasattr(layer, a) for a in ("go_backwards", "return_sequences", "return_state",
                                        "stateful")),
                "a recurrent layer (an RNN such as LSTM or GRU, or a layer with go_backwards, "
                "return_sequences, return_state and stateful)")
        require(self, "backward_layer", backward is None or isinstance(backward, Layer),
                "None or a recurrent layer")
        require(self, "merge_mode", self.merge_mode in MERGE_MODES,
                "one of 'concat', 'sum', 'mul', 'ave' or None")
        self.forward_layer = _copy(layer, f"forward_{layer.name.removeprefix('forward_')}")
        if backward is None:
            backward = _copy(layer, f"backward_{layer.name.removeprefix('backward_')}",
                             go_backwards=True)
        self.backward_layer = backward
        object.__setattr__(self, "layer", self.forward_layer)   # tracked once, as forward
        if hasattr(layer, "use_cudnn"):   # not in the config: carried over, as Keras
            self.forward_layer.use_cudnn = self.backward_layer.use_cudnn = layer.use_cudnn
        self._verify_layers()
        for inner in (self.forward_layer, self.backward_layer):
            if getattr(inner, "zero_output_for_mask", None) is not None:
                inner.zero_output_for_mask = inner.return_sequences
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._initial_weights = list(weights) if weights is not None and len(weights) else None

    def _verify_layers(self) -> None:
        forward, backward = self.forward_layer, self.backward_layer
        if bool(forward.go_backwards) == bool(backward.go_backwards):
            raise ValueError(f"Bidirectional '{self.name}': the forward and backward layers "
                             "must differ in go_backwards; received forward_layer.go_backwards="
                             f"{forward.go_backwards}, backward_layer.go_backwards="
                             f"{backward.go_backwards}")
        for attribute in ("stateful", "return_sequences", "return_state"):
            a, b = getattr(forward, attribute), getattr(backward, attribute, None)
            if a != b:
                raise ValueError(f"Bidirectional '{self.name}': backward_layer must have the "
                                 f"forward layer's {attribute}; received {attribute}={a} for "
                                 f"the forward layer and {attribute}={b} for backward_layer")

    # ---- shapes and building ----------------------------------------------------------------
    def _check_rank(self, shape) -> None:
        if len(shape) < 3:
            raise ValueError(f"Bidirectional '{self.name}': sequences must be at least 3-D "
                             f"(batch, timesteps, features); received shape {tuple(shape)}")

    def build(self, sequences_shape, initial_state_shape=None) -> None:
        self._check_rank(sequences_shape)
        for inner in (self.forward_layer, self.backward_layer):
            if not inner.built:
                inner.build(tuple(sequences_shape))
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            half = len(weights) // 2
            self.forward_layer.set_weights(weights[:half])
            self.backward_layer.set_weights(weights[half:])

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        self._check_rank(sequences_shape)
        output_shape = self.forward_layer.compute_output_shape(tuple(sequences_shape))
        state_shapes = ()
        if self.return_state:
            output_shape, state_shapes = output_shape[0], tuple(output_shape[1:])
        output_shape = tuple(output_shape)
        if self.merge_mode == "concat":
            last = output_shape[-1]
            output_shape = (*output_shape[:-1], None if last is None else 2 * last)
            outputs = (output_shape,)
        elif self.merge_mode is None:
            outputs = (output_shape, output_shape)
        else:
            outputs = (output_shape,)
        if not self.return_state:
            return outputs[0] if len(outputs) == 1 else outputs
        return (*outputs, *state_shapes, *state_shapes)

    def compute_mask(self, inputs, previous_mask):
        mask = previous_mask[0] if isinstance(previous_mask, (list, tuple)) else previous_mask
        output_mask = mask if self.return_sequences else None
        masks = [output_mask] if self.merge_mode else [output_mask, output_mask]
        if self.return_state:
            masks += [None] * (2 * len(flatten(getattr(self.forward_layer, "state_size", []))))
        return masks[0] if len(masks) == 1 else masks

    # ---- the call ----------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            if len(states) < 2 or len(states) % 2:
                raise ValueError(f"Bidirectional '{self.name}': initial_state must be the "
                                 "forward layer's states then the backward layer's (an even "
                                 f"number of tensors); received {len(states)}")
            half = len(states) // 2
            forward_state, backward_state = states[:half], states[half:]
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        y = self._run(self.forward_layer, sequences, forward_state, mask, training)
        y_rev = self._run(self.backward_layer, sequences, backward_state, mask, training)
        states = []
        if self.return_state:
            states = [*y[1:], *y_rev[1:]]
            y, y_rev = y[0], y_rev[0]
        y, y_rev = (t if t.dtype == self.dtype else ops.cast(t, self.dtype) for t in (y, y_rev))
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        output = self._merge(y, y_rev)
        if self.return_state:
            return (*output, *states) if self.merge_mode is None else (output, *states)
        return output

    def _run(self, layer, sequences, initial_state, mask, training):
        """One direction's outputs. An RNN's zeros for masked steps are applied here to its
        sequence, so that its fused kernels (which carry the previous output) still run."""
        kwargs = {"training": training}
        if initial_state is not None:
            kwargs["initial_state"] = initial_state
        if mask is not None:
            kwargs["mask"] = mask
        zero_masked = isinstance(layer, RNN) and layer.zero_output_for_mask \
            and layer.return_sequences
        with _outputs_carried(layer) if zero_masked else contextlib.nullcontext():
            outputs = layer(sequences, **kwargs)
        if zero_masked and mask is not None:
            keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
            if layer.go_backwards:
                keep = ops.flip(keep, axis=1)   # the sequence is in processing order
            y = outputs[0] if layer.return_state else outputs
            y = ops.where(keep, y, ops.zeros_like(y))
            outputs = (y, *outputs[1:]) if layer.return_state else y
        return outputs

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return ops.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return (y, y_rev)

    # ---- states ------------------------------------------------------------------------------
    @property
    def states(self):
        """The forward layer's state variables then the backward's (stateful), else None."""
        forward = getattr(self.forward_layer, "states", None)
        backward = getattr(self.backward_layer, "states", None)
        if forward and backward:
            return (*forward, *backward)
        return None

    def reset_states(self, states=None) -> None:
        self.reset_state(states)

    def reset_state(self, states=None) -> None:
        """Zero both layers' states, or set them to `states` (forward's, then backward's)."""
        if not self.stateful:
            raise AttributeError(f"Bidirectional '{self.name}': reset_state needs a stateful "
                                 "layer")
        if states is None:
            self.forward_layer.reset_state()
            self.backward_layer.reset_state()
            return
        states = flatten(states)
        half = len(states) // 2
        self.forward_layer.reset_state(states[:half])
        self.backward_layer.reset_state(states[half:])

    # ---- config ------------------------------------------------------------------------------
    def get_config(self) -> dict:
        from ...models.functional import _serialize_layer   # models import the layers

        config = super().get_config()
        config.pop("weights", None)   # initial values, not config (as Keras)
        config["layer"] = _serialize_layer(self.forward_layer)
        config["backward_layer"] = _serialize_layer(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from ...models.functional import deserialize_layer

        config = dict(config)
        for key in ("layer", "backward_layer"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize_layer(_without_forced(config[key]), custom_objects)
        return cls(**config)


del Bidirectional.weights   # the InitVar's default would hide Layer.weights (the variables)


def _copy(layer: Layer, name: str, **changes) -> Layer:
    """A new layer from `layer`'s config with `name` and `changes` (Keras's serialize, edit,
    deserialize: no weights or states carried over)."""
    from ...models.functional import _serialize_layer, deserialize_layer

    entry = _without_forced(_serialize_layer(layer))
    entry["config"] = {**entry["config"], "name": name, **changes}
    return deserialize_layer(entry, _classes(layer))


def _without_forced(entry: dict) -> dict:
    """A layer's entry without zero_output_for_mask, which Bidirectional sets itself (and
    which LSTM, GRU and SimpleRNN take only through RNN's **kwargs, so their configs with
    it set do not deserialize)."""
    config = {k: v for k, v in (entry.get("config") or {}).items()
              if k != "zero_output_for_mask"}
    return {**entry, "config": config}


def _classes(layer: Layer) -> dict[str, type]:
    """The classes of a layer and its sublayers (a user's RNN cell) by name: what
    deserializing its config needs."""
    classes = {type(layer).__name__: type(layer)}
    for sublayer in layer._layers:
        classes.update(_classes(sublayer))
    return classes


@contextlib.contextmanager
def _outputs_carried(layer: RNN):
    """zero_output_for_mask off for one call: Bidirectional zeros the masked steps itself."""
    layer.zero_output_for_mask = False
    try:
        yield
    finally:
        layer.zero_output_for_mask = True


__all__ = ["Bidirectional"]
