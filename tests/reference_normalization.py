"""Plain float64 references for the normalization, activation-layer and noise-layer tests,
written from the definitions (Keras's docstrings and formulas).

Independent of nbkeras on purpose: every element is visited by an explicit loop over
`np.ndindex`, groups are gathered into Python lists, sums are `math.fsum`. Slow is fine.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# ---------------------------------------------------------------------------- normalization

def _normalize_groups(x, group_of, param_index_of, gamma, beta, epsilon, center=True):
    """Each element normalized by the mean and biased variance of its group `group_of(index)`:
    (x - mean) / sqrt(var + eps) (x / sqrt(var + eps) when not `center`), then
    * gamma[param_index_of(index)] + beta[...]. Returns (y, {group: (mean, variance)})."""
    x = np.asarray(x, dtype=np.float64)
    members = defaultdict(list)
    for index in np.ndindex(x.shape):
        members[group_of(index)].append(float(x[index]))
    stats = {}
    for key, values in members.items():
        mean = math.fsum(values) / len(values)
        stats[key] = (mean, math.fsum((v - mean) ** 2 for v in values) / len(values))
    y = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        mean, variance = stats[group_of(index)]
        value = (float(x[index]) - (mean if center else 0.0)) / math.sqrt(variance + epsilon)
        p = param_index_of(index)
        if gamma is not None:
            value *= float(gamma[p])
        if beta is not None:
            value += float(beta[p])
        y[index] = value
    return y, stats


def batch_norm_training(x, axis, gamma, beta, epsilon):
    """Returns (y, batch mean, batch biased variance) per channel of `axis`."""
    x = np.asarray(x, dtype=np.float64)
    axis %= x.ndim
    y, stats = _normalize_groups(x, lambda i: i[axis], lambda i: i[axis], gamma, beta, epsilon)
    channels = range(x.shape[axis])
    return (y, np.array([stats[c][0] for c in channels]),
            np.array([stats[c][1] for c in channels]))


def batch_norm_inference(x, axis, mean, variance, gamma, beta, epsilon):
    """gamma * (x - mean) / sqrt(variance + eps) + beta with the given per-channel stats."""
    x = np.asarray(x, dtype=np.float64)
    axis %= x.ndim
    y = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        c = index[axis]
        value = (float(x[index]) - float(mean[c])) / math.sqrt(float(variance[c]) + epsilon)
        if gamma is not None:
            value *= float(gamma[c])
        if beta is not None:
            value += float(beta[c])
        y[index] = value
    return y


def layer_norm(x, axis, gamma, beta, epsilon, rms_scaling=False):
    """Keras 3 LayerNormalization: statistics over `axis` (int or list) for each position
    of the other axes. gamma/beta have the axes' sizes in the order given, and Keras reshapes
    them (in memory order) onto the sorted axes, which is what is indexed here.
    rms_scaling: x / sqrt(variance + eps) * gamma, with no beta."""
    x = np.asarray(x, dtype=np.float64)
    axes = sorted(a % x.ndim for a in ([axis] if isinstance(axis, int) else axis))
    rest = [a for a in range(x.ndim) if a not in axes]
    sorted_shape = tuple(x.shape[a] for a in axes)

    def flat(param):
        return None if param is None else np.asarray(param, np.float64).reshape(-1)

    return _normalize_groups(
        x, lambda i: tuple(i[a] for a in rest),
        lambda i: np.ravel_multi_index(tuple(i[a] for a in axes), sorted_shape),
        flat(gamma), None if rms_scaling else flat(beta), epsilon, center=not rms_scaling)[0]


def group_norm(x, groups, axis, gamma, beta, epsilon):
    """Per example, channels of `axis` in `groups` contiguous groups, each normalized over its
    channels and every other non-batch axis; gamma/beta per channel."""
    x = np.asarray(x, dtype=np.float64)
    axis %= x.ndim
    size = x.shape[axis] // groups
    return _normalize_groups(x, lambda i: (i[0], i[axis] // size), lambda i: i[axis], gamma,
                             beta, epsilon)[0]


# ------------------------------------------------------------------------ activation layers

def _elementwise(f, *arrays):
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in arrays])
    out = np.empty(arrays[0].shape)
    for index in np.ndindex(out.shape):
        out[index] = f(*[float(a[index]) for a in arrays])
    return out


def prelu(x, alpha) -> np.ndarray:
    """x for x >= 0, alpha * x below (alpha broadcast over the batch and shared axes)."""
    return _elementwise(lambda v, a: v if v >= 0 else a * v, x, alpha)


def thresholded_relu(x, theta) -> np.ndarray:
    return _elementwise(lambda v: v if v > theta else 0.0, x)


def masked_softmax(x, axes, mask=None) -> np.ndarray:
    """Softmax over the axes jointly; masked-out logits get -1e9 added first (Keras)."""
    x = np.asarray(x, dtype=np.float64)
    if mask is not None:
        x = x + (1.0 - np.asarray(mask, dtype=np.float64)) * -1e9
    axes = sorted(a % x.ndim for a in axes)
    rest = [a for a in range(x.ndim) if a not in axes]
    members = defaultdict(list)
    for index in np.ndindex(x.shape):
        members[tuple(index[a] for a in rest)].append(float(x[index]))
    totals = {}
    for key, values in members.items():
        top = max(values)
        totals[key] = (top, math.fsum(math.exp(v - top) for v in values))
    y = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        top, total = totals[tuple(index[a] for a in rest)]
        y[index] = math.exp(float(x[index]) - top) / total
    return y


# ---------------------------------------------------------------------------- noise layers

def alpha_dropout(x, kept, rate) -> np.ndarray:
    """Keras's AlphaDropout for a given keep mask: a * (x or alpha') + b."""
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    return _elementwise(lambda v, k: a * (v if k else alpha_p) + b, x, kept)
