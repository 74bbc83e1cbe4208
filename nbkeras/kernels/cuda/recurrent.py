"""Fused recurrent layers on the GPU: the CUDA twin of kernels/cpu/recurrent.py (same names,
signatures and results).

The host loops over time: the input projection of all steps is one gemm, then each step is a
gemm of the state with the recurrent kernel and one elementwise gate kernel (over batch x
units, grid-stride) that updates the state in place and stores what the backward needs. The
backward runs the steps in reverse the same way (the gate kernel folds in the carried
cotangent of masked steps), then the weight gradients are gemms over all steps. Arrays stay
batch-major (B, T, ...): a step's kernel indexes step t in place.
"""
from __future__ import annotations

import math

import numpy as np
from numba import types

from .array import add, cast, concatenate, getitem, reduce, split, transpose
from .gemm import gemm
from .runtime import FLOATS, THREADS, blocks, empty, grid, gridsize, kernel, to_device

__all__ = ["recurrent_backward", "recurrent_forward"]

_GATES = {"simple": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}


def _sig(*kinds):
    """Signatures per float dtype: 'a3' (B, T, N), 'a2' (B, N), 'a1', 'i' step, 's' scalar."""
    def one(t):
        return tuple({"a3": t[:, :, ::1], "a2": t[:, ::1], "a1": t[::1], "i": types.int64,
                      "s": t}[k] for k in kinds)
    return [one(t) for t in FLOATS]


# ---- forward steps ----------------------------------------------------------------------------
@kernel(*_sig("a3", "a2", "a2", "a2", "a3", "i"))
def _simple_step(p, q, m, h, hs, t):
    batch, units = h.shape
    for i in range(grid(1), batch * units, gridsize(1)):
        b = i // units
        u = i - b * units
        if m[b, t] != 0:
            h[b, u] = math.tanh(p[b, t, u] + q[b, u])
        hs[b, t, u] = h[b, u]


@kernel(*_sig("a3", "a2", "a2", "a2", "a2", "a3", "a3", "a3", "i", "s"))
def _lstm_step(p, q, m, h, c, hs, cs, gates, t, one):
    batch, units = h.shape
    for n in range(grid(1), batch * units, gridsize(1)):
        b = n // units
        u = n - b * units
        i = one / (one + math.exp(-(p[b, t, u] + q[b, u])))
        f = one / (one + math.exp(-(p[b, t, units + u] + q[b, units + u])))
        g = math.tanh(p[b, t, 2 * units + u] + q[b, 2 * units + u])
        o = one / (one + math.exp(-(p[b, t, 3 * units + u] + q[b, 3 * units + u])))
        gates[b, t, u] = i
        gates[b, t, units + u] = f
        gates[b, t, 2 * units + u] = g
        gates[b, t, 3 * units + u] = o
        if m[b, t] != 0:
            c[b, u] = f * c[b, u] + i * g
            h[b, u] = o * math.tanh(c[b, u])
        cs[b, t, u] = c[b, u]
        hs[b, t, u] = h[b, u]


@kernel(*_sig("a3", "a2", "a1", "a2", "a2", "a3", "a3", "i", "s"))
def _gru_step(p, q, rb, m, h, hs, gates, t, one):
    batch, units = h.shape
    for n in range(grid(1), batch * units, gridsize(1)):
        b = n // units
        u = n - b * units
        z = one / (one + math.exp(-(p[b, t, u] + q[b, u] + rb[u])))
        r = one / (one + math.exp(-(p[b, t, units + u] + q[b, units + u] + rb[units + u])))
        rh = q[b, 2 * units + u] + rb[2 * units + u]
        hh = math.tanh(p[b, t, 2 * units + u] + r * rh)
        gates[b, t, u] = z
        gates[b, t, units + u] = r
        gates[b, t, 2 * units + u] = hh
        gates[b, t, 3 * units + u] = rh
        if m[b, t] != 0:
            h[b, u] = z * h[b, u] + (one - z) * hh
        hs[b, t, u] = h[b, u]


@kernel(*_sig("a3", "a2", "a2", "a3", "a2", "i", "s"))
def _gru_before_gates(p, q, h, gates, rh, t, one):
    batch, units = h.shape
    for n in range(grid(1), batch * units, gridsize(1)):
        b = n // units
        u = n - b * units
        z = one / (one + math.exp(-(p[b, t, u] + q[b, u])))
        r = one / (one + math.exp(-(p[b, t, units + u] + q[b, units + u])))
        gates[b, t, u] = z
        gates[b, t, units + u] = r
        rh[b, u] = r * h[b, u]
        gates[b, t, 3 * units + u] = rh[b, u]


