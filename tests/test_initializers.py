"""nbkeras.initializers against Keras 3's formulas, written out independently here.

Also home of the `get`/config contract checks shared with test_regularizers and
test_constraints (the three modules share that machinery)."""
from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import initializers as init

SHAPE = (400, 300)               # fan_in 400, fan_out 300
CONV_SHAPE = (3, 3, 80, 60)      # receptive field 9: fan_in 720, fan_out 540
FANS = {SHAPE: (400, 300), CONV_SHAPE: (720, 540)}
# std of N(0, 1) truncated to [-2, 2], computed independently of the module's constant
TRUNCATED_STD = scipy.stats.truncnorm(-2, 2).std()
RANDOM = [init.RandomNormal, init.RandomUniform, init.TruncatedNormal, init.VarianceScaling,
          init.GlorotUniform, init.GlorotNormal, init.HeUniform, init.HeNormal,
          init.LecunUniform, init.LecunNormal, init.Orthogonal]
seeds = st.integers(0, 2**31 - 1)
fast = settings(deadline=None, max_examples=8)


# ---- shared contract checks (imported by test_regularizers and test_constraints) -------

def check_get_contract(module: ModuleType, names: dict[str, type], example) -> None:
    """`module.get` on None, each Keras name and class name, a serialized dict, a class, an
    instance, a plain callable, and identifiers it must reject."""
    assert module.get(None) is None
    for name, cls in names.items():
        assert type(module.get(name)) is cls, name
        assert type(module.get(cls.__name__)) is cls, cls.__name__
        assert type(module.get(cls)) is cls
    assert module.get(example) is example
    assert module.get(module.serialize(example)) == example
    assert module.get({"class_name": type(example).__name__}) == type(example)()

    def plain(*args):
        return args
    assert module.get(plain) is plain
    with pytest.raises(ValueError, match=f"no_such_name.*{next(iter(names))}"):
        module.get("no_such_name")
    with pytest.raises(ValueError, match="class_name"):
        module.get({"config": {}})
    with pytest.raises(ValueError):
        module.get(3)


def check_config_round_trip(module: ModuleType, obj, keras_keys: set[str]) -> None:
    """Config keys are Keras's; from_config, serialize and get rebuild an equal object."""
    config = obj.get_config()
    assert set(config) == keras_keys
    assert type(obj).from_config(config) == obj
    serialized = module.serialize(obj)
    assert serialized == {"class_name": type(obj).__name__, "config": config}
    assert module.get(serialized) == obj


# ---- distribution checks ----------------------------------------------------------------

def assert_moments(a: np.ndarray, mean: float, std: float) -> None:
    """Sample mean within 6 standard errors and sample std within 2% of the expected."""
    assert abs(a.mean() - mean) < 6 * std / math.sqrt(a.size)
    assert a.std() == pytest.approx(std, rel=0.02)


def assert_uniform(a: np.ndarray, low: float, high: float) -> None:
    assert low <= a.min() < low + 0.01 * (high - low)
    assert high - 0.01 * (high - low) < a.max() < high
    assert_moments(a, (low + high) / 2, (high - low) / math.sqrt(12))


def assert_truncated_normal(a: np.ndarray, mean: float, stddev: float) -> None:
    """N(mean, stddev²) cut at 2 stddev: every draw inside, some near the cut."""
    deviation = np.abs(a - mean)
    assert deviation.max() <= 2 * stddev * (1 + 1e-12)
    assert deviation.max() > 1.95 * stddev
    assert_moments(a, mean, stddev * TRUNCATED_STD)


# ---- statistics ---------------------------------------------------------------------------

@fast
@given(mean=st.floats(-2, 2), stddev=st.floats(0.01, 3), seed=seeds)
def test_random_normal_statistics(mean, stddev, seed):
    a = init.RandomNormal(mean, stddev, seed)(SHAPE, "float64")
    assert np.abs(a - mean).max() > 3 * stddev          # untruncated: tails beyond 2 stddev
    assert_moments(a, mean, stddev)


@fast
@given(low=st.floats(-2, 2), width=st.floats(0.01, 3), seed=seeds)
def test_random_uniform_statistics(low, width, seed):
    assert_uniform(init.RandomUniform(low, low + width, seed)(SHAPE, "float64"), low, low + width)


