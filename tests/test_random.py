"""nbkeras/random.py (`nk.random`, as keras.random 3.15): the names and signatures, the
distributions (Kolmogorov-Smirnov and chi-square tests against scipy.stats at p > 1e-4 with
fixed seeds, so each test is deterministic), dtypes and shapes, Keras's seeding rules, the
argument errors, gradients where Keras has them, and symbolic calls; on every device of the
`device` fixture (the simulator draws fewer numbers)."""
from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special, stats

import nbkeras as nk
from nbkeras.testing import check_grads

from nbkeras.kernels import cpu
from op_checks import assert_on_current_device, tape_gradient, tensor  # tests/op_checks.py

P_MIN = 1e-4
KERAS_SIGNATURES = {     # inspect.signature of keras.random's functions, Keras 3.15.1
    "SeedGenerator": "(seed=None, name=None, **kwargs)",
    "beta": "(shape, alpha, beta, dtype=None, seed=None)",
    "binomial": "(shape, counts, probabilities, dtype=None, seed=None)",
    "categorical": "(logits, num_samples, dtype='int32', seed=None)",
    "dropout": "(inputs, rate, noise_shape=None, seed=None)",
    "gamma": "(shape, alpha, dtype=None, seed=None)",
    "normal": "(shape, mean=0.0, stddev=1.0, dtype=None, seed=None)",
    "randint": "(shape, minval, maxval, dtype='int32', seed=None)",
    "shuffle": "(x, axis=0, seed=None)",
    "truncated_normal": "(shape, mean=0.0, stddev=1.0, dtype=None, seed=None)",
    "uniform": "(shape, minval=0.0, maxval=1.0, dtype=None, seed=None)",
}


def _size(device, cpu=40000, cuda=4000):
    """Draws per test: fewer in the simulator, which runs each CUDA thread in Python."""
    return cpu if device == "cpu" else cuda


def _drawn(t, dtype):
    assert_on_current_device(t)
    assert t.dtype == dtype, t.dtype
    return np.asarray(t).astype(np.float64).ravel()


def _ks(sample, cdf):
    assert stats.kstest(sample, cdf).pvalue > P_MIN


def _chi_square(counts, expected):
    """Chi-square goodness of fit, cells with an expectation below 5 pooled into one."""
    counts, expected = np.asarray(counts, float), np.asarray(expected, float)
    small = expected < 5
    if small.any():
        counts = np.append(counts[~small], counts[small].sum())
        expected = np.append(expected[~small], expected[small].sum())
    expected *= counts.sum() / expected.sum()
    assert stats.chisquare(counts, expected).pvalue > P_MIN, (counts, expected)


# ---------------------------------------------------------------------------- names

def test_every_keras_random_name_exists_with_keras_signature():
    names = json.loads((Path(__file__).parent / "ops" / "data" / "keras_ops_names.json")
                       .read_text())["random"]
    assert sorted(KERAS_SIGNATURES) == sorted(names)
    for name in names:
        signature = inspect.signature(getattr(nk.random, name))
        bare = signature.replace(return_annotation=inspect.Signature.empty, parameters=[
            p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()])
        assert str(bare) == KERAS_SIGNATURES[name], name


