"""Linear algebra (`nk.ops.linalg`, also at `nk.ops`), as keras.ops.linalg: decompositions,
solves, inverses, norms, and `jvp`.

Matrices are the last two axes; leading axes are batch axes. Integer inputs become floatx.
The factorizations are LAPACK kernels (on "cuda", run on host copies: kernels/cuda/linalg.py);
the VJPs are the standard matrix-calculus ones, composed from device kernels (products,
triangular solves, masks):

- cholesky, eigh: the input is taken as symmetric (LAPACK reads one triangle), so the
  gradient is the symmetric one, as JAX's.
- eigh needs distinct eigenvalues, svd distinct nonzero singular values (else the gradient
  is infinite); svd with full_matrices=True differentiates the U and V^H outputs only for
  square matrices (the extra columns are not unique), as in JAX.
- det, inv, solve need a nonsingular matrix; pinv and lstsq a full-rank one.
- qr differentiates both modes for any shape: for M > N, mode="complete"'s extra columns of
  q as LAPACK's Householder reflections make them (as JAX).
- lu_factor differentiates its packed LU for any shape (as JAX); its pivots are integers.
- eig (complex output), matrix_rank and the pivots have no gradient: on JAX, Keras does not
  differentiate eig (JAX refuses non-symmetric eigenvector derivatives by default).
"""
from __future__ import annotations

import builtins
from dataclasses import dataclass

import numpy as np

from .. import config
from ..core.dtype import is_float
from ..core.keras_tensor import KerasTensor
from ..tree import leaves as flatten, pack_like
from ..core.spec import Spec
from ..core.tape import GradientTape
from ..core.tensor import Tensor
from .composite import composite
from .core import cast
from .elementwise import abs, multiply, not_equal, power, sqrt
from .matmul import matmul
from .op import Op, broadcast_shapes, convert_to_tensor, float_dtype, result_type
from .reduction import max, min, normalize_axes, sum
from .shape import expand_dims, squeeze, transpose

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq",
           "lu_factor", "matrix_rank", "norm", "pinv", "qr", "solve", "solve_triangular", "svd"]


# ------------------------------------------------------------------- shape checks

def _check_matrix(who: str, name: str, x: Spec, square: bool = False) -> None:
    if x.ndim < 2:
        raise ValueError(f"{who}: {name} must have rank >= 2 (..., M, N); received shape "
                         f"{x.shape}")
    m, n = x.shape[-2:]
    if square and None not in (m, n) and m != n:
        raise ValueError(f"{who}: {name} must be square (..., M, M); received shape {x.shape}")


def _solve_spec(who: str, a: Spec, b: Spec) -> Spec:
    """a (..., M, M), b (..., M) or (..., M, N) -> the shape of x in a x = b."""
    _check_matrix(who, "a", a, square=True)
    vector = b.ndim == a.ndim - 1
    if b.ndim < 1 or not vector and b.ndim < 2:
        raise ValueError(f"{who}: b must have shape (..., M) or (..., M, N); received a.shape="
                         f"{a.shape}, b.shape={b.shape}")
    rows = b.shape[-1] if vector else b.shape[-2]
    if None not in (rows, a.shape[-1]) and rows != a.shape[-1]:
        raise ValueError(f"{who}: a (..., M, M) and b (..., M[, N]) disagree on M; received "
                         f"a.shape={a.shape}, b.shape={b.shape}")
    tail = b.shape[-1:] if vector else b.shape[-2:]
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-len(tail)], who)
    return Spec(batch + tail, result_type(float_dtype(a.dtype), float_dtype(b.dtype)))


# ------------------------------------------------------------- VJP building blocks

def _t(k, x):
    """x with its last two axes swapped."""
    return k.swapaxes(x, -1, -2)


def _constant(k, values: np.ndarray, dtype):
    return k.asarray(np.asarray(values, dtype))


def _tri(k, n: int, offset: int, dtype):
    """(n, n): 1 on and below diagonal `offset`, 0 above (numpy's tri)."""
    return _constant(k, np.tri(n, n, offset), dtype)


def _right_solve_transposed(k, x, r, lower: bool):
    """x r^{-T} for triangular r: the transpose of r^{-1} x^T."""
    return _t(k, k.solve_triangular(r, _t(k, x), lower))


def _zeros_if_none(k, dy, like):
    return _constant(k, np.zeros(like.shape), like.dtype) if dy is None else dy