@fast
@given(mean=st.floats(-2, 2), stddev=st.floats(0.01, 3), seed=seeds)
def test_truncated_normal_statistics(mean, stddev, seed):
    assert_truncated_normal(init.TruncatedNormal(mean, stddev, seed)(SHAPE, "float64"),
                            mean, stddev)


def test_defaults_are_keras():
    assert init.RandomNormal() == init.RandomNormal(mean=0.0, stddev=0.05, seed=None)
    assert init.RandomUniform() == init.RandomUniform(minval=-0.05, maxval=0.05, seed=None)
    assert init.TruncatedNormal() == init.TruncatedNormal(mean=0.0, stddev=0.05, seed=None)
    assert init.VarianceScaling() == init.VarianceScaling(1.0, "fan_in", "truncated_normal")
    assert init.Constant().value == 0.0
    assert init.Orthogonal().gain == 1.0 and init.Identity().gain == 1.0
    assert_truncated_normal(init.TruncatedNormal()(SHAPE, "float64"), 0.0, 0.05)


def draw_std(scale: float, mode: str, shape: tuple) -> float:
    """sqrt(scale / n) with n Keras's fan for `mode`: the std every distribution targets."""
    fan_in, fan_out = FANS[shape]
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return math.sqrt(scale / n)


def assert_scaled(a: np.ndarray, distribution: str, std: float) -> None:
    """Draws of VarianceScaling's `distribution` whose std should be `std`."""
    if distribution == "uniform":
        assert_uniform(a, -math.sqrt(3) * std, math.sqrt(3) * std)
    elif distribution == "truncated_normal":
        assert_truncated_normal(a, 0.0, std / TRUNCATED_STD)
    else:
        assert np.abs(a).max() > 3 * std
        assert_moments(a, 0.0, std)


@pytest.mark.parametrize("shape", [SHAPE, CONV_SHAPE])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["uniform", "truncated_normal", "untruncated_normal"])
@settings(deadline=None, max_examples=2)
@given(scale=st.floats(0.1, 10), seed=seeds)
def test_variance_scaling_statistics(shape, mode, distribution, scale, seed):
    a = init.VarianceScaling(scale, mode, distribution, seed)(shape, "float64")
    assert_scaled(a, distribution, draw_std(scale, mode, shape))


# Keras 3's presets, as (class, distribution, std of the draws given fan_in and fan_out).
PRESETS = [
    (init.GlorotUniform, "uniform", lambda fi, fo: math.sqrt(2 / (fi + fo))),
    (init.GlorotNormal, "truncated_normal", lambda fi, fo: math.sqrt(2 / (fi + fo))),
    (init.HeUniform, "uniform", lambda fi, fo: math.sqrt(2 / fi)),
    (init.HeNormal, "truncated_normal", lambda fi, fo: math.sqrt(2 / fi)),
    (init.LecunUniform, "uniform", lambda fi, fo: math.sqrt(1 / fi)),
    (init.LecunNormal, "truncated_normal", lambda fi, fo: math.sqrt(1 / fi)),
]


@pytest.mark.parametrize("shape", [SHAPE, CONV_SHAPE])
@pytest.mark.parametrize("cls, distribution, std", PRESETS)
def test_preset_statistics(cls, distribution, std, shape):
    assert_scaled(cls()(shape, "float64"), distribution, std(*FANS[shape]))


def test_glorot_uniform_limit_is_keras():
    """Keras documents limit = sqrt(6 / (fan_in + fan_out))."""
    a = init.GlorotUniform(seed=1)(SHAPE, "float64")
    assert np.abs(a).max() == pytest.approx(math.sqrt(6 / 700), rel=1e-3)


@pytest.mark.parametrize("shape, fans", [((), (1, 1)), ((7,), (7, 7)), ((5, 9), (5, 9)),
                                         ((3, 4, 5), (12, 15)), ((2, 3, 4, 5, 6), (120, 144))])
def test_compute_fans(shape, fans):
    assert init.compute_fans(shape) == fans


def test_variance_scaling_of_vector_and_scalar():
    a = init.VarianceScaling(3.0, "fan_avg", "uniform", seed=2)((50_000,), "float64")
    assert_uniform(a, -math.sqrt(9 / 50_000), math.sqrt(9 / 50_000))
    assert abs(init.VarianceScaling(3.0, distribution="uniform")((), "float64")) <= 3.0


