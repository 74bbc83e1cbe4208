"""Fused recurrent layers: SimpleRNN, LSTM and GRU (reset after or before the product) over a
whole sequence, forward and backward through time.

A Numba loop over time does, per step, the input projection x_t W and one recurrent product
(two for GRU with the reset before it), then adds the biases and does the gate math in one
pass, keeping what the backward needs. The backward runs the loop in reverse with the input's
gradient and one recurrent product per step. The per-step products run as OpenBLAS's small
products where it has them (gemm.dot_in_row_runs); LSTM(128) over (64, 100, 64), forward and
backward on 2 threads, went from 31.6 to 25.1 ms with them. There, too, SimpleRNN's and
LSTM's weight gradients [x_t, h_{t-1}, 1]^T dp_t are summed step by step inside the loop,
one partial sum per thread, by BLAS called with an accumulating product (blas.py), while the
step's cotangent is in cache (it is never stored): 25.1 -> 24.0 ms. GRU's weight gradients
are products over all steps after the loop. Where BLAS has no small products, all weight
gradients are, and so are the projections, forward and dx (as products per step they
measured 7% slower there, OPENBLAS_CORETYPE=Haswell).

The gate math uses vector_math's tanh and sigmoid and compiles with numpy's error model (a
division with Python's raises ZeroDivisionError, a branch that stops LLVM from vectorising),
so the loops over units vectorise in float32.

Batch rows never meet in a recurrence, so each Numba thread runs the whole loop over time for
its own block of rows (its per-step products on single-threaded BLAS): one parallel region a
call, not one per step, whose per-step joins cost a scheduler slice each whenever the cores
are shared. The products over all steps split by rows over the threads (gemm.py).

Shapes: x (B, T, F); kernel (F, G*U), recurrent_kernel (U, G*U) (G = 1, 4, 3 gates in
Keras's order); bias (G*U,), or (2, 3U) for GRU with the reset after (input, recurrent);
h0, c0 (B, U); mask None or bool (B, T) (False: the step keeps the states). Outputs hs
(B, T, U): the (carried) h of every step, in processing order.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from . import blas
from .gemm import dot_in_row_runs, gemm, small_product_limit
from .parallel import PARALLEL_MIN_ELEMENTS, launch, single_threaded_blas
from .vector_math import sigmoid, tanh

CELLS = ("simple", "lstm", "gru", "gru_reset_before")
SIMPLE, LSTM, GRU, GRU_RESET_BEFORE = range(4)
_GATES = {"simple": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}


def recurrent_forward(cell, x, kernel, recurrent_kernel, bias, h0, c0, mask):
    """(hs (B, T, U), c_last (B, U) or None, residuals) of the cell `cell` (one of CELLS)
    run over x from h0 (and c0 for "lstm"); residuals are what recurrent_backward needs."""
    dtype = x.dtype
    x = np.ascontiguousarray(x)
    batch, steps, features = x.shape
    units = recurrent_kernel.shape[0]
    kernel = np.ascontiguousarray(kernel, dtype)
    ib = np.zeros(kernel.shape[1], dtype)     # the input bias, added in the loop over time
    if bias is not None:
        ib = np.ascontiguousarray(bias[0] if cell == "gru" else bias, dtype)
    m = np.ones((batch, steps), bool) if mask is None else np.ascontiguousarray(mask, bool)
    h0 = np.ascontiguousarray(h0)
    c0 = np.ascontiguousarray(c0) if cell == "lstm" else h0
    hs = np.empty((batch, steps, units), dtype)
    cs = np.empty((batch, steps, units) if cell == "lstm" else (0, 0, 0), dtype)
    gates = np.empty((batch, steps, 0 if cell == "simple" else 4 * units), dtype)
    rb = np.zeros(3 * units if cell == "gru" else 0, dtype)
    if cell == "gru" and bias is not None:
        rb = np.ascontiguousarray(bias[1])
    rk, rk_h = _recurrent_parts(cell, recurrent_kernel, units, 1)
    small = small_product_limit()
    p = np.empty((0, 0, 0), dtype)            # the projections, per step as small products
    if not small:                             # or all at once where BLAS has none
        p = gemm(x.reshape(batch * steps, features), kernel).reshape(batch, steps, -1)
    _run(_FORWARD[cell], _blocks(batch, hs.size), x, kernel, p, ib, rk, rk_h, rb, h0, c0, m, hs, cs,
         gates, dtype.type(1), small, blas.address(dtype))
    c_last = None
    if cell == "lstm":
        c_last = cs[:, -1].copy() if steps else c0.copy()
    return hs, c_last, (x, m, hs, cs, gates)


def recurrent_backward(cell, d_hs, d_c_last, kernel, recurrent_kernel, bias, h0, c0,
                       residuals):
    """(dx, dkernel, drecurrent_kernel, dbias or None, dh0, dc0 or None) of
    recurrent_forward given d_hs (B, T, U) and d_c_last (B, U) (None: zeros)."""
    x, m, hs, cs, gates = residuals
    dtype = x.dtype
    batch, steps, features = x.shape
    units = recurrent_kernel.shape[0]
    width = _GATES[cell] * units
    d_hs = (np.zeros((batch, steps, units), dtype) if d_hs is None
            else np.ascontiguousarray(d_hs, dtype))
    h0 = np.ascontiguousarray(h0)
    small = small_product_limit()
    blocks = _blocks(batch, hs.size)
    # SimpleRNN's and LSTM's weight gradients [x_t, h_{t-1}, 1]^T dp summed step by step in
    # the loop, one partial sum per block, as small products; else products after it
    summed = bool(small) and cell in ("simple", "lstm")
    products = np.zeros((blocks, features + units + 1, width) if summed else (0, 0, 0), dtype)
    dp = np.empty((1 if summed else steps, batch, width), dtype)   # time-major
    dq = np.empty((steps, batch, width) if cell == "gru" else (0, 0, 0), dtype)
    dx = np.empty((batch, steps, features) if small else (0, 0, 0), dtype)
    dh = np.empty((batch, units), dtype)
    dc = np.empty((0, 0), dtype)
    if cell == "lstm":
        dc = (np.zeros((batch, units), dtype) if d_c_last is None
              else np.array(d_c_last, dtype))
    rk_t, rk_h_t = _recurrent_parts(cell, np.ascontiguousarray(recurrent_kernel.T), units, 0)
    _run(_BACKWARD[cell], blocks, d_hs, x, np.ascontiguousarray(kernel.T, dtype), rk_t,
         rk_h_t, h0, np.ascontiguousarray(c0) if cell == "lstm" else h0, m, hs, cs, gates, dp,
         dq, dx, products, dh, dc, dtype.type(1), small, blas.address(dtype))
    flat_p = dp.reshape(-1, width)
    if not small:                             # dx in one product (see recurrent_forward)
        dx = np.ascontiguousarray(gemm(flat_p, kernel.T).reshape(steps, batch, features)
                                  .transpose(1, 0, 2))
    if summed:
        products = products.sum(axis=0)
    elif cell in ("simple", "lstm"):  # dp is every product's cotangent
        products = gemm(_step_inputs(h0, hs, x, ones=bias is not None).T, flat_p)
    if cell in ("simple", "lstm"):
        dkernel, drk = products[:features], products[features:features + units]
    else:
        dkernel = gemm(_time_major(x).T, flat_p)
        h_prev = _step_inputs(h0, hs)
    if cell == "gru":
        drk = gemm(h_prev.T, dq.reshape(steps * batch, width))
    elif cell == "gru_reset_before":
        rh = _time_major(gates[:, :, 3 * units:])
        drk = np.concatenate(
            [gemm(h_prev.T, flat_p[:, :2 * units]), gemm(rh.T, flat_p[:, 2 * units:])], axis=1)
    dbias = None
    if bias is not None:
        d_in = products[-1] if cell in ("simple", "lstm") else flat_p.sum(axis=0)
        dbias = (np.stack([d_in, dq.reshape(steps * batch, width).sum(axis=0)])
                 if cell == "gru" else d_in)
    return dx, dkernel, drk, dbias, dh, (dc if cell == "lstm" else None)


def _step_inputs(h0, hs, x=None, ones=False):
    """(T*B, [F +] U [+ 1]), time-major as dp: the inputs x_t of each step (when x is given),
    the state h_{t-1} it started from and a 1 (when `ones`: a bias's column), side by side."""
    batch, steps, units = hs.shape
    features = 0 if x is None else x.shape[2]
    out = np.empty((steps, batch, features + units + int(ones)), hs.dtype)
    if x is not None:
        out[:, :, :features] = x.transpose(1, 0, 2)
    out[0, :, features:features + units] = h0
    out[1:, :, features:features + units] = hs[:, :-1].transpose(1, 0, 2)
    if ones:
        out[:, :, -1] = 1
    return out.reshape(steps * batch, -1)


def _time_major(values):
    """(B, T, C) -> (T*B, C), rows ordered as dp's."""
    return np.ascontiguousarray(values.transpose(1, 0, 2)).reshape(-1, values.shape[2])


def _recurrent_parts(cell, matrix, units, axis):
    """(the product of every step, the candidate's product (U, U) of GRU with the reset
    before, else empty): the recurrent kernel (axis 1) or its transpose (axis 0), split
    where the reset comes before the candidate's product."""
    if cell != "gru_reset_before":
        return np.ascontiguousarray(matrix), np.empty((0, 0), matrix.dtype)
    first, second = np.split(matrix, [2 * units], axis=axis)
    return np.ascontiguousarray(first), np.ascontiguousarray(second)


def _blocks(batch, elements):
    """Blocks of the batch's rows: one per Numba thread, one for small work."""
    return 1 if elements < PARALLEL_MIN_ELEMENTS else max(1, min(batch,
                                                                 numba.get_num_threads()))


def _run(loop, blocks, *args):
    """loop(blocks, *args) on as many threads as blocks, BLAS single-threaded inside."""
    with single_threaded_blas():
        launch(loop, PARALLEL_MIN_ELEMENTS if blocks > 1 else 0, blocks, *args)


# ---- the loops over time, one block of batch rows per thread ----------------------------------
@njit(inline="always")
def _block_rows(block, blocks, batch):
    """The first and one-past-last batch row of block `block` of `blocks`."""
    return block * batch // blocks, (block + 1) * batch // blocks


@njit(inline="always")
def _forward_loop(cell, blocks, x, kernel, p_all, ib, rk, rk_h, rb, h0, c0, m, hs, cs, gates,
                  one, small, gemm_address):
    """hs, cs ("lstm") and gates (what the backward needs) of the cell with index `cell` in
    CELLS, from x (B, T, F). Each step's input projection x_t kernel (F, W) (without the
    input bias ib (W,)) is p_all[:, t] where p_all has rows, else a product here; it and the
    recurrent product (rk, and rk_h the candidate's with the reset before) run in runs of
    rows (`small`: dot_in_row_runs's limit) by the BLAS gemm at gemm_address (blas.py); rb
    the recurrent bias (reset after). Arrays a cell does not use are empty."""
    batch, steps, units = hs.shape
    for block in prange(blocks):
        lo, hi = _block_rows(block, blocks, batch)
        h = h0[lo:hi].copy()
        c = c0[lo:hi].copy()
        x_t = np.empty((hi - lo, x.shape[2]), hs.dtype)
        p = np.empty((hi - lo, kernel.shape[1]), hs.dtype)
        q = np.empty((hi - lo, rk.shape[1]), hs.dtype)
        rh = np.empty((hi - lo, units), hs.dtype)
        qh = np.empty((hi - lo, units), hs.dtype)
        for t in range(steps):
            if p_all.shape[0] > 0:
                for r in range(hi - lo):
                    _copy(p_all[lo + r, t], p[r])
            else:
                for r in range(hi - lo):
                    _copy(x[lo + r, t], x_t[r])
                dot_in_row_runs(gemm_address, x_t, kernel, p, small)
            dot_in_row_runs(gemm_address, h, rk, q, small)
            if cell == GRU_RESET_BEFORE:
                for r in range(hi - lo):
                    _reset_gates(p[r], ib, q[r], h[r], rh[r], gates[lo + r, t], one)
                dot_in_row_runs(gemm_address, rh, rk_h, qh, small)
            for r in range(hi - lo):
                b = lo + r
                if m[b, t]:
                    if cell == SIMPLE:
                        _simple_step(p[r], ib, q[r], h[r])
                    elif cell == LSTM:
                        _lstm_step(p[r], ib, q[r], h[r], c[r], gates[b, t])
                    elif cell == GRU:
                        _gru_step(p[r], ib, q[r], rb, h[r], gates[b, t], one)
                    else:
                        _gru_reset_before_step(p[r], ib, qh[r], h[r], gates[b, t], one)
                _copy(h[r], hs[b, t])
                if cell == LSTM:
                    _copy(c[r], cs[b, t])


@njit(inline="always")
def _backward_loop(cell, blocks, d_hs, x, kernel_t, rk_t, rk_h_t, h0, c0, m, hs, cs, gates,
                   dp, dq, dx, products, dh0, dc, one, small, gemm_address):
    """dp (T, B, W), the cotangent of the input projections, dq (reset after: of the
    recurrent ones), dx (B, T, F) = dp kernel_t (W, F) when dx has rows, dh0 and dc ("lstm":
    d_c_last in, dc0 out) by backward through time. dp and dq are time-major, so a step's
    block of rows is one matrix for its product with kernel_t. Where products has rows,
    dp holds only the current step (its first axis is 1), and block k sums
    [x_t, h_{t-1}, 1]^T dp_t over the steps into products[k] (F + U + 1, W) by BLAS at
    gemm_address (blas.py). A step's recurrent product takes `step`, the cotangent of its
    recurrent product, and gives the next (earlier) step's dh; `carry` is what reaches
    h_{t-1} directly (a masked step's whole gh)."""
    batch, steps, units = hs.shape
    for block in prange(blocks):
        lo, hi = _block_rows(block, blocks, batch)
        dh = np.zeros((hi - lo, units), hs.dtype)
        dc_block = dc[lo:hi].copy()
        step = np.empty((hi - lo, rk_t.shape[0]), hs.dtype)
        carry = np.empty((hi - lo, units), hs.dtype)
        da_h = np.empty((hi - lo, units), hs.dtype)
        d_rh = np.empty((hi - lo, units), hs.dtype)
        dx_t = np.empty((hi - lo, dx.shape[2]), hs.dtype)
        inputs = np.empty((hi - lo, products.shape[1]), hs.dtype)
        for t in range(steps - 1, -1, -1):
            ti = t if dp.shape[0] == steps else 0
            for r in range(hi - lo):
                b = lo + r
                h_prev = hs[b, t - 1] if t > 0 else h0[b]
                if products.shape[0] > 0:
                    _inputs_row(x[b, t], h_prev, inputs[r], one)
                if not m[b, t]:
                    _masked_step(d_hs[b, t], dh[r], carry[r], dp[ti, b], step[r], da_h[r])
                    if cell == GRU:
                        _zero(dq[t, b])
                elif cell == SIMPLE:
                    _simple_back(d_hs[b, t], dh[r], hs[b, t], dp[ti, b], step[r], carry[r], one)
                elif cell == LSTM:
                    _lstm_back(d_hs[b, t], dh[r], dc_block[r], cs[b, t],
                               cs[b, t - 1] if t > 0 else c0[b], gates[b, t], dp[ti, b],
                               step[r], carry[r], one)
                elif cell == GRU:
                    _gru_back(d_hs[b, t], dh[r], h_prev, gates[b, t], dp[ti, b], dq[t, b],
                              step[r], carry[r], one)
                else:
                    _gru_reset_before_back(d_hs[b, t], dh[r], h_prev, gates[b, t], dp[ti, b],
                                           step[r], carry[r], da_h[r], one)
            if cell == GRU_RESET_BEFORE:
                dot_in_row_runs(gemm_address, da_h, rk_h_t, d_rh, small)
                for r in range(hi - lo):
                    b = lo + r
                    if m[b, t]:
                        _reset_back(d_rh[r], hs[b, t - 1] if t > 0 else h0[b], gates[b, t],
                                    dp[ti, b], step[r], carry[r], one)
            if dx.shape[0] > 0:
                dot_in_row_runs(gemm_address, dp[ti, lo:hi], kernel_t, dx_t, small)
                for r in range(hi - lo):
                    _copy(dx_t[r], dx[lo + r, t])
            if products.shape[0] > 0:
                blas.product_of_transposed(gemm_address, inputs, dp[ti, lo:hi],
                                           products[block], True, small)
            dot_in_row_runs(gemm_address, step, rk_t, dh, small)
            for r in range(hi - lo):
                _add(carry[r], dh[r])
        for r in range(hi - lo):
            _copy(dh[r], dh0[lo + r])
            if cell == LSTM:
                _copy(dc_block[r], dc[lo + r])


# One parallel kernel per cell and direction, each the loop above for its own `cell` (a
# constant there, so Numba compiles only that cell's branch).
@njit(cache=True, parallel=True, fastmath={"contract"}, error_model="numpy")
def _simple_forward(blocks, x, kernel, p_all, ib, rk, rk_h, rb, h0, c0, m, hs, cs, gates, one,
                    small, gemm_address):
    _forward_loop(SIMPLE, blocks, x, kernel, p_all, ib, rk, rk_h, rb, h0, c0, m, hs, cs, gates,
                  one, small, gemm_address)


@njit(cache=True, parallel=True, fastmath={"contract"}, error_model="numpy")
def _lstm_forward(blocks, x, kernel, p_all, ib, rk, rk_h, rb, h0, c0, m, hs, cs, gates, one,
                  small, gemm_address):
    _forward_loop(LSTM, blocks, x, kernel, p_all, ib, rk, rk_h, rb, h0, c0, m, hs, cs, gates,
                  one, small, gemm_address)


@njit(cache=True, parallel=True, fastmath={"contract"}, error_model="numpy")
def _gru_forward(blocks, x, kernel, p_all, ib, rk, rk_h, rb, h0, c0, m, hs, cs, gates, one,
                 small, gemm_address):
    _forward_loop(GRU, blocks, x, kernel, p_all, ib, rk, rk_h, rb, h0, c0, m, hs, cs, gates,
                  one, small, gemm_address)


@njit(cache=True, parallel=True, fastmath={"contract"}, error_model="numpy")
def _gru_reset_before_forward(blocks, x, kernel, p_all, ib, rk, rk_h, rb, h0, c0, m, hs, cs,
                              gates, one, small, gemm_address):
    _forward_loop(GRU_RESET_BEFORE, blocks, x, kernel, p_all, ib, rk, rk_h, rb, h0, c0, m, hs,
                  cs, gates, one, small, gemm_address)


@njit(cache=True, parallel=True, fastmath={"contract"}, error_model="numpy")
def _simple_backward(blocks, d_hs, x, kernel_t, rk_t, rk_h_t, h0, c0, m, hs, cs, gates, dp, dq,
                     dx, products, dh0, dc, one, small, gemm_address):
    _backward_loop(SIMPLE, blocks, d_hs, x, kernel_t, rk_t, rk_h_t, h0, c0, m, hs, cs, gates,
                   dp, dq, dx, products, dh0, dc, one, small, gemm_address)


@njit(cache=True, parallel=True, fastmath={"contract"}, error_model="numpy")
def _lstm_backward(blocks, d_hs, x, kernel_t, rk_t, rk_h_t, h0, c0, m, hs, cs, gates, dp, dq,
                   dx, products, dh0, dc, one, small, gemm_address):
    _backward_loop(LSTM, blocks, d_hs, x, kernel_t, rk_t, rk_h_t, h0, c0, m, hs, cs, gates,
                   dp, dq, dx, products, dh0, dc, one, small, gemm_address)


@njit(cache=True, parallel=True, fastmath={"contract"}, error_model="numpy")
def _gru_backward(blocks, d_hs, x, kernel_t, rk_t, rk_h_t, h0, c0, m, hs, cs, gates, dp, dq,
                  dx, products, dh0, dc, one, small, gemm_address):
    _backward_loop(GRU, blocks, d_hs, x, kernel_t, rk_t, rk_h_t, h0, c0, m, hs, cs, gates,
                   dp, dq, dx, products, dh0, dc, one, small, gemm_address)


@njit(cache=True, parallel=True, fastmath={"contract"}, error_model="numpy")
def _gru_reset_before_backward(blocks, d_hs, x, kernel_t, rk_t, rk_h_t, h0, c0, m, hs, cs,
                               gates, dp, dq, dx, products, dh0, dc, one, small, gemm_address):
    _backward_loop(GRU_RESET_BEFORE, blocks, d_hs, x, kernel_t, rk_t, rk_h_t, h0, c0, m, hs,
                   cs, gates, dp, dq, dx, products, dh0, dc, one, small, gemm_address)


_FORWARD = dict(zip(CELLS, (_simple_forward, _lstm_forward, _gru_forward,
                            _gru_reset_before_forward)))
_BACKWARD = dict(zip(CELLS, (_simple_backward, _lstm_backward, _gru_backward,
                             _gru_reset_before_backward)))


# ---- one batch row of one step (rows of width U; gates of width 4U) ---------------------------
@njit(fastmath={"contract"}, error_model="numpy")
def _inputs_row(x, h, row, one):
    """row = [x, h, 1]."""
    features = x.shape[0]
    for f in range(features):
        row[f] = x[f]
    for u in range(h.shape[0]):
        row[features + u] = h[u]
    row[features + h.shape[0]] = one


@njit(fastmath={"contract"}, error_model="numpy")
def _copy(source, target):
    for u in range(source.shape[0]):
        target[u] = source[u]


@njit(fastmath={"contract"}, error_model="numpy")
def _add(source, target):
    for u in range(source.shape[0]):
        target[u] += source[u]


@njit(fastmath={"contract"}, error_model="numpy")
def _simple_step(p, ib, q, h):
    for u in range(h.shape[0]):
        h[u] = tanh(p[u] + ib[u] + q[u])


@njit(fastmath={"contract"}, error_model="numpy")
def _lstm_step(p, ib, q, h, c, gates):
    """gates = activated i, f, g, o."""
    units = h.shape[0]
    for u in range(units):
        i = sigmoid(p[u] + ib[u] + q[u])
        f = sigmoid(p[units + u] + ib[units + u] + q[units + u])
        g = tanh(p[2 * units + u] + ib[2 * units + u] + q[2 * units + u])
        o = sigmoid(p[3 * units + u] + ib[3 * units + u] + q[3 * units + u])
        gates[u] = i
        gates[units + u] = f
        gates[2 * units + u] = g
        gates[3 * units + u] = o
        c[u] = f * c[u] + i * g
        h[u] = o * tanh(c[u])


@njit(fastmath={"contract"}, error_model="numpy")
def _gru_step(p, ib, q, rb, h, gates, one):
    """Reset after the product: gates = z, r, h~ and the recurrent h-part (h U_h + b)."""
    units = h.shape[0]
    for u in range(units):
        z = sigmoid(p[u] + ib[u] + q[u] + rb[u])
        r = sigmoid(p[units + u] + ib[units + u] + q[units + u] + rb[units + u])
        rh = q[2 * units + u] + rb[2 * units + u]
        hh = tanh(p[2 * units + u] + ib[2 * units + u] + r * rh)
        gates[u] = z
        gates[units + u] = r
        gates[2 * units + u] = hh
        gates[3 * units + u] = rh
        h[u] = z * h[u] + (one - z) * hh


@njit(fastmath={"contract"}, error_model="numpy")
def _reset_gates(p, ib, q, h, rh, gates, one):
    """Reset before the product, its first half: gates = z, r, ., r * h (also in rh)."""
    units = h.shape[0]
    for u in range(units):
        z = sigmoid(p[u] + ib[u] + q[u])
        r = sigmoid(p[units + u] + ib[units + u] + q[units + u])
        gates[u] = z
        gates[units + u] = r
        rh[u] = r * h[u]
        gates[3 * units + u] = rh[u]


@njit(fastmath={"contract"}, error_model="numpy")
def _gru_reset_before_step(p, ib, qh, h, gates, one):
    """Reset before the product, its second half: gates[2U:3U] = h~ from qh = (r * h) U_h."""
    units = h.shape[0]
    for u in range(units):
        z = gates[u]
        hh = tanh(p[2 * units + u] + ib[2 * units + u] + qh[u])
        gates[2 * units + u] = hh
        h[u] = z * h[u] + (one - z) * hh


@njit(fastmath={"contract"}, error_model="numpy")
def _masked_step(d_hs, dh, carry, dp, step, da_h):
    """A masked step: its gh = d_hs + dh all goes to h_{t-1}; no gate gets a cotangent."""
    for u in range(dh.shape[0]):
        carry[u] = d_hs[u] + dh[u]
    _zero(da_h)
    _zero(dp)
    _zero(step)


@njit(fastmath={"contract"}, error_model="numpy")
def _zero(row):
    for k in range(row.shape[0]):
        row[k] = 0


@njit(fastmath={"contract"}, error_model="numpy")
def _simple_back(d_hs, dh, h, dp, step, carry, one):
    for u in range(h.shape[0]):
        dp[u] = (d_hs[u] + dh[u]) * (one - h[u] * h[u])
        step[u] = dp[u]
        carry[u] = 0


@njit(fastmath={"contract"}, error_model="numpy")
def _lstm_back(d_hs, dh, dc, c, c_prev, gates, dp, step, carry, one):
    units = c.shape[0]
    for u in range(units):
        gh = d_hs[u] + dh[u]
        i = gates[u]
        f = gates[units + u]
        g = gates[2 * units + u]
        o = gates[3 * units + u]
        tc = tanh(c[u])
        gc = dc[u] + gh * o * (one - tc * tc)
        dp[u] = step[u] = gc * g * i * (one - i)
        dp[units + u] = step[units + u] = gc * c_prev[u] * f * (one - f)
        dp[2 * units + u] = step[2 * units + u] = gc * i * (one - g * g)
        dp[3 * units + u] = step[3 * units + u] = gh * tc * o * (one - o)
        dc[u] = gc * f
        carry[u] = 0


@njit(fastmath={"contract"}, error_model="numpy")
def _gru_back(d_hs, dh, h_prev, gates, dp, dq, step, carry, one):
    """Reset after: dp the input projection's cotangent, dq (and step) the recurrent one's."""
    units = dh.shape[0]
    for u in range(units):
        gh = d_hs[u] + dh[u]
        z = gates[u]
        r = gates[units + u]
        hh = gates[2 * units + u]
        da_h = gh * (one - z) * (one - hh * hh)
        da_z = gh * (h_prev[u] - hh) * z * (one - z)
        da_r = da_h * gates[3 * units + u] * r * (one - r)
        dp[u] = dq[u] = step[u] = da_z
        dp[units + u] = dq[units + u] = step[units + u] = da_r
        dp[2 * units + u] = da_h
        dq[2 * units + u] = step[2 * units + u] = da_h * r
        carry[u] = gh * z


@njit(fastmath={"contract"}, error_model="numpy")
def _gru_reset_before_back(d_hs, dh, h_prev, gates, dp, step, carry, da_h, one):
    """Reset before, the candidate and z: da_h (the candidate's cotangent) goes through
    U_h to r * h next (_reset_back)."""
    units = dh.shape[0]
    for u in range(units):
        gh = d_hs[u] + dh[u]
        z = gates[u]
        hh = gates[2 * units + u]
        da_h[u] = dp[2 * units + u] = gh * (one - z) * (one - hh * hh)
        dp[u] = step[u] = gh * (h_prev[u] - hh) * z * (one - z)
        carry[u] = gh * z


@njit(fastmath={"contract"}, error_model="numpy")
def _reset_back(d_rh, h_prev, gates, dp, step, carry, one):
    """Reset before, d(r * h) = d_rh: r's cotangent, and h_{t-1}'s share through r * h."""
    units = d_rh.shape[0]
    for u in range(units):
        r = gates[units + u]
        dp[units + u] = step[units + u] = d_rh[u] * h_prev[u] * r * (one - r)
        carry[u] += d_rh[u] * r


__all__ = ["recurrent_forward", "recurrent_backward"]