@kernel(*_sig("a3", "a2", "a2", "a2", "a3", "a3", "i", "s"))
def _gru_before_step(p, qh, m, h, hs, gates, t, one):
    batch, units = h.shape
    for n in range(grid(1), batch * units, gridsize(1)):
        b = n // units
        u = n - b * units
        z = gates[b, t, u]
        hh = math.tanh(p[b, t, 2 * units + u] + qh[b, u])
        gates[b, t, 2 * units + u] = hh
        if m[b, t] != 0:
            h[b, u] = z * h[b, u] + (one - z) * hh
        hs[b, t, u] = h[b, u]


# ---- backward steps: gh = d_hs[t] + dh (the product) + carry (masked steps' pass-through) ------
@kernel(*_sig("a3", "a2", "a2", "a2", "a3", "a3", "a2", "i", "s"))
def _simple_back(d_hs, dh, carry, m, hs, dp, step, t, one):
    batch, units = dh.shape
    for n in range(grid(1), batch * units, gridsize(1)):
        b = n // units
        u = n - b * units
        gh = d_hs[b, t, u] + dh[b, u] + carry[b, u]
        d = gh * (one - hs[b, t, u] * hs[b, t, u])
        if m[b, t] != 0:
            carry[b, u] = one - one
        else:
            d = one - one
            carry[b, u] = gh
        dp[b, t, u] = d
        step[b, u] = d


@kernel(*_sig("a3", "a2", "a2", "a2", "a2", "a2", "a3", "a3", "a3", "a2", "i", "s"))
def _lstm_back(d_hs, dh, carry, dc, c0, m, cs, gates, dp, step, t, one):
    batch, units = dh.shape
    for n in range(grid(1), batch * units, gridsize(1)):
        b = n // units
        u = n - b * units
        gh = d_hs[b, t, u] + dh[b, u] + carry[b, u]
        if m[b, t] != 0:
            i = gates[b, t, u]
            f = gates[b, t, units + u]
            g = gates[b, t, 2 * units + u]
            o = gates[b, t, 3 * units + u]
            tc = math.tanh(cs[b, t, u])
            c_prev = cs[b, t - 1, u] if t > 0 else c0[b, u]
            gc = dc[b, u] + gh * o * (one - tc * tc)
            d0 = gc * g * i * (one - i)
            d1 = gc * c_prev * f * (one - f)
            d2 = gc * i * (one - g * g)
            d3 = gh * tc * o * (one - o)
            dc[b, u] = gc * f
            carry[b, u] = one - one
        else:
            d0 = d1 = d2 = d3 = one - one
            carry[b, u] = gh
        dp[b, t, u] = d0
        dp[b, t, units + u] = d1
        dp[b, t, 2 * units + u] = d2
        dp[b, t, 3 * units + u] = d3
        step[b, u] = d0
        step[b, units + u] = d1
        step[b, 2 * units + u] = d2
        step[b, 3 * units + u] = d3


@kernel(*_sig("a3", "a2", "a2", "a2", "a2", "a3", "a3", "a3", "a3", "a2", "i", "s"))
def _gru_back(d_hs, dh, carry, h0, m, hs, gates, dp, dq, step, t, one):
    batch, units = dh.shape
    for n in range(grid(1), batch * units, gridsize(1)):
        b = n // units
        u = n - b * units
        gh = d_hs[b, t, u] + dh[b, u] + carry[b, u]
        if m[b, t] != 0:
            z = gates[b, t, u]
            r = gates[b, t, units + u]
            hh = gates[b, t, 2 * units + u]
            rh = gates[b, t, 3 * units + u]
            h_prev = hs[b, t - 1, u] if t > 0 else h0[b, u]
            da_h = gh * (one - z) * (one - hh * hh)
            da_z = gh * (h_prev - hh) * z * (one - z)
            da_r = da_h * rh * r * (one - r)
            dr_h = da_h * r
            carry[b, u] = gh * z
        else:
            da_h = da_z = da_r = dr_h = one - one
            carry[b, u] = gh
        dp[b, t, u] = da_z
        dp[b, t, units + u] = da_r
        dp[b, t, 2 * units + u] = da_h
        dq[b, t, u] = da_z
        dq[b, t, units + u] = da_r
        dq[b, t, 2 * units + u] = dr_h
        step[b, u] = da_z
        step[b, units + u] = da_r
        step[b, 2 * units + u] = dr_h