def test_variance_scaling_validation():
    assert init.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    assert init.VarianceScaling(distribution="Uniform").distribution == "uniform"
    for kwargs, field in [(dict(scale=0.0), "scale"), (dict(mode="fan"), "mode"),
                          (dict(distribution="cauchy"), "distribution"), (dict(seed="1"), "seed")]:
        with pytest.raises(ValueError, match=field):
            init.VarianceScaling(**kwargs)


# ---- deterministic initializers -----------------------------------------------------------

@fast
@given(value=st.floats(-1e3, 1e3), shape=st.lists(st.integers(0, 4), max_size=3))
def test_constant_zeros_ones(value, shape):
    np.testing.assert_array_equal(init.Constant(value)(shape, "float64"), np.full(shape, value))
    np.testing.assert_array_equal(init.Zeros()(shape), np.zeros(shape, "float32"))
    np.testing.assert_array_equal(init.Ones()(shape), np.ones(shape, "float32"))


@fast
@given(rows=st.integers(1, 8), cols=st.integers(1, 8), gain=st.floats(-3, 3))
def test_identity(rows, cols, gain):
    a = init.Identity(gain)((rows, cols), "float64")
    expected = [[gain if i == j else 0.0 for j in range(cols)] for i in range(rows)]
    np.testing.assert_array_equal(a, expected)


def test_identity_rejects_other_ranks():
    for shape in [(3,), (2, 2, 2)]:
        with pytest.raises(ValueError, match="2D"):
            init.Identity()(shape)


@fast
@given(shape=st.sampled_from([(6, 6), (40, 9), (9, 40), (3, 3, 4, 8), (2, 5, 30)]),
       gain=st.floats(0.1, 3), seed=seeds)
def test_orthogonal_rows_or_columns_are_orthonormal(shape, gain, seed):
    a = init.Orthogonal(gain, seed)(shape, "float64")
    assert a.shape == shape
    flat = a.reshape(-1, shape[-1])
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(len(gram)), atol=1e-12)
    assert np.abs(flat).max() < gain * (1 - 1e-6)            # not a scaled identity


def test_orthogonal_is_haar_distributed():
    """Each entry of a Haar-random n x n orthogonal matrix has mean 0 and variance 1/n;
    without the sign fix of Q the diagonal would be biased."""
    draws = np.stack([init.Orthogonal(seed=s)((8, 8), "float64") for s in range(4000)])
    np.testing.assert_allclose(draws.mean(axis=0), 0.0, atol=6 / math.sqrt(8 * 4000))
    np.testing.assert_allclose(draws.var(axis=0), 1 / 8, rtol=0.15)


def test_orthogonal_rejects_vectors():
    with pytest.raises(ValueError, match="two-dimensional"):
        init.Orthogonal()((5,))


# ---- dtype, layout and seeding ------------------------------------------------------------

ALL = [init.Zeros(), init.Ones(), init.Constant(1.5), init.Identity(2.0)] + [
    cls() for cls in RANDOM]


@pytest.mark.parametrize("initializer", ALL, ids=lambda i: type(i).__name__)
def test_dtype_and_layout(initializer):
    assert initializer((4, 6)).dtype == np.float32
    assert initializer((4, 6), "float64").dtype == np.float64
    assert initializer((4, 6), np.float16).dtype == np.float16
    nk.config.set_floatx("float64")
    try:
        a = initializer((4, 6))
    finally:
        nk.config.set_floatx("float32")
    assert a.dtype == np.float64 and a.flags.c_contiguous and a.shape == (4, 6)


@pytest.mark.parametrize("cls", RANDOM)
@settings(deadline=None, max_examples=3)
@given(seed=seeds)
def test_seed_repeats_and_global_seed_repeats(cls, seed):
    seeded = cls(seed=seed)
    first = seeded((5, 4))
    np.testing.assert_array_equal(seeded((5, 4)), first)
    np.testing.assert_array_equal(cls(seed=seed)((5, 4)), first)
    assert not np.array_equal(cls(seed=seed + 1)((5, 4)), first)

    unseeded = cls()
    nk.config.set_random_seed(seed)
    a, b = unseeded((5, 4)), unseeded((5, 4))
    assert not np.array_equal(a, b)                          # fresh draws per call
    nk.config.set_random_seed(seed)
    np.testing.assert_array_equal(unseeded((5, 4)), a)
    np.testing.assert_array_equal(unseeded((5, 4)), b)


