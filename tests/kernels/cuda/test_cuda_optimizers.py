"""The CUDA optimizer updates compute what the CPU ones compute, in place, over several steps
in a row: every optimizer with every combination of its optional slots (None when unused),
on Hypothesis-drawn sizes and hyperparameters, and on one element and on more elements than
the grid has threads (the grid loops, by a size that is no multiple of the block)."""
import inspect
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import optimizers as cpu
from nbkeras.kernels.cuda import optimizers as cuda
from nbkeras.kernels.cuda.runtime import MAX_BLOCKS, THREADS, to_device, to_host

TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
DTYPES = [np.float32, np.float64]
STEPS = 3

RATE, FRACTION, ONE_MINUS = (1e-3, 0.1), (0.5, 0.999), (1e-3, 0.5)   # ONE_MINUS: 1 - beta
EPSILON, DECAY = (1e-7, 1e-3), (0.0, 1e-2)
# name -> (its slots, the optional ones among them, the ranges of its scalar arguments: the
# test with Hypothesis draws from them, the test of fixed sizes takes their middle)
OPTIMIZERS = {
    "sgd_update": (("m",), ("m",), dict(lr=RATE, momentum=FRACTION, nesterov=(False, True),
                                        decay=DECAY)),
    "adam_update": (("m", "v", "v_max"), ("v_max",), dict(
        alpha=RATE, one_minus_beta_1=ONE_MINUS, one_minus_beta_2=ONE_MINUS, epsilon=EPSILON,
        decay=DECAY)),
    "rmsprop_update": (("velocity", "mom", "average"), ("mom", "average"), dict(
        lr=RATE, rho=(0.9, 0.9), one_minus_rho=(0.1, 0.1), momentum=FRACTION, epsilon=EPSILON,
        decay=DECAY)),
    "adagrad_update": (("accumulator",), (), dict(lr=RATE, epsilon=EPSILON, decay=DECAY)),
    "adadelta_update": (("accumulated_grad", "accumulated_delta"), (), dict(
        lr=(0.1, 1.0), rho=(0.95, 0.95), one_minus_rho=(0.05, 0.05), epsilon=EPSILON,
        decay=DECAY)),
    "adamax_update": (("m", "u"), (), dict(
        lr=RATE, beta_2=FRACTION, one_minus_beta_1=ONE_MINUS, bias_correction=(0.1, 1.0),
        epsilon=EPSILON, decay=DECAY)),
    "nadam_update": (("m", "v"), (), dict(
        lr=RATE, one_minus_beta_1=ONE_MINUS, one_minus_beta_2=ONE_MINUS,
        momentum_coef=(0.5, 1.0), grad_coef=(0.01, 0.5), velocity_coef=(1.0, 2.0),
        epsilon=EPSILON, decay=DECAY)),
    "lion_update": (("m",), (), dict(
        lr=RATE, beta_1=FRACTION, one_minus_beta_1=ONE_MINUS, beta_2=FRACTION,
        one_minus_beta_2=ONE_MINUS, decay=DECAY)),
    "lamb_update": (("m", "v"), (), dict(
        step=RATE, one_minus_beta_1=ONE_MINUS, one_minus_beta_2=ONE_MINUS,
        bias_correction_1=(0.1, 1.0), bias_correction_2=(1e-3, 1.0), epsilon=EPSILON,
        decay=DECAY)),
    "ftrl_update": (("accumulator", "linear"), (), dict(
        lr=(1e-3, 1.0), neg_lr_power=(0.0, 1.0), l1=(0.0, 0.5), two_l2_shrinkage=(0.0, 0.2),
        two_l2_reg=(0.0, 0.2), decay=DECAY)),
    "schedule_free_adamw_update": (("z", "v"), (), dict(
        lr=RATE, beta_1=FRACTION, one_minus_beta_1=ONE_MINUS, one_minus_beta_2=ONE_MINUS,
        bias_correction_2=(1e-3, 1.0), epsilon=EPSILON, weight=(0.1, 1.0),
        one_minus_weight=(0.0, 0.9), decay=DECAY)),
    "muon_update": (("m", "update"), (), dict(   # update: an input, unchanged
        momentum_minus_one=(-0.5, -0.01), lr=RATE, scale=(0.1, 2.0), decay=DECAY)),
}
# updates with arrays of other shapes than the variable's, tested on their own below
SHAPED = ("adafactor_update",)
# every optimizer with every subset of its optional slots left out (None)
CASES = [(name, unused) for name, (_, optional, _) in OPTIMIZERS.items()
         for k in range(len(optional) + 1) for unused in itertools.combinations(optional, k)]
CASE_IDS = [f"{name}-without-{'-'.join(unused)}" if unused else name for name, unused in CASES]


def _public(module) -> dict:
    """The functions a kernel module defines under public names."""
    return {name: value for name, value in vars(module).items() if not name.startswith("_")
            and inspect.isfunction(value) and value.__module__ == module.__name__}


