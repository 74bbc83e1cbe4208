"""Control flow and function transforms of `keras.ops`: cond, switch, while_loop, fori_loop,
scan, associative_scan, map, vectorized_map, vectorize and custom_gradient.

They run eagerly: Python branches and loops over ops, so an active GradientTape records every
step and differentiates through them (through `while_loop` too, which JAX cannot reverse-
differentiate). Values are pytrees: nested lists, tuples and dicts of tensors, where None is an
empty subtree; Python numbers become tensors with `ops.array`'s dtypes, as JAX makes arrays.

On KerasTensors each one infers its outputs' shapes and dtypes by calling the user's functions
on KerasTensors (Keras's `compute_output_spec` does the same) and records ONE graph node that
replays the eager call on values, so they work inside a layer's `call` and in a functional
graph. Their functions must then work on KerasTensors (no Python `if` on a tensor's value), and
in a functional graph they must not close over other KerasTensors: only the arguments are
replaced by values when the node is replayed.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from ..core.keras_tensor import KerasTensor
from ..core.node import Node
from ..tree import leaves as flatten, map_leaves as map_structure, pack_like
from ..core.spec import Spec
from ..core.tape import GradientTape
from ..core.tensor import Tensor
from .core import cast
from .creation import array, zeros
from .manipulation import flip, unstack
from .op import Op, broadcast_shapes
from .reduction import normalize_axes
from .shape import broadcast_to, concatenate, getitem, reshape, stack

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "associative_scan", "map",
           "vectorized_map", "vectorize", "custom_gradient"]


# ---- pytrees of tensors --------------------------------------------------------------------

def _tensor(x):
    """A leaf as a tensor (`ops.array`'s dtypes for Python numbers); None, Tensors and
    KerasTensors stay as they are."""
    return x if x is None or isinstance(x, (Tensor, KerasTensor)) else array(x)


def _tensors(tree):
    return map_structure(_tensor, tree)


def _is_symbolic(*trees) -> bool:
    return any(isinstance(x, KerasTensor) for x in flatten(trees))


def _describe(tree) -> str:
    """tree's nesting with each tensor leaf shown as dtype[shape]."""
    return str(map_structure(lambda x: x if x is None else f"{x.dtype}{list(x.shape)}"
                             if hasattr(x, "dtype") else type(x).__name__, tree))


def _mismatch(who: str, what: str, template, value) -> ValueError:
    return ValueError(f"{who}: {what} must have the structure, shapes and dtypes "
                      f"{_describe(template)}; received {_describe(value)}")


def _leaves_like(template, value, who: str, what: str) -> list:
    """value's leaves in the order of template's, after checking that value is nested as
    template is (lists and tuples alike, dicts by key)."""
    def walk(t, v):
        if isinstance(t, dict) and isinstance(v, dict) and set(t) == set(v):
            return [x for key in t for x in walk(t[key], v[key])]
        if isinstance(t, (list, tuple)) and isinstance(v, (list, tuple)) and len(t) == len(v):
            return [x for a, b in zip(t, v) for x in walk(a, b)]
        if not isinstance(t, (dict, list, tuple)) and not isinstance(v, (dict, list, tuple)):
            return [v]
        raise _mismatch(who, what, template, value)
    return walk(template, value)


def _conform(template, value, who: str, what: str, recast: bool = True):
    """value packed like template, each leaf of its template's shape and dtype. With `recast`
    a leaf of the same kind but another width (float64 for float32, say) is cast back: a
    loop's state keeps its dtypes, where numpy's promotion would widen them."""
    leaves = []
    for t, v in zip(flatten(template), _leaves_like(template, value, who, what)):
        v = _tensor(v)
        if t is None or v is None:
            if t is not v:
                raise _mismatch(who, what, template, value)
        elif tuple(v.shape) != tuple(t.shape) or v.dtype != t.dtype and not (
                recast and np.dtype(v.dtype).kind == np.dtype(t.dtype).kind):
            raise _mismatch(who, what, template, value)
        elif v.dtype != t.dtype:
            v = cast(v, t.dtype)
        leaves.append(v)
    return pack_like(template, leaves)


def _truth(value, who: str, what: str) -> bool:
    """A scalar condition (bool or number) as a Python bool."""
    if isinstance(value, KerasTensor):
        raise TypeError(f"{who}: {what} is symbolic (a KerasTensor); the loop needs values")
    shape = tuple(value.shape) if isinstance(value, Tensor) else np.shape(value)
    if shape != ():
        raise ValueError(f"{who}: {what} must be a scalar; received shape {shape}")
    return bool(value)


def _integer(value, who: str, what: str) -> int:
    """A concrete integer scalar (Python, numpy or Tensor) as a Python int."""
    if isinstance(value, KerasTensor):
        raise TypeError(f"{who}: {what} must be a concrete integer; received the symbolic "
                        f"{value!r}")
    held = np.asarray(value)
    if held.shape != () or held.dtype.kind not in "iu":
        raise TypeError(f"{who}: {what} must be an integer scalar; received "
                        f"{held.dtype}{list(held.shape)}")
    return int(held)


# ---- slicing along the leading axis and stacking --------------------------------------------

def _leading_size(xs, who: str, what: str):
    """The common leading size of the leaves of xs (None: unknown, in a symbolic shape)."""
    leaves = [x for x in flatten(xs) if x is not None]
    if not leaves or any(len(x.shape) == 0 for x in leaves):
        raise ValueError(f"{who}: every array in {what} needs a leading axis to map over; "
                         f"received {_describe(xs)}")
    sizes = {x.shape[0] for x in leaves} - {None}
    if len(sizes) > 1:
        raise ValueError(f"{who}: the arrays in {what} must share their leading size; "
                         f"received {_describe(xs)}")
    return sizes.pop() if sizes else None


def _steps(xs, n: int) -> list:
    """The n slices of xs along the leading axis of its leaves, as n pytrees like xs."""
    columns = [None if x is None else unstack(x) for x in flatten(xs)]
    return [pack_like(xs, [None if c is None else c[i] for c in columns]) for i in range(n)]


def _slice_like(xs):
    """KerasTensors standing for one slice of xs along the leading axis."""
    return map_structure(lambda x: None if x is None else KerasTensor(x.shape[1:], x.dtype), xs)


def _with_leading(n, tree):
    """KerasTensors like tree's leaves with a new leading axis of size n."""
    return map_structure(lambda t: None if t is None else KerasTensor((n, *t.shape), t.dtype),
                         _tensors(tree))


def _stack(outputs: list, one_step, who: str):
    """Per-step outputs (pytrees of one nesting, shapes and dtypes) stacked along a new
    leading axis; with no steps, `one_step()` gives a step's output (on KerasTensors) for
    the shapes of the empty result."""
    if not outputs:
        return map_structure(lambda t: None if t is None else zeros((0, *t.shape), t.dtype),
                             _tensors(one_step()))
    first = _tensors(outputs[0])
    steps = [flatten(_conform(first, y, who, "every step's output", recast=False))
             for y in outputs]
    return pack_like(first, [None if leaf is None else stack([s[j] for s in steps])
                             for j, leaf in enumerate(flatten(first))])


# ---- graph nodes for symbolic calls ---------------------------------------------------------

class _Replay:
    """A graph node's operation: the eager control-flow call, replayed on values; returns the
    tensor leaves of its output (the node's outputs, in order)."""

    def __init__(self, name: str, call):
        self.name = name
        self._call = call

    def __call__(self, *args):
        return [x for x in flatten(self._call(*args)) if x is not None]

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _graph_call(name: str, call, args: tuple, outputs):
    """Record `call(*args)` as one graph node whose outputs have the shapes and dtypes of the
    leaves of `outputs`; its KerasTensors, nested as `outputs` is."""
    outputs = _tensors(outputs)
    leaves = [x for x in flatten(outputs) if x is not None]
    node = Node(_Replay(name, call), tuple(args), {},
                [Spec(tuple(x.shape), x.dtype) for x in leaves])
    made = iter(node.outputs)
    return map_structure(lambda x: None if x is None else next(made), outputs)


# ---- branches -------------------------------------------------------------------------------

def cond(pred, true_fn, false_fn):
    """`true_fn()` if the scalar `pred` is true, else `false_fn()`.

    Eagerly only the chosen branch runs (and the tape records it). A symbolic `pred` traces
    both branches, which must return the same structure, shapes and dtypes."""
    if isinstance(pred, KerasTensor):
        if pred.shape != ():
            raise ValueError(f"cond: pred must be a scalar; received shape {pred.shape}")
        outputs = _tensors(true_fn())
        _conform(outputs, false_fn(), "cond", "false_fn's output (as true_fn's)", recast=False)
        return _graph_call("cond", lambda p: cond(p, true_fn, false_fn), (pred,), outputs)
    return _tensors(true_fn() if _truth(pred, "cond", "pred") else false_fn())


def switch(index, branches, *operands):
    """`branches[i](*operands)` for i = `index` clamped to [0, len(branches) - 1]; exactly one
    branch runs. A symbolic index or operand traces every branch; they must agree in
    structure, shapes and dtypes."""
    branches = list(branches)
    if not branches:
        raise ValueError("switch: branches must hold at least one function")
    if _is_symbolic(index, operands):
        if isinstance(index, KerasTensor) and (index.shape != ()
                                               or np.dtype(index.dtype).kind not in "iu"):
            raise TypeError(f"switch: index must be an integer scalar; received {index!r}")
        outputs = _tensors(branches[0](*operands))
        for branch in branches[1:]:
            _conform(outputs, branch(*operands), "switch", "every branch's output (as the "
                     "first's)", recast=False)
        return _graph_call("switch", lambda i, *values: switch(i, branches, *values),
                           (index, *operands), outputs)
    chosen = min(max(_integer(index, "switch", "index"), 0), len(branches) - 1)
    return _tensors(branches[chosen](*operands))


# ---- loops ----------------------------------------------------------------------------------

def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Repeat `loop_vars = body(loop_vars)` while `cond(loop_vars)` holds (at most
    `maximum_iterations` times). A tuple or list of loop_vars is passed positionally and
    returned as a tuple (also of one tensor); any other pytree is passed and returned as is.
    `body` must keep the structure, shapes and dtypes."""
    positional = isinstance(loop_vars, (list, tuple))
    state = tuple(_tensors(loop_vars)) if positional else _tensors(loop_vars)
    if _is_symbolic(state):
        return _graph_call("while_loop",
                           lambda v: while_loop(cond, body, v, maximum_iterations),
                           (state,), state)
    limit = None if maximum_iterations is None else _integer(
        maximum_iterations, "while_loop", "maximum_iterations")
    steps = 0
    while (limit is None or steps < limit) and _truth(
            cond(*state) if positional else cond(state), "while_loop", "cond's result"):
        state = _conform(state, body(*state) if positional else body(state), "while_loop",
                         "body's result")
        steps += 1
    return state


def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for i in range(lower, upper), from `init_val`; the final val.
    `i` is a Python int (every op accepts one); lower and upper must be concrete."""
    lower = _integer(lower, "fori_loop", "lower")
    upper = _integer(upper, "fori_loop", "upper")
    state = _tensors(init_val)
    if _is_symbolic(state):
        return _graph_call("fori_loop", lambda v: fori_loop(lower, upper, body_fun, v),
                           (state,), state)
    for i in range(lower, upper):
        state = _conform(state, body_fun(i, state), "fori_loop", "body_fun's result")
    return state


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """`carry, y = f(carry, x)` for each slice x of xs along its leading axis (None, `length`
    times, when xs is None); returns (final carry, the ys stacked along a new leading axis).

    reverse=True runs from the last slice to the first; ys[i] still belongs to xs[i]. The
    carry keeps init's structure, shapes and dtypes; y may be any pytree (None included).
    `unroll` is validated as Keras does and has no effect eagerly."""
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"scan: unroll must be a positive integer or a boolean; received "
                         f"unroll={unroll!r}")
    init, xs = _tensors(init), _tensors(xs)
    has_xs = any(x is not None for x in flatten(xs))
    if not has_xs and length is None:
        raise ValueError("scan: give xs or length (the number of steps)")
    n = _leading_size(xs, "scan", "xs") if has_xs else None
    if length is not None:
        steps = _integer(length, "scan", "length")
        if n is not None and steps != n:
            raise ValueError(f"scan: length={steps} does not match the leading size {n} of xs")
        n = steps

    def step(carry, x):
        out = f(carry, x)
        if not isinstance(out, (list, tuple)) or len(out) != 2:
            raise TypeError(f"scan: f must return a pair (carry, y); received {_describe(out)}")
        return _conform(init, out[0], "scan", "the carry f returns"), out[1]

    def one_step():
        return step(init, _slice_like(xs) if has_xs else xs)

    if _is_symbolic(init, xs):
        carry, y = one_step()
        return _graph_call("scan", lambda c, s: scan(f, c, s, length, reverse, unroll),
                           (init, xs), (carry, _with_leading(n, y)))
    slices = _steps(xs, n) if has_xs else [xs] * n
    carry, ys = init, []
    for i in (reversed(range(n)) if reverse else range(n)):
        carry, y = step(carry, slices[i])
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, _stack(ys, lambda: one_step()[1], "scan")


