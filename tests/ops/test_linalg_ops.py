"""nbkeras/ops/linalg.py: decompositions, solves, inverses, norms and jvp.

Forwards against scipy/numpy float64 references or the defining identities (L L^T = x,
q r = x, ...), symbolic shapes against eager ones, gradients against central differences
(check_grads) on well-conditioned inputs: SPD matrices as b b^T + n I, symmetric ones as
b + b^T (distinct eigenvalues almost surely), diagonally dominant ones for solves. Every test
runs on each device of the `device` fixture."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops

from op_checks import assert_matches, check_op_grads, tensor


batches = st.lists(st.integers(1, 2), max_size=2).map(tuple)
sizes = st.integers(1, 4)


def matrices(draw, shape):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    return rng.standard_normal(shape)


def well_conditioned(b: np.ndarray) -> np.ndarray:
    """b + (n + 2) I: diagonally dominant enough to be far from singular."""
    return b + (b.shape[-1] + 2) * np.eye(b.shape[-1])


def spd(b):
    """b b^T + n I as ops (differentiable in b)."""
    n = b.shape[-1]
    return ops.add(ops.matmul(b, _t(b)), n * np.eye(n))


def symmetric(b):
    return ops.add(b, _t(b))


def _t(x):
    rank = len(x.shape)
    return ops.transpose(x, tuple(range(rank - 2)) + (rank - 1, rank - 2))


def per_matrix(function, *arrays):
    """function applied to each matrix of the broadcast batch, stacked."""
    batch = np.broadcast_shapes(*[a.shape[:-2] for a in arrays])
    arrays = [np.broadcast_to(a, batch + a.shape[-2:]) for a in arrays]
    results = [function(*[a[i] for a in arrays]) for i in np.ndindex(batch)]
    return np.array(results).reshape(batch + np.shape(results[0]))


def jax_gradient(function, x: np.ndarray) -> np.ndarray:
    """d function(jax, x) / dx by JAX in float64 (skips without JAX)."""
    jax = pytest.importorskip("jax")
    pytest.importorskip("jax.scipy.linalg")
    with jax.enable_x64(True):   # for this call only: Keras's configs depend on the flag
        return np.asarray(jax.grad(lambda a: function(jax, a))(x))


def tape_gradient(function, x: np.ndarray) -> np.ndarray:
    """d function(x) / dx by the tape, function returning a scalar Tensor."""
    t = tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = function(t)
    return tape.gradient(y, t).numpy()


def symbolic_shapes(function, *arrays):
    outputs = function(*[nk.KerasTensor(a.shape, str(a.dtype)) for a in arrays])
    return [tuple(o.shape) for o in (outputs if isinstance(outputs, tuple) else [outputs])]


def eager_shapes(outputs):
    return [tuple(o.shape) for o in (outputs if isinstance(outputs, tuple) else [outputs])]


@given(data=st.data(), batch=batches, n=sizes, upper=st.booleans())
def test_cholesky(device, data, batch, n, upper):
    b = matrices(data.draw, batch + (n, n))
    a = np.asarray(spd(b).numpy())
    factor = per_matrix(lambda m: scipy.linalg.cholesky(m, lower=not upper), a)
    assert_matches(ops.cholesky(a, upper=upper), factor, rtol=1e-9, atol=1e-11)
    assert symbolic_shapes(lambda x: ops.cholesky(x, upper), a) == [a.shape]
    check_op_grads(lambda t: ops.cholesky(spd(t), upper=upper), [b])


@given(data=st.data(), batch=batches, n=sizes, upper=st.booleans())
def test_cholesky_inverse(device, data, batch, n, upper):
    b = matrices(data.draw, batch + (n, n))
    a = np.asarray(spd(b).numpy())
    factor = per_matrix(lambda m: scipy.linalg.cholesky(m, lower=not upper), a)
    assert_matches(ops.cholesky_inverse(factor, upper=upper), per_matrix(scipy.linalg.inv, a),
                   rtol=1e-8, atol=1e-10)
    check_op_grads(lambda t: ops.cholesky_inverse(ops.cholesky(spd(t), upper), upper), [b])


def test_cholesky_rejects_indefinite_and_non_square(device):
    with pytest.raises(ValueError, match=r"cholesky: x of shape \(2, 2\) is not positive"):
        ops.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match=r"cholesky: x must be square.*\(2, 3\)"):
        ops.cholesky(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"det: x must have rank >= 2.*\(3,\)"):
        ops.det(np.ones(3))


@given(data=st.data(), batch=batches, n=sizes)
def test_det_slogdet_logdet_inv(device, data, batch, n):
    x = well_conditioned(matrices(data.draw, batch + (n, n)))
    assert_matches(ops.det(x), per_matrix(scipy.linalg.det, x), rtol=1e-9)
    sign, log_abs = ops.slogdet(x)
    assert_matches(sign, np.sign(per_matrix(scipy.linalg.det, x)))
    assert_matches(log_abs, np.log(np.abs(per_matrix(scipy.linalg.det, x))), rtol=1e-9,
                   atol=1e-12)
    assert_matches(ops.logdet(x), np.log(np.abs(per_matrix(scipy.linalg.det, x))), rtol=1e-9,
                   atol=1e-12)
    assert_matches(ops.inv(x), per_matrix(scipy.linalg.inv, x), rtol=1e-9, atol=1e-12)
    assert symbolic_shapes(ops.slogdet, x) == [batch, batch]
    assert symbolic_shapes(ops.det, x) == [batch] == eager_shapes(ops.det(x))
    for function in (ops.det, ops.logdet, ops.inv):
        check_op_grads(function, [x])


@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_dtypes(device, dtype):
    x = (np.eye(3) * 2).astype(dtype)
    assert ops.det(x).dtype == "float32"
    assert ops.inv(x).dtype == "float32"
    assert [t.dtype for t in ops.svd(x)] == ["float32"] * 3
    assert ops.matrix_rank(x).dtype == "int32"
    assert ops.norm(x).dtype == "float32"
    assert [t.dtype for t in ops.lu_factor(x)] == ["float32", "int32"]
    assert [t.dtype for t in ops.eig(x)] == ["complex64", "complex64"]
    assert ops.eig(np.eye(2))[0].dtype == "complex128"


@given(data=st.data(), batch=batches, n=sizes, columns=st.integers(0, 3),
       broadcast=st.booleans())
def test_solve(device, data, batch, n, columns, broadcast):
    a = well_conditioned(matrices(data.draw, batch + (n, n)))
    b_batch = tuple(1 for _ in batch) if broadcast and columns else batch
    b = matrices(data.draw, b_batch + ((n, columns) if columns else (n,)))
    expected = (per_matrix(scipy.linalg.solve, a, b) if columns else
                per_matrix(lambda p, q: scipy.linalg.solve(p, q[:, 0]), a, b[..., None]))
    assert_matches(ops.solve(a, b), expected, rtol=1e-9, atol=1e-12)
    assert symbolic_shapes(ops.solve, a, b) == [expected.shape]
    check_op_grads(ops.solve, [a, b])


@given(data=st.data(), batch=batches, n=sizes, columns=st.integers(0, 3),
       lower=st.booleans())
def test_solve_triangular(device, data, batch, n, columns, lower):
    a = well_conditioned(matrices(data.draw, batch + (n, n)))
    b = matrices(data.draw, batch + ((n, columns) if columns else (n,)))
    b2 = b if columns else b[..., None]
    expected = per_matrix(lambda p, q: scipy.linalg.solve_triangular(p, q, lower=lower), a, b2)
    expected = expected if columns else expected[..., 0]
    assert_matches(ops.solve_triangular(a, b, lower=lower), expected, rtol=1e-9, atol=1e-12)
    check_op_grads(lambda p, q: ops.solve_triangular(p, q, lower=lower), [a, b])


def test_solve_rejects_mismatched_shapes(device):
    with pytest.raises(ValueError, match=r"solve: a .* disagree on M.*\(3, 3\).*\(2,\)"):
        ops.solve(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match=r"solve_triangular: a must be square.*\(2, 3\)"):
        ops.solve_triangular(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match=r"lstsq: a .* disagree on M.*\(3, 2\).*\(4,\)"):
        ops.lstsq(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="inv: the matrix of shape \\(2, 2\\) is singular"):
        ops.inv(np.zeros((2, 2)))


@given(data=st.data(), batch=batches, n=sizes)
def test_eigh(device, data, batch, n):
    b = matrices(data.draw, batch + (n, n))
    x = np.asarray(symmetric(tensor(b)).numpy())
    w, v = ops.eigh(x)
    assert_matches(w, per_matrix(lambda m: scipy.linalg.eigh(m, eigvals_only=True), x),
                   rtol=1e-9, atol=1e-10)
    w, v = np.asarray(w), np.asarray(v)
    np.testing.assert_allclose(v @ (w[..., None] * np.swapaxes(v, -1, -2)), x, atol=1e-10)
    assert symbolic_shapes(ops.eigh, x) == [batch + (n,), batch + (n, n)]
    check_op_grads(lambda t: ops.eigh(symmetric(t)), [b])


def test_eig_matches_eigenpairs(device):
    x = np.array([[2.0, 1.0, 0.0], [-1.0, 2.0, 0.5], [0.0, 0.3, 1.0]])
    w, v = (np.asarray(t) for t in ops.eig(x))
    np.testing.assert_allclose(np.sort_complex(w), np.sort_complex(scipy.linalg.eigvals(x)),
                               atol=1e-12)
    np.testing.assert_allclose(x @ v, v * w, atol=1e-12)
    t = tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        w, _ = ops.eig(t)
    assert tape.gradient(w, t) is None        # Keras on JAX does not differentiate eig


@given(data=st.data(), batch=batches, m=sizes, n=sizes, full=st.booleans())
def test_svd(device, data, batch, m, n, full):
    x = matrices(data.draw, batch + (m, n))
    u, s, vh = ops.svd(x, full_matrices=full)
    assert_matches(s, per_matrix(lambda a: scipy.linalg.svdvals(a), x), rtol=1e-9, atol=1e-12)
    kk = min(m, n)
    u, s, vh = np.asarray(u), np.asarray(s), np.asarray(vh)
    np.testing.assert_allclose((u[..., :kk] * s[..., None, :]) @ vh[..., :kk, :], x, atol=1e-10)
    assert symbolic_shapes(lambda t: ops.svd(t, full), x) == eager_shapes(ops.svd(x, full))
    check_op_grads(lambda t: ops.svd(t, compute_uv=False), [x])
    if not full or m == n:
        check_op_grads(lambda t: ops.svd(t, full_matrices=full), [x])


def test_svd_full_matrices_gradient_needs_square(device):
    t = tensor(np.random.default_rng(0).standard_normal((3, 2)))
    with nk.GradientTape() as tape:
        tape.watch(t)
        u, _, _ = ops.svd(t)
    with pytest.raises(ValueError, match="svd: with full_matrices=True"):
        tape.gradient(u, t)


@given(data=st.data(), batch=batches, m=sizes, n=sizes, mode=st.sampled_from(["reduced",
                                                                          "complete"]))
def test_qr(device, data, batch, m, n, mode):
    x = matrices(data.draw, batch + (m, n))
    q, r = ops.qr(x, mode=mode)
    expected = per_matrix(lambda a: scipy.linalg.qr(a, mode="economic" if mode == "reduced"
                                                    else "full")[1], x)
    kk = min(m, n)                  # rows of r past K are zero; the others up to sign
    r_rows, expected = np.asarray(r)[..., :kk, :], expected[..., :kk, :]
    signs = np.sign(np.diagonal(expected, axis1=-2, axis2=-1))[..., :, None]
    got = np.sign(np.diagonal(r_rows, axis1=-2, axis2=-1))[..., :, None]
    np.testing.assert_allclose(r_rows * got, expected * signs, atol=1e-10)
    np.testing.assert_allclose(np.asarray(q) @ np.asarray(r), x, atol=1e-10)
    assert symbolic_shapes(lambda t: ops.qr(t, mode), x) == eager_shapes((q, r))
    check_op_grads(lambda t: ops.qr(t, mode), [x])


@given(data=st.data(), batch=batches, n=sizes, extra=st.integers(1, 3))
def test_qr_complete_tall_gradient_matches_jax(data, batch, n, extra):
    """mode="complete" with M > N: the extra columns of q follow LAPACK's Householder
    reflections, as JAX differentiates them."""
    x = matrices(data.draw, batch + (n + extra, n))
    weights = matrices(data.draw, batch + (n + extra, n + extra)), matrices(data.draw, x.shape)
    expected = jax_gradient(lambda jax, a: sum(
        jax.numpy.sum(o * w) for o, w in zip(jax.numpy.linalg.qr(a, mode="complete"), weights)),
        x)
    got = tape_gradient(lambda t: sum(ops.sum(ops.multiply(o, w)) for o, w in
                                      zip(ops.qr(t, "complete"), weights)), x)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


def pivoted(draw, shape):
    """A matrix (..., M, N) whose LU pivots are clear winners (no near-ties that a finite
    difference could flip): a diagonally dominant one with its rows shuffled."""
    m, n = shape[-2:]
    x = matrices(draw, shape) + (min(m, n) + 2) * np.eye(m, n)
    return x[..., np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1))).permutation(m), :]


@given(data=st.data(), batch=batches, m=sizes, n=sizes)
def test_lu_factor(device, data, batch, m, n):
    x = pivoted(data.draw, batch + (m, n))
    lu, pivots = ops.lu_factor(x)
    assert_matches(lu, per_matrix(lambda a: scipy.linalg.lu_factor(a)[0], x), rtol=1e-9,
                   atol=1e-12)
    assert pivots.dtype == "int32"
    np.testing.assert_array_equal(np.asarray(pivots),
                                  per_matrix(lambda a: scipy.linalg.lu_factor(a)[1][None], x)
                                  .reshape(batch + (min(m, n),)))
    assert symbolic_shapes(ops.lu_factor, x) == eager_shapes((lu, pivots))
    check_op_grads(lambda t: ops.lu_factor(t)[0], [x])


@given(data=st.data(), batch=batches, m=sizes, n=sizes)
def test_lu_factor_gradient_matches_jax(data, batch, m, n):
    x = pivoted(data.draw, batch + (m, n))
    weights = matrices(data.draw, x.shape)
    expected = jax_gradient(
        lambda jax, a: jax.numpy.sum(jax.scipy.linalg.lu_factor(a)[0] * weights), x)
    got = tape_gradient(lambda t: ops.sum(ops.multiply(ops.lu_factor(t)[0], weights)), x)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


@given(data=st.data(), batch=batches, m=sizes, n=sizes)
def test_pinv_and_matrix_rank(device, data, batch, m, n):
    x = matrices(data.draw, batch + (m, n))
    assert_matches(ops.pinv(x), per_matrix(scipy.linalg.pinv, x), rtol=1e-8, atol=1e-10)
    assert_matches(ops.matrix_rank(x), per_matrix(np.linalg.matrix_rank, x).astype(np.int32),
                   dtype="int32")
    deficient = np.ones(batch + (m, n))
    assert np.all(np.asarray(ops.matrix_rank(deficient)) == 1)
    assert symbolic_shapes(ops.pinv, x) == [batch + (n, m)]
    check_op_grads(ops.pinv, [x])


@given(data=st.data(), m=sizes, n=sizes, columns=st.integers(0, 2))
def test_lstsq(device, data, m, n, columns):
    a = matrices(data.draw, (m + n, n))                     # tall: full column rank
    b = matrices(data.draw, (m + n, columns) if columns else (m + n,))
    assert_matches(ops.lstsq(a, b), scipy.linalg.lstsq(a, b)[0], rtol=1e-8, atol=1e-10)
    assert symbolic_shapes(ops.lstsq, a, b) == [(n, columns) if columns else (n,)]
    check_op_grads(ops.lstsq, [a, b])


VECTOR_ORDS = [None, 1, 2, 3, 0.5, np.inf, -np.inf, 0]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@given(data=st.data(), shape=st.lists(sizes, min_size=2, max_size=3).map(tuple),
       keepdims=st.booleans())
def test_norm(device, data, shape, keepdims):
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.permutation(np.linspace(0.5, 2.5, int(np.prod(shape)))).reshape(shape)
    x = x * rng.choice([-1.0, 1.0], shape)                     # no zeros, no ties
    rank = len(shape)
    if data.draw(st.booleans()):
        ord_ = data.draw(st.sampled_from(VECTOR_ORDS))
        axis = data.draw(st.integers(-rank, rank - 1))
    else:
        ord_ = data.draw(st.sampled_from(MATRIX_ORDS))
        axis = tuple(data.draw(st.permutations(range(rank)))[:2])
    expected = np.linalg.norm(x, ord=ord_, axis=axis, keepdims=keepdims)
    assert_matches(ops.norm(x, ord_, axis, keepdims), expected, rtol=1e-9, atol=1e-12)
    assert symbolic_shapes(lambda t: ops.norm(t, ord_, axis, keepdims), x) == [expected.shape]
    if ord_ != 0 and not _norm_has_a_kink(x, ord_, axis):
        check_op_grads(lambda t: ops.norm(t, ord_, axis, keepdims), [x])
    assert_matches(ops.norm(x), np.linalg.norm(x.ravel()), rtol=1e-12)


def _norm_has_a_kink(x, ord_, axis) -> bool:
    """Whether a matrix norm of `x` sits within finite-difference reach of a point
    where it is not differentiable: two close singular values (2, -2, 'nuc'), or two
    close column or row sums competing for the max or min (1, -1, inf, -inf)."""
    if not isinstance(axis, tuple):
        return False
    matrices = np.moveaxis(x, axis, (-2, -1))
    if ord_ in (2, -2, "nuc"):
        if min(matrices.shape[-2:]) == 1:
            return False
        s = np.linalg.svd(matrices, compute_uv=False)
        return bool(np.any(np.abs(np.diff(s, axis=-1)) < 1e-3)) or bool(np.any(s < 1e-3))
    if ord_ in (1, -1, np.inf, -np.inf):
        summed_axis = -2 if ord_ in (1, -1) else -1
        sums = np.sort(np.abs(matrices).sum(axis=summed_axis), axis=-1)
        if sums.shape[-1] == 1:
            return False
        extreme_gap = sums[..., -1] - sums[..., -2] if ord_ > 0 else sums[..., 1] - sums[..., 0]
        return bool(np.any(extreme_gap < 1e-3))
    return False


def test_norm_rejects_bad_ord(device):
    with pytest.raises(ValueError, match="norm: ord='fro' is a matrix norm"):
        ops.norm(np.ones(3), "fro", 0)
    with pytest.raises(ValueError, match="norm: ord=3 is not a matrix norm"):
        ops.norm(np.ones((2, 2)), 3, (0, 1))


def test_jvp_is_exact(device):
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((3, 3)) + 4 * np.eye(3), rng.standard_normal((3, 3))
    y, tangent = ops.jvp(ops.inv, (x,), (t,))
    inverse = np.linalg.inv(x)
    assert_matches(y, inverse, rtol=1e-12)
    assert_matches(tangent, -inverse @ t @ inverse, rtol=1e-9, atol=1e-12)
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    (y, z), (dy, dz), aux = ops.jvp(lambda p, q: ((ops.multiply(p, q), ops.sum(p)), "aux"),
                                    (a, b), (np.ones(3), np.zeros(3)), has_aux=True)
    assert aux == "aux"
    assert_matches(dy, b)
    assert_matches(dz, np.asarray(3.0))
    assert ops.linalg.jvp is ops.jvp
