"""AdditiveAttention: Bahdanau-style attention, as Keras 3.15."""
from __future__ import annotations

from dataclasses import dataclass, field

from ... import ops
from .attention import Attention


@dataclass(eq=False)
class AdditiveAttention(Attention):
    """Attention whose scores are sum(scale * tanh(q + k)) over the features: inputs [query
    (B, Tq, dim), value (B, Tv, dim_v), key (B, Tv, dim), optional] -> (B, Tq, dim_v); with
    `use_scale` (default True) `scale` is a (dim,) weight (glorot_uniform), else 1. Masks,
    causal mask, dropout and returned scores as Attention."""

    use_scale: bool = True
    score_mode: str = field(default="dot", init=False, repr=False)   # not in Keras's config

    def build(self, input_shape) -> None:
        self._validate_inputs(input_shape)
        self.scale = (self.add_weight((input_shape[0][-1],), "glorot_uniform", name="scale")
                      if self.use_scale else None)
        self.concat_score_weight = None

    def _calculate_scores(self, query, key):
        """(B, Tq, Tv) scores: sum over the features of scale * tanh(q + k)."""
        pairs = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))
        if self.scale is not None:
            pairs = ops.multiply(self.scale, pairs)
        return ops.sum(pairs, axis=-1)