# ---- get, serialize, config ---------------------------------------------------------------

KERAS_NAMES = {
    "zeros": init.Zeros, "ones": init.Ones, "constant": init.Constant,
    "random_normal": init.RandomNormal, "random_uniform": init.RandomUniform,
    "truncated_normal": init.TruncatedNormal, "variance_scaling": init.VarianceScaling,
    "glorot_uniform": init.GlorotUniform, "glorot_normal": init.GlorotNormal,
    "he_uniform": init.HeUniform, "he_normal": init.HeNormal,
    "lecun_uniform": init.LecunUniform, "lecun_normal": init.LecunNormal,
    "orthogonal": init.Orthogonal, "identity": init.Identity,
}


def test_get_contract():
    check_get_contract(init, KERAS_NAMES, init.VarianceScaling(2.0, "fan_out", "uniform", 7))


def test_lowercase_aliases():
    for name, cls in KERAS_NAMES.items():
        assert getattr(init, name) is cls


CONFIGS = [
    (init.Zeros(), set()), (init.Ones(), set()), (init.Constant(-2.5), {"value"}),
    (init.Identity(0.5), {"gain"}),
    (init.RandomNormal(1.0, 2.0, 3), {"mean", "stddev", "seed"}),
    (init.RandomUniform(-1.0, 4.0, 5), {"minval", "maxval", "seed"}),
    (init.TruncatedNormal(0.5, 0.1), {"mean", "stddev", "seed"}),
    (init.VarianceScaling(0.3, "fan_avg", "untruncated_normal", 9),
     {"scale", "mode", "distribution", "seed", "input_axes", "output_axes"}),
    (init.Orthogonal(1.7, 11), {"gain", "seed"}),
] + [(cls(seed=13), {"seed", "input_axes", "output_axes"}) for cls in RANDOM[4:10]]


def test_fan_axes_pick_the_fans_of_an_einsum_kernel():
    """EinsumDense's kernel (in, heads, size): fan in over axis 0, fan out over 1 and 2."""
    a = init.VarianceScaling(2.0, "fan_in", "uniform", 1, input_axes=[0],
                             output_axes=[1, 2])((400, 5, 7), "float64")
    assert_uniform(a, -math.sqrt(6 / 400), math.sqrt(6 / 400))
    b = init.GlorotUniform(2, input_axes=[0], output_axes=[1, 2])((400, 5, 7), "float64")
    assert_uniform(b, -math.sqrt(6 / 435), math.sqrt(6 / 435))


@pytest.mark.parametrize("obj, keras_keys", CONFIGS, ids=lambda x: type(x).__name__)
def test_config_round_trip(obj, keras_keys):
    check_config_round_trip(init, obj, keras_keys)


def test_get_builds_from_keras_dict():
    obj = init.get({"class_name": "RandomUniform",
                    "config": {"minval": 1.0, "maxval": 2.0, "seed": 4}})
    assert obj == init.RandomUniform(1.0, 2.0, 4)
    assert_uniform(obj(SHAPE, "float64"), 1.0, 2.0)


# ---- STFT, Keras's compatibility names, deserialize -------------------------------------
STFT_CASES = [("real", "hann", "density", False), ("imag", "hamming", "spectrum", True),
              ("real", None, None, False), ("imag", [1.0, 2, 3, 4, 5, 6, 7, 8], "density", False),
              ("real", "blackman", "spectrum", True)]


def stft_reference(side, window, scaling, periodic, frame_length, bins):
    """The DFT kernels written out: exp(-2 pi i t f / n) for n = 2 (bins - 1), windowed."""
    n = 2 * (bins - 1)
    t, f = np.meshgrid(np.arange(frame_length), np.arange(bins), indexing="ij")
    dft = np.exp(-2j * np.pi * t * f / n)
    kernel = (dft.real if side == "real" else dft.imag)[:, None, :]
    if window is None:
        return kernel
    import scipy.signal
    w = (scipy.signal.get_window(window, frame_length, periodic) if isinstance(window, str)
         else np.asarray(window, float))
    norm = {"density": np.linalg.norm(w), "spectrum": np.abs(w).sum(), None: 1.0}[scaling]
    return kernel * w[:, None, None] / norm


