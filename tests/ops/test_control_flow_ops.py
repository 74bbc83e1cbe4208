"""nbkeras/ops/control_flow.py: cond, switch, while_loop, fori_loop, scan, associative_scan,
map, vectorized_map, vectorize and custom_gradient.

Forwards against plain float64 numpy loops (np.cumprod, np.cumsum, matrix products, Python
recurrences), the structure Keras returns (pytrees, a tuple for tuple or list loop_vars),
shapes and dtypes of KerasTensor calls against the eager result, graph replay in a functional
Model, and gradients through the eager loops against central differences (check_grads), on
every device of the `device` fixture (tests/conftest.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.tree import leaves as flatten
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, check_composed_grads, tensor


def symbolic(*arrays):
    return [nk.KerasTensor(a.shape, "float64") for a in arrays]


def assert_same_specs(symbolic_out, eager_out):
    s, e = flatten(symbolic_out), flatten(eager_out)
    assert [(t.shape, t.dtype) for t in s] == [(t.shape, t.dtype) for t in e]


# ---- scan -----------------------------------------------------------------------------------

@given(xs=nst.arrays(nst.shapes(2, 2, 1, 4), positive=True), reverse=st.booleans())
def test_scan_cumulative_product(device, xs, reverse):
    def fn(init, s):
        return ops.scan(lambda c, x: (c * x, c * x), init, s, reverse=reverse)

    init = np.ones(xs.shape[1:])
    carry, ys = fn(tensor(init), tensor(xs))
    ordered = xs[::-1] if reverse else xs
    products = np.cumprod(ordered, axis=0)
    assert_matches(carry, products[-1])
    assert_matches(ys, products[::-1] if reverse else products)
    assert_same_specs(fn(*symbolic(init, xs)), (carry, ys))
    check_composed_grads(fn, [init, xs])


@given(n=st.integers(1, 3), k=st.integers(1, 3), d=st.integers(1, 3), seed=st.integers(0, 99))
def test_scan_rnn_with_pytree_carry_and_outputs(device, n, k, d, seed):
    """h_t = tanh(h W + x_t U); the carry (h, running sum of h), outputs {"h", "sq"}."""
    rng = np.random.default_rng(seed)
    h0, xs = rng.standard_normal(k), rng.standard_normal((n, d))
    w, u = rng.standard_normal((k, k)) / k, rng.standard_normal((d, k)) / d

    def fn(h0, xs, w, u):
        def step(carry, x):
            h, total = carry
            h = ops.tanh(ops.matmul(h, w) + ops.matmul(x, u))
            return (h, total + h), {"h": h, "sq": h * h}
        (h, total), ys = ops.scan(step, (h0, h0 * 0.0), xs)
        return h, total, ys["h"], ys["sq"]

    h, total, hs = h0, np.zeros(k), []
    for x in xs:
        h = np.tanh(h @ w + x @ u)
        total = total + h
        hs.append(h)
    got = fn(*[tensor(a) for a in (h0, xs, w, u)])
    for g, expected in zip(got, (h, total, np.stack(hs), np.stack(hs) ** 2)):
        assert_matches(g, expected)
    assert_same_specs(fn(*symbolic(h0, xs, w, u)), got)
    check_composed_grads(fn, [h0, xs, w, u])


def test_scan_with_length_no_xs_and_none_outputs(device):
    carry, ys = ops.scan(lambda c, _: (c * 2.0, None), tensor(np.array(1.5)), length=4)
    assert_matches(carry, 24.0)
    assert ys is None
    carry, ys = ops.scan(lambda c, _: (c + 1.0, c), tensor(np.array(0.0)), length=3,
                         reverse=True)
    assert_matches(ys, [2.0, 1.0, 0.0])
    carry, ys = ops.scan(lambda c, x: (c + ops.sum(x), x * 2.0), tensor(np.array(0.0)),
                         tensor(np.zeros((0, 3))))
    assert_matches(carry, 0.0)
    assert_matches(ys, np.zeros((0, 3)))


def test_scan_errors():
    init, xs = np.zeros(2), np.ones((3, 2))
    with pytest.raises(ValueError, match="scan: give xs or length"):
        ops.scan(lambda c, x: (c, x), init)
    with pytest.raises(ValueError, match=r"scan: the carry f returns must have .*float64\[2\].*"
                       r"float64\[1\]"):
        ops.scan(lambda c, x: (c[:1], x), init, xs)
    with pytest.raises(TypeError, match="scan: f must return a pair"):
        ops.scan(lambda c, x: c, init, xs)
    with pytest.raises(ValueError, match="scan: length=2 does not match the leading size 3"):
        ops.scan(lambda c, x: (c, x), init, xs, length=2)
    with pytest.raises(ValueError, match="scan: unroll must be a positive integer"):
        ops.scan(lambda c, x: (c, x), init, xs, unroll=0)
    with pytest.raises(ValueError, match="scan: the arrays in xs must share their leading"):
        ops.scan(lambda c, x: (c, x), init, (xs, np.ones((2, 2))))


# ---- fori_loop and while_loop ---------------------------------------------------------------

@given(x=nst.arrays(nst.shapes(1, 2, 1, 3)), upper=st.integers(0, 4))
def test_fori_loop(device, x, upper):
    def fn(x, a):
        return ops.fori_loop(1, upper, lambda i, v: (v[0] * a + i, v[1] + ops.tanh(v[0])), (x, x))

    a = np.full(x.shape, 0.7)
    v, w = x, x
    for i in range(1, upper):
        v, w = v * a + i, w + np.tanh(v)
    got = fn(tensor(x), tensor(a))
    assert isinstance(got, tuple)
    assert_matches(got[0], v)
    assert_matches(got[1], w)
    assert_same_specs(fn(*symbolic(x, a)), got)
    check_composed_grads(fn, [x, a])


@given(x=nst.arrays(nst.shapes(1, 2, 1, 3)), limit=st.sampled_from([None, 0, 1, 2]))
def test_while_loop_gradient(device, x, limit):
    def fn(x, a):
        return ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, ops.tanh(v) * a), (0, x),
                              maximum_iterations=limit)[1]

    a = np.full(x.shape, 1.3)
    v = x
    for _ in range(3 if limit is None else min(3, limit)):
        v = np.tanh(v) * a
    assert_matches(fn(tensor(x), tensor(a)), v)
    check_composed_grads(fn, [x, a])


def test_while_loop_structures(device):
    assert_matches(ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0), 10, dtype="int32")
    one = ops.while_loop(lambda i: i < 3, lambda i: (i + 1,), (0,))
    assert isinstance(one, tuple) and len(one) == 1
    assert_matches(one[0], 3, dtype="int32")
    from_list = ops.while_loop(lambda x, y: x < 10, lambda x, y: [x + 1, y + 1], [0, 1])
    assert isinstance(from_list, tuple)
    assert [int(t) for t in from_list] == [10, 11]
    state = ops.while_loop(lambda d: d["a"] < 3, lambda d: {"b": d["b"] * 2.0, "a": d["a"] + 1},
                           {"a": 0, "b": tensor(np.array(1.0))})
    assert set(state) == {"a", "b"}
    assert_matches(state["b"], 8.0)
    with pytest.raises(ValueError, match=r"while_loop: body's result must have .*received"):
        ops.while_loop(lambda x: ops.sum(x) < 5, lambda x: ops.concatenate([x, x]), np.ones(1))
    with pytest.raises(ValueError, match=r"while_loop: cond's result must be a scalar"):
        ops.while_loop(lambda x: x < 5, lambda x: x + 1, np.ones(2))
    symbolic_state = ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2.0),
                                    (0, nk.KerasTensor((None, 2), "float32")))
    assert [(t.shape, t.dtype) for t in symbolic_state] == [((), "int32"), ((None, 2), "float32")]


# ---- cond and switch ------------------------------------------------------------------------

@given(x=nst.arrays(nst.shapes(0, 2, 1, 3)), pred=st.booleans())
def test_cond_both_branches(device, x, pred):
    def fn(x):
        return ops.cond(pred, lambda: ops.tanh(x) * x, lambda: ops.exp(x) + 1.0)

    assert_matches(fn(tensor(x)), np.tanh(x) * x if pred else np.exp(x) + 1.0)
    check_composed_grads(fn, [x])


def test_cond_symbolic_and_errors():
    x = nk.KerasTensor((None, 3), "float32")
    pred = nk.KerasTensor((), "bool")
    y = ops.cond(pred, lambda: x * 2.0, lambda: x - 1.0)
    assert (y.shape, y.dtype) == ((None, 3), "float32")
    with pytest.raises(ValueError, match=r"cond: false_fn's output .* must have"):
        ops.cond(pred, lambda: x, lambda: ops.sum(x, axis=1))
    with pytest.raises(ValueError, match=r"cond: pred must be a scalar; received shape \(1,\)"):
        ops.cond(np.array([True]), lambda: 1.0, lambda: 2.0)


@given(x=nst.arrays(nst.shapes(1, 2, 1, 3)), index=st.integers(-2, 4))
def test_switch_clamps_the_index(device, x, index):
    branches = [lambda a, b: a * b, lambda a, b: ops.tanh(a) - b, lambda a, b: a / (b * b + 1.0)]
    references = [lambda a, b: a * b, lambda a, b: np.tanh(a) - b, lambda a, b: a / (b * b + 1)]
    y = np.flip(x)

    def fn(a, b):
        return ops.switch(index, branches, a, b)

    assert_matches(fn(tensor(x), tensor(y)), references[min(max(index, 0), 2)](x, y))
    assert_same_specs(fn(*symbolic(x, y)), fn(tensor(x), tensor(y)))
    check_composed_grads(fn, [x, y])


def test_switch_errors():
    with pytest.raises(TypeError, match="switch: index must be an integer scalar"):
        ops.switch(1.5, [lambda: 1.0, lambda: 2.0])
    with pytest.raises(ValueError, match="switch: branches must hold at least one"):
        ops.switch(0, [])
    x = nk.KerasTensor((2,), "float32")
    with pytest.raises(ValueError, match="switch: every branch's output"):
        ops.switch(0, [lambda a: a, lambda a: ops.sum(a)], x)


# ---- map and vectorized_map -----------------------------------------------------------------

@given(xs=nst.arrays(nst.shapes(1, 3, 1, 3)))
def test_map_stacks_pytree_outputs(device, xs):
    def fn(xs):
        ys = ops.map(lambda x: {"sq": x * x, "total": ops.sum(ops.tanh(x))}, xs)
        return ys["sq"], ys["total"]

    sq, total = fn(tensor(xs))
    assert_matches(sq, xs * xs)
    assert_matches(total, np.array([np.sum(np.tanh(x)) for x in xs]))
    assert_same_specs(fn(*symbolic(xs)), (sq, total))
    check_composed_grads(fn, [xs])


def test_map_empty_and_errors(device):
    assert_matches(ops.map(lambda x: ops.sum(x, axis=0), tensor(np.zeros((0, 2, 3)))),
                   np.zeros((0, 3)))
    with pytest.raises(ValueError, match="map: every array in xs needs a leading axis"):
        ops.map(lambda x: x, np.array(1.0))
    with pytest.raises(ValueError, match=r"map: every step's output must have"):
        ops.map(lambda x: x[: int(ops.sum(x))], np.array([[1.0, 0.0], [1.0, 1.0]]))


@given(n=st.integers(1, 4), seed=st.integers(0, 99))
def test_vectorized_map_over_a_list(device, n, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, 2, 3)), rng.standard_normal((n, 3))

    def fn(a, b):
        return ops.vectorized_map(lambda pair: ops.matmul(pair[0], pair[1]), [a, b])

    assert_matches(fn(tensor(a), tensor(b)), np.einsum("nij,nj->ni", a, b))
    assert_same_specs(fn(*symbolic(a, b)), fn(tensor(a), tensor(b)))
    check_composed_grads(fn, [a, b])


# ---- associative_scan -----------------------------------------------------------------------

@given(x=nst.arrays(nst.shapes(1, 3, 1, 5)), axis=st.data(), reverse=st.booleans())
def test_associative_scan_add(device, x, axis, reverse):
    axis = axis.draw(st.integers(-x.ndim, x.ndim - 1))

    def fn(x):
        return ops.associative_scan(ops.add, x, reverse=reverse, axis=axis)

    expected = (np.flip(np.cumsum(np.flip(x, axis), axis), axis) if reverse
                else np.cumsum(x, axis))
    assert_matches(fn(tensor(x)), expected)
    assert_same_specs(fn(*symbolic(x)), fn(tensor(x)))
    check_composed_grads(fn, [x])


@given(n=st.integers(1, 9), reverse=st.booleans(), seed=st.integers(0, 99))
def test_associative_scan_matrix_products(device, n, reverse, seed):
    """A non-commutative associative op: prefixes of 2x2 matrix products."""
    a = np.random.default_rng(seed).standard_normal((n, 2, 2)) / 1.5
    products = [a[-1] if reverse else a[0]]
    for m in (a[-2::-1] if reverse else a[1:]):
        products.append(products[-1] @ m)
    expected = np.stack(products[::-1] if reverse else products)

    def fn(a):
        return ops.associative_scan(ops.matmul, a, reverse=reverse)

    assert_matches(fn(tensor(a)), expected, rtol=1e-9)
    check_composed_grads(fn, [a])


@given(n=st.integers(1, 6), k=st.integers(1, 3), seed=st.integers(0, 99))
def test_associative_scan_linear_recurrence_pytree(device, n, k, seed):
    """h_t = a_t * h_(t-1) + b_t from h_0 = 0 as a scan over (a, b) pairs, composed as affine
    maps (non-commutative), against the sequential recurrence along axis 1."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.5, 1.5, (k, n)), rng.standard_normal((k, n))

    def compose(first, second):
        return {"a": first["a"] * second["a"], "b": second["a"] * first["b"] + second["b"]}

    def fn(a, b):
        return ops.associative_scan(compose, {"a": a, "b": b}, axis=1)["b"]

    h, hs = np.zeros(k), []
    for t in range(n):
        h = a[:, t] * h + b[:, t]
        hs.append(h)
    assert_matches(fn(tensor(a), tensor(b)), np.stack(hs, axis=1))
    assert_same_specs(fn(*symbolic(a, b)), fn(tensor(a), tensor(b)))
    check_composed_grads(fn, [a, b])