@kernel(*_sig("a3", "a2", "a2", "a2", "a2", "a3", "a3", "a3", "a2", "i", "s"))
def _gru_before_back1(d_hs, dh, carry, h0, m, hs, gates, dp, da_h, t, one):
    batch, units = dh.shape
    for n in range(grid(1), batch * units, gridsize(1)):
        b = n // units
        u = n - b * units
        gh = d_hs[b, t, u] + dh[b, u] + carry[b, u]
        if m[b, t] != 0:
            z = gates[b, t, u]
            hh = gates[b, t, 2 * units + u]
            h_prev = hs[b, t - 1, u] if t > 0 else h0[b, u]
            a = gh * (one - z) * (one - hh * hh)
            dz = gh * (h_prev - hh) * z * (one - z)
            carry[b, u] = gh * z
        else:
            a = dz = one - one
            carry[b, u] = gh
        da_h[b, u] = a
        dp[b, t, u] = dz
        dp[b, t, 2 * units + u] = a


@kernel(*_sig("a2", "a2", "a2", "a2", "a3", "a3", "a3", "a2", "i", "s"))
def _gru_before_back2(d_rh, carry, h0, m, hs, gates, dp, step, t, one):
    batch, units = carry.shape
    for n in range(grid(1), batch * units, gridsize(1)):
        b = n // units
        u = n - b * units
        dr = one - one
        if m[b, t] != 0:
            r = gates[b, t, units + u]
            h_prev = hs[b, t - 1, u] if t > 0 else h0[b, u]
            dr = d_rh[b, u] * h_prev * r * (one - r)
            carry[b, u] += d_rh[b, u] * r
        dp[b, t, units + u] = dr
        step[b, u] = dp[b, t, u]
        step[b, units + u] = dr


@kernel(*_sig("a2", "a3", "a3"))
def _previous(h0, hs, out):
    """out[b, t] = hs[b, t - 1], h0[b] at t = 0: the state each step started from."""
    batch, steps, units = hs.shape
    for n in range(grid(1), batch * steps * units, gridsize(1)):
        b = n // (steps * units)
        rest = n - b * steps * units
        t = rest // units
        u = rest - t * units
        out[b, t, u] = h0[b, u] if t == 0 else hs[b, t - 1, u]


@kernel(*_sig("a2", "a2"))
def _add_into(a, b_):
    rows, cols = a.shape
    for n in range(grid(1), rows * cols, gridsize(1)):
        r = n // cols
        c = n - r * cols
        a[r, c] += b_[r, c]


def _copy(a):
    out = empty(a.shape, a.dtype)
    out.copy_to_device(a)
    return out


def _zeros(shape, dtype):
    return to_device(np.zeros(shape, dtype))


def _launch(kernel_, n, *args):
    kernel_[blocks(n), THREADS](*args)


def recurrent_forward(cell, x, kernel, recurrent_kernel, bias, h0, c0, mask):
    """As kernels.cpu.recurrent.recurrent_forward."""
    x, kernel, recurrent_kernel = to_device(x), to_device(kernel), to_device(recurrent_kernel)
    dtype = x.dtype
    one = dtype.type(1)
    batch, steps, features = x.shape
    units = recurrent_kernel.shape[0]
    width = _GATES[cell] * units
    p = gemm(x.reshape(batch * steps, features), kernel)
    if bias is not None:
        bias = to_device(bias)
        p = add(p, bias[0] if cell == "gru" else bias)
    p = p.reshape(batch, steps, width)
    m = (to_device(np.ones((batch, steps), dtype)) if mask is None
         else cast(to_device(mask), dtype))
    h = _copy(to_device(h0))
    hs = empty((batch, steps, units), dtype)
    n = batch * units
    cs = gates = c = None
    if cell == "simple":
        for t in range(steps):
            _launch(_simple_step, n, p, gemm(h, recurrent_kernel), m, h, hs, t)
    elif cell == "lstm":
        c = _copy(to_device(c0))
        cs = empty((batch, steps, units), dtype)
        gates = empty((batch, steps, 4 * units), dtype)
        for t in range(steps):
            _launch(_lstm_step, n, p, gemm(h, recurrent_kernel), m, h, c, hs, cs, gates, t, one)
    elif cell == "gru":
        gates = empty((batch, steps, 4 * units), dtype)
        rb = bias[1] if bias is not None else _zeros((3 * units,), dtype)
        for t in range(steps):
            _launch(_gru_step, n, p, gemm(h, recurrent_kernel), rb, m, h, hs, gates, t, one)
    else:
        gates = empty((batch, steps, 4 * units), dtype)
        rk_zr, rk_h = split(recurrent_kernel, [2 * units], 1)
        rh = empty((batch, units), dtype)
        for t in range(steps):
            _launch(_gru_before_gates, n, p, gemm(h, rk_zr), h, gates, rh, t, one)
            _launch(_gru_before_step, n, p, gemm(rh, rk_h), m, h, hs, gates, t, one)
    c_last = c if cell == "lstm" else None
    return hs, c_last, (x, m, hs, cs, gates)