def _pinv_vjp(k, a, p, g):
    """dL/da of p = pinv(a) (a (..., M, N) of full rank) given g = dL/dp (..., N, M):
    -p^T g p^T + (I - a p) g^T p p^T + p^T p g^T (I - p a)."""
    pt, gt = _t(k, p), _t(k, g)
    first = k.negative(k.matmul(k.matmul(pt, g), pt))
    left = k.matmul(gt, k.matmul(p, pt))                        # g^T p p^T  (M, N)
    second = k.subtract(left, k.matmul(a, k.matmul(p, left)))
    right = k.matmul(k.matmul(pt, p), gt)                       # p^T p g^T  (M, N)
    third = k.subtract(right, k.matmul(k.matmul(right, p), a))
    return k.add(first, k.add(second, third))


def _safe_reciprocal_differences(k, w, square: bool):
    """F[..., i, j] = 1 / (w_j - w_i) (of squares if `square`) off the diagonal, 0 on it."""
    if square:
        w = k.multiply(w, w)
    n = w.shape[-1]
    diagonal = _constant(k, np.eye(n), bool)
    gaps = k.subtract(k.expand_dims(w, -2), k.expand_dims(w, -1))
    return k.where(diagonal, 0, k.divide(1, k.where(diagonal, 1, gaps)))


# -------------------------------------------------------------------------- ops

@dataclass(frozen=True)
class Cholesky(Op):
    """x (..., M, M) symmetric positive definite -> L (lower, x = L L^T), or L^T if upper."""

    upper: bool
    float_inputs = True

    def output_spec(self, x: Spec) -> Spec:
        _check_matrix("cholesky", "x", x, square=True)
        return Spec(x.shape, float_dtype(x.dtype))

    def forward(self, k, x):
        try:
            lower = k.cholesky(x, False)
        except np.linalg.LinAlgError:
            raise ValueError(f"cholesky: x of shape {tuple(x.shape)} is not positive "
                             "definite") from None
        return (_t(k, lower) if self.upper else lower), (lower,)

    def vjp(self, k, dy, residuals, needs):
        """x̄ = L^{-T} sym(Φ(L^T L̄)) L^{-1}, Φ: the lower triangle, diagonal halved."""
        (lower,) = residuals
        lower_bar = _t(k, dy) if self.upper else dy
        n = lower.shape[-1]
        phi = _constant(k, np.tri(n) - np.eye(n) / 2, lower.dtype)
        inner = k.multiply(k.matmul(_t(k, lower), lower_bar), phi)
        inner = k.multiply(k.add(inner, _t(k, inner)), 0.5)
        upper = _t(k, lower)
        left = k.solve_triangular(upper, inner, False)                  # L^{-T} S
        return (_right_solve_transposed(k, left, upper, False),)      # ... L^{-1}


@dataclass(frozen=True)
class Inv(Op):
    """x (..., M, M) -> x^{-1}."""

    float_inputs = True

    def output_spec(self, x: Spec) -> Spec:
        _check_matrix("inv", "x", x, square=True)
        return Spec(x.shape, float_dtype(x.dtype))

    def forward(self, k, x):
        y = _nonsingular("inv", lambda: k.inv(x), x)
        return y, (y,)

    def vjp(self, k, dy, residuals, needs):
        yt = _t(k, residuals[0])
        return (k.negative(k.matmul(k.matmul(yt, dy), yt)),)


def _nonsingular(who: str, run, x):
    try:
        return run()
    except np.linalg.LinAlgError:
        raise ValueError(f"{who}: the matrix of shape {tuple(x.shape)} is singular") from None


@dataclass(frozen=True)
class Det(Op):
    """x (..., M, M) -> det(x) (...); the gradient is det(x) x^{-T} (nonsingular x)."""

    float_inputs = True

    def output_spec(self, x: Spec) -> Spec:
        _check_matrix("det", "x", x, square=True)
        return Spec(x.shape[:-2], float_dtype(x.dtype))

    def forward(self, k, x):
        sign, log_abs = k.slogdet(x)
        y = k.multiply(sign, k.exp(log_abs))
        return y, (x, y)

    def vjp(self, k, dy, residuals, needs):
        x, y = residuals
        scale = k.expand_dims(k.expand_dims(k.multiply(dy, y), -1), -1)
        inverse = _nonsingular("det (gradient)", lambda: k.inv(x), x)
        return (k.multiply(scale, _t(k, inverse)),)


@dataclass(frozen=True)
class SlogDet(Op):
    """x (..., M, M) -> (sign, log |det x|), each (...); the sign has no gradient, log |det|
    has x^{-T}."""

    float_inputs = True
    n_outputs = 2
    differentiable_outputs = (1,)

    def output_spec(self, x: Spec) -> tuple:
        _check_matrix("slogdet", "x", x, square=True)
        spec = Spec(x.shape[:-2], float_dtype(x.dtype))
        return spec, spec

    def forward(self, k, x):
        return k.slogdet(x), (x,)

    def vjp(self, k, dy, residuals, needs):
        (x,) = residuals
        scale = k.expand_dims(k.expand_dims(dy[1], -1), -1)
        inverse = _nonsingular("slogdet (gradient)", lambda: k.inv(x), x)
        return (k.multiply(scale, _t(k, inverse)),)


