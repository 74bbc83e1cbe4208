"""nbkeras/ops/op.py: the rules every op follows: float32 stays float32, integer inputs give
floatx, eager shapes and dtypes match the symbolic specs, shape errors name the shapes.

On every device of the `device` fixture (tests/conftest.py); the symbolic specs need none."""
from __future__ import annotations

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import ops

import reference  # tests/reference.py (tests/ is on sys.path: pyproject.toml)
from op_checks import tensor  # tests/op_checks.py


# ---------------------------------------------------------------------------- dtypes

FLOAT32_CASES = {
    "multiply_scalar": lambda x: ops.multiply(x, 2.0),
    "scalar_multiply": lambda x: ops.multiply(2.0, x),
    "add_int": lambda x: ops.add(x, 1),
    "subtract_scalar": lambda x: ops.subtract(x, 0.5),
    "divide_scalar": lambda x: ops.divide(x, 3.0),
    "rtruediv": lambda x: 1.0 / (tensor(x) * x + 1.0),
    "power_scalar": lambda x: ops.power(ops.abs(x), 1.5),
    "maximum_scalar": lambda x: ops.maximum(x, 0.1),
    "minimum_array": lambda x: ops.minimum(x, x[::-1]),
    "operators": lambda x: (tensor(x) * 2.0 - 1.0) / 4.0,
    "negative": ops.negative, "exp": ops.exp, "square": ops.square, "abs": ops.abs,
    "log": lambda x: ops.log(ops.abs(x) + 0.5),
    "sqrt": lambda x: ops.sqrt(ops.abs(x)),
    "where": lambda x: ops.where(x > 0, x, 0.0),
    "clip": lambda x: ops.clip(x, -0.5, 0.5),
    "relu": ops.relu, "relu_config": lambda x: ops.relu(x, 0.1, 1.0, 0.2),
    "relu6": ops.relu6, "leaky_relu": ops.leaky_relu, "elu": ops.elu, "selu": ops.selu,
    "gelu": ops.gelu, "gelu_exact": lambda x: ops.gelu(x, approximate=False),
    "silu": ops.silu, "mish": ops.mish, "sigmoid": ops.sigmoid,
    "hard_sigmoid": ops.hard_sigmoid, "tanh": ops.tanh, "softplus": ops.softplus,
    "softsign": ops.softsign, "exponential": ops.exponential, "linear": ops.linear,
    "softmax": ops.softmax, "softmax_axis0": lambda x: ops.softmax(x, axis=0),
    "log_softmax": ops.log_softmax,
    "sum": ops.sum, "mean": lambda x: ops.mean(x, axis=0), "max": lambda x: ops.max(x, 1),
    "min": ops.min, "prod": lambda x: ops.prod(x, axis=-1),
    "matmul": lambda x: ops.matmul(x, x.T), "dot": lambda x: ops.dot(x, x.T),
    "dense": lambda x: ops.dense(x, np.ones((4, 2), np.float32), np.ones(2, np.float32)),
    "reshape": lambda x: ops.reshape(x, (-1,)), "transpose": ops.transpose,
    "getitem": lambda x: tensor(x)[1:, ::2], "expand_dims": lambda x: ops.expand_dims(x, 1),
    "concatenate": lambda x: ops.concatenate([x, x], axis=1),
    "stack": lambda x: ops.stack([x, x]),
    "broadcast_to": lambda x: ops.broadcast_to(x, (2, 3, 4)),
    "stop_gradient": ops.stop_gradient, "dropout": lambda x: ops.dropout(x, 0.5, seed=1),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_CASES))
def test_float32_inputs_give_float32_outputs(device, name):
    fn = FLOAT32_CASES[name]
    x64 = np.random.default_rng(9).standard_normal((3, 4))
    x32 = x64.astype(np.float32)
    y32, y64 = fn(x32), fn(x32.astype(np.float64))
    assert y32.dtype == "float32", f"{name}: float32 input gave {y32.dtype}"
    assert y64.dtype == "float64", f"{name}: float64 input gave {y64.dtype}"
    np.testing.assert_allclose(np.asarray(y32), np.asarray(y64), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["divide", "exp", "log", "mean", "sigmoid", "softmax", "sqrt",
                                  "tanh"])
def test_integer_inputs_to_float_ops_give_floatx_like_their_spec(device, name):
    """Keras: integer inputs to exp/log/mean/divide/... give floatx. The symbolic spec says
    so too; the eager result must agree with it."""
    fn = {"mean": ops.mean, "divide": lambda x: ops.divide(x, 2)}.get(name, getattr(ops, name))
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
    symbolic = fn(nk.KerasTensor(x.shape, "int32"))
    assert symbolic.dtype == "float32"
    eager = fn(x)
    assert (eager.shape, eager.dtype) == (symbolic.shape, symbolic.dtype)
    expected = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh,
                "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "mean": np.mean,
                "divide": lambda v: v / 2, "softmax": lambda v: reference.softmax(v)}[name]
    np.testing.assert_allclose(np.asarray(eager), expected(x.astype(np.float64)), rtol=1e-6)


