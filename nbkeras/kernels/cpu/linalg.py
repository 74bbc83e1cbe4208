"""Linear algebra over the last two axes, batched over the leading ones: numpy.linalg and
scipy.linalg (LAPACK) are the kernels. kernels/cuda/linalg.py runs these same functions on
copies of its device arrays."""
import numpy as np
import scipy.linalg

__all__ = ["cholesky", "eigh", "eig", "svd", "qr", "inv", "slogdet", "solve",
           "solve_triangular", "lstsq", "lu_factor"]


def _matrices(*arrays):
    """The arrays broadcast over their batch axes (all but the last two), and the batch
    shape: each matrix of a batch is then arrays[i][index] for index in np.ndindex(batch)."""
    batch = np.broadcast_shapes(*[a.shape[:-2] for a in arrays])
    return [np.broadcast_to(a, batch + a.shape[-2:]) for a in arrays], batch


def cholesky(x, upper):
    """x (..., M, M) symmetric positive definite -> L (lower, x = L L^T) or, if upper,
    U = L^T. Raises numpy.linalg.LinAlgError when x is not positive definite."""
    factor = np.linalg.cholesky(x)
    return np.ascontiguousarray(np.swapaxes(factor, -1, -2)) if upper else factor


def eigh(x):
    """x (..., M, M) symmetric (its lower triangle is read) -> (w (..., M) ascending,
    v (..., M, M) orthonormal eigenvectors as columns)."""
    w, v = np.linalg.eigh(x)
    return w, v


def eig(x):
    """x (..., M, M) -> (w (..., M), v (..., M, M) unit eigenvectors as columns), complex64
    for float32 x and complex128 for float64."""
    w, v = np.linalg.eig(x)
    dtype = np.result_type(x.dtype, np.complex64)
    return w.astype(dtype), v.astype(dtype)


def svd(x, full_matrices, compute_uv):
    """x (..., M, N) -> (u, s, vh) with x = u diag(s) vh, s (..., K) descending, K = min(M,
    N); u (..., M, M or K), vh (..., N or K, N) by full_matrices; s alone without compute_uv."""
    if not compute_uv:
        return np.linalg.svd(x, compute_uv=False)
    u, s, vh = np.linalg.svd(x, full_matrices=full_matrices)
    return u, s, vh


def qr(x, mode):
    """x (..., M, N) -> (q, r), x = q r with q orthonormal columns: (..., M, K) and r
    (..., K, N) for mode "reduced", (..., M, M) and (..., M, N) for "complete"."""
    q, r = np.linalg.qr(x, mode=mode)
    return q, r


def inv(x):
    """x (..., M, M) -> its inverse."""
    return np.linalg.inv(x)


def slogdet(x):
    """x (..., M, M) -> (sign (...), log |det| (...)) of x's determinant."""
    sign, log_abs = np.linalg.slogdet(x)
    return np.asarray(sign), np.asarray(log_abs)


def solve(a, b):
    """a (..., M, M), b (..., M, N) -> x with a x = b; batch axes broadcast."""
    return np.linalg.solve(a, b)


def solve_triangular(a, b, lower):
    """a (..., M, M) triangular (only that triangle is read), b (..., M, N) -> x with
    a x = b; batch axes broadcast."""
    (a, b), batch = _matrices(a, b)
    x = np.empty(batch + b.shape[-2:], np.result_type(a.dtype, b.dtype))
    for index in np.ndindex(batch):
        x[index] = scipy.linalg.solve_triangular(a[index], b[index], lower=lower)
    return x


def lstsq(a, b, rcond):
    """a (M, N), b (M,) or (M, K) -> the minimum-norm least-squares x (N,) or (N, K);
    singular values below rcond times the largest count as zero (numpy's default if None)."""
    return np.linalg.lstsq(a, b, rcond=rcond)[0]


def lu_factor(x):
    """x (..., M, N) -> (lu (..., M, N): L below the diagonal (unit diagonal implied) and U
    on and above it; pivots (..., K) int32, LAPACK's row interchanges; p (..., M, M) the
    permutation matrix of x's dtype with x = p L U)."""
    batch, (m, n) = x.shape[:-2], x.shape[-2:]
    lu = np.empty(x.shape, x.dtype)
    pivots = np.empty(batch + (min(m, n),), np.int32)
    p = np.zeros(batch + (m, m), x.dtype)
    for index in np.ndindex(batch):
        lu[index], pivots[index] = scipy.linalg.lu_factor(x[index], check_finite=False)
        order = np.arange(m)
        for i, j in enumerate(pivots[index]):
            order[i], order[j] = order[j], order[i]
        p[index][order, np.arange(m)] = 1     # row i of p^T x is row order[i] of x
    return lu, pivots, p
