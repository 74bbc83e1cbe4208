"""Fused recurrent layers: SimpleRNN, LSTM and GRU (reset after or before the product) over a
whole sequence, forward and backward through time.

The input projection of every step is one BLAS product; a Numba loop over time then does one
recurrent product per step (two for GRU with the reset before it) and the gate math in one
pass, keeping what the backward needs. The backward runs the loop in reverse with one product
per step, then the weight gradients are three BLAS products over all steps. The gate math
uses vector_math's tanh and sigmoid, so the loops over units vectorise in float32, and runs
in parallel over the batch within each step (BLAS single-threaded inside).

Shapes: x (B, T, F); kernel (F, G*U), recurrent_kernel (U, G*U) (G = 1, 4, 3 gates in
Keras's order); bias (G*U,), or (2, 3U) for GRU with the reset after (input, recurrent);
h0, c0 (B, U); mask None or bool (B, T) (False: the step keeps the states). Outputs hs
(B, T, U): the (carried) h of every step, in processing order.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .parallel import single_threaded_blas

from .vector_math import sigmoid, tanh

CELLS = ("simple", "lstm", "gru", "gru_reset_before")


def _gates(cell: str) -> int:
    return {"simple": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}[cell]


def _time_major(a):
    return np.ascontiguousarray(np.swapaxes(a, 0, 1))


def _projection(x_tm, kernel, bias, cell):
    """x @ kernel (+ the input bias) for every step at once: (T, B, G*U)."""
    steps, batch, features = x_tm.shape
    p = x_tm.reshape(steps * batch, features) @ kernel
    if bias is not None:
        p += bias[0] if cell == "gru" else bias
    return p.reshape(steps, batch, kernel.shape[1])


def _step_mask(mask, steps, batch, dtype):
    if mask is None:
        return np.ones((steps, batch), dtype)
    return _time_major(mask.astype(dtype))


def recurrent_forward(cell, x, kernel, recurrent_kernel, bias, h0, c0, mask):
    """(hs (B, T, U), c_last (B, U) or None, residuals) of the cell `cell` (one of CELLS)
    run over x from h0 (and c0 for "lstm"); residuals are what recurrent_backward needs."""
    with single_threaded_blas():
        return _forward(cell, x, kernel, recurrent_kernel, bias, h0, c0, mask)


def _forward(cell, x, kernel, recurrent_kernel, bias, h0, c0, mask):
    dtype = x.dtype
    one = dtype.type(1)
    x_tm = _time_major(x)
    steps, batch, _ = x_tm.shape
    units = recurrent_kernel.shape[0]
    p = _projection(x_tm, kernel, bias, cell)
    m = _step_mask(mask, steps, batch, dtype)
    hs = np.empty((steps, batch, units), dtype)
    h0 = np.ascontiguousarray(h0)
    cs = gates = None
    if cell == "simple":
        _simple_forward(p, recurrent_kernel, h0, m, hs, one)
    elif cell == "lstm":
        cs = np.empty((steps, batch, units), dtype)
        gates = np.empty((steps, batch, 4 * units), dtype)
        _lstm_forward(p, recurrent_kernel, h0, np.ascontiguousarray(c0), m, hs, cs, gates, one)
    else:
        gates = np.empty((steps, batch, 4 * units), dtype)
        if cell == "gru":
            rb = (np.ascontiguousarray(bias[1]) if bias is not None
                  else np.zeros(3 * units, dtype))
            _gru_forward(p, recurrent_kernel, rb, h0, m, hs, gates, one)
        else:
            _gru_before_forward(p, np.ascontiguousarray(recurrent_kernel[:, :2 * units]),
                                np.ascontiguousarray(recurrent_kernel[:, 2 * units:]), h0, m, hs,
                                gates, one)
    c_last = (cs[-1].copy() if steps else np.array(c0)) if cell == "lstm" else None
    return _time_major(hs), c_last, (x_tm, m, hs, cs, gates)


def recurrent_backward(cell, d_hs, d_c_last, kernel, recurrent_kernel, bias, h0, c0,
                       residuals):
    """(dx, dkernel, drecurrent_kernel, dbias or None, dh0, dc0 or None) of
    recurrent_forward given d_hs (B, T, U) and d_c_last (B, U) (None: zeros)."""
    with single_threaded_blas():
        return _backward(cell, d_hs, d_c_last, kernel, recurrent_kernel, bias, h0, c0,
                         residuals)


def _backward(cell, d_hs, d_c_last, kernel, recurrent_kernel, bias, h0, c0, residuals):
    x_tm, m, hs, cs, gates = residuals
    dtype = x_tm.dtype
    one = dtype.type(1)
    steps, batch, features = x_tm.shape
    units = recurrent_kernel.shape[0]
    d_hs = (np.zeros((steps, batch, units), dtype) if d_hs is None
            else _time_major(d_hs.astype(dtype, copy=False)))
    h0 = np.ascontiguousarray(h0)
    dh = np.zeros((batch, units), dtype)
    dc = None
    d_rec_bias = None
    rk_t = np.ascontiguousarray(recurrent_kernel.T)
    if cell == "simple":
        dp = np.empty((steps, batch, units), dtype)
        _simple_backward(d_hs, rk_t, h0, m, hs, dp, dh, one)
        dq = dp
    elif cell == "lstm":
        dc = (np.zeros((batch, units), dtype) if d_c_last is None
              else np.array(d_c_last, dtype))
        dp = np.empty((steps, batch, 4 * units), dtype)
        _lstm_backward(d_hs, rk_t, np.ascontiguousarray(c0), m, cs, gates, dp, dh, dc, one)
        dq = dp
    elif cell == "gru":
        dp = np.empty((steps, batch, 3 * units), dtype)
        dq = np.empty((steps, batch, 3 * units), dtype)
        _gru_backward(d_hs, rk_t, h0, m, hs, gates, dp, dq, dh, one)
        d_rec_bias = dq.reshape(-1, 3 * units).sum(axis=0)
    else:
        dp = np.empty((steps, batch, 3 * units), dtype)
        _gru_before_backward(d_hs, np.ascontiguousarray(rk_t[:2 * units]),
                             np.ascontiguousarray(rk_t[2 * units:]), h0, m, hs, gates, dp, dh,
                             one)
        dq = None
    flat_p = dp.reshape(steps * batch, -1)
    h_prev = np.concatenate([h0[None], hs[:-1]]).reshape(steps * batch, units)
    dx = _time_major((flat_p @ kernel.T).reshape(steps, batch, features))
    dkernel = x_tm.reshape(steps * batch, features).T @ flat_p
    if cell == "gru_reset_before":
        drk = np.empty_like(recurrent_kernel)
        drk[:, :2 * units] = h_prev.T @ flat_p[:, :2 * units]
        rh = gates[:, :, 3 * units:].reshape(steps * batch, units)
        drk[:, 2 * units:] = rh.T @ flat_p[:, 2 * units:]
    else:
        drk = h_prev.T @ dq.reshape(steps * batch, -1)
    dbias = None
    if bias is not None:
        d_in = flat_p.sum(axis=0)
        dbias = np.stack([d_in, d_rec_bias]) if cell == "gru" else d_in
    return dx, dkernel, drk, dbias, dh, dc


# ---- the loops over time ----------------------------------------------------------------------
@njit(cache=True, parallel=True, fastmath={"contract"})
def _simple_forward(p, rk, h0, m, hs, one):
    steps, batch, units = hs.shape
    h = h0.copy()
    q = np.empty((batch, units), hs.dtype)
    for t in range(steps):
        np.dot(h, rk, q)
        for b in prange(batch):
            keep = m[t, b] != 0
            for u in range(units):
                if keep:
                    h[b, u] = tanh(p[t, b, u] + q[b, u])
                hs[t, b, u] = h[b, u]


@njit(cache=True, parallel=True, fastmath={"contract"})
def _simple_backward(d_hs, rk_t, h0, m, hs, dp, dh, one):
    steps, batch, units = hs.shape
    carry = np.empty((batch, units), hs.dtype)
    for t in range(steps - 1, -1, -1):
        for b in prange(batch):
            keep = m[t, b] != 0
            for u in range(units):
                g = d_hs[t, b, u] + dh[b, u]
                if keep:
                    h = hs[t, b, u]
                    dp[t, b, u] = g * (one - h * h)
                    carry[b, u] = 0
                else:
                    dp[t, b, u] = 0
                    carry[b, u] = g
        np.dot(dp[t], rk_t, dh)
        for b in prange(batch):
            for u in range(units):
                dh[b, u] += carry[b, u]


@njit(cache=True, parallel=True, fastmath={"contract"})
def _lstm_forward(p, rk, h0, c0, m, hs, cs, gates, one):
    """gates[t] = activated i, f, g, o of step t (their values where the step is masked are
    not used)."""
    steps, batch, units = hs.shape
    h = h0.copy()
    c = c0.copy()
    q = np.empty((batch, 4 * units), hs.dtype)
    for t in range(steps):
        np.dot(h, rk, q)
        for b in prange(batch):
            keep = m[t, b] != 0
            for u in range(units):
                i = sigmoid(p[t, b, u] + q[b, u])
                f = sigmoid(p[t, b, units + u] + q[b, units + u])
                g = tanh(p[t, b, 2 * units + u] + q[b, 2 * units + u])
                o = sigmoid(p[t, b, 3 * units + u] + q[b, 3 * units + u])
                gates[t, b, u] = i
                gates[t, b, units + u] = f
                gates[t, b, 2 * units + u] = g
                gates[t, b, 3 * units + u] = o
                if keep:
                    c[b, u] = f * c[b, u] + i * g
                    h[b, u] = o * tanh(c[b, u])
                cs[t, b, u] = c[b, u]
                hs[t, b, u] = h[b, u]


@njit(cache=True, parallel=True, fastmath={"contract"})
def _lstm_backward(d_hs, rk_t, c0, m, cs, gates, dp, dh, dc, one):
    steps, batch, units = cs.shape
    carry = np.empty((batch, units), cs.dtype)
    for t in range(steps - 1, -1, -1):
        for b in prange(batch):
            keep = m[t, b] != 0
            for u in range(units):
                gh = d_hs[t, b, u] + dh[b, u]
                if keep:
                    i = gates[t, b, u]
                    f = gates[t, b, units + u]
                    g = gates[t, b, 2 * units + u]
                    o = gates[t, b, 3 * units + u]
                    tc = tanh(cs[t, b, u])
                    c_prev = cs[t - 1, b, u] if t > 0 else c0[b, u]
                    gc = dc[b, u] + gh * o * (one - tc * tc)
                    dp[t, b, u] = gc * g * i * (one - i)
                    dp[t, b, units + u] = gc * c_prev * f * (one - f)
                    dp[t, b, 2 * units + u] = gc * i * (one - g * g)
                    dp[t, b, 3 * units + u] = gh * tc * o * (one - o)
                    dc[b, u] = gc * f
                    carry[b, u] = 0
                else:
                    for k in range(4):
                        dp[t, b, k * units + u] = 0
                    carry[b, u] = gh
        np.dot(dp[t], rk_t, dh)
        for b in prange(batch):
            for u in range(units):
                dh[b, u] += carry[b, u]


@njit(cache=True, parallel=True, fastmath={"contract"})
def _gru_forward(p, rk, rb, h0, m, hs, gates, one):
    """Reset after the product: gates[t] = z, r, h~ and the recurrent h-part (h U_h + b)."""
    steps, batch, units = hs.shape
    h = h0.copy()
    q = np.empty((batch, 3 * units), hs.dtype)
    for t in range(steps):
        np.dot(h, rk, q)
        for b in prange(batch):
            keep = m[t, b] != 0
            for u in range(units):
                z = sigmoid(p[t, b, u] + q[b, u] + rb[u])
                r = sigmoid(p[t, b, units + u] + q[b, units + u] + rb[units + u])
                rh = q[b, 2 * units + u] + rb[2 * units + u]
                hh = tanh(p[t, b, 2 * units + u] + r * rh)
                gates[t, b, u] = z
                gates[t, b, units + u] = r
                gates[t, b, 2 * units + u] = hh
                gates[t, b, 3 * units + u] = rh
                if keep:
                    h[b, u] = z * h[b, u] + (one - z) * hh
                hs[t, b, u] = h[b, u]


@njit(cache=True, parallel=True, fastmath={"contract"})
def _gru_backward(d_hs, rk_t, h0, m, hs, gates, dp, dq, dh, one):
    """dp: cotangent of the input projection; dq: of the recurrent one (h U + b)."""
    steps, batch, units = hs.shape
    carry = np.empty((batch, units), hs.dtype)
    for t in range(steps - 1, -1, -1):
        for b in prange(batch):
            keep = m[t, b] != 0
            for u in range(units):
                gh = d_hs[t, b, u] + dh[b, u]
                if keep:
                    z = gates[t, b, u]
                    r = gates[t, b, units + u]
                    hh = gates[t, b, 2 * units + u]
                    rh = gates[t, b, 3 * units + u]
                    h_prev = hs[t - 1, b, u] if t > 0 else h0[b, u]
                    da_h = gh * (one - z) * (one - hh * hh)
                    da_z = gh * (h_prev - hh) * z * (one - z)
                    da_r = da_h * rh * r * (one - r)
                    dp[t, b, u] = da_z
                    dp[t, b, units + u] = da_r
                    dp[t, b, 2 * units + u] = da_h
                    dq[t, b, u] = da_z
                    dq[t, b, units + u] = da_r
                    dq[t, b, 2 * units + u] = da_h * r
                    carry[b, u] = gh * z
                else:
                    for k in range(3):
                        dp[t, b, k * units + u] = 0
                        dq[t, b, k * units + u] = 0
                    carry[b, u] = gh
        np.dot(dq[t], rk_t, dh)
        for b in prange(batch):
            for u in range(units):
                dh[b, u] += carry[b, u]


@njit(cache=True, parallel=True, fastmath={"contract"})
def _gru_before_forward(p, rk_zr, rk_h, h0, m, hs, gates, one):
    """Reset before the product: gates[t] = z, r, h~ and r * h."""
    steps, batch, units = hs.shape
    h = h0.copy()
    q = np.empty((batch, 2 * units), hs.dtype)
    rh = np.empty((batch, units), hs.dtype)
    qh = np.empty((batch, units), hs.dtype)
    for t in range(steps):
        np.dot(h, rk_zr, q)
        for b in prange(batch):
            for u in range(units):
                z = sigmoid(p[t, b, u] + q[b, u])
                r = sigmoid(p[t, b, units + u] + q[b, units + u])
                gates[t, b, u] = z
                gates[t, b, units + u] = r
                rh[b, u] = r * h[b, u]
                gates[t, b, 3 * units + u] = rh[b, u]
        np.dot(rh, rk_h, qh)
        for b in prange(batch):
            keep = m[t, b] != 0
            for u in range(units):
                z = gates[t, b, u]
                hh = tanh(p[t, b, 2 * units + u] + qh[b, u])
                gates[t, b, 2 * units + u] = hh
                if keep:
                    h[b, u] = z * h[b, u] + (one - z) * hh
                hs[t, b, u] = h[b, u]


@njit(cache=True, parallel=True, fastmath={"contract"})
def _gru_before_backward(d_hs, rk_zr_t, rk_h_t, h0, m, hs, gates, dp, dh, one):
    steps, batch, units = hs.shape
    carry = np.empty((batch, units), hs.dtype)
    da_h = np.empty((batch, units), hs.dtype)
    d_rh = np.empty((batch, units), hs.dtype)
    d_zr = np.empty((batch, 2 * units), hs.dtype)
    for t in range(steps - 1, -1, -1):
        for b in prange(batch):
            keep = m[t, b] != 0
            for u in range(units):
                gh = d_hs[t, b, u] + dh[b, u]
                if keep:
                    z = gates[t, b, u]
                    hh = gates[t, b, 2 * units + u]
                    h_prev = hs[t - 1, b, u] if t > 0 else h0[b, u]
                    da_h[b, u] = gh * (one - z) * (one - hh * hh)
                    dp[t, b, u] = gh * (h_prev - hh) * z * (one - z)
                    carry[b, u] = gh * z
                else:
                    da_h[b, u] = 0
                    dp[t, b, u] = 0
                    carry[b, u] = gh
                dp[t, b, 2 * units + u] = da_h[b, u]
        np.dot(da_h, rk_h_t, d_rh)
        for b in prange(batch):
            keep = m[t, b] != 0
            for u in range(units):
                if keep:
                    r = gates[t, b, units + u]
                    h_prev = hs[t - 1, b, u] if t > 0 else h0[b, u]
                    dp[t, b, units + u] = d_rh[b, u] * h_prev * r * (one - r)
                    carry[b, u] += d_rh[b, u] * r
                else:
                    dp[t, b, units + u] = 0
                d_zr[b, u] = dp[t, b, u]
                d_zr[b, units + u] = dp[t, b, units + u]
        np.dot(d_zr, rk_zr_t, dh)
        for b in prange(batch):
            for u in range(units):
                dh[b, u] += carry[b, u]


__all__ = ["recurrent_forward", "recurrent_backward"]