def _last_two_swapped(t):
    return ops.moveaxis(t, -1, -2) if len(t.shape) > 1 else t


SPEC_CASES = {
    "add": lambda t: ops.add(t, t), "multiply_scalar": lambda t: ops.multiply(t, 2.0),
    "subtract_from_int": lambda t: ops.subtract(1, t), "minimum_int": lambda t: ops.minimum(t, 1),
    "divide": lambda t: ops.divide(t, t + 3.0), "power": lambda t: ops.power(t, 2.0),
    "exp": ops.exp, "relu": ops.relu, "relu_config": lambda t: ops.relu(t, 0.1, 2.0, 0.5),
    "gelu": ops.gelu, "hard_sigmoid": ops.hard_sigmoid, "sigmoid": ops.sigmoid,
    "softmax": ops.softmax, "log_softmax_axis0": lambda t: ops.log_softmax(t, axis=0),
    "sum": lambda t: ops.sum(t, axis=0), "sum_keepdims": lambda t: ops.sum(t, -1, True),
    "mean": lambda t: ops.mean(t, keepdims=True), "mean_all": ops.mean,
    "max": lambda t: ops.max(t, axis=-1), "prod": lambda t: ops.prod(t, (0,), True),
    "reshape": lambda t: ops.reshape(t, (-1, 1)), "transpose": ops.transpose,
    "expand_dims": lambda t: ops.expand_dims(t, -1), "squeeze": ops.squeeze,
    "getitem": lambda t: t[..., :1], "getitem_int": lambda t: t[0],
    "getitem_fancy": lambda t: t[np.array([0, 0])],
    "concatenate": lambda t: ops.concatenate([t, t], axis=-1),
    "stack": lambda t: ops.stack([t, t], axis=1), "split": lambda t: ops.split(t, [1], -1)[1],
    "broadcast_to": lambda t: ops.broadcast_to(t, (2,) + tuple(t.shape)),
    "argmax": lambda t: ops.argmax(t, axis=-1), "argmax_all": lambda t: ops.argmax(t, None, True),
    "one_hot": lambda t: ops.one_hot(ops.argmax(t, axis=-1), 4, axis=0),
    "matmul": lambda t: ops.matmul(t, _last_two_swapped(t)),
    "dot": lambda t: ops.dot(t, _last_two_swapped(t)),
    "dense": lambda t: ops.dense(t, np.ones((t.shape[-1], 2), t.dtype), np.ones(2, t.dtype)),
    "clip": lambda t: ops.clip(t, -0.5, 0.5), "cast": lambda t: ops.cast(t, "float16"),
    "where": lambda t: ops.where(t > 0, t, t * 2.0),
    "where_python_scalar": lambda t: ops.where(t > 0, t, 0.0),
    "stop_gradient": ops.stop_gradient, "dropout": lambda t: ops.dropout(t, 0.5, seed=1),
}

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(SPEC_CASES))
def test_eager_shapes_and_dtypes_match_symbolic_specs(device, name, dtype):
    fn = SPEC_CASES[name]
    rng = np.random.default_rng(10)
    for shape in [(2, 3), (4,), (2, 1, 3), (3, 1)]:
        x = rng.standard_normal(shape).astype(dtype)
        eager, symbolic = fn(tensor(x)), fn(nk.KerasTensor(shape, dtype))
        assert isinstance(symbolic, nk.KerasTensor)
        assert (tuple(eager.shape), eager.dtype) == (tuple(symbolic.shape), symbolic.dtype), shape


# ------------------------------------------------------------------------ error messages

ERROR_CASES = {
    # name: (call on (a, b) tensors-or-KerasTensors, shapes, message pattern)
    "reshape": (lambda a: ops.reshape(a, (4,)), [(2, 3)], r"\(2, ?3\).*\(4,?\)"),
    "broadcast": (lambda a, b: ops.add(a, b), [(2, 3), (4,)], r"\(2, ?3\).*\(4,\)"),
    "broadcast_to": (lambda a: ops.broadcast_to(a, (4,)), [(3,)], r"\(3,\).*\(4,\)"),
    "matmul": (lambda a, b: ops.matmul(a, b), [(2, 3), (4, 5)], r"\(2, ?3\).*\(4, ?5\)"),
    "dense": (lambda a, b: ops.dense(a, b), [(2, 3), (4, 5)], r"\(2, ?3\).*\(4, ?5\)"),
}

@pytest.mark.parametrize("mode", ["eager", "symbolic"])
@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_shape_errors_name_the_shapes(device, name, mode):
    fn, shapes, pattern = ERROR_CASES[name]
    rng = np.random.default_rng(11)
    args = ([rng.standard_normal(s) for s in shapes] if mode == "eager"
            else [nk.KerasTensor(s, "float64") for s in shapes])
    with pytest.raises(ValueError, match=pattern):
        fn(*args)