def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive prefix combination along `axis` by the associative `f(a, b)`: the k-th result
    is f(...f(f(e0, e1), e2)..., ek), for pytrees of arrays of one size along `axis`.

    f is called on batched slices (the arrays keep `axis`) in O(log n) rounds, as in JAX;
    it must return its inputs' structure and shapes. reverse=True combines from the end:
    the k-th result is f(...f(e_{n-1}, e_{n-2})..., ek)."""
    elems = _tensors(elems)
    leaves = flatten(elems)
    if not leaves or any(x is None or len(x.shape) == 0 for x in leaves):
        raise ValueError(f"associative_scan: elems must hold arrays of rank >= 1; received "
                         f"{_describe(elems)}")
    axis = normalize_axes(axis, len(leaves[0].shape), "associative_scan")[0]
    if any(len(x.shape) <= axis for x in leaves) or len({x.shape[axis] for x in leaves}) > 1:
        raise ValueError(f"associative_scan: every array in elems must have the same size "
                         f"along axis {axis}; received {_describe(elems)}")

    def combine(a: list, b: list) -> list:
        template = pack_like(elems, a)
        return flatten(_conform(template, f(template, pack_like(elems, b)), "associative_scan",
                                "f's result"))

    if _is_symbolic(elems):
        one = [getitem(x, _along(axis, slice(0, 1))) for x in leaves]
        combine(one, one)
        return _graph_call("associative_scan",
                           lambda e: associative_scan(f, e, reverse, axis), (elems,), elems)
    if reverse:
        leaves = [flip(x, axis) for x in leaves]
    result = _prefix(combine, leaves, axis)
    return pack_like(elems, [flip(x, axis) for x in result] if reverse else result)


def _along(axis: int, part: slice) -> tuple:
    return (slice(None),) * axis + (part,)


def _prefix(combine, leaves: list, axis: int) -> list:
    """Inclusive prefixes of `leaves` (arrays of one size n along axis): combine neighbours
    pairwise, recurse on the pairs (the prefixes ending at odd positions), then extend those
    by the next element (the prefixes ending at even positions)."""
    n = leaves[0].shape[axis]
    if n < 2:
        return leaves

    def part(x, start, stop=None, step=1):
        return getitem(x, _along(axis, slice(start, stop, step)))

    odd = _prefix(combine, combine([part(x, 0, n - 1, 2) for x in leaves],
                                   [part(x, 1, None, 2) for x in leaves]), axis)
    even = [part(x, 0, 1) for x in leaves]
    if n > 2:
        later = combine([part(o, 0, (n - 1) // 2) for o in odd],
                        [part(x, 2, None, 2) for x in leaves])
        even = [concatenate([e, rest], axis) for e, rest in zip(even, later)]
    return [_interleave(e, o, axis) for e, o in zip(even, odd)]


def _interleave(even, odd, axis: int):
    """e0, o0, e1, o1, ... along axis (even holds as many elements as odd, or one more)."""
    k = odd.shape[axis]
    pairs = stack([getitem(even, _along(axis, slice(0, k))), odd], axis + 1)
    merged = reshape(pairs, (*even.shape[:axis], 2 * k, *even.shape[axis + 1:]))
    if even.shape[axis] == k:
        return merged
    return concatenate([merged, getitem(even, _along(axis, slice(k, None)))], axis)


# ---- maps -----------------------------------------------------------------------------------

def _map_leading(who: str, f, xs):
    """f over the slices of the pytree xs along its leading axis, outputs stacked."""
    xs = _tensors(xs)
    n = _leading_size(xs, who, "xs")
    if _is_symbolic(xs):
        return _graph_call(who, lambda v: _map_leading(who, f, v), (xs,),
                           _with_leading(n, f(_slice_like(xs))))
    return _stack([f(x) for x in _steps(xs, n)], lambda: f(_slice_like(xs)), who)


def map(f, xs):
    """`f` applied to each slice of xs (a pytree) along its leading axis, the outputs (any
    pytree) stacked along a new leading axis: stack([f(x) for x in xs])."""
    return _map_leading("map", f, xs)


def vectorized_map(function, elements):
    """`function` over axis 0 of `elements` (a tensor, or a pytree whose slices `function`
    takes as one argument), outputs stacked on axis 0. Eagerly this is `map`: a loop, since
    an nbkeras function has no batching rule."""
    return _map_leading("vectorized_map", function, elements)


_CORE = r"\(\s*(?:\w+\s*(?:,\s*\w+\s*)*)?\)"
_CORES = rf"(?:{_CORE}(?:\s*,\s*{_CORE})*)?"


def _parse_signature(signature: str) -> tuple[list, list]:
    """'(m,n),(n)->(m)' -> ([('m', 'n'), ('n',)], [('m',)])."""
    match = re.fullmatch(rf"\s*({_CORES})\s*->\s*({_CORES})\s*", signature)
    if match is None:
        raise ValueError(f"vectorize: signature must be a generalized ufunc signature such as "
                         f"'(m,n),(n)->(m)'; received signature={signature!r}")
    return [[tuple(re.findall(r"\w+", dims)) for dims in re.findall(r"\(([^)]*)\)", side)]
            for side in match.groups()]


def vectorize(pyfunc, *, excluded=None, signature=None):
    """`pyfunc` made to broadcast (numpy.vectorize / jax.numpy.vectorize): the returned
    function broadcasts its positional arguments' loop axes (all axes but the core ones of
    `signature`; without a signature every element is a scalar and pyfunc may return any
    shape), calls `pyfunc` once per loop element, and stacks the results to
    loop shape + output core shape. Positions in `excluded`, None arguments and keyword
    arguments are passed through unvectorized."""
    excluded = frozenset(() if excluded is None else excluded)
    if any(not isinstance(e, int) or e < 0 for e in excluded):
        raise ValueError(f"vectorize: excluded must hold non-negative argument positions; "
                         f"received excluded={set(excluded)!r}")
    in_cores, out_cores = (None, None) if signature is None else _parse_signature(signature)

    @functools.wraps(pyfunc)
    def vectorized(*args, **kwargs):
        mapped = [i for i, a in enumerate(args) if i not in excluded and a is not None]
        values = [_tensor(args[i]) for i in mapped]
        cores = [()] * len(values) if in_cores is None else in_cores
        if len(cores) != len(values):
            raise TypeError(f"vectorize: signature {signature!r} takes {len(cores)} vectorized "
                            f"arguments; received {len(values)}")
        sizes, loops = {}, []
        for v, core in zip(values, cores):
            split = len(v.shape) - len(core)
            if split < 0:
                raise ValueError(f"vectorize: an argument of shape {v.shape} has fewer axes than "
                                 f"its core dimensions {core} in signature {signature!r}")
            for name, size in zip(core, v.shape[split:]):
                if sizes.setdefault(name, size) != size:
                    raise ValueError(f"vectorize: core dimension {name!r} has sizes "
                                     f"{sizes[name]} and {size} in signature {signature!r}")
            loops.append(tuple(v.shape[:split]))
        loop = functools.reduce(lambda a, b: broadcast_shapes(a, b, "vectorize"), loops, ())

        def call(*pieces):
            full = list(args)
            for i, piece in zip(mapped, pieces):
                full[i] = piece
            out = _tensors(pyfunc(*full, **kwargs))
            if out_cores is not None:
                _check_output_cores(out, out_cores, dict(sizes), signature)
            return out

        def one_call():
            return call(*[KerasTensor(v.shape[len(loop_shape):], v.dtype)
                          for v, loop_shape in zip(values, loops)])

        if _is_symbolic(values):
            return _graph_call("vectorize", lambda *a: vectorized(*a, **kwargs), args,
                               map_structure(lambda t: None if t is None else
                                             KerasTensor((*loop, *t.shape), t.dtype),
                                             one_call()))
        count = int(np.prod(loop, dtype=np.int64))
        columns = [_loop_slices(v, loop_shape, loop, core_size, count) for v, loop_shape,
                   core_size in zip(values, loops, [len(c) for c in cores])]
        outputs = [call(*[c[i] if isinstance(c, list) else c for c in columns])
                   for i in range(count)]
        return map_structure(lambda t: None if t is None else reshape(t, (*loop, *t.shape[1:])),
                             _stack(outputs, one_call, "vectorize"))

    return vectorized


def _loop_slices(v, loop_shape: tuple, loop: tuple, core_size: int, count: int):
    """The argument for each loop element: one tensor shared by all (a single loop element
    of its own), or a list of `count` slices of v broadcast to the loop shape."""
    core = tuple(v.shape[len(v.shape) - core_size:])
    if int(np.prod(loop_shape, dtype=np.int64)) == 1:
        return reshape(v, core)
    return unstack(reshape(broadcast_to(v, (*loop, *core)), (count, *core)))


def _check_output_cores(out, out_cores: list, sizes: dict, signature: str) -> None:
    leaves = list(out) if isinstance(out, tuple) else [out]
    if len(leaves) != len(out_cores) or any(isinstance(y, (list, tuple, dict)) for y in leaves):
        raise TypeError(f"vectorize: pyfunc must return {len(out_cores)} tensor(s) as signature "
                        f"{signature!r} says; received {_describe(out)}")
    for y, core in zip(leaves, out_cores):
        if len(y.shape) != len(core) or any(sizes.setdefault(name, size) != size
                                            for name, size in zip(core, y.shape)):
            raise ValueError(f"vectorize: pyfunc returned shape {tuple(y.shape)} where signature "
                             f"{signature!r} expects core dimensions {core} (sizes {sizes})")


# ---- custom gradients -----------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class CustomGradient(Op):
    """Inputs (*the argument tensors, *the output tensors) of a function already run -> its
    output tensors unchanged, with the argument cotangents its `grad_fn` gives. eq=False:
    the fields hold a function and nestings."""

    grad_fn: object
    arguments: tuple    # the arguments' nesting: True for a tensor leaf, None for none
    output: object      # the output's nesting
    n_outputs: int

    def output_spec(self, *inputs: Spec):
        outputs = inputs[len(inputs) - self.n_outputs:]
        return tuple(outputs) if self.n_outputs > 1 else outputs[0]

    def forward(self, k, *arrays):
        outputs = arrays[len(arrays) - self.n_outputs:]
        shapes = tuple((tuple(a.shape), a.dtype) for a in arrays)
        return (tuple(outputs) if self.n_outputs > 1 else outputs[0]), shapes

    def vjp(self, k, dy, residuals, needs):
        dys = dy if self.n_outputs > 1 else (dy,)
        out_shapes = residuals[len(residuals) - self.n_outputs:]
        upstream = [Tensor(k.asarray(np.zeros(shape, dtype)) if d is None else d)
                    for d, (shape, dtype) in zip(dys, out_shapes)]
        grads = self.grad_fn(pack_like(self.output, upstream))
        grads = tuple(grads) if isinstance(grads, (list, tuple)) else (grads,)
        if len(grads) != len(self.arguments):
            raise ValueError(f"custom_gradient: grad_fn must return one cotangent per argument "
                             f"({len(self.arguments)}); received {len(grads)}")
        cotangents = []
        for argument, g in zip(self.arguments, grads):
            leaves = ([None] * len(flatten(argument)) if g is None else
                      _leaves_like(argument, g, "custom_gradient", "grad_fn's cotangents"))
            cotangents += [c for c, kept in zip(leaves, flatten(argument)) if kept]
        result = []
        for c, (shape, dtype) in zip(cotangents, residuals):
            c = None if c is None else (c.data if isinstance(c, Tensor) else
                                        k.asarray(np.asarray(c, dtype)))
            if c is not None and tuple(c.shape) != shape:
                raise ValueError(f"custom_gradient: grad_fn returned a cotangent of shape "
                                 f"{tuple(c.shape)} for an argument of shape {shape}")
            result.append(c)
        return (*result, *[None] * self.n_outputs)


def custom_gradient(f):
    """Decorator: `f(*args)` returns `(output, grad_fn)`; the decorated function returns
    `output`, and its gradient is `grad_fn(upstream)`, where upstream holds the output's
    cotangents nested as `output` is. grad_fn returns one cotangent per argument (a single
    one for a single argument, each nested like its argument, None for none), as JAX's
    `grad_fn(upstream)` does (Keras's backend-agnostic `grad(*args, upstream=None)` works).

    The ops inside f are not recorded: gradients reach only f's arguments (pass weights as
    arguments, not as closures). Keyword arguments are passed through without gradients."""
    @functools.wraps(f)
    def with_custom_gradient(*args, **kwargs):
        args = _tensors(args)
        if _is_symbolic(args):
            return _graph_call("custom_gradient",
                               functools.partial(with_custom_gradient, **kwargs), args,
                               f(*args, **kwargs)[0])
        with GradientTape().stop_recording():
            output, grad_fn = f(*args, **kwargs)
        output = _tensors(output)
        leaves = flatten(output)
        if any(y is None for y in leaves):
            raise ValueError(f"custom_gradient: f must return tensors; received "
                             f"{_describe(output)}")
        op = CustomGradient(grad_fn, map_structure(lambda x: None if x is None else True, args),
                            map_structure(lambda _: None, output), len(leaves))
        results = op(*[x for x in flatten(args) if x is not None], *leaves)
        return pack_like(output, list(results) if len(leaves) > 1 else [results])

    return with_custom_gradient