def test_associative_scan_errors():
    with pytest.raises(ValueError, match="associative_scan: every array in elems must have "
                                         "the same size along axis 0"):
        ops.associative_scan(lambda x, y: x, (np.ones(3), np.ones(2)))
    with pytest.raises(ValueError, match="associative_scan: f's result must have"):
        ops.associative_scan(lambda x, y: ops.sum(x + y), np.ones(3))


# ---- vectorize ------------------------------------------------------------------------------

@given(shapes=nst.broadcastable_shapes(0, 3, 3), seed=st.integers(0, 99))
def test_vectorize_elementwise(device, shapes, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    fn = ops.vectorize(lambda a, b: a * ops.tanh(b) + b)
    assert_matches(fn(tensor(x), tensor(y)), x * np.tanh(y) + y)
    assert_same_specs(fn(*symbolic(x, y)), fn(tensor(x), tensor(y)))
    check_composed_grads(fn, [x, y])


@given(batch=nst.shapes(0, 2, 1, 3), n=st.integers(1, 3), m=st.integers(1, 3),
       seed=st.integers(0, 99))
def test_vectorize_with_signature(device, batch, n, m, seed):
    rng = np.random.default_rng(seed)
    mat, vec = rng.standard_normal((*batch, n, m)), rng.standard_normal((m,))
    fn = ops.vectorize(lambda a, v: ops.matmul(a, v), signature="(n,m),(m)->(n)")
    assert_matches(fn(tensor(mat), tensor(vec)), np.einsum("...nm,m->...n", mat, vec))
    assert_same_specs(fn(*symbolic(mat, vec)), fn(tensor(mat), tensor(vec)))
    check_composed_grads(fn, [mat, vec])


def test_vectorize_excluded_keras_example_and_errors(device):
    assert_matches(ops.vectorize(lambda a, b: a + b)([1, 2, 3, 4], 2), [3, 4, 5, 6],
                   dtype="int32")
    power = ops.vectorize(lambda x, p: x ** p, excluded={1})
    assert_matches(power(tensor(np.array([1.0, 2.0, 3.0])), 2), [1.0, 4.0, 9.0])
    both = ops.vectorize(lambda x: (x, x * 2.0), signature="()->(),()")
    first, second = both(tensor(np.array([1.0, 2.0])))
    assert_matches(second, [2.0, 4.0])
    with pytest.raises(ValueError, match="vectorize: signature must be a generalized ufunc"):
        ops.vectorize(lambda x: x, signature="(n)(m)")
    matvec = ops.vectorize(lambda a, v: ops.matmul(a, v), signature="(n,m),(m)->(n)")
    with pytest.raises(ValueError, match="vectorize: core dimension 'm' has sizes 3 and 2"):
        matvec(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="vectorize: shapes .* cannot be broadcast"):
        ops.vectorize(lambda a, b: a + b)(np.ones(2), np.ones(3))


# ---- custom_gradient ------------------------------------------------------------------------

@ops.custom_gradient
def log1pexp(x):
    e = ops.exp(x)

    def grad(*args, upstream=None):      # Keras's backend-agnostic form
        if upstream is None:
            (upstream,) = args
        return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

    return ops.log(1 + e), grad


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # float32 exp(100)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_custom_gradient_log1pexp_is_stable(device, dtype):
    x = tensor(np.array(100.0, dtype))
    with nk.GradientTape() as tape:
        tape.watch(x)
        y = log1pexp(x)
    g = tape.gradient(y, x)
    assert g.dtype == dtype and np.isfinite(g.numpy()) and float(g) == 1.0
    if dtype == "float64":
        assert_matches(y, 100.0)
    assert_same_specs(log1pexp(nk.KerasTensor((None, 2), dtype)),
                      [nk.KerasTensor((None, 2), dtype)])


@given(x=nst.arrays(nst.shapes(1, 2, 1, 3)))
def test_custom_gradient_several_arguments_and_outputs(device, x):
    @ops.custom_gradient
    def product_and_sum(pair, z):
        a, b = pair

        def grad(upstream):
            dp, ds = upstream
            return (dp * b + ds, dp * a + ds), 2.0 * ops.sum(ds) * z
        return (a * b, a + b), grad

    def fn(a, b, z):
        p, s = product_and_sum((a, b), z)
        return p, s

    y, z = np.cos(x), np.array(0.5)
    p, s = fn(tensor(x), tensor(y), tensor(z))
    assert_matches(p, x * y)
    assert_matches(s, x + y)
    check_composed_grads(fn, [x, y, z], wrt_inputs=[0, 1])
    xt, zt = tensor(x), tensor(z)
    with nk.GradientTape() as tape:    # the tape takes grad_fn's word: dz = 2 * sum(ds) * z
        tape.watch(zt)
        total = ops.sum(fn(xt, tensor(y), zt)[1])
    assert_matches(tape.gradient(total, zt), 2.0 * x.size * 0.5 * np.ones_like(z))


def test_custom_gradient_errors(device):
    @ops.custom_gradient
    def wrong_count(a, b):
        return a * b, lambda g: g

    a, b = tensor(np.ones(2)), tensor(np.ones(2))
    with nk.GradientTape() as tape:
        tape.watch(a)
        y = ops.sum(wrong_count(a, b))
    with pytest.raises(ValueError, match=r"custom_gradient: grad_fn must return one cotangent "
                                         r"per argument \(2\); received 1"):
        tape.gradient(y, a)


# ---- graphs: a functional model and a layer replay the eager calls --------------------------

def test_functional_model_replays_control_flow(device):
    inp = nk.Input((4, 3), dtype="float64")
    summed = ops.map(lambda x: ops.scan(lambda c, r: (c + r, c * r), ops.zeros((3,), "float64"),
                                        x)[1], inp)
    out = ops.cond(True, lambda: summed * 2.0, lambda: summed)
    model = nk.Model(inp, out)
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    expected = []
    for sample in x:
        c, ys = np.zeros(3), []
        for r in sample:
            ys.append(c * r)
            c = c + r
        expected.append(np.stack(ys))
    assert_matches(model(tensor(x)), 2.0 * np.stack(expected))


class Accumulate(nk.layers.Layer):
    """A layer whose call is a while_loop and a switch (shape inference traces them)."""

    def call(self, x):
        _, y = ops.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, v + ops.tanh(v)), (0, x))
        return ops.switch(1, [lambda v: v, lambda v: v * 3.0], y)


def test_layer_call_with_control_flow(device):
    inp = nk.Input((3,), dtype="float64")
    model = nk.Model(inp, Accumulate(dtype="float64")(inp))
    assert model.output_shape == (None, 3)
    x = np.random.default_rng(1).standard_normal((2, 3))
    v = x + np.tanh(x)
    assert_matches(model(tensor(x)), 3.0 * (v + np.tanh(v)))
