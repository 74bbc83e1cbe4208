"""TimeDistributed: applies a layer to every temporal slice of (batch, time, ...) inputs."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import ClassVar

from ... import ops
from ...tree import leaves as flatten, map_leaves as map_structure
from ..core.wrapper import Wrapper


@dataclass(eq=False)
class TimeDistributed(Wrapper):
    """Applies `layer` (Dense, Conv2D, a Sequential, ...) to each step of inputs of shape
    (batch, time, ...), with the same weights at every step: the inputs are reshaped to
    (batch * time, ...), the layer is called once, and its outputs reshaped back to
    (batch, time, ...). The same results as Keras's loop over steps, except for layers whose
    output depends on the whole batch (BatchNormalization in training sees batch * time
    samples at once here, one step's batch at a time in Keras).

    Call: `layer(inputs, training=None, mask=None)`. A mask (batch, time, ...) is reshaped
    to (batch * time, ...) for a wrapped layer whose `call` takes `mask`; the outputs carry
    the inputs' mask on (Keras 3's default `compute_mask`)."""

    _supports_masking_by_default: ClassVar[bool] = True

    def _child_input_shape(self, input_shape) -> tuple:
        """(batch, *step_shape): the shape the wrapped layer sees."""
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3 \
                or not all(n is None or isinstance(n, int) for n in input_shape):
            raise ValueError(f"TimeDistributed '{self.name}': inputs must be one tensor of at "
                             "least 3 dimensions (batch, time, ...); received inputs of shape "
                             f"{input_shape}")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape) -> None:
        super().build(self._child_input_shape(tuple(input_shape)))

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_input_shape(tuple(input_shape)))
        return (child[0], input_shape[1], *child[1:])

    def call(self, inputs, training=None, mask=None):
        shape = tuple(inputs.shape)
        self._child_input_shape(shape)
        batch, steps = shape[0], shape[1]
        kwargs = {"training": training}
        if mask is not None:
            mask = flatten(mask)[0]
            self._check_mask(mask, shape)
            if "mask" in inspect.signature(type(self.layer).call).parameters:
                kwargs["mask"] = ops.reshape(mask, (batch * steps, *mask.shape[2:]))
        outputs = self.layer(ops.reshape(inputs, (batch * steps, *shape[2:])), **kwargs)
        return map_structure(lambda y: ops.reshape(y, (batch, steps, *y.shape[1:])), outputs)

    def _check_mask(self, mask, input_shape) -> None:
        mask_shape = tuple(mask.shape)
        if len(mask_shape) < 2 or mask_shape[:2] != input_shape[:2]:
            raise ValueError(f"TimeDistributed '{self.name}': mask must be at least 2-D, its "
                             f"first two dimensions (batch, time) those of the inputs "
                             f"{input_shape[:2]}; received mask of shape {mask_shape}")


__all__ = ["TimeDistributed"]