@pytest.mark.parametrize("case", STFT_CASES)
def test_stft_is_the_dft(case):
    values = init.STFT(*case)((8, 1, 5), dtype="float64")
    assert values.shape == (8, 1, 5) and values.dtype == np.float64
    np.testing.assert_allclose(values, stft_reference(*case, 8, 5), atol=1e-12)
    assert init.STFT(*case)((8, 1, 5)).dtype == np.float32


@pytest.mark.parametrize("case", STFT_CASES)
def test_stft_matches_keras(case):
    keras = pytest.importorskip("keras")
    theirs = keras.initializers.STFT(*case)
    ours = init.STFT(*case)
    np.testing.assert_allclose(ours((8, 1, 5)), np.asarray(theirs((8, 1, 5))), atol=2e-6)
    assert ours.get_config() == theirs.get_config()
    assert init.get(keras.initializers.serialize(theirs)) == ours


def test_stft_names_and_errors():
    assert init.STFTInitializer is init.STFT and init.stft is init.STFT
    assert type(init.get("STFTInitializer")) is init.STFT and type(init.get("stft")) is init.STFT
    assert init.STFT().get_config() == {"side": "real", "window": "hann", "scaling": "density",
                                        "periodic": False}
    with pytest.raises(ValueError, match="side should be 'real' or 'imag'"):
        init.STFT(side="complex")
    with pytest.raises(ValueError, match="STFT: unknown window 'nope'"):
        init.STFT(window="nope")
    with pytest.raises(ValueError, match="scaling is invalid"):
        init.STFT(scaling="l2")
    with pytest.raises(ValueError, match="STFT: the shape must be"):
        init.STFT()((8, 5))
    with pytest.raises(ValueError, match="window.*frame_length"):
        init.STFT(window=[1.0, 2.0])((8, 1, 5))


def test_compatibility_aliases_are_keras():
    keras = pytest.importorskip("keras")
    assert init.IdentityInitializer is init.Identity
    assert init.OrthogonalInitializer is init.Orthogonal
    for name in ("IdentityInitializer", "OrthogonalInitializer", "STFTInitializer"):
        assert hasattr(keras.initializers, name)
        assert type(init.get(name)).__name__ == type(keras.initializers.get(name)).__name__


@pytest.mark.parametrize("module_name,obj", [
    ("initializers", init.VarianceScaling(2.0, "fan_out", "uniform", seed=3)),
    ("initializers", init.STFT("imag", "hamming", "spectrum", True)),
    ("regularizers", nk.regularizers.L1L2(0.1, 0.2)),
    ("regularizers", nk.regularizers.OrthogonalRegularizer(0.25, "columns")),
    ("constraints", nk.constraints.MinMaxNorm(0.5, 2.0, 0.5, 1)),
])
def test_deserialize_reads_keras_and_nbkeras_forms(module_name, obj):
    module = getattr(nk, module_name)
    assert module.deserialize(module.serialize(obj)) == obj
    assert type(module.deserialize(type(obj).__name__)) is type(obj)
    keras = pytest.importorskip("keras")
    theirs = getattr(keras, module_name).deserialize(module.serialize(obj))
    serialized = getattr(keras, module_name).serialize(theirs)
    assert "module" in serialized
    assert module.deserialize(serialized) == obj


@pytest.mark.parametrize("module_name", ["initializers", "regularizers", "constraints"])
def test_deserialize_custom_objects_and_errors(module_name):
    module = getattr(nk, module_name)
    base = {"initializers": init.Initializer, "regularizers": nk.regularizers.Regularizer,
            "constraints": nk.constraints.Constraint}[module_name]

    class Mine(base):
        def __call__(self, *args, **kwargs):
            return 0.0

    got = module.deserialize({"class_name": "Mine", "config": {}}, custom_objects={"Mine": Mine})
    assert type(got) is Mine
    with pytest.raises(ValueError, match="Unknown .*'Mine'"):
        module.deserialize({"class_name": "Mine", "config": {}})
    with pytest.raises(ValueError, match="class_name"):
        module.deserialize({"config": {}})
    assert module.deserialize(None) is None