def recurrent_backward(cell, d_hs, d_c_last, kernel, recurrent_kernel, bias, h0, c0,
                       residuals):
    """As kernels.cpu.recurrent.recurrent_backward."""
    x, m, hs, cs, gates = residuals
    dtype = x.dtype
    one = dtype.type(1)
    batch, steps, features = x.shape
    kernel, recurrent_kernel = to_device(kernel), to_device(recurrent_kernel)
    units = recurrent_kernel.shape[0]
    width = _GATES[cell] * units
    d_hs = (_zeros((batch, steps, units), dtype) if d_hs is None
            else cast(to_device(d_hs), dtype) if d_hs.dtype != dtype else to_device(d_hs))
    h0 = to_device(h0)
    dh = _zeros((batch, units), dtype)
    carry = _zeros((batch, units), dtype)
    dp = empty((batch, steps, width), dtype)
    step = empty((batch, 2 * units if cell == "gru_reset_before" else width), dtype)
    rk_t = transpose(recurrent_kernel, (1, 0))
    n = batch * units
    dq = dc = None
    if cell == "simple":
        for t in range(steps - 1, -1, -1):
            _launch(_simple_back, n, d_hs, dh, carry, m, hs, dp, step, t, one)
            dh = gemm(step, rk_t)
    elif cell == "lstm":
        dc = (_zeros((batch, units), dtype) if d_c_last is None
              else _copy(cast(to_device(d_c_last), dtype)))
        for t in range(steps - 1, -1, -1):
            _launch(_lstm_back, n, d_hs, dh, carry, dc, to_device(c0), m, cs, gates, dp, step,
                    t, one)
            dh = gemm(step, rk_t)
    elif cell == "gru":
        dq = empty((batch, steps, width), dtype)
        for t in range(steps - 1, -1, -1):
            _launch(_gru_back, n, d_hs, dh, carry, h0, m, hs, gates, dp, dq, step, t, one)
            dh = gemm(step, rk_t)
    else:
        rk_zr_t, rk_h_t = split(rk_t, [2 * units], 0)
        da_h = empty((batch, units), dtype)
        for t in range(steps - 1, -1, -1):
            _launch(_gru_before_back1, n, d_hs, dh, carry, h0, m, hs, gates, dp, da_h, t, one)
            _launch(_gru_before_back2, n, gemm(da_h, rk_h_t), carry, h0, m, hs, gates, dp,
                    step, t, one)
            dh = gemm(step, rk_zr_t)
    dh = _copy(dh)
    _launch(_add_into, n, dh, carry)
    flat_p = dp.reshape(batch * steps, width)
    dx = gemm(flat_p, transpose(kernel, (1, 0))).reshape(batch, steps, features)
    dkernel = gemm(transpose(x.reshape(batch * steps, features), (1, 0)), flat_p)
    h_prev = empty((batch, steps, units), dtype)
    _launch(_previous, batch * steps * units, h0, hs, h_prev)
    h_prev_t = transpose(h_prev.reshape(batch * steps, units), (1, 0))
    if cell == "gru_reset_before":
        p_zr, p_h = split(flat_p, [2 * units], 1)
        rh = getitem(gates, (slice(None), slice(None), slice(3 * units, None)))
        rh_t = transpose(rh.reshape(batch * steps, units), (1, 0))
        drk = concatenate([gemm(h_prev_t, p_zr), gemm(rh_t, p_h)], 1)
    else:
        drk = gemm(h_prev_t, (dq if dq is not None else dp).reshape(batch * steps, width))
    dbias = None
    if bias is not None:
        d_in = reduce("sum", flat_p, 0, False)
        if cell == "gru":
            d_rec = reduce("sum", dq.reshape(batch * steps, width), 0, False)
            dbias = concatenate([d_in.reshape(1, width), d_rec.reshape(1, width)], 0)
        else:
            dbias = d_in
    return dx, dkernel, drk, dbias, dh, dc
