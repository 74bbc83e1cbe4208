"""Normalization ops: batch, layer and group normalization, each one fused op over the shared
`normalize_forward` / `normalize_backward` kernels.

An op views x as (P, M, Q, K) (see kernels/cpu/normalization.py): every (p, q) is a group
normalized over its (m, k) elements, and gamma, beta are indexed by (q, k). Layer norm over
axes that are not the trailing ones is the only case that transposes.

`Normalize` uses the batch's own statistics and differentiates through them; its outputs
are y and the statistics (mean, variance), the latter constants for the moving averages
(no gradient flows back through them), so one op is recorded and nothing is kept on the op.
`BatchNormalize` uses given statistics (inference, and Keras's `ops.batch_normalization`)
and differentiates with respect to them too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import config
from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from .composite import composite
from .op import Op, float_dtype
from .reduction import normalize_axes


@dataclass(frozen=True)
class Layout:
    """x (after `perm`, if any) reshaped to `view` (P, M, Q, K); gamma (Q * K // repeat
    values) is laid out as (Q, K // repeat) and repeated `repeat` times along k."""

    perm: tuple | None
    moved_shape: tuple
    view: tuple
    repeat: int

    def to_view(self, k, a):
        return k.reshape(a if self.perm is None else k.transpose(a, self.perm), self.view)

    def from_view(self, k, a4):
        a = k.reshape(a4, self.moved_shape)
        return a if self.perm is None else k.transpose(a, k.inverse_permutation(self.perm))

    def expand(self, k, param):
        """gamma or beta as the (Q, K) array the kernels index, or None."""
        if param is None:
            return None
        _, _, q, kk = self.view
        if self.repeat == 1:
            return k.reshape(param, (q, kk))
        columns = self._columns(math.prod(param.shape))
        tiled = k.broadcast_to(k.reshape(param, (q, columns, 1)), (q, columns, self.repeat))
        return k.reshape(tiled, (q, kk))

    def reduce(self, k, grad, shape):
        """The (Q, K) cotangent of an expanded parameter, summed back to `shape`."""
        if self.repeat != 1:
            q, columns = self.view[2], self._columns(math.prod(shape))
            grad = k.reduce("sum", k.reshape(grad, (q, columns, self.repeat)), 2, False)
        return k.reshape(grad, shape)

    def _columns(self, size: int) -> int:
        """Values of a parameter of `size` per row q (K // repeat; also where repeat is 0: x
        empty along an inner axis)."""
        return size // max(self.view[2], 1)


def layout(kind: str, shape: tuple, axes: tuple[int, ...], groups: int = 1) -> Layout:
    """The (P, M, Q, K) view of a tensor of `shape` for `kind` "batch" (statistics per channel
    `axes[0]`), "layer" (per position of the other axes, over `axes`) or "group" (per sample
    and group of channels along `axes[0]`)."""
    if kind == "layer":
        rank = len(shape)
        trailing = tuple(range(rank - len(axes), rank))
        perm = None if axes == trailing else (
            tuple(a for a in range(rank) if a not in axes) + axes)
        moved = shape if perm is None else tuple(shape[a] for a in perm)
        features = math.prod(moved[rank - len(axes):])
        return Layout(perm, moved, (math.prod(moved[:rank - len(axes)]), 1, 1, features), 1)
    axis = axes[0]
    channels, inner = shape[axis], math.prod(shape[axis + 1:])
    if kind == "batch":
        return Layout(None, shape, (1, math.prod(shape[:axis]), channels, inner), inner)
    view = (shape[0], math.prod(shape[1:axis]), groups, channels // groups * inner)
    return Layout(None, shape, view, inner)


def _split(op, params) -> tuple:
    """(scale, offset) from the trailing inputs of an op with `has_scale` / `has_offset`."""
    params = list(params)
    scale = params.pop(0) if op.has_scale else None
    offset = params.pop(0) if op.has_offset else None
    return scale, offset


def _check_params(who: str, kind: str, x: Spec, axes, groups, params: dict) -> None:
    """Shapes of gamma/beta (and mean/variance) against x, where x's shape is known there."""
    if kind == "layer":
        sizes = [x.shape[a] for a in axes]
        expected = None if None in sizes else math.prod(sizes)
        what = f"the size of axes {axes}"
    else:
        expected = x.shape[axes[0]]
        what = f"axis {axes[0]}"
        if kind == "group" and expected is not None and expected % groups:
            raise ValueError(f"{who}: the {expected} channels of axis {axes[0]} of the input "
                             f"{x.shape} do not divide into groups={groups}")
    for name, spec in params.items():
        size = math.prod(spec.shape) if None not in spec.shape else None
        if expected is not None and size is not None and size != expected:
            raise ValueError(f"{who}: {name} of shape {spec.shape} does not match {what} of "
                             f"the input {x.shape} ({expected} values)")


@dataclass(frozen=True)
class Normalize(Op):
    """x (any shape) normalized with its own mean and (biased) variance per group, then
    `* scale + offset` -> (y of x's shape, mean (P * Q,), variance (P * Q,)). Inputs: x,
    then scale if `has_scale`, then offset if `has_offset`. center=False divides x itself
    by sqrt(variance + epsilon) (rms scaling). Only y is differentiable."""

    kind: str                  # "batch" | "layer" | "group"
    axes: tuple[int, ...]      # non-negative
    epsilon: float
    groups: int = 1
    center: bool = True
    has_scale: bool = False
    has_offset: bool = False

    float_inputs = True
    n_outputs = 3
    differentiable_outputs = (0,)

    def output_spec(self, x: Spec, *params: Spec) -> tuple:
        scale, offset = _split(self, params)
        named = {n: p for n, p in (("scale", scale), ("offset", offset)) if p is not None}
        _check_params(f"{self.kind}_normalization", self.kind, x, self.axes, self.groups, named)
        dtype = float_dtype(x.dtype)
        view = (layout(self.kind, x.shape, self.axes, self.groups).view
                if None not in x.shape else (None,) * 4)
        groups = None if None in (view[0], view[2]) else view[0] * view[2]
        return Spec(x.shape, dtype), Spec((groups,), dtype), Spec((groups,), dtype)

    def forward(self, k, x, *params):
        scale, offset = _split(self, params)
        view = layout(self.kind, x.shape, self.axes, self.groups)
        x4 = view.to_view(k, x)
        gamma = view.expand(k, scale)
        y4, mean, variance = k.normalize_forward(x4, gamma, view.expand(k, offset), None, None,
                                                 self.epsilon, self.center)
        outputs = (view.from_view(k, y4), k.reshape(mean, (-1,)), k.reshape(variance, (-1,)))
        return outputs, (view, x4, gamma, mean, variance,
                         None if scale is None else scale.shape,
                         None if offset is None else offset.shape)

    def vjp(self, k, dy, residuals, needs):
        view, x4, gamma, mean, variance, scale_shape, offset_shape = residuals
        dx4, dscale, doffset, _, _ = k.normalize_backward(
            view.to_view(k, dy[0]), x4, gamma, mean, variance, self.epsilon, True, self.center)
        grads = [view.from_view(k, dx4)]
        if self.has_scale:
            grads.append(view.reduce(k, dscale, scale_shape))
        if self.has_offset:
            grads.append(view.reduce(k, doffset, offset_shape))
        return tuple(grads)


@dataclass(frozen=True)
class BatchNormalize(Op):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset with given per-channel
    statistics along `axis`. Inputs: x, mean, variance, then scale and offset if present."""

    axis: int                  # non-negative
    epsilon: float
    has_scale: bool = False
    has_offset: bool = False

    float_inputs = True

    def output_spec(self, x: Spec, mean: Spec, variance: Spec, *params: Spec) -> Spec:
        scale, offset = _split(self, params)
        named = {n: p for n, p in (("mean", mean), ("variance", variance), ("scale", scale),
                                   ("offset", offset)) if p is not None}
        _check_params("batch_normalization", "batch", x, (self.axis,), 1, named)
        return Spec(x.shape, float_dtype(x.dtype))

    def forward(self, k, x, mean, variance, *params):
        scale, offset = _split(self, params)
        view = layout("batch", x.shape, (self.axis,))
        x4, gamma = view.to_view(k, x), view.expand(k, scale)
        y4, _, _ = k.normalize_forward(x4, gamma, view.expand(k, offset), mean, variance,
                                       self.epsilon)
        return view.from_view(k, y4), (view, x4, gamma, mean, variance,
                                       None if scale is None else scale.shape,
                                       None if offset is None else offset.shape)

    def vjp(self, k, dy, residuals, needs):
        view, x4, gamma, mean, variance, scale_shape, offset_shape = residuals
        dx4, dscale, doffset, dmean, dvariance = k.normalize_backward(
            view.to_view(k, dy), x4, gamma, mean, variance, self.epsilon, False, True)
        grads = [view.from_view(k, dx4), k.reshape(dmean, mean.shape),
                 k.reshape(dvariance, variance.shape)]
        if self.has_scale:
            grads.append(view.reduce(k, dscale, scale_shape))
        if self.has_offset:
            grads.append(view.reduce(k, doffset, offset_shape))
        return tuple(grads)


def _axis(x, axis: int, who: str) -> int:
    if not isinstance(axis, int):
        raise ValueError(f"{who}: axis must be an int; received axis={axis!r}")
    return normalize_axes(axis, len(x.shape), who)[0]


def _present(*params) -> list:
    return [p for p in params if p is not None]


def batch_normalization(x, mean, variance, axis: int, offset=None, scale=None,
                        epsilon: float = 1e-3):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, with `mean`, `variance`,
    `scale`, `offset` of shape (x.shape[axis],); differentiable in all of them (Keras's
    `ops.batch_normalization`)."""
    op = BatchNormalize(_axis(x, axis, "batch_normalization"), float(epsilon),
                        scale is not None, offset is not None)
    return op(x, mean, variance, *_present(scale, offset))


def batch_normalization_training(x, axis: int = -1, scale=None, offset=None,
                                 epsilon: float = 1e-3):
    """Batch normalization with the batch's own statistics over every axis but `axis`.

    Returns (y, mean, variance): y differentiable in x, scale and offset (through the
    statistics too), and the batch mean and biased variance, shape (x.shape[axis],), as
    constant Tensors for the moving averages (None for symbolic inputs). One op."""
    op = Normalize("batch", (_axis(x, axis, "batch_normalization"),), float(epsilon),
                   has_scale=scale is not None, has_offset=offset is not None)
    y, mean, variance = op(x, *_present(scale, offset))
    if isinstance(y, KerasTensor):
        return y, None, None
    return y, mean, variance


@composite("axis", "epsilon", "rms_scaling")
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon: float | None = None,
                        rms_scaling: bool = False):
    """Keras's `ops.layer_normalization`: per position of the other axes, x normalized over
    `axis` (an int or a list), then `* gamma + beta` (both of the normalized axes' sizes).
    rms_scaling: x / sqrt(variance + epsilon) * gamma, as Keras 3 (no mean, no beta)."""
    axes = normalize_axes(axis, len(x.shape), "layer_normalization")
    epsilon = config.epsilon() if epsilon is None else float(epsilon)
    beta = None if rms_scaling else beta
    op = Normalize("layer", axes, epsilon, center=not rms_scaling,
                   has_scale=gamma is not None, has_offset=beta is not None)
    return op(x, *_present(gamma, beta))[0]


def group_normalization(x, groups: int, gamma=None, beta=None, axis: int = -1,
                        epsilon: float = 1e-3):
    """Per sample, the channels along `axis` split into `groups` groups, each normalized over
    its channels and every other non-batch axis, then `* gamma + beta` (per channel)."""
    axis = _axis(x, axis, "group_normalization")
    if axis == 0:
        raise ValueError("group_normalization: axis must not be the batch axis 0")
    op = Normalize("group", (axis,), float(epsilon), groups=int(groups),
                   has_scale=gamma is not None, has_offset=beta is not None)
    return op(x, *_present(gamma, beta))[0]