@dataclass(frozen=True)
class Solve(Op):
    """a (..., M, M), b (..., M) or (..., M, N) -> x with a x = b (batch axes broadcast);
    b is a vector when it has one axis fewer than a."""

    float_inputs = True

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        return _solve_spec(self.name, a, b)

    name = "solve"

    def solve(self, k, a, b, transposed: bool):
        """a^{-1} b, or a^{-T} b."""
        return k.solve(_t(k, a) if transposed else a, b)

    def mask(self, k, abar):
        return abar

    def forward(self, k, a, b):
        vector = b.ndim == a.ndim - 1
        b2 = k.expand_dims(b, -1) if vector else b
        x = _nonsingular(self.name, lambda: self.solve(k, a, b2, False), a)
        y = k.reshape(x, x.shape[:-1]) if vector else x
        return y, (a, x, a.shape, b2.shape, b.shape)

    def vjp(self, k, dy, residuals, needs):
        """b̄ = a^{-T} ȳ, ā = -b̄ x^T (each summed back over broadcast batch axes)."""
        a, x, a_shape, b2_shape, b_shape = residuals
        dy = k.reshape(dy, x.shape)
        bbar = self.solve(k, a, dy, True)
        abar = (k.sum_to_shape(self.mask(k, k.negative(k.matmul(bbar, _t(k, x)))), a_shape)
                if needs[0] else None)
        return abar, k.reshape(k.sum_to_shape(bbar, b2_shape), b_shape) if needs[1] else None


@dataclass(frozen=True)
class SolveTriangular(Solve):
    """Solve with a triangular a; only a's lower (or upper) triangle is read, and its
    gradient lies in that triangle."""

    lower: bool = False
    name = "solve_triangular"

    def solve(self, k, a, b, transposed: bool):
        if transposed:
            return k.solve_triangular(_t(k, a), b, not self.lower)
        return k.solve_triangular(a, b, self.lower)

    def mask(self, k, abar):
        n = abar.shape[-1]
        triangle = np.tri(n) if self.lower else np.tri(n).T
        return k.multiply(abar, _constant(k, triangle, abar.dtype))


@dataclass(frozen=True)
class Eigh(Op):
    """x (..., M, M) symmetric -> (w (..., M) ascending, v (..., M, M) eigenvectors as
    columns). Gradient (distinct eigenvalues): sym(v (diag(w̄) + F ∘ v^T v̄) v^T),
    F_ij = 1 / (w_j - w_i)."""

    float_inputs = True
    n_outputs = 2

    def output_spec(self, x: Spec) -> tuple:
        _check_matrix("eigh", "x", x, square=True)
        dtype = float_dtype(x.dtype)
        return Spec(x.shape[:-1], dtype), Spec(x.shape, dtype)

    def forward(self, k, x):
        w, v = k.eigh(x)
        return (w, v), (w, v)

    def vjp(self, k, dy, residuals, needs):
        w, v = residuals
        dw, dv = dy
        inner = _constant(k, np.zeros(v.shape), v.dtype)
        if dw is not None:
            inner = k.multiply(k.expand_dims(dw, -2), _constant(k, np.eye(w.shape[-1]), v.dtype))
        if dv is not None:
            f = _safe_reciprocal_differences(k, w, square=False)
            inner = k.add(inner, k.multiply(f, k.matmul(_t(k, v), dv)))
        xbar = k.matmul(k.matmul(v, inner), _t(k, v))
        return (k.multiply(k.add(xbar, _t(k, xbar)), 0.5),)


@dataclass(frozen=True)
class Eig(Op):
    """x (..., M, M) -> (w (..., M), v (..., M, M)) complex (complex64 for float32 x,
    complex128 for float64). No gradient (Keras on JAX does not differentiate it)."""

    float_inputs = True
    n_outputs = 2
    differentiable_outputs = ()

    def output_spec(self, x: Spec) -> tuple:
        _check_matrix("eig", "x", x, square=True)
        dtype = np.result_type(float_dtype(x.dtype), np.complex64).name
        return Spec(x.shape[:-1], dtype), Spec(x.shape, dtype)

    def forward(self, k, x):
        return k.eig(x), ()

    def vjp(self, k, dy, residuals, needs):
        return (None,)