# ---------------------------------------------------------------------------- distributions

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal(device, dtype):
    n = _size(device)
    _ks(_drawn(nk.random.normal((n,), dtype=dtype, seed=1), dtype), "norm")
    y = _drawn(nk.random.normal((n // 2, 2), mean=3.0, stddev=0.5, dtype=dtype, seed=2), dtype)
    _ks(y, stats.norm(3.0, 0.5).cdf)


def test_normal_broadcasts_array_mean_and_stddev(device):
    y = nk.random.normal((_size(device) // 2, 2), mean=np.array([-5.0, 5.0]),
                         stddev=np.array([1.0, 2.0]), dtype="float64", seed=3)
    assert y.shape == (_size(device) // 2, 2) and y.dtype == "float64"
    y = np.asarray(y)
    _ks(y[:, 0], stats.norm(-5, 1).cdf)
    _ks(y[:, 1], stats.norm(5, 2).cdf)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform(device, dtype):
    n = _size(device)
    y = _drawn(nk.random.uniform((n,), dtype=dtype, seed=4), dtype)
    assert 0 <= y.min() and y.max() < 1
    _ks(y, "uniform")
    y = _drawn(nk.random.uniform((n,), -2.0, 6.0, dtype=dtype, seed=5), dtype)
    assert -2 <= y.min() and y.max() < 6
    _ks(y, stats.uniform(-2, 8).cdf)


def test_uniform_with_minval_above_maxval_gives_minval_as_keras(device):
    np.testing.assert_array_equal(np.asarray(nk.random.uniform((5,), 3.0, 1.0, seed=1)), 3.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_truncated_normal(device, dtype):
    n = _size(device)
    y = _drawn(nk.random.truncated_normal((n,), dtype=dtype, seed=6), dtype)
    assert -2 <= y.min() and y.max() <= 2
    _ks(y, stats.truncnorm(-2, 2).cdf)
    y = _drawn(nk.random.truncated_normal((n,), 1.0, 3.0, dtype=dtype, seed=7), dtype)
    assert -5 <= y.min() and y.max() <= 7
    _ks(y, stats.truncnorm(-2, 2, loc=1, scale=3).cdf)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha", [0.3, 1.0, 4.5, 150.0])
def test_gamma(device, dtype, alpha):
    y = _drawn(nk.random.gamma((_size(device),), alpha, dtype=dtype, seed=8), dtype)
    assert y.min() >= 0
    _ks(y, stats.gamma(alpha).cdf)


def test_gamma_array_alpha_and_tiny_alpha(device):
    n = _size(device) // 2
    y = np.asarray(nk.random.gamma((n, 2), np.array([0.02, 2.0]), dtype="float64", seed=9))
    _ks(y[:, 0], stats.gamma(0.02).cdf)      # far below 1: the boost, in float64
    _ks(y[:, 1], stats.gamma(2.0).cdf)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("a, b", [(0.5, 0.5), (2.0, 5.0), (30.0, 0.7)])
def test_beta(device, dtype, a, b):
    y = _drawn(nk.random.beta((_size(device),), a, b, dtype=dtype, seed=10), dtype)
    assert 0 <= y.min() and y.max() <= 1
    _ks(y, stats.beta(a, b).cdf)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_beta_with_tiny_parameters_matches_scipy_in_the_dtype(device, dtype):
    """Beta(0.01, 0.02) puts most of its mass within a rounding of 0 or 1, where the
    float dtype decides what is representable: compared with scipy's draws cast to it."""
    n = _size(device)
    y = _drawn(nk.random.beta((n,), 0.01, 0.02, dtype=dtype, seed=11), dtype)
    reference = stats.beta(0.01, 0.02).rvs(20000, random_state=0).astype(dtype)
    assert stats.ks_2samp(y, reference).pvalue > P_MIN


@pytest.mark.parametrize("counts, p", [(10, 0.3), (1000, 0.003), (60, 0.5), (400, 0.93),
                                       (7, 1.0), (7, 0.0), (0, 0.5)])
def test_binomial(device, counts, p):
    """Small means by inversion, the others by BTRS, p > 1/2 through n - X(n, 1 - p)."""
    y = _drawn(nk.random.binomial((_size(device),), counts, p, seed=12), "float32")
    assert np.all(y == np.round(y)) and 0 <= y.min() and y.max() <= counts
    if p in (0.0, 1.0) or counts == 0:
        np.testing.assert_array_equal(y, counts * p)      # one possible value
        return
    _chi_square(np.bincount(y.astype(int), minlength=counts + 1),
                stats.binom(counts, p).pmf(np.arange(counts + 1)) * y.size)


def test_binomial_large_counts_and_array_parameters(device):
    n = _size(device) // 2
    y = np.asarray(nk.random.binomial((n, 2), np.array([1e6, 25.7]), np.array([0.3, 0.6]),
                                      dtype="float64", seed=13))
    mean, sd = 1e6 * 0.3, np.sqrt(1e6 * 0.3 * 0.7)
    assert abs(y[:, 0].mean() - mean) < 5 * sd / np.sqrt(n)
    assert abs(y[:, 0].std() / sd - 1) < 5 * np.sqrt(0.5 / n)
    # counts 25.7 draws as 25, as Keras's JAX backend does
    _chi_square(np.bincount(y[:, 1].astype(int), minlength=26),
                stats.binom(25, 0.6).pmf(np.arange(26)) * n)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_randint(device, dtype):
    n = _size(device)
    t = nk.random.randint((n,), -3, 7, dtype=dtype, seed=14) if dtype != "uint8" else \
        nk.random.randint((n,), 3, 13, dtype=dtype, seed=14)
    low = -3 if dtype != "uint8" else 3
    y = _drawn(t, dtype).astype(int)
    assert low <= y.min() and y.max() < low + 10
    _chi_square(np.bincount(y - low, minlength=10), np.full(10, n / 10))


def test_randint_array_bounds_and_an_empty_range(device):
    y = np.asarray(nk.random.randint((_size(device) // 3, 3), np.array([0, 100, 5]),
                                     np.array([4, 103, 5]), seed=15))
    assert y.dtype == np.int32
    _chi_square(np.bincount(y[:, 0], minlength=4), np.full(4, len(y) / 4))
    _chi_square(np.bincount(y[:, 1] - 100, minlength=3), np.full(3, len(y) / 3))
    np.testing.assert_array_equal(y[:, 2], 5)        # maxval <= minval gives minval (JAX)


def test_categorical(device):
    probabilities = np.array([[0.1, 0.2, 0.7, 0.0], [0.25, 0.25, 0.25, 0.25]])
    with np.errstate(divide="ignore"):
        logits = np.log(probabilities) + 3.0          # unnormalized; log 0 = -inf
    n = _size(device) // 4
    y = nk.random.categorical(logits, n, seed=16)
    assert_on_current_device(y)
    assert y.shape == (2, n) and y.dtype == "int32"
    y = np.asarray(y)
    assert not np.any(y[0] == 3)                      # -inf is never drawn
    _chi_square(np.bincount(y[0], minlength=3)[:3], probabilities[0, :3] * n)
    _chi_square(np.bincount(y[1], minlength=4), probabilities[1] * n)
    assert nk.random.categorical(logits, 3, dtype="float32", seed=1).dtype == "float32"
    assert nk.random.categorical(logits, 0, seed=1).shape == (2, 0)


def test_shuffle_permutes_each_line_independently_and_uniformly(device):
    n = _size(device, 12000, 1200)
    x = np.tile(np.arange(3.0)[:, None], (1, n))      # every column 0, 1, 2
    y = nk.random.shuffle(x, seed=17)
    assert_on_current_device(y)
    assert y.shape == x.shape and y.dtype == "float64"
    y = np.asarray(y)
    np.testing.assert_array_equal(np.sort(y, axis=0), x)
    codes = (y[0] * 3 + y[1]).astype(int)             # which of the 6 orders each column has
    _chi_square(np.bincount(codes, minlength=9)[[1, 2, 3, 5, 6, 7]], np.full(6, n / 6))
    z = np.asarray(nk.random.shuffle(np.arange(24).reshape(2, 3, 4), axis=-1, seed=18))
    np.testing.assert_array_equal(np.sort(z, axis=-1), np.arange(24).reshape(2, 3, 4))
    assert z.dtype == np.arange(1).dtype


def test_shuffle_gradient_goes_back_through_the_permutation(device):
    x = np.random.default_rng(0).normal(size=(4, 3))
    check_grads(lambda t: nk.random.shuffle(t, axis=1, seed=3), [x])


def test_dropout(device):
    x = np.ones((_size(device, 20000, 2000),))
    y = np.asarray(nk.random.dropout(x, 0.25, seed=19))
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 5 * np.sqrt(0.75 * 0.25 / y.size)
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    np.testing.assert_array_equal(np.asarray(nk.random.dropout(x[:5], 1.0, seed=1)), 0)
    np.testing.assert_array_equal(np.asarray(nk.random.dropout(x[:5], 0.0, seed=1)), 1)
    shared = np.asarray(nk.random.dropout(np.ones((6, 50)), 0.5, noise_shape=(6, 1), seed=2))
    assert np.all(shared == shared[:, :1])


# ---------------------------------------------------------------------------- dtypes, shapes

@pytest.mark.parametrize("draw", [
    lambda **kw: nk.random.normal((2, 3), **kw),
    lambda **kw: nk.random.uniform((2, 3), **kw),
    lambda **kw: nk.random.truncated_normal((2, 3), **kw),
    lambda **kw: nk.random.gamma((2, 3), 2.0, **kw),
    lambda **kw: nk.random.beta((2, 3), 2.0, 3.0, **kw),
    lambda **kw: nk.random.binomial((2, 3), 5, 0.5, **kw),
], ids=["normal", "uniform", "truncated_normal", "gamma", "beta", "binomial"])
def test_float_draws_default_to_floatx_and_take_float_dtypes(device, draw):
    assert draw(seed=1).dtype == "float32" and draw(seed=1).shape == (2, 3)
    for dtype in ("float16", "float64"):
        assert draw(seed=1, dtype=dtype).dtype == dtype
    nk.config.set_floatx("float64")
    try:
        assert draw(seed=1).dtype == "float64"
    finally:
        nk.config.set_floatx("float32")
    with pytest.raises(ValueError, match="dtype"):
        draw(seed=1, dtype="int32")


def test_shapes_as_ints_empty_and_scalar(device):
    assert nk.random.normal(4, seed=1).shape == (4,)
    assert nk.random.uniform((), seed=1).shape == ()
    assert nk.random.gamma((0, 3), 1.0, seed=1).shape == (0, 3)
    assert nk.random.randint([2, 0], 0, 3, seed=1).shape == (2, 0)


# ---------------------------------------------------------------------------- seeding rules

DRAWS = {
    "normal": lambda seed: nk.random.normal((5,), seed=seed),
    "uniform": lambda seed: nk.random.uniform((5,), seed=seed),
    "truncated_normal": lambda seed: nk.random.truncated_normal((5,), seed=seed),
    "gamma": lambda seed: nk.random.gamma((5,), 0.7, seed=seed),
    "beta": lambda seed: nk.random.beta((5,), 0.7, 2.0, seed=seed),
    "binomial": lambda seed: nk.random.binomial((5,), 1000, 0.4, seed=seed),
    "randint": lambda seed: nk.random.randint((5,), 0, 10**6, seed=seed),
    "categorical": lambda seed: nk.random.categorical(np.zeros((1, 100)), 5, seed=seed),
    "shuffle": lambda seed: nk.random.shuffle(np.arange(30), seed=seed),
    "dropout": lambda seed: nk.random.dropout(np.ones(60), 0.5, seed=seed),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_an_int_seed_repeats_a_seed_generator_advances_and_none_follows_the_global_seed(
        device, name):
    draw = DRAWS[name]
    np.testing.assert_array_equal(np.asarray(draw(42)), np.asarray(draw(42)))
    assert not np.array_equal(np.asarray(draw(42)), np.asarray(draw(43)))

    generator = nk.random.SeedGenerator(7)
    first, second = np.asarray(draw(generator)), np.asarray(draw(generator))
    assert not np.array_equal(first, second)
    again = nk.random.SeedGenerator(7)
    np.testing.assert_array_equal(np.asarray(draw(again)), first)
    np.testing.assert_array_equal(np.asarray(draw(again)), second)

    for set_random_seed in (nk.utils.set_random_seed, nk.config.set_random_seed):
        set_random_seed(5)
        run = [np.asarray(draw(None)) for _ in range(2)]
        assert not np.array_equal(*run)
        set_random_seed(5)
        for expected in run:
            np.testing.assert_array_equal(np.asarray(draw(None)), expected)


def test_seeded_draws_are_the_same_on_every_device():
    """The same (seed, counter) gives the CPU's numbers on the current device."""
    from devices import DEVICES

    def draws():
        return [np.asarray(f(11)) for f in DRAWS.values()]

    with nk.device("cpu"):
        expected = draws()
    for device in DEVICES:
        with nk.device(device):
            for got, want in zip(draws(), expected):
                np.testing.assert_allclose(got, want, rtol=2e-6)


def test_seed_generator_signature_and_config():
    generator = nk.random.SeedGenerator(3, name="noise")
    assert generator.get_config() == {"seed": 3, "name": "noise"}
    copy = nk.random.SeedGenerator.from_config(generator.get_config())
    np.testing.assert_array_equal(np.asarray(nk.random.normal((3,), seed=copy)),
                                  np.asarray(nk.random.normal((3,), seed=generator)))
    with pytest.raises(ValueError, match="seed"):
        nk.random.SeedGenerator(1.5)
    with pytest.raises(ValueError, match="unrecognized keyword"):
        nk.random.SeedGenerator(1, foo=2)


# ---------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call, match", [
    (lambda: nk.random.normal((2, -1)), r"normal: shape"),
    (lambda: nk.random.uniform("a"), r"uniform: shape"),
    (lambda: nk.random.normal((2,), seed=1.5), r"normal: seed"),
    (lambda: nk.random.shuffle(np.ones(3), seed="a"), r"shuffle: seed"),
    (lambda: nk.random.randint((2,), 0, 5, dtype="float32"), r"randint: dtype"),
    (lambda: nk.random.randint((2,), 0, np.ones(3)), r"randint: maxval of shape \(3,\)"),
    (lambda: nk.random.randint((2,), 0, 2.0 ** 63), r"randint: maxval must be finite"),
    (lambda: nk.random.gamma((2,), 0.0), r"gamma: alpha must be positive"),
    (lambda: nk.random.gamma((2, 3), np.ones((2, 2))), r"gamma: alpha of shape \(2, 2\)"),
    (lambda: nk.random.beta((2,), 1.0, -1.0), r"beta: beta must be positive"),
    (lambda: nk.random.binomial((2,), -1, 0.5), r"binomial: counts must be"),
    (lambda: nk.random.binomial((2,), 5, 1.5), r"binomial: probabilities must be in"),
    (lambda: nk.random.categorical(np.zeros(3), 2), r"categorical: logits must be 2-D"),
    (lambda: nk.random.categorical(np.zeros((2, 0)), 2), r"categorical: logits must be 2-D"),
    (lambda: nk.random.categorical(np.zeros((2, 3)), -1), r"categorical: num_samples"),
    (lambda: nk.random.shuffle(np.ones((2, 3)), axis=2), r"shuffle: axis 2 is out of range"),
    (lambda: nk.random.shuffle(np.float64(1.0)), r"shuffle: axis 0 is out of range"),
    (lambda: nk.random.dropout(np.ones(3), 1.5), r"dropout: rate must be in \[0, 1\]"),
])
def test_bad_arguments_name_the_function_and_the_argument(device, call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------- gradients, symbolic

@pytest.mark.parametrize("draw", [nk.random.normal, nk.random.truncated_normal])
def test_normal_gradients_reach_mean_and_stddev(device, draw):
    mean, stddev = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, 2.0])
    check_grads(lambda m, s: draw((4, 3), m, s, dtype="float64", seed=5), [mean, stddev])


def test_uniform_gradients_reach_minval_and_maxval(device):
    low, high = np.array([0.5, -1.0, 2.0]), np.array([1.5, 3.0, 2.5])
    check_grads(lambda a, b: nk.random.uniform((4, 3), a, b, dtype="float64", seed=5),
                [low, high])


def _moved(a, x, h):
    """The Gamma(a + h) draw at the CDF value of the Gamma(a) draw x (float64, scipy)."""
    return special.gammaincinv(a + h, special.gammainc(a, x))


def _implicit_derivative(a, x):
    """dx/da of Gamma(a) draws x at a fixed CDF value, by central differences in a."""
    h = 1e-6 * a
    return (_moved(a, x, h) - _moved(a, x, -h)) / (2 * h)


def _summed_to(g, shape):
    """g summed down to the broadcastable `shape` (the cotangent of a broadcast)."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


shape_parameters = st.lists(st.floats(0.2, 30.0), min_size=3, max_size=3).map(np.array)
broadcast_axes = st.sampled_from([(3,), (3, 1), (1,)])


@given(alpha=shape_parameters, axes=broadcast_axes, seed=st.integers(0, 2 ** 31))
def test_gamma_gradient_in_alpha_is_the_implicit_one(device, alpha, axes, seed):
    """As JAX's: the draw moves with alpha at a fixed value of its CDF (central differences
    of scipy's inverse incomplete gamma); alpha broadcast against the draw's shape."""
    alpha = alpha[:np.prod(axes)].reshape(axes)
    draw = nk.random.gamma((2, 3, 3), alpha, dtype="float64", seed=seed).numpy()
    expected = _summed_to(_implicit_derivative(np.broadcast_to(alpha, draw.shape), draw), axes)
    got = tape_gradient(lambda a: nk.random.gamma((2, 3, 3), a, dtype="float64", seed=seed),
                        alpha)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@given(alpha=shape_parameters, beta=shape_parameters, seed=st.integers(0, 2 ** 31))
def test_beta_gradients_in_alpha_and_beta_are_the_implicit_ones(device, alpha, beta, seed):
    """B = X / (X + Y) for the draw's gammas X ~ Gamma(alpha), Y ~ Gamma(beta) (slots 2i and
    2i + 1: a gamma draw of shape (..., 2) with the same seed), each moving with its
    parameter at a fixed value of its CDF."""
    b = beta.reshape(3, 1)
    a_full, b_full = np.broadcast_arrays(alpha, b)
    x, y = np.moveaxis(nk.random.gamma((3, 3, 2), np.stack([a_full, b_full], -1),
                                       dtype="float64", seed=seed).numpy(), -1, 0)
    draw = nk.random.beta((3, 3), alpha, b, dtype="float64", seed=seed).numpy()
    np.testing.assert_allclose(draw, x / (x + y), rtol=1e-12)
    ha, hb = 1e-6 * a_full, 1e-6 * b_full
    d_alpha = (_moved(a_full, x, ha) / (_moved(a_full, x, ha) + y)
               - _moved(a_full, x, -ha) / (_moved(a_full, x, -ha) + y)) / (2 * ha)
    d_beta = (x / (x + _moved(b_full, y, hb)) - x / (x + _moved(b_full, y, -hb))) / (2 * hb)
    alpha_t, beta_t = tensor(alpha), tensor(b)
    with nk.GradientTape() as tape:
        tape.watch(alpha_t)
        tape.watch(beta_t)
        total = nk.ops.sum(nk.random.beta((3, 3), alpha_t, beta_t, dtype="float64", seed=seed))
    got_alpha, got_beta = (g.numpy() for g in tape.gradient(total, [alpha_t, beta_t]))
    np.testing.assert_allclose(got_alpha, _summed_to(d_alpha, alpha.shape), rtol=1e-6,
                               atol=1e-12)
    np.testing.assert_allclose(got_beta, _summed_to(d_beta, b.shape), rtol=1e-6, atol=1e-12)


def test_gamma_and_beta_gradients_in_float32_reach_float32_parameters(device):
    alpha = tensor(np.array([0.5, 3.0], np.float32))
    with nk.GradientTape() as tape:
        tape.watch(alpha)
        total = nk.ops.add(nk.ops.sum(nk.random.gamma((4, 2), alpha, seed=2)),
                           nk.ops.sum(nk.random.beta((4, 2), alpha, 2.0, seed=2)))
    grad = tape.gradient(total, alpha)
    assert grad.dtype == "float32" and np.all(np.isfinite(grad.numpy()))


@given(log_alpha=st.floats(np.log(0.01), np.log(1e4)), u=st.floats(1e-3, 1 - 1e-3))
def test_gamma_grad_kernel_against_finite_differences_of_the_cdf(log_alpha, u):
    """random_gamma_grad = -(dP/dalpha) / (dP/dx): dP/dalpha by central differences of
    scipy's regularized incomplete gamma, dP/dx its density, in float64."""
    a = np.exp(log_alpha)
    x = special.gammaincinv(a, u)
    h = 1e-5 * a
    d_alpha = (special.gammainc(a + h, x) - special.gammainc(a - h, x)) / (2 * h)
    density = np.exp((a - 1) * np.log(x) - x - special.gammaln(a))
    np.testing.assert_allclose(cpu.random_gamma_grad(np.array([a]), np.array([x])),
                               [-d_alpha / density], rtol=1e-5)


def test_gamma_grad_kernel_matches_jax():
    """At JAX's own gamma draws, the kernel gives JAX's derivative of each draw."""
    jax = pytest.importorskip("jax")
    alpha = np.array([0.01, 0.05, 0.3, 1.0, 2.5, 17.0, 300.0, 2e4])
    def draw(a):
        return jax.random.gamma(jax.random.key(0), a, alpha.shape)
    with jax.enable_x64(True):   # for this test only: Keras's configs depend on the flag
        x = np.asarray(draw(alpha))
        expected = np.diagonal(np.asarray(jax.jacfwd(draw)(alpha)))
    got = cpu.random_gamma_grad(alpha, x)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)


def test_symbolic_calls_infer_the_output_spec():
    logits = nk.Input((5,))
    assert nk.random.categorical(logits, 7).shape == (None, 7)
    x = nk.Input((4, 3), dtype="float64")
    y = nk.random.shuffle(x, axis=1)
    assert y.shape == (None, 4, 3) and y.dtype == "float64"
    assert nk.random.dropout(x, 0.5).shape == (None, 4, 3)
    model = nk.Model(x, nk.random.shuffle(x, axis=2, seed=1))
    out = np.asarray(model(np.arange(24.0).reshape(2, 4, 3)))
    np.testing.assert_array_equal(np.sort(out, axis=2), np.arange(24.0).reshape(2, 4, 3))
