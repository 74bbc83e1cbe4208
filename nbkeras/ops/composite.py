"""nk.ops functions recorded in a graph as one node of their own, as Keras records them.

`nk.ops.stack([a, b], axis=1)` runs expand_dims and concatenate; on KerasTensors it is still
one node (Keras's `Stack` op in a model config), whose operation is the stack function with
its parameters. Replaying the node calls the function, so values and gradients are those of
the ops it is built from. Functions of one op whose fields are not Keras's config (clip,
argmax, one_hot) are recorded the same way.
"""
from __future__ import annotations

import functools
import inspect
from typing import Callable

from ..core.keras_tensor import KerasTensor
from ..core.symbolic_scope import SymbolicScope
from ..tree import leaves, pack_like
from .op import symbolic_node


class Composite:
    """The op `function` with its parameters `params` (name -> value): called on the
    inputs (the function's other arguments, in order), it calls the function."""

    def __init__(self, function: Callable, params: dict, keywords: tuple = ()):
        self.function = function
        self.params = params
        self.keywords = keywords
        self._signature = inspect.signature(function)

    def __call__(self, *inputs):
        arguments, rest = [], iter(inputs)   # the params in their places (einsum's first)
        for parameter in self._signature.parameters.values():
            if parameter.name in self.params:
                arguments.append(self.params[parameter.name])
            elif parameter.kind is parameter.VAR_POSITIONAL:
                arguments.extend(rest)
            elif parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
                arguments.append(next(rest))
        return self.function(*arguments)

    def keras_arguments(self, inputs: tuple) -> tuple[list, dict]:
        """The inputs as Keras's op call takes them: (positional, keyword) arguments, the
        inputs named in `keywords` passed by keyword."""
        if not self.keywords:
            return list(inputs), {}
        names = [name for name, parameter in self._signature.parameters.items()
                 if name not in self.params and parameter.kind is parameter.POSITIONAL_OR_KEYWORD]
        named = dict(zip(names, inputs))
        return ([value for name, value in named.items() if name not in self.keywords],
                {name: named[name] for name in self.keywords})

    def __repr__(self) -> str:
        params = ", ".join(f"{name}={value!r}" for name, value in self.params.items())
        return f"{self.function.__name__}({params})"


def is_symbolic(values) -> bool:
    """Whether a KerasTensor is among `values` or in lists and tuples among them (the
    check of every eager call: no lists are built)."""
    for value in values:
        if isinstance(value, KerasTensor) or (isinstance(value, (list, tuple))
                                              and is_symbolic(value)):
            return True
    return False


def composite(*param_names: str, output_spec: Callable | None = None,
              resolve: dict[str, Callable] | None = None, keywords: tuple = ()):
    """Decorator of an nk.ops function built from other ops: called on KerasTensors, it
    records one node, a Composite with the arguments named `param_names` as its parameters
    and the others as its inputs. `resolve` maps a parameter to the function that gives the
    value Keras's op keeps (a None dtype is floatx). Its output is
    `output_spec(*args, **kwargs)` (one Spec) where given; else the ops it is built from run
    once on the KerasTensors to infer the outputs, and their nodes stay out of the graph.
    `keywords` names the inputs Keras's op takes by keyword (pad's `constant_values`)."""
    resolve = resolve or {}

    def decorate(function: Callable) -> Callable:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def op(*args, **kwargs):
            if not (is_symbolic(args) or kwargs and is_symbolic(kwargs.values())):
                return function(*args, **kwargs)
            traced = None
            if output_spec is None:
                with SymbolicScope():   # its parts are a trace, not ops of the graph
                    traced = function(*args, **kwargs)
            specs = ([t.spec for t in leaves(traced)] if traced is not None
                     else [output_spec(*args, **kwargs)])
            call = signature.bind(*args, **kwargs)
            call.apply_defaults()
            params = {name: resolve.get(name, lambda value: value)(call.arguments[name])
                      for name in param_names}
            inputs = []
            for parameter in signature.parameters.values():
                if parameter.name in params or parameter.kind is parameter.VAR_KEYWORD:
                    continue
                value = call.arguments[parameter.name]
                inputs.extend(value if parameter.kind is parameter.VAR_POSITIONAL else [value])
            node = symbolic_node(Composite(op, params, keywords), tuple(inputs), specs)
            return node.outputs[0] if traced is None else pack_like(traced, node.outputs)
        return op
    return decorate