@dataclass(frozen=True)
class Svd(Op):
    """x (..., M, N) -> (u, s, vh), x = u diag(s) vh, s (..., K) descending, K = min(M, N);
    u (..., M, M or K), vh (..., N or K, N) by full_matrices; s alone without compute_uv.
    Gradient (distinct nonzero s; Townsend 2016), with F_ij = 1 / (s_j^2 - s_i^2):
    x̄ = u [F∘(u^T ū - ū^T u) S + diag(s̄) + S F∘(v^T v̄ - v̄^T v)] v^T
        + (I - u u^T) ū S^{-1} v^T + u S^{-1} v̄^T (I - v v^T)."""

    full_matrices: bool
    compute_uv: bool
    float_inputs = True

    @property
    def n_outputs(self) -> int:
        return 3 if self.compute_uv else 1

    def output_spec(self, x: Spec):
        _check_matrix("svd", "x", x)
        m, n = x.shape[-2:]
        kk = None if None in (m, n) else builtins.min(m, n)
        batch, dtype = x.shape[:-2], float_dtype(x.dtype)
        s = Spec(batch + (kk,), dtype)
        if not self.compute_uv:
            return s
        columns = (m, n) if self.full_matrices else (kk, kk)
        return Spec(batch + (m, columns[0]), dtype), s, Spec(batch + (columns[1], n), dtype)

    def forward(self, k, x):
        m, n = x.shape[-2:]
        kk = builtins.min(m, n)
        u, s, vh = k.svd(x, self.full_matrices, True)
        thin = (k.getitem(u, (Ellipsis, slice(0, kk))),
                s, k.getitem(vh, (Ellipsis, slice(0, kk), slice(None))))
        residuals = thin + (self.full_matrices and m != n,)
        return ((u, s, vh) if self.compute_uv else s), residuals

    def vjp(self, k, dy, residuals, needs):
        u, s, vh, truncated = residuals
        du, ds, dvh = dy if self.compute_uv else (None, dy, None)
        if truncated and (du is not None or dvh is not None):
            raise ValueError("svd: with full_matrices=True the gradient of u and vh needs a "
                             f"square matrix (received u {tuple(u.shape)}, vh "
                             f"{tuple(vh.shape)}): the extra singular vectors are not unique; "
                             "use full_matrices=False")
        v = _t(k, vh)
        kk = s.shape[-1]
        inner = _constant(k, np.zeros(tuple(s.shape) + (kk,)), s.dtype)
        if ds is not None:
            inner = k.multiply(k.expand_dims(ds, -2), _constant(k, np.eye(kk), s.dtype))
        extra = None
        if du is not None or dvh is not None:
            f = _safe_reciprocal_differences(k, s, square=True)
            s_row, s_col = k.expand_dims(s, -2), k.expand_dims(s, -1)
        if du is not None:
            du = k.getitem(du, (Ellipsis, slice(0, kk)))
            utdu = k.matmul(_t(k, u), du)
            inner = k.add(inner, k.multiply(k.multiply(f, k.subtract(utdu, _t(k, utdu))), s_row))
            rest = k.divide(k.subtract(du, k.matmul(u, utdu)), s_row)      # (I - u u^T) ū S^-1
            extra = k.matmul(rest, vh)
        if dvh is not None:
            dv = _t(k, k.getitem(dvh, (Ellipsis, slice(0, kk), slice(None))))
            vtdv = k.matmul(vh, dv)
            inner = k.add(inner, k.multiply(s_col, k.multiply(f, k.subtract(vtdv, _t(k, vtdv)))))
            rest = k.divide(k.subtract(dv, k.matmul(v, vtdv)), s_row)      # (I - v v^T) v̄ S^-1
            term = k.matmul(u, _t(k, rest))
            extra = term if extra is None else k.add(extra, term)
        xbar = k.matmul(k.matmul(u, inner), vh)
        return (xbar if extra is None else k.add(xbar, extra),)



