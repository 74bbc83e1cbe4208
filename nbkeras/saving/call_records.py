"""A layer call in a functional config (`inbound_nodes`), as Keras 3.15 records it.

Keras keeps the arguments of a symbolic call as the user wrote them (by position or by name;
the node of a layer call keeps how many came by position), plus what its
`Layer.__call__` filled in when it did not copy them first (for a call on one tensor of the
layer's input dtype and no keyword arguments, and for every call of a functional model):
`training` (the `call` default, where that is not None) and `mask` (where `call` takes one:
the input's symbolic mask, which the layer's call fills into its node, else None per input).
nbkeras names every positional argument after `inputs`; the record puts those the caller gave
by position back in `args` (for a call whose count is unknown, the required tensors:
MultiHeadAttention's `value`).
"""
from __future__ import annotations

import functools
import inspect

from ..core.keras_tensor import KerasTensor
from ..tree import leaves, map_leaves


def keras_call_arguments(layer, args: tuple, kwargs: dict, by_position: int | None = None,
                         filled: frozenset = frozenset()) -> tuple[list, dict]:
    """(args, kwargs) of `layer`'s recorded call `layer(*args, **kwargs)` as Keras writes
    them in a config: the first `by_position` of `call`'s arguments by position, as the
    caller gave them (`inputs` by name when 0); when that is unknown (None), the required
    tensors by position. `filled`: the keyword arguments the layer's call filled in (a
    symbolic `mask`), not the caller."""
    parameters = keras_call_parameters(type(layer))
    args, kwargs = list(args), dict(kwargs)
    if by_position == 0:
        kwargs = {_positional_names(type(layer), required=False)[0]: args.pop(), **kwargs}
    names = (_positional_names(type(layer)) if by_position is None
             else _positional_names(type(layer), required=False)[:by_position])
    for name in names[len(args):]:
        if name not in kwargs or by_position is None and not _is_tensor_argument(kwargs[name]):
            break
        args.append(kwargs.pop(name))
    if not keras_fills_in(layer, args, {k: v for k, v in kwargs.items() if k not in filled}):
        return args, kwargs   # Keras converted the arguments first: it records them as given
    training = parameters.get("training")
    if "training" not in kwargs and training is not None \
            and training.default not in (None, inspect.Parameter.empty):
        kwargs["training"] = training.default
    for name in filled:      # Keras fills `training` in first
        kwargs[name] = kwargs.pop(name)
    tensors = [v for v in (*args, *kwargs.values()) if _is_tensor_argument(v)]
    if "mask" in parameters and kwargs.get("mask") is None and len(tensors) == 1:
        kwargs["mask"] = map_leaves(lambda _: None, tensors[0])
    return args, kwargs


def nbkeras_call_kwargs(layer, kwargs: dict) -> tuple[dict, frozenset]:
    """(the keyword arguments of a call read from a config, the names among them Keras
    filled in): less the `training` Keras filled in from `call`'s default, since the model's
    own `training` must reach the layer (Keras's functional models pass theirs over the
    recorded one). Keras fills `training` and `mask` in together, so the call's node keeps
    that its `mask` was filled in, and writes the call again as Keras recorded it."""
    training = _call_parameters(type(layer)).get("training")
    if training is None or "training" not in kwargs or kwargs["training"] != training.default:
        return kwargs, frozenset()
    return ({key: value for key, value in kwargs.items() if key != "training"},
            frozenset({"mask"} if kwargs.get("mask") is not None else ()))


def keras_fills_in(layer, args, kwargs: dict) -> bool:
    """Whether Keras's `Layer.__call__` fills `training` and `mask` into the arguments it
    records for `layer(*args, **kwargs)` (a symbolic call as the caller wrote it): when it
    does not convert them first, for a call on one tensor of the layer's dtype and no keyword
    arguments, and for every call of a functional model (which converts nothing)."""
    if getattr(getattr(type(layer), "call", None), "__module__", "") == \
            "nbkeras.models.functional":
        return True
    return (not kwargs and len(args) == 1 and isinstance(args[0], KerasTensor)
            and args[0].dtype == layer.dtype)


@functools.cache
def keras_call_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The parameters of Keras's `call` for `cls`: nbkeras's own `call` for every class but
    the graph models, whose Keras `call` also takes `mask`."""
    parameters = _call_parameters(cls)
    if getattr(getattr(cls, "call", None), "__module__", "") in _GRAPH_MODEL_MODULES:
        parameters = {**parameters, "mask": inspect.Parameter(
            "mask", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)}
    return parameters


_GRAPH_MODEL_MODULES = ("nbkeras.models.functional", "nbkeras.models.sequential")


@functools.cache
def _call_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The parameters of `cls.call` (none for an op entry's calls, which have no `call`)."""
    call = getattr(cls, "call", None)
    return dict(inspect.signature(call).parameters) if call is not None else {}


@functools.cache
def _positional_names(cls: type, required: bool = True) -> list[str]:
    """The arguments of `call` a caller may give by position, `inputs` first (`self` left
    out); `required`: only those without a default, which a caller usually gives by position
    (`mha(query, value)`), unlike the optional ones (`lstm(x, initial_state=states)`)."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in _call_parameters(cls).values()
            if p.kind in kinds and (not required or p.default is inspect.Parameter.empty)][1:]


def _is_tensor_argument(value) -> bool:
    """A KerasTensor, or a non-empty structure of KerasTensors (and Nones), as Keras's
    `CallSpec` counts tensor arguments."""
    items = leaves(value)
    return bool(items) and all(x is None or isinstance(x, KerasTensor) for x in items) \
        and any(isinstance(x, KerasTensor) for x in items)
