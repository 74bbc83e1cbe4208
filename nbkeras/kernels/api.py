"""The kernel API: every function a device's kernel module exports (`nbkeras.kernels.cpu`,
`nbkeras.kernels.cuda`), with its parameters and a one-line contract. Ops call kernels only
by these names, as explicit attributes of the module of their inputs' device; a test checks
that each device module exports exactly this API with these signatures.

Arrays are the device's (numpy arrays, Numba device arrays); shapes follow numpy's
broadcasting; a kernel returns new arrays unless it says it works in place. `window` is a
`kernels.geometry.Window`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Kernel:
    name: str
    parameters: str    # as inspect.signature prints it
    contract: str


_ACTIVATIONS = (   # name, extra parameters of both kernels
    ("linear", ""), ("selu", ""), ("sigmoid", ""), ("silu", ""), ("softplus", ""), ("mish", ""),
    ("hard_sigmoid", ""), ("tanh", ""), ("softsign", ""), ("exponential", ""),
    ("elu", ", alpha=1.0"), ("gelu", ", approximate=False"),
    ("relu", ", negative_slope=0.0, max_value=None, threshold=0.0"), ("softmax", ""),
    ("log_softmax", ""))

SCATTER_REDUCTIONS = ("set", "add", "max", "min", "mul")   # scatter_reduce's names, by code

# Elementwise math (kernels/<device>/math.py): the `name`s each family kernel accepts.
UNARY_MATH = (      # float x -> float of x's dtype
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
    "arctanh", "exp2", "expm1", "log1p", "log2", "log10", "cbrt", "rsqrt", "reciprocal",
    "floor", "ceil", "rint", "trunc", "sinc", "i0", "i1", "erf", "erfc", "erfinv")
PREDICATES = (      # any dtype -> bool
    "isfinite", "isinf", "isnan", "isneginf", "isposinf", "signbit", "isreal", "logical_not")
FLOAT_BINARY_MATH = (    # floats of one dtype -> that dtype
    "arctan2", "hypot", "logaddexp", "logaddexp2", "nextafter", "heaviside", "ldexp")
INTEGER_BINARY_MATH = (  # ints (bools too for the bitwise three) of one dtype -> that dtype
    "gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift")
# Resampling (kernels/<device>/sampling.py): fill modes by code, as jax.scipy.ndimage's.
SAMPLING_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
# Affine image resampling (kernels/<device>/affine.py): scipy.ndimage's legacy modes, by code.
AFFINE_FILL_MODES = ("constant", "nearest", "reflect", "wrap")

BINARY_MATH = (FLOAT_BINARY_MATH + INTEGER_BINARY_MATH
               + ("mod", "fmod", "floor_divide", "fmax", "fmin"))   # these take both

API = (
    # ---- arrays: conversion, elementwise math, selection
    Kernel("asarray", "(x)", "x as an array of this device (0-d for scalars)"),
    Kernel("cast", "(x, dtype)", "x converted to dtype"),
    Kernel("negative", "(x)", "-x"),
    Kernel("abs", "(x)", "|x|"),
    Kernel("sign", "(x)", "-1, 0 or 1 by the sign of x"),
    Kernel("exp", "(x)", "e ** x"),
    Kernel("log", "(x)", "natural logarithm of x"),
    Kernel("sqrt", "(x)", "square root of x"),
    Kernel("square", "(x)", "x * x"),
    Kernel("add", "(a, b)", "a + b"),
    Kernel("subtract", "(a, b)", "a - b"),
    Kernel("multiply", "(a, b)", "a * b"),
    Kernel("divide", "(a, b)", "a / b (true division)"),
    Kernel("power", "(a, b)", "a ** b"),
    Kernel("maximum", "(a, b)", "elementwise max(a, b)"),
    Kernel("minimum", "(a, b)", "elementwise min(a, b)"),
    Kernel("equal", "(a, b)", "a == b, bool"),
    Kernel("not_equal", "(a, b)", "a != b, bool"),
    Kernel("less", "(a, b)", "a < b, bool"),
    Kernel("less_equal", "(a, b)", "a <= b, bool"),
    Kernel("greater", "(a, b)", "a > b, bool"),
    Kernel("greater_equal", "(a, b)", "a >= b, bool"),
    Kernel("where", "(condition, a, b)", "a where condition else b"),
    Kernel("clip", "(x, low, high)", "x limited to [low, high]"),
    Kernel("one_hot", "(indices, num_classes, axis, dtype)",
           "rows of the identity at a new axis; indices outside [0, num_classes) give zeros"),
    # ---- reductions and their VJP helpers
    Kernel("reduce", "(name, x, axis, keepdims)",
           "sum / mean / max / min / prod of x over axis (None, int or tuple)"),
    Kernel("argmax", "(x, axis, keepdims)", "int64 index of the first maximum along axis"),
    Kernel("sum_to_shape", "(g, shape)", "a broadcast cotangent g summed back to shape"),
    Kernel("extreme_backward", "(dy_kept, x, y_kept, axes)",
           "max/min VJP: dy shared equally among the cells equal to the extreme"),
    Kernel("prod_backward", "(dy_kept, x, axes)", "prod VJP: dy times the product of the others"),
    # ---- sorting, selection and scans (kernels/<device>/sorting.py)
    Kernel("sort", "(x)", "(values, int64 indices) of x sorted along its last axis: stable, "
           "NaN last"),
    Kernel("top_k", "(x, k)", "(values, int64 indices) of the k largest along the last axis, "
           "largest first, ties by index, NaN largest"),
    Kernel("scatter_columns", "(dy, indices, n)",
           "zeros (..., n) with out[..., indices[..., j]] = dy[..., j] (distinct indices)"),
    Kernel("cumsum", "(x, axis)", "running sums along axis, in x's dtype"),
    Kernel("cumprod", "(x, axis)", "running products along axis, in x's dtype"),
    Kernel("cumprod_backward", "(dy, x, axis)",
           "cumprod's VJP for float x, without division (exact at zeros of x)"),
    Kernel("searchsorted", "(sorted_sequence, values, right)",
           "int64 insertion points of values in the ascending 1-D sorted_sequence"),
    # ---- elementwise math by name (kernels/<device>/math.py; names in the tuples above)
    Kernel("unary_math", "(name, x)", "UNARY_MATH[name] of a float x, elementwise, x's dtype"),
    Kernel("predicate", "(name, x)", "PREDICATES[name] of x (any dtype), elementwise: bool"),
    Kernel("binary_math", "(name, a, b)",
           "BINARY_MATH[name] of a and b of one dtype (Python numbers take it), broadcast, "
           "in that dtype; ldexp's b holds integers; integer division by 0 gives 0"),
    # ---- products
    Kernel("matmul", "(a, b)", "numpy matmul: (..., M, K) @ (..., K, N), batch axes broadcast"),
    Kernel("gemm", "(a, b)", "a (M, K) @ b (K, N) -> (M, N)"),
    # ---- linear algebra (LAPACK; kernels/cuda/linalg.py runs it on host copies): over the
    # last two axes, batched over the leading ones
    Kernel("cholesky", "(x, upper)", "L of x = L L^T (x SPD), or U = L^T if upper"),
    Kernel("eigh", "(x)", "(w ascending (..., M), v (..., M, M)), x = v diag(w) v^T symmetric"),
    Kernel("eig", "(x)", "(w (..., M), v (..., M, M)) complex eigenpairs of x, x v = v diag(w)"),
    Kernel("svd", "(x, full_matrices, compute_uv)",
           "(u, s descending, vh) with x = u diag(s) vh; s alone without compute_uv"),
    Kernel("qr", "(x, mode)", "(q, r), x = q r; mode 'reduced' or 'complete' as numpy's"),
    Kernel("inv", "(x)", "the inverse of square x"),
    Kernel("slogdet", "(x)", "(sign, log |det|) of square x, each of shape (...)"),
    Kernel("solve", "(a, b)", "x with a x = b: a (..., M, M), b (..., M, N); batches broadcast"),
    Kernel("solve_triangular", "(a, b, lower)",
           "x with a x = b for triangular a (only its lower or upper triangle read)"),
    Kernel("lstsq", "(a, b, rcond)", "minimum-norm least-squares x of a (M, N) x = b (M[, K])"),
    Kernel("lu_factor", "(x)",
           "(lu packed L\\U, pivots int32 (..., K), p permutation matrix) with x = p L U"),
    # ---- shapes and indexing
    Kernel("reshape", "(x, shape)", "x with a new shape of the same size (one -1 allowed)"),
    Kernel("transpose", "(x, axes)", "x with its axes permuted"),
    Kernel("swapaxes", "(x, axis1, axis2)", "x with two axes exchanged"),
    Kernel("expand_dims", "(x, axis)", "x with a new axis of size 1"),
    Kernel("broadcast_to", "(x, shape)", "x broadcast to shape"),
    Kernel("inverse_permutation", "(perm)", "the permutation that undoes perm (a tuple)"),
    Kernel("concatenate", "(arrays, axis)", "the arrays joined along axis"),
    Kernel("split", "(x, indices, axis)", "x cut along axis before each of indices"),
    Kernel("getitem", "(x, key)", "x[key], numpy basic and advanced indexing"),
    Kernel("getitem_backward", "(dy, shape, key)",
           "zeros of shape with dy added at key (repeated indices accumulate)"),
    Kernel("scatter_reduce", "(name, target, positions, values)",
           "a copy of target, viewed as (rows, *inner), with values[i] (n, *inner) combined "
           "into row positions[i] (host int64) in order, by one of SCATTER_REDUCTIONS ('set': "
           "the last value stays)"),
    Kernel("pad", "(x, pairs, value)", "x with pairs[i] = (before, after) cells of value"),
    Kernel("crop", "(x, pairs)", "x without pairs[i] = (before, after) cells at each end"),
    # ---- activations: forward (x, *params) -> y; backward (dy, x, y, *params) -> dx
    *[Kernel(f"{name}_forward", f"(x{params})", f"y = {name}(x)")
      for name, params in _ACTIVATIONS],
    *[Kernel(f"{name}_backward", f"(dy, x, y{params})", f"dx of {name} given dy, x and y")
      for name, params in _ACTIVATIONS],
    # ---- fused cross-entropies over the last axis
    Kernel("softmax_cross_entropy_forward", "(labels, logits)",
           "(..., C), (..., C) -> (...,): -sum(labels * log_softmax(logits))"),
    Kernel("softmax_cross_entropy_backward", "(dy, labels, logits)",
           "(dlabels, dlogits) of the softmax cross-entropy"),
    Kernel("sparse_softmax_cross_entropy_forward", "(labels, logits)",
           "int labels (...,), logits (..., C) -> (...,): logsumexp - logits[label]"),
    Kernel("sparse_softmax_cross_entropy_backward", "(dy, labels, logits)",
           "dlogits of the sparse softmax cross-entropy"),
    Kernel("sigmoid_cross_entropy_forward", "(labels, logits)",
           "elementwise max(x, 0) - x z + log1p(exp(-|x|))"),
    Kernel("sigmoid_cross_entropy_backward", "(dy, labels, logits)",
           "(dlabels, dlogits) of the sigmoid cross-entropy"),
    Kernel("probability_cross_entropy_forward", "(labels, probs, epsilon)",
           "(..., C), (..., C) -> (...,): -sum(labels * log(clip(probs / sum(probs), "
           "epsilon, 1 - epsilon)))"),
    Kernel("probability_cross_entropy_backward", "(dy, labels, probs, epsilon)",
           "(dlabels, dprobs) of the probability cross-entropy; the clip passes the "
           "gradient inside its bounds, bounds included"),
    # ---- normalization over a (P, M, Q, K) view
    Kernel("normalize_forward",
           "(x, gamma=None, beta=None, mean=None, variance=None, epsilon=0.001, center=True)",
           "(y, mean (P, Q), variance (P, Q)); the batch's statistics when mean is None"),
    Kernel("normalize_backward",
           "(dy, x, gamma, mean, variance, epsilon=0.001, batch_stats=True, center=True)",
           "(dx, dgamma, dbeta, dmean or None, dvariance or None)"),
    # ---- convolution and pooling, channels last, over a Window
    Kernel("conv_forward",
           "(x, w, window, groups=1, bias=None, relu=False, pool=None, out=None)",
           "x (N, *s, C) * w (*k, C/groups, F) [+ bias, relu, max-pool over pool] -> (N, *o, F), "
           "written into `out` when given (checked_out) and returned"),
    Kernel("conv_backward",
           "(dy, x, w, window, groups=1, y=None, input_gradient=True, kernel_gradient=True, "
           "pool=None)",
           "(dx or None, dw or None, db) in one pass; y given: relu's mask from y > 0; pool "
           "(unpooled, pooled, window) given: dy is the gradient of the max-pooled output"),
    Kernel("conv_backward_input", "(dy, w, x_shape, window, groups=1)",
           "dx of conv_forward: the transposed convolution"),
    Kernel("conv_backward_kernel", "(dy, x, w_shape, window, groups=1)", "dw of conv_forward"),
    Kernel("max_pool_forward", "(x, window)", "max over each window of x (N, *s, C)"),
    Kernel("max_pool_backward", "(dy, x, y, window)",
           "dx: each dy to the first cell of its window equal to y"),
    Kernel("average_pool_forward", "(x, window)", "mean over the real cells of each window"),
    Kernel("average_pool_backward", "(dy, x_shape, window)",
           "dx: each dy shared among the real cells of its window"),
    Kernel("sum_pool_forward", "(x, window)", "sum over the real cells of each window"),
    Kernel("bilinear_resize_forward", "(x, size)",
           "x (N, H, W, C) -> (N, *size, C), half-pixel bilinear"),
    Kernel("bilinear_resize_backward", "(dy, x_shape)", "dx of bilinear_resize_forward"),
    # ---- image resampling at fractional coordinates (kernels/<device>/sampling.py)
    Kernel("sample_forward", "(x, coordinates, order, mode, fill_value)",
           "float x (B, *spatial (d axes), C) at coordinates (B, M, d) -> (B, M, C): the "
           "nearest cell (order 0) or the 2**d cells around mixed linearly (order 1); off-grid "
           "cells by the fill mode `mode` (one of SAMPLING_FILL_MODES), 'constant' reading "
           "fill_value per tap"),
    Kernel("sample_backward",
           "(dy, x, coordinates, order, mode, fill_value, coordinates_gradient)",
           "(dx, dcoordinates or None) of sample_forward (order 0: dcoordinates zero)"),
    Kernel("affine_transform_images", "(x, matrices, moved, flips, order, mode, cval)",
           "float x (B, H, W, C) -> x's shape and dtype: image b through the float64 (2, 3) "
           "matrices[b] where moved[b] (else copied), as scipy.ndimage.affine_transform "
           "(order 0 or 1, mode one of AFFINE_FILL_MODES), then flipped along rows / columns "
           "where the bool flips[b] (2,) says"),
    # ---- connectionist temporal classification (kernels/<device>/ctc.py)
    Kernel("ctc_loss", "(log_probs, labels, label_lengths, logit_lengths, blank)",
           "(loss (B,), d loss / d logits (B, T, C)) of log_probs = log_softmax(logits) and "
           "int64 labels (B, L), by one forward-backward pass; inf and 0 where nothing fits"),
    Kernel("ctc_beam_search", "(log_probs, lengths, beam_width, top_paths, blank)",
           "(paths int32 (top_paths, B, T), scores (B, top_paths)): the prefix beam search "
           "of log_probs = log_softmax(logits) over each sequence's first lengths[b] steps "
           "(clipped to [1, T]); labels best first, -1 after them; -1 and -inf past the beams"),
    # ---- scaled dot-product attention (kernels/<device>/attention.py)
    Kernel("attention_forward", "(query, key, value, bias, mask, scale, soft_cap, causal)",
           "(out (B, T, N, Hv), probs (B, N, T, S)) of float query (B, T, N, H), key (B, S, "
           "K, H), value (B, S, K, Hv), N % K == 0 (head n reads n // (N / K)); bias (float) "
           "and mask (bool, True = attend) 4-D, each axis 1 or the logits' (B, N, T, S): "
           "softmax over S of "
           "q.k * scale + bias, capped to soft_cap * tanh(. / soft_cap) unless soft_cap is "
           "None, -0.7 * the dtype's max where masked or (causal) s > t"),
    Kernel("attention_backward", "(d_out, query, key, value, bias, mask, probs, scale, "
           "soft_cap, causal, logits_gradient)",
           "(d_query, d_key, d_value, d_logits (B, N, T, S) of the uncapped logits, or None "
           "unless logits_gradient) of attention_forward"),
    # ---- fused recurrent layers (kernels/<device>/recurrent.py)
    Kernel("recurrent_forward", "(cell, x, kernel, recurrent_kernel, bias, h0, c0, mask)",
           "(hs (B, T, U), c_last or None, residuals) of cell 'simple' / 'lstm' / 'gru' / "
           "'gru_reset_before' (Keras's gate orders, tanh and sigmoid) over x (B, T, F) from h0 "
           "(and c0), bias None or Keras's; mask None or bool (B, T), False keeps the states"),
    Kernel("recurrent_backward", "(cell, d_hs, d_c_last, kernel, recurrent_kernel, bias, h0, "
           "c0, residuals)", "(dx, dkernel, drecurrent_kernel, dbias, dh0, dc0) of "
           "recurrent_forward; None for an absent bias or c0, d_c_last None as zeros"),
    # ---- counter-based random numbers (kernels/counter_random.py): the same on every device
    Kernel("dropout_mask", "(shape, rate, seed, counter, dtype)",
           "1 / (1 - rate) where uniform i of draw `counter` of stream `seed` >= rate, else 0"),
    Kernel("random_normal", "(shape, seed, counter, dtype)",
           "N(0, 1) by Box-Muller from the uniforms 2i, 2i + 1 of the draw"),
    Kernel("random_uniform", "(shape, seed, counter, dtype)", "U[0, 1) from word i"),
    Kernel("random_truncated_normal", "(shape, seed, counter, dtype)",
           "N(0, 1) conditioned on [-2, 2], by rejection within element i's words"),
    # parameters below: one value, or one per element of `shape` (flat, C order)
    Kernel("random_gamma", "(shape, alpha, seed, counter, dtype)",
           "Gamma(alpha, 1), alpha > 0, by Marsaglia-Tsang (alpha < 1: boosted)"),
    Kernel("random_beta", "(shape, alpha, beta, seed, counter, dtype)",
           "Beta(alpha, beta) from two gammas, as a logistic of their log ratio"),
    Kernel("random_gamma_grad", "(alpha, x)",
           "dx/dalpha of Gamma(alpha, 1) draws x, in x's dtype (computed in float64): minus "
           "the CDF's derivative in alpha over its density, as JAX's; 0 where x = 0"),
    Kernel("random_binomial", "(shape, counts, probabilities, seed, counter)",
           "float64 Binomial(counts whole >= 0, p in [0, 1]): inversion below mean 10, BTRS"),
    Kernel("random_integers", "(shape, low, high, seed, counter)",
           "int64 low + word i mod (high - low); low where high <= low"),
    Kernel("random_categorical", "(logits, num_samples, seed, counter)",
           "int64 (B, num_samples) Gumbel-max draws from the rows of logits (B, C >= 1)"),
    Kernel("random_permutation", "(shape, axis, seed, counter)",
           "int64 of shape: each line along axis a Fisher-Yates permutation of 0 .. n - 1"),
    # ---- optimizer updates, in place on var and its slots (None where a slot is unused)
    Kernel("sgd_update", "(var, grad, m, lr, momentum, nesterov, decay)", "SGD step"),
    Kernel("adam_update", "(var, grad, m, v, v_max, alpha, one_minus_beta_1, one_minus_beta_2, "
           "epsilon, decay)", "Adam / AdamW / AMSGrad step"),
    Kernel("rmsprop_update", "(var, grad, velocity, mom, average, lr, rho, one_minus_rho, "
           "momentum, epsilon, decay)", "RMSprop step"),
    Kernel("adagrad_update", "(var, grad, accumulator, lr, epsilon, decay)", "Adagrad step"),
    Kernel("adadelta_update", "(var, grad, accumulated_grad, accumulated_delta, lr, rho, "
           "one_minus_rho, epsilon, decay)", "Adadelta step"),
    Kernel("adamax_update", "(var, grad, m, u, lr, beta_2, one_minus_beta_1, bias_correction, "
           "epsilon, decay)", "Adamax step"),
    Kernel("nadam_update", "(var, grad, m, v, lr, one_minus_beta_1, one_minus_beta_2, "
           "momentum_coef, grad_coef, velocity_coef, epsilon, decay)", "Nadam step"),
    Kernel("lion_update", "(var, grad, m, lr, beta_1, one_minus_beta_1, beta_2, "
           "one_minus_beta_2, decay)", "Lion step"),
    Kernel("lamb_update", "(var, grad, m, v, step, one_minus_beta_1, one_minus_beta_2, "
           "bias_correction_1, bias_correction_2, epsilon, decay)",
           "Lamb step, step = trust ratio * lr (its norms computed by the caller)"),
    Kernel("ftrl_update", "(var, grad, accumulator, linear, lr, neg_lr_power, l1, "
           "two_l2_shrinkage, two_l2_reg, decay)", "FTRL-proximal step"),
    Kernel("adafactor_update", "(var, grad, r, c, v, r_new, c_new, r_mean, rows, cols, beta_2, "
           "one_minus_beta_2, epsilon_1, alpha, divisor, decay)",
           "Adafactor step: factored (r_new, c_new, r_mean row/column means from the caller; "
           "var (B, rows, cols)) or not (r_new, c_new, r_mean None)"),
    Kernel("schedule_free_adamw_update", "(var, grad, z, v, lr, beta_1, one_minus_beta_1, "
           "one_minus_beta_2, bias_correction_2, epsilon, weight, one_minus_weight, decay)",
           "Schedule-Free AdamW step (z: the momentum slot)"),
    Kernel("muon_update", "(var, grad, m, update, momentum_minus_one, lr, scale, decay)",
           "Muon step on a 2-D variable: update is the caller's Newton-Schulz result"),
)


def names() -> set[str]:
    return {kernel.name for kernel in API}


def checked_out(who: str, out, shape: tuple, dtype):
    """`out`, a device array a kernel is to write its result of `shape` and `dtype` into (an
    inference plan's activation buffer, reused across batches), after checking it is one:
    C-contiguous, of exactly that shape and dtype. Raises ValueError naming the kernel."""
    if (tuple(out.shape) != tuple(shape) or out.dtype != dtype
            or not out.flags["C_CONTIGUOUS"]):
        raise ValueError(f"{who}: out must be a C-contiguous {dtype} array of shape "
                         f"{tuple(shape)}; received a {out.dtype} array of shape "
                         f"{tuple(out.shape)}"
                         f"{'' if out.flags['C_CONTIGUOUS'] else ' (not C-contiguous)'}")
    return out


def basic_index(key) -> bool:
    """Whether numpy indexes with `key` by a strided view (ints, slices, None, Ellipsis):
    each element of the result is then a distinct element of the array."""
    return all(k is None or k is Ellipsis or isinstance(k, slice)
               or (isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)))
               for k in (key if isinstance(key, tuple) else (key,)))