@dataclass(frozen=True)
class Qr(Op):
    """x (..., M, N) -> (q, r), x = q r: q (..., M, K), r (..., K, N) for mode "reduced",
    q (..., M, M), r (..., M, N) for "complete". Gradient for every shape and mode, as
    JAX's: for M >= N, x̄ = (q̄ + q copyutl(r̄ r^T - q^T q̄)) r^{-T} on the first N columns
    of q (_thin_qr_vjp), those of "complete" also taking q̄'s share through its last M - N
    columns (_householder_columns_vjp); for M < N, the square part x1 = q r1 by that rule
    with q̄ + x2 r̄2^T, and x̄2 = q r̄2."""

    mode: str
    float_inputs = True
    n_outputs = 2

    def output_spec(self, x: Spec) -> tuple:
        _check_matrix("qr", "x", x)
        m, n = x.shape[-2:]
        if m is None or n is None:
            raise ValueError(f"qr: the last two axes of x must be known; received shape "
                             f"{x.shape}")
        kk = builtins.min(m, n)
        rows = kk if self.mode == "reduced" else m
        dtype = float_dtype(x.dtype)
        return Spec(x.shape[:-2] + (m, rows), dtype), Spec(x.shape[:-2] + (rows, n), dtype)

    def forward(self, k, x):
        q, r = k.qr(x, self.mode)
        return (q, r), (x, q, r)

    def vjp(self, k, dy, residuals, needs):
        x, q, r = residuals
        m, n = x.shape[-2:]
        dq, dr = _zeros_if_none(k, dy[0], q), _zeros_if_none(k, dy[1], r)
        if m > n and self.mode == "complete":
            dq = _householder_columns_vjp(k, q, dq, n)
            q = k.getitem(q, (Ellipsis, slice(0, n)))
            r = k.getitem(r, (Ellipsis, slice(0, n), slice(None)))
            dr = k.getitem(dr, (Ellipsis, slice(0, n), slice(None)))
        if m >= n:
            return (_thin_qr_vjp(k, q, r, dq, dr),)
        x2 = k.getitem(x, (Ellipsis, slice(m, None)))
        dr1 = k.getitem(dr, (Ellipsis, slice(0, m)))
        dr2 = k.getitem(dr, (Ellipsis, slice(m, None)))
        dq = k.add(dq, k.matmul(x2, _t(k, dr2)))
        dx1 = _thin_qr_vjp(k, q, k.getitem(r, (Ellipsis, slice(0, m))), dq, dr1)
        return (k.concatenate([dx1, k.matmul(q, dr2)], -1),)


def _householder_columns_vjp(k, q, dq, n: int):
    """q̄ (..., M, N) of the first N columns of LAPACK's Householder q (..., M, M), M > N,
    given q̄ (..., M, M) of all of it. The last M - N columns move with the first (Roberts
    and Roberts 2024, arXiv:2409.13374, eqs. 32-33, JAX's JVP): with q = [[q_nn, q_np],
    [q_pn, q_pp]] and z = q_pn (q_nn - I)^{-1}, d q_mp = d q_mn z^T - a (d q_pn - z d q_nn)^T
    for a = q_mn + q_mp z; its transpose adds, with g = q̄_mp and c = g^T a,
    g z + [z^T c; -c] to q̄_mn."""
    rows, columns = (Ellipsis, slice(0, n)), (Ellipsis, slice(n, None))
    q_mn, q_mp = k.getitem(q, rows), k.getitem(q, columns)
    q_nn = k.getitem(q, (Ellipsis, slice(0, n), slice(0, n)))
    q_pn = k.getitem(q, (Ellipsis, slice(n, None), slice(0, n)))
    identity = _constant(k, np.eye(n), q.dtype)
    z = _t(k, k.solve(_t(k, k.subtract(q_nn, identity)), _t(k, q_pn)))     # (..., P, N)
    g = k.getitem(dq, columns)
    c = k.matmul(_t(k, g), k.add(q_mn, k.matmul(q_mp, z)))                 # (..., P, N)
    share = k.concatenate([k.matmul(_t(k, z), c), k.negative(c)], -2)
    return k.add(k.getitem(dq, rows), k.add(k.matmul(g, z), share))


def _thin_qr_vjp(k, q, r, dq, dr):
    """x̄ of x = q r, q (..., M, N), r (..., N, N) upper triangular."""
    m = k.subtract(k.matmul(dr, _t(k, r)), k.matmul(_t(k, q), dq))
    upper = _constant(k, np.tri(m.shape[-1]).T, bool)
    m = k.where(upper, m, _t(k, m))                # the upper triangle mirrored below
    return _right_solve_transposed(k, k.add(dq, k.matmul(q, m)), r, False)


