"""kernels/cpu/conv.py compiles each im2col helper once per argument types. Numba types a
constant argument by its value, so a call that passes `0` where another passes a variable
compiles the helper a second time (about a second for `_patches`, on the path to a cold first
training step); the forward and backward passes therefore never pass integer constants to
the helpers they share."""
import ast
import inspect

from nbkeras.kernels.cpu import conv

SHARED_HELPERS = ("_patches", "_move", "_patches_one_channel", "_bias_relu", "max_pool_rows")


def test_no_integer_constant_reaches_a_shared_conv_helper():
    tree = ast.parse(inspect.getsource(conv))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Name) and node.func.id in SHARED_HELPERS]
    assert {call.func.id for call in calls} == set(SHARED_HELPERS)
    constants = [(call.func.id, call.lineno) for call in calls for argument in call.args
                 if isinstance(argument, ast.Constant) and type(argument.value) is int]
    assert not constants, f"integer constants passed at (helper, line): {constants}"
