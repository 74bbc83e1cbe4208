"""GroupedQueryAttention: multi-head attention whose key and value heads are shared by groups
of query heads (Ainslie et al., 2023), as Keras 3.15's keras.layers.GroupQueryAttention."""
from __future__ import annotations

import math
from dataclasses import dataclass, field


from ... import ops
from ...core.keras_tensor import KerasTensor
from ..activations.softmax import Softmax
from ..layer import Layer, require
from ..regularization.dropout import Dropout
from .multi_head_attention import combined_mask, einsum_projection


@dataclass(eq=False)
class GroupedQueryAttention(Layer):
    """softmax(q k^T / sqrt(head_dim)) v with `num_query_heads` query heads and
    `num_key_value_heads` key/value heads (query head u reads key/value head u // (N / K)):
    query (B, T, dim), value (B, S, dim_v), key (B, S, dim_k, default value) -> (B, T, dim).
    Projections are EinsumDense sublayers query (dim, N, head_dim), key and value (., K,
    head_dim), gate (with `use_gate`) and attention_output (N, head_dim, dim). Masks: the
    query_mask (B, T), value_mask and key_mask (B, S) (the inputs' Keras masks), attention_mask
    (B, T, S), causal and sliding-window masks, ANDed. Without dropout and returned scores
    the fused dot_product_attention kernel runs on the grouped heads (a fully masked row
    attends uniformly); else einsums over the groups and Keras's masked softmax (a fully
    masked row gives zero weights), scores (B, N, T, S). `flash_attention` only picks an
    implementation in Keras and is accepted here."""

    _supports_masking_by_default = True

    head_dim: int = field()
    num_query_heads: int = field()
    num_key_value_heads: int = field()
    dropout: float = 0.0
    use_bias: bool = True
    sliding_window: int | None = None
    flash_attention: bool | None = None
    kernel_initializer: object = "glorot_uniform"
    bias_initializer: object = "zeros"
    kernel_regularizer: object = None
    bias_regularizer: object = None
    activity_regularizer: object = None
    kernel_constraint: object = None
    bias_constraint: object = None
    use_gate: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("head_dim", "num_query_heads", "num_key_value_heads"):
            value = getattr(self, name)
            require(self, name, isinstance(value, int) and not isinstance(value, bool)
                    and value > 0, "a positive integer")
        require(self, "num_query_heads", self.num_query_heads % self.num_key_value_heads == 0,
                f"divisible by num_key_value_heads={self.num_key_value_heads}")
        require(self, "dropout", isinstance(self.dropout, (int, float))
                and not isinstance(self.dropout, bool) and 0.0 <= self.dropout < 1.0,
                "a number in [0, 1)")
        require(self, "sliding_window", self.sliding_window is None or (
            isinstance(self.sliding_window, int) and not isinstance(self.sliding_window, bool)
            and self.sliding_window > 0), "None or a positive integer")
        if self.flash_attention and self.dropout > 0.0:
            raise ValueError(f"GroupedQueryAttention '{self.name}': dropout is not supported "
                             "with flash_attention=True; set dropout to 0.0")
        self.num_repeats = self.num_query_heads // self.num_key_value_heads

    # ---- building -----------------------------------------------------------------------
    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        self.feature_dim = query_shape[-1]
        query_heads = (None, self.num_query_heads, self.head_dim)
        kv_heads = (None, self.num_key_value_heads, self.head_dim)
        self.query_dense = einsum_projection(self, "query", "bqm,muh->bquh", query_heads, "uh")
        self.query_dense.build(query_shape)
        self.key_dense = einsum_projection(self, "key", "bkm,mvh->bkvh", kv_heads, "vh")
        self.key_dense.build(key_shape)
        if self.use_gate:
            self.gate_dense = einsum_projection(self, "gate", "bqm,muh->bquh", query_heads,
                                                "uh", "sigmoid")
            self.gate_dense.build(query_shape)
        self.value_dense = einsum_projection(self, "value", "bkm,mvh->bkvh", kv_heads, "vh")
        self.value_dense.build(value_shape)
        self._softmax = Softmax(axis=-1, dtype=self.dtype)
        self._dropout_layer = Dropout(self.dropout, seed=self.seed, dtype=self.dtype)
        self.output_dense = einsum_projection(self, "attention_output", "bquh,uhm->bqm",
                                              (None, self.feature_dim), "m")
        self.output_dense.build((None, None, self.num_query_heads, self.head_dim))

    def _check_shapes(self, query_shape, value_shape, key_shape) -> None:
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3:
                raise ValueError(f"GroupedQueryAttention '{self.name}': {name} must be of rank 3 "
                                 f"(batch, length, features); received {name}_shape={shape}")
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f"GroupedQueryAttention '{self.name}': value and key must match in "
                             f"all but the last axis; received value_shape={value_shape}, "
                             f"key_shape={key_shape}")

    # ---- calling ------------------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=False,
             use_causal_mask=False):
        if return_attention_scores and self.flash_attention:
            raise ValueError(f"GroupedQueryAttention '{self.name}': attention scores cannot be "
                             "returned with flash_attention=True")
        key = value if key is None else key
        fused = not (self.dropout > 0.0 or return_attention_scores)
        causal_only = (fused and use_causal_mask and self.sliding_window is None and all(
            m is None for m in (query_mask, value_mask, key_mask, attention_mask)))
        mask = None if causal_only else combined_mask(
            query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask,
            self.sliding_window)
        if mask is not None and len(mask.shape) < 3:
            mask = ops.expand_dims(mask, 0)
        gate = self.gate_dense(query) if self.use_gate else None
        query = self.query_dense(query)                      # (B, T, N, H)
        key = self.key_dense(key)                            # (B, S, K, H)
        value = self.value_dense(value)                      # (B, S, K, H)
        scale = 1.0 / math.sqrt(float(self.head_dim))
        if fused:
            if mask is not None:
                mask = ops.expand_dims(mask, -3)             # (B, 1, T, S)
            output = ops.dot_product_attention(query, key, value, mask=mask, scale=scale,
                                               is_causal=causal_only)
            scores = None
        else:
            output, scores = self._grouped_attention(query, key, value, mask, scale, training)
        if gate is not None:
            output = ops.multiply(output, gate)
        output = self.output_dense(output)
        return (output, scores) if return_attention_scores else output

    def _grouped_attention(self, query, key, value, mask, scale, training):
        """(output (B, T, N, H), scores (B, N, T, S)) by einsums over the groups of query
        heads (no repeated keys and values), Keras's masked softmax and dropout."""
        batch, t_len = query.shape[0], query.shape[1]
        heads, groups = self.num_key_value_heads, self.num_repeats
        grouped = ops.reshape(ops.multiply(query, scale),
                              (batch, t_len, heads, groups, self.head_dim))
        logits = ops.einsum("btkgh,bskh->bkgts", grouped, key)
        logits = ops.reshape(logits, (batch, self.num_query_heads, t_len, key.shape[1]))
        if mask is not None:
            mask = ops.expand_dims(mask, -3)
        scores = self._softmax(logits, mask=mask)
        dropped = self._dropout_layer(scores, training=training) if self.dropout > 0 else scores
        dropped = ops.reshape(dropped, (batch, heads, groups, t_len, key.shape[1]))
        output = ops.einsum("bkgts,bskh->btkgh", dropped, value)
        return ops.reshape(output, (batch, t_len, self.num_query_heads, self.head_dim)), scores

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        if query_shape[-1] != value_shape[-1]:
            raise ValueError(f"GroupedQueryAttention '{self.name}': the last axes of query and "
                             f"value must be equal; received query_shape={query_shape}, "
                             f"value_shape={value_shape}")
        return query_shape

    def _symbolic_call(self, query, **kwargs):
        value, key = kwargs.get("value", query), kwargs.get("key")
        output = KerasTensor(self.compute_output_shape(
            query.shape, value.shape, None if key is None else key.shape), self.dtype)
        if not kwargs.get("return_attention_scores"):
            return output
        s_len = (value if key is None else key).shape[1]
        return output, KerasTensor((query.shape[0], self.num_query_heads, query.shape[1],
                                    s_len), self.dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("flash_attention", None)          # as Keras: not part of the config
        return config