@dataclass(frozen=True)
class LuFactor(Op):
    """x (..., M, N) -> (lu (..., M, N), pivots (..., K) int32): L below the diagonal
    (unit diagonal implied), U on and above, LAPACK's row interchanges; x = P L U.
    Gradient of lu (JAX's rule, transposed): with L (M, M) and U (N, N) completed by the
    identity past K, x̄ = P L^{-T} (tril(L^T L̄U, -1) + triu(L̄U U^T)) U^{-T}; the pivots
    are integers and have none."""

    float_inputs = True
    n_outputs = 2
    differentiable_outputs = (0,)

    def output_spec(self, x: Spec) -> tuple:
        _check_matrix("lu_factor", "x", x)
        m, n = x.shape[-2:]
        kk = None if None in (m, n) else builtins.min(m, n)
        return (Spec(x.shape, float_dtype(x.dtype)), Spec(x.shape[:-2] + (kk,), "int32"))

    def forward(self, k, x):
        lu, pivots, p = k.lu_factor(x)
        return (lu, pivots), (lu, p)

    def vjp(self, k, dy, residuals, needs):
        lu, p = residuals
        m, n = lu.shape[-2:]
        kk = builtins.min(m, n)
        lead = ((0, 0),) * (lu.ndim - 2)
        strictly_lower = _constant(k, np.tri(m, n, -1), lu.dtype)
        upper_mask = _constant(k, 1 - np.tri(m, n, -1), lu.dtype)
        lower = k.multiply(k.getitem(lu, (Ellipsis, slice(0, kk))),
                           k.getitem(strictly_lower, (slice(None), slice(0, kk))))
        lower = k.add(k.pad(lower, lead + ((0, 0), (0, m - kk)), 0),
                      _constant(k, np.eye(m), lu.dtype))                  # (..., M, M)
        upper = k.multiply(k.getitem(lu, (Ellipsis, slice(0, kk), slice(None))),
                           k.getitem(upper_mask, (slice(0, kk), slice(None))))
        upper = k.add(k.pad(upper, lead + ((0, n - kk), (0, 0)), 0),
                      _constant(k, np.diag(np.arange(n) >= kk), lu.dtype))   # (..., N, N)
        dlu = dy[0]
        inner = k.add(k.multiply(k.matmul(_t(k, lower), dlu), strictly_lower),
                      k.multiply(k.matmul(dlu, _t(k, upper)), upper_mask))
        left = k.solve_triangular(_t(k, lower), inner, False)           # L^{-T} Y
        return (k.matmul(p, _right_solve_transposed(k, left, upper, False)),)


@dataclass(frozen=True)
class Pinv(Op):
    """x (..., M, N) -> its pseudo-inverse (..., N, M) by SVD: singular values <= rcond
    times the largest count as zero (rcond None: 10 max(M, N) eps, as JAX). Gradient for
    full-rank x (see _pinv_vjp)."""

    rcond: float | None
    float_inputs = True

    def output_spec(self, x: Spec) -> Spec:
        _check_matrix("pinv", "x", x)
        return Spec(x.shape[:-2] + (x.shape[-1], x.shape[-2]), float_dtype(x.dtype))

    def forward(self, k, x):
        m, n = x.shape[-2:]
        u, s, vh = k.svd(x, False, True)
        rcond = 10 * builtins.max(m, n) * np.finfo(x.dtype).eps if self.rcond is None \
            else self.rcond
        cutoff = k.multiply(k.reduce("max", s, -1, True), rcond)
        kept = k.greater(s, cutoff)
        s_inverse = k.where(kept, k.divide(1, k.where(kept, s, 1)), 0)
        p = k.matmul(k.multiply(_t(k, vh), k.expand_dims(s_inverse, -2)), _t(k, u))
        return p, (x, p)

    def vjp(self, k, dy, residuals, needs):
        x, p = residuals
        return (_pinv_vjp(k, x, p, dy),)



@dataclass(frozen=True)
class Lstsq(Op):
    """a (M, N), b (M,) or (M, K) -> the minimum-norm least-squares x (N,) or (N, K).
    Gradient (full-rank a): x = pinv(a) b."""

    rcond: float | None
    float_inputs = True

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        if a.ndim != 2 or b.ndim not in (1, 2):
            raise ValueError(f"lstsq: a must be (M, N) and b (M,) or (M, K); received "
                             f"a.shape={a.shape}, b.shape={b.shape}")
        if None not in (a.shape[0], b.shape[0]) and a.shape[0] != b.shape[0]:
            raise ValueError(f"lstsq: a (M, N) and b (M[, K]) disagree on M; received "
                             f"a.shape={a.shape}, b.shape={b.shape}")
        return Spec(a.shape[1:] + b.shape[1:],
                    result_type(float_dtype(a.dtype), float_dtype(b.dtype)))

    def forward(self, k, a, b):
        return k.lstsq(a, b, self.rcond), (a, b)

    def vjp(self, k, dy, residuals, needs):
        a, b = residuals
        p = k.lstsq(a, _constant(k, np.eye(a.shape[0]), a.dtype), self.rcond)   # pinv(a)
        vector = b.ndim == 1
        g = k.expand_dims(dy, -1) if vector else dy
        b2 = k.expand_dims(b, -1) if vector else b
        abar = _pinv_vjp(k, a, p, k.matmul(g, _t(k, b2))) if needs[0] else None
        bbar = k.matmul(_t(k, p), g) if needs[1] else None
        if bbar is not None and vector:
            bbar = k.reshape(bbar, b.shape)
        return abar, bbar