def _check(name: str, unused: tuple, scalars: dict, size: int, dtype, seed: int) -> None:
    """STEPS updates on the CPU and on the device from the same start, with the same
    gradients: the variable and every slot match after each step."""
    rng = np.random.default_rng(seed)
    slots = {slot: None if slot in unused else
             np.zeros(size, dtype) if slot == "average" else   # centered: v - a² stays >= 0
             np.abs(rng.normal(size=size)).astype(dtype)
             for slot in OPTIMIZERS[name][0]}
    scalars = {key: value if isinstance(value, bool) else dtype(value)
               for key, value in scalars.items()}
    var = rng.normal(size=size).astype(dtype)
    device_var = to_device(var.copy())
    device_slots = {slot: None if a is None else to_device(a.copy()) for slot, a in slots.items()}
    for _ in range(STEPS):
        grad = rng.normal(size=size).astype(dtype)
        getattr(cpu, name)(var, grad, **slots, **scalars)
        getattr(cuda, name)(device_var, to_device(grad), **device_slots, **scalars)
        updated = {"var": (var, device_var)} | {
            slot: (array, device_slots[slot]) for slot, array in slots.items() if array is not None}
        for what, (want, got) in updated.items():
            np.testing.assert_allclose(to_host(got), want, err_msg=f"{name}: {what}",
                                       **TOLERANCE[dtype])


def test_exports_the_cpu_functions_with_their_signatures():
    expected = _public(cpu)
    assert sorted(cuda.__all__) == sorted(cpu.__all__) == sorted(expected) == sorted(
        [*OPTIMIZERS, *SHAPED])
    assert sorted(_public(cuda)) == sorted(expected)
    for name, function in expected.items():
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(function), name


@pytest.mark.parametrize("name, unused", CASES, ids=CASE_IDS)
@settings(max_examples=8)
@given(data=st.data(), dtype=st.sampled_from(DTYPES), size=st.integers(1, 100),
       seed=st.integers(0, 2**32 - 1))
def test_matches_cpu_over_steps(name, unused, data, dtype, size, seed):
    scalars = data.draw(st.fixed_dictionaries({
        key: st.booleans() if isinstance(low, bool) else st.floats(low, high)
        for key, (low, high) in OPTIMIZERS[name][2].items()}), label="scalars")
    _check(name, unused, scalars, size, dtype, seed)


@pytest.mark.parametrize("size", [1, 2 * THREADS * MAX_BLOCKS + 3])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, unused", CASES, ids=CASE_IDS)
def test_matches_cpu_on_one_element_and_when_the_grid_loops(name, unused, dtype, size):
    scalars = {key: high if isinstance(low, bool) else (low + high) / 2
               for key, (low, high) in OPTIMIZERS[name][2].items()}
    _check(name, unused, scalars, size, dtype, seed=size)


def _adafactor_steps(module, to, back, shape, dtype, seed):
    """STEPS Adafactor updates by `module` (its host side as optimizers/adafactor.py does it,
    in numpy); returns var, r, c, v after each step."""
    rng = np.random.default_rng(seed)
    factored = len(shape) >= 2
    rows, cols = shape[-2:] if factored else (1, 1)
    var = rng.normal(size=shape).astype(dtype)
    r = np.abs(rng.normal(size=shape[:-1] if factored else ())).astype(dtype)
    c = np.abs(rng.normal(size=shape[:-2] + shape[-1:] if factored else ())).astype(dtype)
    v = np.abs(rng.normal(size=shape)).astype(dtype)
    arrays = [to(a.reshape(-1).copy()) for a in (var, r, c, v)]
    history = []
    for step in range(STEPS):
        grad = rng.normal(size=shape).astype(dtype)
        beta_2 = dtype(0.5 + 0.1 * step)
        if factored:
            square = grad.reshape(-1, rows, cols) ** 2 + dtype(1e-30)
            r_new = beta_2 * back(arrays[1]).reshape(-1, rows) + (1 - beta_2) * square.mean(-1)
            c_new = beta_2 * back(arrays[2]).reshape(-1, cols) + (1 - beta_2) * square.mean(-2)
            factors = (to(r_new.reshape(-1)), to(c_new.reshape(-1)), to(r_new.mean(-1)))
        else:
            factors = (None, None, None)
        module.adafactor_update(arrays[0], to(grad.reshape(-1)), *arrays[1:], *factors, rows,
                                cols, beta_2, 1 - beta_2, dtype(1e-30), dtype(0.01),
                                dtype(1.0 + step), dtype(1e-3 * step))
        history.append([back(a).copy() for a in arrays])
    return history


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (7,), (1, 1), (3, 5), (2, 3, 4), (4, 1, 3),
                                   (2, 2 * THREADS * MAX_BLOCKS // 3 + 1, 3)], ids=str)
def test_adafactor_matches_cpu_over_steps(shape, dtype):
    want = _adafactor_steps(cpu, lambda a: a, lambda a: a, shape, dtype, seed=len(shape))
    got = _adafactor_steps(cuda, to_device, to_host, shape, dtype, seed=len(shape))
    for step, (wanted, gotten) in enumerate(zip(want, got)):
        for what, a, b in zip(("var", "r", "c", "v"), wanted, gotten):
            np.testing.assert_allclose(b, a, err_msg=f"adafactor {shape} step {step}: {what}",
                                       **TOLERANCE[dtype])
