"""ReversibleEmbedding: an Embedding that also maps hidden states back to logits over ids."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ...core.dtype import standardize_dtype
from ...core.keras_tensor import KerasTensor
from ..layer import require
from .embedding import Embedding


@dataclass(eq=False, init=False)
class ReversibleEmbedding(Embedding):
    """Keras's `ReversibleEmbedding`: `layer(ids)` is Embedding's lookup, (...) -> (...,
    output_dim); `layer(hidden, reverse=True)` projects (..., output_dim) -> (..., input_dim)
    logits with the transposed table (`tie_weights=True`, weights [embeddings]) or a separate
    `reverse_embeddings` (output_dim, input_dim) (weights [embeddings, reverse_embeddings]),
    in `reverse_dtype` if given, then `tanh(logits / cap) * cap` with `logit_soft_cap`. No
    bias. With `mask_zero`, the lookup's output carries the mask ids != 0; the logits carry
    none."""

    tie_weights: bool = True
    reverse_dtype: str | None = None
    logit_soft_cap: float | None = None

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 reverse_dtype=None, logit_soft_cap=None, *, weights=None,
                 activity_regularizer=None, input_length=None, quantization_config=None,
                 name=None, trainable=True, dtype=None, input_shape=None):
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = embeddings_initializer
        self.embeddings_regularizer = embeddings_regularizer
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = mask_zero
        self.activity_regularizer = activity_regularizer
        self.tie_weights = tie_weights
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap
        self.name, self.trainable, self.dtype = name, trainable, dtype
        self.input_shape = input_shape
        self._quantization_config = quantization_config
        self.__post_init__(weights, input_length)

    def __post_init__(self, weights, input_length) -> None:
        require(self, "tie_weights", isinstance(self.tie_weights, bool), "True or False")
        cap = self.logit_soft_cap
        require(self, "logit_soft_cap", cap is None or (isinstance(cap, (int, float))
                                                        and not isinstance(cap, bool) and cap > 0),
                "None or a positive number")
        if self.reverse_dtype is not None:
            try:
                self.reverse_dtype = standardize_dtype(self.reverse_dtype)
            except (ValueError, TypeError):
                require(self, "reverse_dtype", False, "None or a dtype name")
        if self._quantization_config is not None:
            raise ValueError(f"ReversibleEmbedding '{self.name}': quantization is not supported; "
                             f"received quantization_config={self._quantization_config!r}")
        super().__post_init__(weights, input_length)

    def build(self, input_shape=None) -> None:
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight((self.output_dim, self.input_dim),
                                                      self.embeddings_initializer,
                                                      name="reverse_embeddings")

    def call(self, inputs, reverse=False):
        if not reverse:
            result = super().call(inputs)
            if self.mask_zero:     # the lookup's mask, set here as Keras does (not compute_mask)
                result._keras_mask = ops.not_equal(inputs, 0)
            return result
        kernel = ops.transpose(self.embeddings) if self.tie_weights else self.reverse_embeddings
        if self.reverse_dtype is not None:
            inputs, kernel = ops.cast(inputs, self.reverse_dtype), ops.cast(kernel,
                                                                            self.reverse_dtype)
        logits = ops.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            cap = self.logit_soft_cap
            logits = ops.multiply(ops.tanh(ops.divide(logits, cap)), cap)
        return logits

    def compute_mask(self, inputs, previous_mask):
        return None     # the lookup sets its mask in call; the logits have none

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*input_shape[:-1], self.input_dim)
        return (*input_shape, self.output_dim)

    def _symbolic_call(self, inputs, reverse=False, **kwargs):
        """Shapes for the call's `reverse` (the base passes compute_output_shape only the
        shapes of tensor arguments)."""
        dtype = self.reverse_dtype if reverse and self.reverse_dtype else self.dtype
        return KerasTensor(self.compute_output_shape(tuple(inputs.shape), reverse=reverse), dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("weights", "input_length", "quantization_config"):
            config.pop(key, None)
        return config
