"""MultiHeadAttention: projections of query, key and value into heads, scaled dot-product
attention per head, and an output projection, as Keras 3.15."""
from __future__ import annotations

import math
import string
from dataclasses import dataclass, field

import numpy as np

from ... import initializers, ops
from ...core.keras_tensor import KerasTensor
from ..activations.softmax import Softmax
from ..core.einsum_dense import EinsumDense
from ..layer import Layer, require
from ..regularization.dropout import Dropout


def projection_equation(free: int, bound: int, out: int) -> tuple[str, str, int]:
    """(equation, bias axes, output rank) of a projection keeping `free` leading axes,
    contracting `bound` axes and making `out` new ones: "abc,cde->abde" for (2, 1, 2)."""
    letters = string.ascii_lowercase
    kept, contracted, made = (letters[:free], letters[free:free + bound],
                              letters[free + bound:free + bound + out])
    return f"{kept}{contracted},{contracted}{made}->{kept}{made}", made, free + out


def attention_equations(rank: int, attention_axes: tuple) -> tuple[str, str, int]:
    """(scores equation key,query->scores; combine equation scores,value->output; scores'
    rank) for projected tensors (batch, ..., heads, size) of `rank`, attending over
    `attention_axes`, as Keras's multi-head attention builds them."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch = [i for i in range(rank) if i not in attention_axes and i != rank - 1]
    source, offset = "", rank
    for i in range(rank):
        if i in batch or i == rank - 1:
            source += target[i]
        else:
            source += letters[offset]
            offset += 1
    product = ("".join(target[i] for i in batch) + "".join(target[i] for i in attention_axes)
               + "".join(source[i] for i in attention_axes))
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


@dataclass(eq=False)
class MultiHeadAttention(Layer):
    """softmax(q k^T / sqrt(key_dim)) v over `num_heads` heads: query (B, T, dim), value (B,
    S, dim_v), key (B, S, dim_k, default value) -> (B, T, dim) or `output_shape`; the
    projections are EinsumDense sublayers query, key, value (and gate, with `use_gate`) and
    attention_output. Masks: the query's and value's (and key's) Keras masks, an
    attention_mask (B, T, S), causal and sliding-window masks, ANDed. Without dropout and
    returned scores, rank-4 heads run on the fused dot_product_attention kernel;
    `attention_axes` other than the sequence (and dropout) use einsums and a masked softmax.
    Self-attention on one tensor (`layer(x, x)`) projects query, key and value in one product.
    `flash_attention` only picks an implementation in Keras and is ignored here."""

    _supports_masking_by_default = True

    num_heads: int = field()
    key_dim: int = field()
    value_dim: int | None = None
    dropout: float = 0.0
    use_bias: bool = True
    output_shape: object = None
    attention_axes: object = None
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
        for name in ("num_heads", "key_dim"):
            value = getattr(self, name)
            require(self, name, isinstance(value, int) and not isinstance(value, bool)
                    and value > 0, "a positive integer")
        require(self, "value_dim", self.value_dim is None or (
            isinstance(self.value_dim, int) and self.value_dim > 0), "a positive integer or None")
        require(self, "sliding_window", self.sliding_window is None or (
            isinstance(self.sliding_window, int) and self.sliding_window > 0),
            "None or a positive integer")
        self.value_dim = self.value_dim or self.key_dim
        if isinstance(self.output_shape, int):
            self.output_shape = (self.output_shape,)
        elif self.output_shape:
            self.output_shape = tuple(self.output_shape)
        if isinstance(self.attention_axes, int):
            self.attention_axes = (self.attention_axes,)
        elif self.attention_axes is not None:
            require(self, "attention_axes", isinstance(self.attention_axes, (list, tuple)),
                    "an int, list or tuple")
            self.attention_axes = tuple(self.attention_axes)
        if self.flash_attention and self.dropout > 0.0:
            raise ValueError(f"MultiHeadAttention '{self.name}': dropout is not supported with "
                             "flash_attention=True; set dropout to 0.0")

    # ---- building -----------------------------------------------------------------------
    def _projection(self, name: str, input_rank: int, bound: int, last_dims,
                    activation=None) -> EinsumDense:
        equation, bias_axes, rank = projection_equation(input_rank - 1, bound, len(last_dims))
        return einsum_projection(self, name, equation,
                                 [None] * (rank - 1 - len(last_dims)) + list(last_dims),
                                 bias_axes, activation)

    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        value_shape = tuple(query_shape if value_shape is None else value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f"MultiHeadAttention '{self.name}': value and key must match in "
                             f"all but the last axis; received value_shape={value_shape}, "
                             f"key_shape={key_shape}")
        heads = (self.num_heads, self.key_dim)
        self.query_dense = self._projection("query", len(query_shape), 1, heads)
        self.query_dense.build(tuple(query_shape))
        self.key_dense = self._projection("key", len(key_shape), 1, heads)
        self.key_dense.build(key_shape)
        if self.use_gate:
            self.gate_dense = self._projection("gate", len(query_shape), 1,
                                               (self.num_heads, self.value_dim), "sigmoid")
            self.gate_dense.build(tuple(query_shape))
        self.value_dense = self._projection("value", len(value_shape), 1,
                                            (self.num_heads, self.value_dim))
        self.value_dense.build(value_shape)
        rank = len(value_shape) + 1                       # projected: (..., heads, size)
        axes = (tuple(range(1, rank - 2)) if self.attention_axes is None
                else tuple(a if a >= 0 else rank - 1 + a for a in self.attention_axes))
        self._axes = self.attention_axes = axes   # as Keras, the config then holds them
        self._scores_equation, self._combine_equation, scores_rank = attention_equations(
            rank, axes)
        self._softmax = Softmax(axis=list(range(scores_rank - len(axes), scores_rank)),
                                dtype=self.dtype)
        self._dropout_layer = Dropout(self.dropout, seed=self.seed, dtype=self.dtype)
        output = self.output_shape or (query_shape[-1],)
        self.output_dense = self._projection("attention_output", len(query_shape), 2, output)
        projected = list(self.query_dense.compute_output_shape(tuple(query_shape)))
        projected[-1] = self.value_dim
        self.output_dense.build(tuple(projected))

    # ---- calling ------------------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=False,
             use_causal_mask=False):
        if return_attention_scores and self.flash_attention:
            raise ValueError(f"MultiHeadAttention '{self.name}': attention scores cannot be "
                             "returned with flash_attention=True")
        key = value if key is None else key
        query_mask = getattr(query, "_keras_mask", None)
        mask = combined_mask(query, value, query_mask, value_mask,
                             key_mask if key is not value else None, attention_mask,
                             use_causal_mask, self.sliding_window)
        gate = self.gate_dense(query) if self.use_gate else None
        if query is value and key is value and self._packable():
            projected_query, projected_key, projected_value = self._packed_projections(query)
        else:
            projected_query = self.query_dense(query)
            projected_key = self.key_dense(key)
            projected_value = self.value_dense(value)
        output, scores = self._compute_attention(projected_query, projected_key,
                                                 projected_value, mask, training,
                                                 return_attention_scores)
        if gate is not None:
            output = ops.multiply(output, gate)
        output = self.output_dense(output)
        if query_mask is not None:
            output._keras_mask = query_mask
        return (output, scores) if return_attention_scores else output

    def _packable(self) -> bool:
        """Whether the query, key and value projections of one input can run as one product:
        heads of one size and no activity regularizer (a sublayer call would add its loss)."""
        return self.value_dim == self.key_dim and all(
            layer.activity_regularizer is None
            for layer in (self.query_dense, self.key_dense, self.value_dense))

    def _packed_projections(self, x):
        """(query, key, value) heads (..., num_heads, key_dim) of self-attention over x (...,
        dim): the three projections' kernels side by side in one dense product (one forward
        and two backward BLAS products instead of three each, and no sum of three input
        gradients); the same numbers as the three EinsumDense sublayers."""
        layers = (self.query_dense, self.key_dense, self.value_dense)
        kernel = ops.concatenate([ops.reshape(layer.kernel, (x.shape[-1], -1))
                                  for layer in layers], axis=1)
        bias = (ops.concatenate([ops.reshape(layer.bias, (-1,)) for layer in layers], axis=0)
                if self.use_bias else None)
        packed = ops.reshape(ops.dense(x, kernel, bias),
                             tuple(x.shape[:-1]) + (3, self.num_heads, self.key_dim))
        return ops.unstack(packed, axis=-3)

    def _compute_attention(self, query, key, value, attention_mask=None, training=False,
                           return_attention_scores=False):
        """(output (B, T, N, value_dim), scores or None) of the projected heads: the fused
        kernel for rank-4 heads without dropout or returned scores, else einsums with a
        masked softmax and dropout on the scores (as Keras)."""
        scale = 1.0 / math.sqrt(float(self.key_dim))
        if not (self.dropout > 0.0 or return_attention_scores or len(query.shape) != 4):
            if attention_mask is not None:
                attention_mask = _expand_mask(attention_mask, 4, len(self._axes))
            return ops.dot_product_attention(query, key, value, mask=attention_mask,
                                             scale=scale), None
        query = ops.multiply(query, scale)           # a Python float takes query's dtype
        scores = ops.einsum(self._scores_equation, key, query)
        if attention_mask is not None:
            attention_mask = _expand_mask(attention_mask, len(scores.shape), len(self._axes))
        scores = self._softmax(scores, mask=attention_mask)
        dropped = self._dropout_layer(scores, training=training) if self.dropout > 0 else scores
        return ops.einsum(self._combine_equation, dropped, value), scores

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        value_shape = tuple(query_shape if value_shape is None else value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f"MultiHeadAttention '{self.name}': value and key must match in "
                             f"all but the last axis; received value_shape={value_shape}, "
                             f"key_shape={key_shape}")
        query_shape = tuple(query_shape)
        return query_shape[:-1] + self.output_shape if self.output_shape else query_shape

    def attention_scores_shape(self, query_shape, value_shape) -> tuple:
        """The scores' shape: the projected query's axes outside the attention axes (heads
        included), then its attention axes, then the value's."""
        query = tuple(query_shape[:-1]) + (self.num_heads, self.key_dim)
        value = tuple(value_shape[:-1]) + (self.num_heads, self.value_dim)
        kept = [i for i in range(len(query) - 1) if i not in self._axes]
        return (tuple(query[i] for i in kept) + tuple(query[i] for i in self._axes)
                + tuple(value[i] for i in self._axes))

    def _symbolic_call(self, query, **kwargs):
        value = kwargs.get("value", query)
        output = KerasTensor(self.compute_output_shape(
            query.shape, value.shape, None if kwargs.get("key") is None else kwargs["key"].shape),
            self.dtype)
        if not kwargs.get("return_attention_scores"):
            return output
        return output, KerasTensor(self.attention_scores_shape(query.shape, value.shape),
                                   self.dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("flash_attention", None)          # as Keras: not part of the config
        return config


def einsum_projection(layer, name: str, equation: str, output_shape, bias_axes: str,
                      activation=None) -> EinsumDense:
    """An attention layer's EinsumDense sublayer `name`, with the layer's bias switch,
    initializers (fresh ones), regularizers, constraints and dtype."""
    return EinsumDense(
        equation, output_shape, activation=activation,
        bias_axes=bias_axes if layer.use_bias else None, name=name,
        kernel_initializer=_fresh(layer.kernel_initializer),
        bias_initializer=_fresh(layer.bias_initializer),
        kernel_regularizer=layer.kernel_regularizer, bias_regularizer=layer.bias_regularizer,
        activity_regularizer=layer.activity_regularizer,
        kernel_constraint=layer.kernel_constraint, bias_constraint=layer.bias_constraint,
        dtype=layer.dtype)


def combined_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                  use_causal_mask, sliding_window):
    """The AND of the query mask (B, T, 1), the value and key masks (B, 1, S), the causal
    and sliding-window masks (1, T, S) and attention_mask (B, T, S); None if none."""
    parts = []
    if query_mask is not None:
        parts.append(ops.expand_dims(ops.cast(query_mask, "bool"), -1))
    for mask in (value_mask, key_mask):
        if mask is not None:
            parts.append(ops.expand_dims(ops.cast(mask, "bool"), -2))
    t_len, s_len = query.shape[1], value.shape[1]
    if use_causal_mask:
        parts.append(np.tril(np.ones((1, t_len, s_len), bool)))
    if sliding_window is not None:
        gap = np.abs(np.arange(t_len)[:, None] - np.arange(s_len)[None, :])
        parts.append((gap < sliding_window)[None])
    if attention_mask is not None:
        parts.append(ops.cast(attention_mask, "bool"))
    if not parts:
        return None
    mask = parts[0]
    for part in parts[1:]:
        mask = ops.logical_and(mask, part)
    return mask


def _expand_mask(mask, rank: int, attention_rank: int):
    """mask (B, T, S)-like with axes added before its attention axes up to `rank`."""
    axis = -attention_rank * 2 - 1
    while len(mask.shape) < rank:
        mask = ops.expand_dims(mask, axis)
    return mask


def _fresh(identifier):
    """A new initializer of the same config (each projection draws its own weights)."""
    initializer = initializers.get(identifier)
    return type(initializer).from_config(initializer.get_config()) \
        if hasattr(initializer, "get_config") else initializer