@dataclass(frozen=True)
class MatrixRank(Op):
    """x (..., M, N) -> the number of singular values above tol (...), int32 (tol None:
    the largest times max(M, N) eps). Integer output: no gradient."""

    tol: float | None
    float_inputs = True

    def output_spec(self, x: Spec) -> Spec:
        _check_matrix("matrix_rank", "x", x)
        return Spec(x.shape[:-2], "int32")

    def forward(self, k, x):
        s = k.svd(x, False, False)
        if self.tol is None:
            eps = np.finfo(x.dtype).eps * builtins.max(x.shape[-2:])
            tol = k.multiply(k.reduce("max", s, -1, True), eps)
        else:
            tol = self.tol
        return k.cast(k.reduce("sum", k.greater(s, tol), -1, False), "int32"), ()

    def vjp(self, k, dy, residuals, needs):
        return (None,)


# ------------------------------------------------------------------ public functions

def cholesky(x, upper=False):
    """The Cholesky factor of x (..., M, M) symmetric positive definite: lower L with
    x = L L^T, or U = L^T if `upper`. Not positive definite: ValueError."""
    return Cholesky(bool(upper))(x)


def cholesky_inverse(x, upper=False):
    """(L L^T)^{-1} from the Cholesky factor x = L (..., M, M) (or (U^T U)^{-1} from
    x = U if `upper`): two triangular solves and a product, differentiable in x."""
    x = x if isinstance(x, (Tensor, KerasTensor)) else convert_to_tensor(x)
    spec = Spec(x.shape, str(x.dtype))
    _check_matrix("cholesky_inverse", "x", spec, square=True)
    n = x.shape[-1]
    if n is None:
        raise ValueError("cholesky_inverse: the matrix size of x must be known; received "
                         f"shape {x.shape}")
    eye = np.eye(n, dtype=float_dtype(spec.dtype)).reshape((1,) * (spec.ndim - 2) + (n, n))
    device = x.device if isinstance(x, Tensor) else None
    inverse = solve_triangular(x, convert_to_tensor(eye, device=device), lower=not upper)
    swapped = tuple(range(spec.ndim - 2)) + (spec.ndim - 1, spec.ndim - 2)
    if upper:
        return matmul(inverse, transpose(inverse, swapped))
    return matmul(transpose(inverse, swapped), inverse)


def det(x):
    """The determinant of x (..., M, M) -> (...)."""
    return Det()(x)


def eig(x):
    """Eigenvalues (..., M) and eigenvectors (..., M, M) of a square x, complex. No
    gradient."""
    return Eig()(x)


def eigh(x):
    """Eigenvalues (..., M) ascending and orthonormal eigenvectors (..., M, M) of a
    symmetric x."""
    return Eigh()(x)


def inv(x):
    """The inverse of x (..., M, M)."""
    return Inv()(x)


def lu_factor(x):
    """(lu, pivots) of x (..., M, N): L (unit diagonal) and U packed in one matrix, and the
    int32 row interchanges, as scipy.linalg.lu_factor."""
    return LuFactor()(x)


def lstsq(a, b, rcond=None):
    """The minimum-norm least-squares solution of a (M, N) x = b (M,) or (M, K)."""
    return Lstsq(rcond)(a, b)


def matrix_rank(x, tol=None):
    """The rank of x (..., M, N) by SVD, int32 (...)."""
    return MatrixRank(None if tol is None else float(tol))(x)


def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse of x (..., M, N) -> (..., N, M)."""
    return Pinv(None if rcond is None else float(rcond))(x)


def qr(x, mode="reduced"):
    """(q, r) with x = q r; mode "reduced" or "complete" (see Qr)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete'; received mode={mode!r}")
    return Qr(mode)(x)


def solve(a, b):
    """x with a x = b: a (..., M, M), b (..., M) or (..., M, N); batch axes broadcast."""
    return Solve()(a, b)


def solve_triangular(a, b, lower=False):
    """x with a x = b for a triangular a (..., M, M) (only its lower triangle is read if
    `lower`, else its upper one), b (..., M) or (..., M, N)."""
    return SolveTriangular(bool(lower))(a, b)


def svd(x, full_matrices=True, compute_uv=True):
    """(u, s, vh) with x = u diag(s) vh (or s alone without `compute_uv`); see Svd."""
    return Svd(bool(full_matrices), bool(compute_uv))(x)


# -------------------------------------------------------------------------- norm

_MATRIX_ORDS = (None, "fro", "nuc", np.inf, -np.inf, 1, -1, 2, -2)


