"""Attention: dot-product (Luong-style) attention of a query over a value, as Keras 3.15."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import ops
from ...core.keras_tensor import KerasTensor
from ...core.random import SeedGenerator
from ..layer import Layer, require


@dataclass(eq=False)
class Attention(Layer):
    """softmax(scores(query, key)) @ value: inputs [query (B, Tq, dim), value (B, Tv, dim_v),
    key (B, Tv, dim), optional, default value] -> (B, Tq, dim_v), and with
    `return_attention_scores` the (B, Tq, Tv) weights after masking, softmax and dropout.
    score_mode "dot": q k^T (times the scalar weight `scale` with `use_scale`); "concat":
    concat_score_weight * sum(tanh(scale * (q + k))) over the features. mask=[query_mask
    (B, Tq), value_mask (B, Tv)]: masked values (and, with use_causal_mask, later positions)
    get 1e9 subtracted from their scores; masked queries give zero outputs and keep the
    query mask (compute_mask)."""

    use_scale: bool = False
    score_mode: str = "dot"
    dropout: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "score_mode", self.score_mode in ("dot", "concat"),
                "one of 'dot', 'concat'")
        require(self, "dropout", isinstance(self.dropout, (int, float))
                and not isinstance(self.dropout, bool) and 0.0 <= self.dropout < 1.0,
                "a number in [0, 1)")
        self._seed_generator = SeedGenerator(self.seed) if self.dropout > 0 else None

    def _validate_inputs(self, inputs, mask=None) -> None:
        """Keras's checks: inputs [query, value(, key)], mask [query_mask, value_mask(, ...)]."""
        kind = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(f"{kind} '{self.name}': inputs must be a list [query, value] or "
                             f"[query, value, key]; received inputs={inputs!r}")
        if mask is not None and (not isinstance(mask, (list, tuple))
                                 or not 2 <= len(mask) <= 3):
            raise ValueError(f"{kind} '{self.name}': mask must be a list [query_mask, "
                             f"value_mask]; received mask={mask!r}")

    def build(self, input_shape) -> None:
        self._validate_inputs(input_shape)
        self.scale = (self.add_weight((), "ones", name="scale") if self.use_scale else None)
        self.concat_score_weight = (self.add_weight((), "ones", name="concat_score_weight")
                                    if self.score_mode == "concat" else None)

    def _calculate_scores(self, query, key):
        """(B, Tq, Tv) scores of query (B, Tq, dim) and key (B, Tv, dim)."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
            return scores if self.scale is None else ops.multiply(scores, self.scale)
        pairs = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))
        if self.scale is not None:
            pairs = ops.multiply(self.scale, pairs)
        return ops.multiply(self.concat_score_weight, ops.sum(ops.tanh(pairs), axis=-1))

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        """(softmax(masked scores) @ value, the weights): masked scores lose 1e9 (65504 in
        float16), as Keras (a fully masked row stays a softmax of its scores)."""
        if scores_mask is not None:
            if len(scores_mask.shape) == 2:
                scores_mask = ops.expand_dims(scores_mask, -2)
            big = 65504.0 if str(scores.dtype) == "float16" else 1.0e9
            scores = ops.where(scores_mask, scores, ops.subtract(scores, big))
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = ops.dropout(weights, self.dropout, seed=self._seed_generator)
        return ops.matmul(weights, value), weights

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = mask[0] if mask else None
        value_mask = mask[1] if mask else None
        scores = self._calculate_scores(query, key)
        scores_mask = None if value_mask is None else ops.cast(value_mask, "bool")
        if use_causal_mask:
            t_len, s_len = scores.shape[-2], scores.shape[-1]
            causal = np.tril(np.ones((1, t_len, s_len), bool))
            scores_mask = causal if scores_mask is None else ops.logical_and(
                ops.expand_dims(scores_mask, -2), causal)
        output, weights = self._apply_scores(scores, value, scores_mask, training)
        if query_mask is not None:
            output = ops.where(ops.expand_dims(ops.cast(query_mask, "bool"), -1), output, 0.0)
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, previous_mask):
        self._validate_inputs(inputs, previous_mask)
        if previous_mask is None or previous_mask[0] is None:
            return None
        return ops.convert_to_tensor(previous_mask[0])   # a graph node, as Keras's

    def compute_output_shape(self, input_shape):
        self._validate_inputs(input_shape)
        return (*input_shape[0][:-1], input_shape[1][-1])

    def _symbolic_call(self, inputs, **kwargs):
        self._validate_inputs(inputs, kwargs.get("mask"))
        output = KerasTensor(self.compute_output_shape([tuple(t.shape) for t in inputs]),
                             self.dtype)
        if not kwargs.get("return_attention_scores"):
            return output
        key = inputs[2] if len(inputs) > 2 else inputs[1]
        return output, KerasTensor((*inputs[0].shape[:-1], key.shape[-2]), self.dtype)
