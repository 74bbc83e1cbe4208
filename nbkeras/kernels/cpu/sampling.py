"""Resampling: values of x (B, *spatial, C) at fractional coordinates (B, M, d) -> (B, M, C),
channels innermost, and its adjoint (`jax.scipy.ndimage.map_coordinates` semantics).

Order 0 takes the cell nearest each coordinate (halves rounded away from zero); order 1
mixes the 2**d cells around it by the products of per-axis linear weights. A cell index off
the grid is moved onto it by the fill mode (SAMPLING_FILL_MODES in kernels/api.py):
"nearest" clamps, "wrap" is periodic, "mirror" reflects about the edge cells (d c b | a b c d
| c b a), "reflect" about the edges (c b a | a b c d | d c b); "constant" keeps the index and
the tap reads fill_value instead (so values blend into fill_value across the border, as
JAX's, i.e. scipy's "grid-constant"). `tap` is plain Python compiled by both devices.
"""
import numpy as np
from numba import njit, prange

from ..api import SAMPLING_FILL_MODES
from .parallel import launch

__all__ = ["sample_forward", "sample_backward"]


def tap(coordinate, n, bit, order, mode, one):
    """One axis of one tap: (cell index after the fill mode, weight, d weight / d coordinate,
    whether the unmoved index lies on the n cells). `bit` picks the lower (0) or upper (1)
    cell of a linear tap; `one` is 1 in the coordinate's dtype."""
    if order == 0:
        if coordinate >= 0:
            index = int(coordinate + one / (one + one))
        else:
            index = -int(one / (one + one) - coordinate)
        weight, slope = one, one - one
    else:
        frac = coordinate % one
        index = int(coordinate - frac) + bit
        weight, slope = (frac, one) if bit else (one - frac, -one)
    inside = 0 <= index < n
    if mode == 1:
        index = min(max(index, 0), n - 1)
    elif mode == 2:
        index = index % n
        if index < 0:
            index += n
    elif mode >= 3:
        cells = n
        if mode == 4:       # reflect about the edges: mirror 2 i + 1 over 2 n + 1 cells, halve
            index, cells = 2 * index + 1, 2 * n + 1
        period = 2 * (cells - 1)
        if period == 0:
            index = 0
        else:
            index = (index + cells - 1) % period
            if index < 0:
                index += period
            index = abs(index - (cells - 1))
        if mode == 4:
            index = (index - 1) // 2
    return index, weight, slope, inside


_tap = njit(cache=True)(tap)


@njit(cache=True, parallel=True)
def _sample(x, shape, coordinates, order, mode, fill_value, one, out):
    """out[b, m] = sum over taps of prod(weights) * x[b, tap cell] (fill_value where a
    constant-mode tap is off the grid); x (B, S, C), coordinates (B, M, d); `one` is 1 in
    x's dtype (float32 kernels do float32 arithmetic)."""
    batch, points, d = coordinates.shape
    channels = x.shape[2]
    for task in prange(batch * points):
        b, m = task // points, task % points
        for ch in range(channels):
            out[b, m, ch] = 0
        for t in range(1 << (d * order)):
            weight, cell, inside = one, 0, True
            for r in range(d):
                index, w, _, ok = _tap(coordinates[b, m, r], shape[r], (t >> r) & 1, order,
                                       mode, one)
                weight *= w
                inside = inside and (ok or mode != 0)
                cell = cell * shape[r] + index
            for ch in range(channels):
                out[b, m, ch] += weight * (x[b, cell, ch] if inside else fill_value)


@njit(cache=True, parallel=True)
def _sample_adjoint(dy, x, shape, coordinates, order, mode, fill_value, one, dx,
                    dcoordinates):
    """dx[b, cell] += weight * dy[b, m] over every in-grid tap (dx zero on entry), and
    dcoordinates[b, m, r] = sum over taps and channels of d weight / d coordinate r * value *
    dy; one task per image, so no two tasks write one cell."""
    batch, points, d = coordinates.shape
    channels = x.shape[2]
    for b in prange(batch):
        for m in range(points):
            for r in range(d):
                dcoordinates[b, m, r] = 0
            for t in range(1 << (d * order)):
                weight, cell, inside = one, 0, True
                for r in range(d):
                    index, w, _, ok = _tap(coordinates[b, m, r], shape[r], (t >> r) & 1,
                                           order, mode, one)
                    weight *= w
                    inside = inside and (ok or mode != 0)
                    cell = cell * shape[r] + index
                total = one - one       # sum over channels of value * dy
                for ch in range(channels):
                    g = dy[b, m, ch]
                    if inside:
                        dx[b, cell, ch] += weight * g
                        total += x[b, cell, ch] * g
                    else:
                        total += fill_value * g
                if order == 0:
                    continue
                for r in range(d):      # d weight / d coordinate r: the other axes' weights
                    slope = one
                    for q in range(d):
                        _, w, s, _ = _tap(coordinates[b, m, q], shape[q], (t >> q) & 1,
                                          order, mode, one)
                        slope *= s if q == r else w
                    dcoordinates[b, m, r] += slope * total


def _flat(x, coordinates):
    """x as (B, S, C) contiguous, its spatial shape as int64, coordinates in x's dtype."""
    shape = np.asarray(x.shape[1:-1], np.int64)
    flat = np.ascontiguousarray(x).reshape(x.shape[0], -1, x.shape[-1])
    return flat, shape, np.ascontiguousarray(coordinates, x.dtype)


def sample_forward(x, coordinates, order, mode, fill_value):
    """x (B, *spatial, C) at coordinates (B, M, d) -> (B, M, C), in x's dtype."""
    flat, shape, coordinates = _flat(x, coordinates)
    out = np.empty((x.shape[0], coordinates.shape[1], x.shape[-1]), x.dtype)
    launch(_sample, out.size * (1 << (len(shape) * order)), flat, shape, coordinates, order,
           SAMPLING_FILL_MODES.index(mode), x.dtype.type(fill_value), x.dtype.type(1), out)
    return out


def sample_backward(dy, x, coordinates, order, mode, fill_value, coordinates_gradient):
    """(dx (B, *spatial, C), dcoordinates (B, M, d) or None) of sample_forward."""
    flat, shape, coordinates = _flat(x, coordinates)
    dx = np.zeros(flat.shape, x.dtype)
    dcoordinates = np.empty(coordinates.shape, x.dtype)
    launch(_sample_adjoint, dy.size * (1 << (len(shape) * order)),
           np.ascontiguousarray(dy, x.dtype), flat, shape, coordinates, order,
           SAMPLING_FILL_MODES.index(mode), x.dtype.type(fill_value), x.dtype.type(1), dx,
           dcoordinates)
    return dx.reshape(x.shape), (dcoordinates if coordinates_gradient else None)