@composite("ord", "axis", "keepdims")
def norm(x, ord=None, axis=None, keepdims=False):
    """numpy.linalg.norm, composed from differentiable ops: vector norms over one axis,
    matrix norms over two ("fro", "nuc", +-inf, +-1, +-2); axis None with ord None is the
    2-norm of all elements. Integer x gives floatx. ord=0 counts nonzeros (no gradient)."""
    x = convert_to_tensor(x) if not hasattr(x, "shape") else x
    ndim = len(x.shape)
    if not is_float(str(x.dtype)):
        x = cast(x, config.floatx())
    if axis is None:
        if ord is None:
            axes = tuple(range(ndim))
            return sqrt(sum(multiply(x, x), axes, keepdims))
        if ndim not in (1, 2):
            raise ValueError(f"norm: with ord={ord!r} and axis=None, x must have rank 1 or 2; "
                             f"received shape {tuple(x.shape)}")
        axis = tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalized = normalize_axes(axes, ndim, "norm")
    if len(set(normalized)) != len(axes):
        raise ValueError(f"norm: axis={axis!r} repeats an axis")
    if len(axes) == 1:
        return _vector_norm(x, ord, normalized[0], keepdims)
    if len(axes) == 2:
        if ord not in _MATRIX_ORDS:
            raise ValueError(f"norm: ord={ord!r} is not a matrix norm; expected one of "
                             f"{_MATRIX_ORDS}")
        rows, columns = (a % ndim for a in axes)
        return _matrix_norm(x, ord, rows, columns, keepdims)
    raise ValueError(f"norm: axis must name one or two axes; received axis={axis!r}")


def _vector_norm(x, ord, axis: int, keepdims: bool):
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm (one axis) "
                         "takes a number")
    if ord is None or ord == 2:
        return sqrt(sum(multiply(x, x), axis, keepdims))
    if ord == np.inf:
        return max(abs(x), axis, keepdims)
    if ord == -np.inf:
        return min(abs(x), axis, keepdims)
    if ord == 0:
        return sum(cast(not_equal(x, 0), x.dtype), axis, keepdims)
    if ord == 1:
        return sum(abs(x), axis, keepdims)
    return power(sum(power(abs(x), float(ord)), axis, keepdims), 1.0 / ord)


def _matrix_norm(x, ord, rows: int, columns: int, keepdims: bool):
    if ord in (None, "fro"):
        return sqrt(sum(multiply(x, x), (rows, columns), keepdims))
    if ord in (1, -1, np.inf, -np.inf):
        summed, across = (rows, columns) if ord in (1, -1) else (columns, rows)
        extreme = max if ord > 0 else min
        return extreme(sum(abs(x), summed, True), across, keepdims) if keepdims else \
            squeeze(extreme(sum(abs(x), summed, True), across, True), (rows, columns))
    ndim = len(x.shape)
    order = [a for a in range(ndim) if a not in (rows, columns)] + [rows, columns]
    s = svd(transpose(x, order), compute_uv=False)
    y = {"nuc": sum, 2: max, -2: min}[ord](s, -1)
    if keepdims:
        for a in sorted((rows, columns)):
            y = expand_dims(y, a)
    return y


# --------------------------------------------------------------------------- jvp

def jvp(fun, primals, tangents, has_aux=False):
    """(fun(*primals), J t) (and fun's aux if `has_aux`): the forward-mode product of fun's
    Jacobian at primals with tangents (the structure of primals), exact, eager.

    Computed in reverse mode on a persistent tape: one backward pass per element of fun's
    float outputs gives the Jacobian row by row (cost: that many backward passes; fine for
    small outputs). Integer outputs get zero tangents."""
    primals, tangents = list(primals), list(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: primals and tangents must have the same structure; received "
                         f"{len(primals)} primals and {len(tangents)} tangents")
    sources = [convert_to_tensor(p) for p in flatten(primals)]
    directions = [np.asarray(convert_to_tensor(t).numpy(), np.float64) for t in flatten(tangents)]
    for s, d in zip(sources, directions):
        if tuple(s.shape) != d.shape:
            raise ValueError(f"jvp: a tangent of shape {d.shape} does not match its primal of "
                             f"shape {tuple(s.shape)}")
    with GradientTape(persistent=True) as tape:
        tape.watch(sources)
        result = fun(*pack_like(primals, sources))
    outputs, aux = result if has_aux else (result, None)
    flat_outputs = flatten(outputs)
    tangents_out = []
    for y in flat_outputs:
        values = np.zeros(int(np.prod(y.shape, dtype=np.int64)))
        if is_float(str(y.dtype)):
            for i in range(values.size):
                seed = np.zeros(values.size)
                seed[i] = 1.0
                grads = tape.gradient(y, sources, output_gradients=seed.reshape(y.shape))
                values[i] = builtins.sum(float(np.sum(np.asarray(g.numpy(), np.float64) * d))
                                        for g, d in zip(grads, directions) if g is not None)
        tangents_out.append(convert_to_tensor(values.reshape(y.shape).astype(str(y.dtype)),
                                              device=y.device))
    tangents_out = pack_like(outputs, tangents_out)
    return (outputs, tangents_out, aux) if has_aux else (outputs, tangents_out)

