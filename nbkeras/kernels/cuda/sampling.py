"""Resampling at fractional coordinates over Numba device arrays: the CUDA twin of
kernels/cpu/sampling.py (same names, semantics and per-axis `tap` rule, compiled here as an
inlined device function).

- forward: one thread per output element (b, m, c) walks the 2**(d * order) taps, d axes each.
- backward, dx: one thread per element of dy adds weight * dy to each in-grid tap's cell with
  an atomic add (taps of different points share cells).
- backward, dcoordinates: one thread per (b, m, r) sums d weight / d coordinate r * value * dy
  over taps and channels; no atomics.
"""
from __future__ import annotations

import numpy as np
from numba import types

from ..api import SAMPLING_FILL_MODES
from ..cpu.sampling import tap
from .array import cast, reshape
from .runtime import (FLOATS, THREADS, atomic_add, blocks, device, empty, grid, gridsize, kernel,
                      to_device)

__all__ = ["sample_forward", "sample_backward"]

_tap = device(tap)
_SHAPE = types.int64[::1]


@kernel(*[(t[:, :, ::1], _SHAPE, t[:, :, ::1], types.int64, types.int64, t, t, t[:, :, ::1])
          for t in FLOATS])
def _sample(x, shape, coordinates, order, mode, fill_value, one, out):
    """out[b, m, c] = sum over taps of prod(weights) * x[b, tap cell, c] (fill_value where a
    constant-mode tap is off the grid); x (B, S, C), coordinates (B, M, d)."""
    batch, points, d = coordinates.shape
    channels = x.shape[2]
    for e in range(grid(1), out.size, gridsize(1)):
        ch, rest = e % channels, e // channels
        m, b = rest % points, rest // points
        total = one - one
        for t in range(1 << (d * order)):
            weight, cell, inside = one, 0, True
            for r in range(d):
                index, w, slope, ok = _tap(coordinates[b, m, r], shape[r], (t >> r) & 1, order,
                                           mode, one)
                weight *= w
                inside = inside and (ok or mode != 0)
                cell = cell * shape[r] + index
            total += weight * (x[b, cell, ch] if inside else fill_value)
        out[b, m, ch] = total


@kernel(*[(t[:, :, ::1], _SHAPE, t[:, :, ::1], types.int64, types.int64, t, t[:, :, ::1])
          for t in FLOATS])
def _scatter(dy, shape, coordinates, order, mode, one, dx):
    """dx[b, cell, c] += weight * dy[b, m, c] for every in-grid tap (dx zero on entry)."""
    batch, points, d = coordinates.shape
    channels = dy.shape[2]
    for e in range(grid(1), dy.size, gridsize(1)):
        ch, rest = e % channels, e // channels
        m, b = rest % points, rest // points
        g = dy[b, m, ch]
        for t in range(1 << (d * order)):
            weight, cell, inside = one, 0, True
            for r in range(d):
                index, w, slope, ok = _tap(coordinates[b, m, r], shape[r], (t >> r) & 1, order,
                                           mode, one)
                weight *= w
                inside = inside and (ok or mode != 0)
                cell = cell * shape[r] + index
            if inside:
                atomic_add(dx, (b, cell, ch), weight * g)


@kernel(*[(t[:, :, ::1], t[:, :, ::1], _SHAPE, t[:, :, ::1], types.int64, t, t, t[:, :, ::1])
          for t in FLOATS])
def _coordinate_gradient(dy, x, shape, coordinates, mode, fill_value, one, dcoordinates):
    """dcoordinates[b, m, r] = sum over linear taps and channels of d weight / d coordinate r
    * value * dy[b, m, c]."""
    batch, points, d = coordinates.shape
    channels = x.shape[2]
    for e in range(grid(1), dcoordinates.size, gridsize(1)):
        r, rest = e % d, e // d
        m, b = rest % points, rest // points
        total = one - one
        for t in range(1 << d):
            slope, cell, inside = one, 0, True
            for q in range(d):
                index, w, s, ok = _tap(coordinates[b, m, q], shape[q], (t >> q) & 1, 1, mode,
                                       one)
                slope *= s if q == r else w
                inside = inside and (ok or mode != 0)
                cell = cell * shape[q] + index
            for ch in range(channels):
                total += slope * (x[b, cell, ch] if inside else fill_value) * dy[b, m, ch]
        dcoordinates[b, m, r] = total


# ---- host side ----------------------------------------------------------------------------

def _flat(x, coordinates):
    """x as (B, S, C), its spatial shape as int64 on the device, coordinates in x's dtype."""
    shape = to_device(np.asarray(x.shape[1:-1], np.int64))
    flat = reshape(to_device(x), (x.shape[0], -1, x.shape[-1]))
    coordinates = to_device(coordinates)
    if coordinates.dtype != x.dtype:
        coordinates = cast(coordinates, x.dtype)
    return flat, shape, coordinates


def _zeros(shape, dtype):
    return to_device(np.zeros(shape, dtype))


def sample_forward(x, coordinates, order, mode, fill_value):
    """x (B, *spatial, C) at coordinates (B, M, d) -> (B, M, C), in x's dtype."""
    flat, shape, coordinates = _flat(x, coordinates)
    out = empty((x.shape[0], coordinates.shape[1], x.shape[-1]), x.dtype)
    if out.size:
        _sample[blocks(out.size), THREADS](flat, shape, coordinates, order,
                                           SAMPLING_FILL_MODES.index(mode),
                                           x.dtype.type(fill_value), x.dtype.type(1), out)
    return out


def sample_backward(dy, x, coordinates, order, mode, fill_value, coordinates_gradient):
    """(dx (B, *spatial, C), dcoordinates (B, M, d) or None) of sample_forward."""
    flat, shape, coordinates = _flat(x, coordinates)
    code, one = SAMPLING_FILL_MODES.index(mode), x.dtype.type(1)
    dy = to_device(dy)
    dx = _zeros(flat.shape, x.dtype)
    if dy.size:
        _scatter[blocks(dy.size), THREADS](dy, shape, coordinates, order, code, one, dx)
    dcoordinates = None
    if coordinates_gradient:
        dcoordinates = _zeros(coordinates.shape, x.dtype)
        if order == 1 and dcoordinates.size:
            _coordinate_gradient[blocks(dcoordinates.size), THREADS](
                dy, flat, shape, coordinates, code, x.dtype.type(fill_value), one, dcoordinates)
    return reshape(dx, x.shape), dcoordinates
