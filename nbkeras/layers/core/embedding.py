"""Embedding: rows of a learned table, looked up by integer ids."""
from __future__ import annotations

import warnings
from dataclasses import InitVar, dataclass, field

from ... import ops
from ..layer import Layer, require


@dataclass(eq=False)
class Embedding(Layer):
    """Integer ids (...) -> their rows of `embeddings` (input_dim, output_dim): (...,
    output_dim). With `mask_zero`, id 0 is padding: the output's mask is ids != 0, which the
    layers after it (recurrent layers, pooling, attention, losses) honour. The gradient adds
    each id's cotangent into its row (no one-hot). `weights` sets the table at construction;
    `input_length` (Keras 2) is accepted with a warning and ignored, as Keras 3 does."""

    input_dim: int = field()        # not Layer's Keras-2 `input_dim` (a Dense input width)
    output_dim: int = field()
    embeddings_initializer: object = "uniform"
    embeddings_regularizer: object = None
    embeddings_constraint: object = None
    mask_zero: bool = False
    weights: InitVar[object] = None
    activity_regularizer: object = None
    input_length: InitVar[int | None] = field(default=None, kw_only=True)

    def __post_init__(self, weights, input_length) -> None:
        input_shape = self.input_shape
        super().__post_init__()
        self.input_shape = input_shape
        for name in ("input_dim", "output_dim"):
            value = getattr(self, name)
            require(self, name, isinstance(value, int) and not isinstance(value, bool)
                    and value > 0, "a positive integer")
        if input_length is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.",
                          stacklevel=3)
        self.supports_masking = bool(self.mask_zero)
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1
                             else [weights])

    def build(self, input_shape=None) -> None:
        self.embeddings = self.add_weight((self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint,
                                          name="embeddings")

    def call(self, inputs):
        if str(inputs.dtype) not in ("int32", "int64"):
            inputs = ops.cast(inputs, "int32")
        return ops.cast(ops.take(self.embeddings, inputs, axis=0), self.dtype)

    def compute_mask(self, inputs, previous_mask):
        return ops.not_equal(inputs, 0) if self.mask_zero else None

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict:
        config = super().get_config()
        for name in ("weights", "input_length"):     # construction-time only, as Keras
            config.pop(name, None)
        return config


del Embedding.weights    # the InitVar's default would hide Layer.weights (the variables)
