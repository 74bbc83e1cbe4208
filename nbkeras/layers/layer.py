"""Layer: the base of every layer and model. A layer's dataclass fields are its Keras config.

A layer owns weights made by `add_weight` in `build`, tracks layers assigned to its
attributes, builds itself on its first call and never again, and is called either on
values (computes now) or on KerasTensors (infers shapes and records a graph node).
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import warnings
from collections import defaultdict
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

import numpy as np

from .. import activations, constraints, initializers, regularizers
from ..core.device import canonical, current_device, device, scoped_device
from ..core.dtype import is_float, standardize_dtype
from ..core.keras_tensor import KerasTensor
from ..core.node import Node
from ..core.stateless_scope import StatelessScope, get_stateless_scope
from ..core.symbolic_scope import SymbolicScope
from .input_spec import assert_input_compatibility
from ..tree import leaves as flatten, map_leaves as map_structure, pack_like
from ..core.tensor import Tensor, Variable
from ..ops import cast, convert_to_tensor, divide
from ..serialization import snake_case

_name_counters: dict[str, itertools.count] = defaultdict(itertools.count)
_training_context: list[bool | None] = []   # `training` of the enclosing layer calls


def unique_name(prefix: str) -> str:
    """'dense', then 'dense_1', 'dense_2', ... (per process, as in Keras)."""
    n = next(_name_counters[prefix])
    return prefix if n == 0 else f"{prefix}_{n}"


def require(layer: "Layer", field: str, ok: bool, expected: str) -> None:
    """Raise `Conv2D 'conv2d': padding must be 'valid' or 'same'; received padding='full'`."""
    if not ok:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {field} must be {expected}; "
                         f"received {field}={getattr(layer, field)!r}")


def apply_activation(identifier, x):
    """activations.get(identifier)(x) for a layer's output x: x itself for "linear" or None,
    as Keras's `linear` returns its input, so that a layer without an activation makes no op
    call for it (a Dense layer's inference dispatch at batch 1 27 -> 16 us, Zen 3)."""
    return x if identifier is None or identifier == "linear" else activations.get(identifier)(x)


def as_tuple(layer: "Layer", field: str, rank: int) -> tuple[int, ...]:
    """An int or a `rank`-tuple of ints, as a tuple (`kernel_size=3` -> (3, 3))."""
    value = getattr(layer, field)
    if isinstance(value, (int, np.integer)):
        values = (value,) * rank
    else:
        require(layer, field, isinstance(value, (list, tuple)), f"an int or a tuple of {rank} ints")
        values = tuple(value)
    require(layer, field, len(values) == rank and all(isinstance(v, (int, np.integer))
                                                       for v in values),
            f"an int or a tuple of {rank} ints")
    return tuple(int(v) for v in values)


@dataclass(eq=False)
class Layer:
    """Base layer. Subclasses are `@dataclass(eq=False)` with their config as fields, or
    Keras-style classes with a hand-written `__init__(self, ..., **kwargs)`."""

    _supports_masking_by_default: ClassVar[bool] = False   # layers that pass masks on

    _: KW_ONLY
    name: str | None = None
    trainable: bool = True
    dtype: str | None = None
    input_shape: tuple | None = None
    input_dim: int | None = None

    def __init_subclass__(cls, **kwargs) -> None:
        """Every subclass, even one a user decorates with a plain `@dataclass`, keeps identity
        equality and hashing (graphs key on layers) and the config repr: `@dataclass` does
        not replace methods a class already defines."""
        super().__init_subclass__(**kwargs)
        for name, method in (("__eq__", object.__eq__), ("__hash__", object.__hash__),
                             ("__repr__", Layer.__repr__)):
            if name not in cls.__dict__:
                setattr(cls, name, method)
        if "build" in cls.__dict__:
            cls.build = _marks_built(cls.__dict__["build"])

    def __new__(cls, *args, **kwargs):
        layer = super().__new__(cls)
        try:   # remember the constructor arguments, so get_config can return them (as Keras 3)
            bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
        except TypeError:
            bound = None
        arguments = dict(bound.arguments) if bound else {}
        arguments.pop(next(iter(arguments), None), None)   # self
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.kind is p.VAR_KEYWORD:
                arguments.update(arguments.pop(p.name, {}))
            elif p.kind is p.VAR_POSITIONAL:
                arguments.pop(p.name, None)
        object.__setattr__(layer, "_init_arguments", arguments)
        return layer

    def __post_init__(self) -> None:
        self._trainable_variables: list[Variable] = []
        self._non_trainable_variables: list[Variable] = []
        self._layers: list[Layer] = []
        self._inbound_nodes: list[Node] = []
        self._activity_losses: list = []
        self.built = _built_at_init(type(self))
        self._placement = scoped_device()   # weights made later (build) go here, if set
        if self.name is None:
            self.name = unique_name(snake_case(type(self).__name__))
        require(self, "name", isinstance(self.name, str) and "/" not in self.name,
                "a string without '/'")
        self.dtype = standardize_dtype(self.dtype)
        if self.input_dim is not None and self.input_shape is None:
            self.input_shape = (int(self.input_dim),)
        if self.input_shape is not None:
            self.input_shape = tuple(self.input_shape)

    # ---- attribute tracking -------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        if name == "trainable" and "_layers" in self.__dict__:
            self._set_trainable(bool(value))
        elif not name.startswith("_") and "_layers" in self.__dict__:
            self._track(value)
        object.__setattr__(self, name, value)

    def _track(self, value) -> None:
        if isinstance(value, Layer) and value is not self and value not in self._layers:
            self._layers.append(value)
        elif isinstance(value, Variable) and not any(
                value is v for v in self._trainable_variables + self._non_trainable_variables):
            (self._trainable_variables if value.trainable
             else self._non_trainable_variables).append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                self._track(item)
        elif isinstance(value, dict):
            for item in value.values():
                self._track(item)

    def _set_trainable(self, value: bool) -> None:
        for v in self._trainable_variables:
            v.trainable = value
        for layer in self._layers:
            layer.trainable = value

    # ---- weights --------------------------------------------------------------------------
    def add_weight(self, shape=(), initializer=None, dtype=None, trainable: bool = True,
                   regularizer=None, constraint=None, name: str | None = None) -> Variable:
        """Create a Variable owned by this layer (path 'layer_name/name')."""
        dtype = standardize_dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if is_float(dtype) else "zeros"
        shape = tuple(int(n) for n in shape)
        name = name or f"variable_{len(self._trainable_variables + self._non_trainable_variables)}"
        value = initializers.get(initializer)(shape, dtype=dtype)
        # the device of an enclosing nk.device block now, else the one the layer was made in
        with device(scoped_device() or self._placement or current_device()):
            variable = Variable(value, trainable=trainable and self.trainable, name=name,
                                dtype=dtype, constraint=constraints.get(constraint),
                                regularizer=regularizers.get(regularizer))
        variable.path = f"{self.name}/{name}"
        (self._trainable_variables if trainable else self._non_trainable_variables).append(variable)
        return variable

    @property
    def weights(self) -> list[Variable]:
        """Own trainable, then own non-trainable weights, then each sublayer's weights."""
        return _unique(self._trainable_variables + self._non_trainable_variables
                       + [w for layer in self._layers for w in layer.weights])

    @property
    def trainable_weights(self) -> list[Variable]:
        """The weights whose own `trainable` flag is set now (as Keras: a user may freeze one
        variable after `add_weight`); none when the layer is frozen."""
        if not self.trainable:
            return []
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return self.weights
        return [w for w in self.weights if not w.trainable]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Set every weight from a list of arrays in `get_weights()` order. Checks all counts
        and shapes before changing anything."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"{type(self).__name__} '{self.name}': set_weights expects "
                             f"{len(own)} arrays ({[w.shape for w in own]}); received "
                             f"{len(weights)} arrays")
        arrays = [np.asarray(a) for a in weights]
        for w, a in zip(own, arrays):
            if w.shape != a.shape:
                raise ValueError(f"{type(self).__name__} '{self.name}': weight '{w.path}' has "
                                 f"shape {w.shape}; received an array of shape {a.shape}")
        for w, a in zip(own, arrays):
            w.assign(a)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"{type(self).__name__} '{self.name}': count_params needs a built "
                             "layer; call it on an input or call build(input_shape) first")
        return int(sum(w.size for w in self.weights))

    # ---- saving: the saveable protocol of nbkeras/saving/walker.py --------------------------
    def save_own_variables(self, store) -> None:
        """Write this layer's own variables (not its sublayers') to `store`, a dict-like
        keyed "0", "1", ...: trainable first, then non-trainable, in creation order (Keras's
        order). Override it, with `load_own_variables`, to save a different state."""
        for i, variable in enumerate(self._trainable_variables + self._non_trainable_variables):
            store[str(i)] = variable

    def load_own_variables(self, store) -> None:
        """Assign what `save_own_variables` wrote back to this layer's own variables; a
        different count is a ValueError (Keras's messages)."""
        own = self._trainable_variables + self._non_trainable_variables
        if len(store.keys()) != len(own):
            if not own and not self.built:
                raise ValueError(f"Layer '{self.name}' was never built and thus it doesn't have "
                                 f"any variables. However the weights file lists "
                                 f"{len(store.keys())} variables for this layer. Build it the "
                                 "way it was built when saved (call it on an input, or call "
                                 "`build`) before loading.")
            raise ValueError(f"Layer '{self.name}' expected {len(own)} variables, but received "
                             f"{len(store.keys())} variables during loading. Expected: "
                             f"{[v.name for v in own]}")
        for i, variable in enumerate(own):
            variable.assign(store[str(i)])

    def _saveable_children(self) -> list[tuple[str, object]]:
        """What the saving walker visits after this layer's own variables: (name, child)
        pairs, a child being a layer or a list/tuple/dict of them. The public attributes
        holding one, sorted by name (a class's `layers` property among them, as Keras's
        `dir()` lists a model's), then, as `_layers`, any sublayer no attribute holds."""
        attributes = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        if isinstance(getattr(type(self), "layers", None), property):
            attributes["layers"] = self.layers
        children = [(name, attributes[name]) for name in sorted(attributes)
                    if isinstance(attributes[name], (Layer, list, tuple, dict))]
        held = {id(layer) for _, child in children for layer in _layers_in(child)}
        leftovers = [layer for layer in self._layers if id(layer) not in held]
        return children + ([("_layers", leftovers)] if leftovers else [])

    @property
    def losses(self) -> list:
        """Activity-regularization losses of the last call and the weight regularization
        terms (computed now, so a GradientTape sees them). Inside a StatelessScope, the losses
        added in the scope (with `collect_losses`) and the regularization of the scope's
        values."""
        scope = get_stateless_scope()
        added = self._activity_losses if scope is None else scope.losses_of(self)
        own = list(added) + [v.regularizer(v) for v in
                             self._trainable_variables + self._non_trainable_variables
                             if v.regularizer is not None]
        return own + [loss for layer in self._layers for loss in layer.losses]

    def add_loss(self, loss) -> None:
        """Add a loss (a scalar Tensor) of this call; inside a StatelessScope it goes to the
        scope, which keeps it when it collects losses."""
        scope = get_stateless_scope()
        if scope is None:
            self._activity_losses.append(loss)
        elif scope.collect_losses:
            scope.add_loss(loss, self)

    def stateless_call(self, trainable_variables, non_trainable_variables, *args,
                       return_losses: bool = False, **kwargs):
        """`call(*args, **kwargs)` with the weights taking the given values (lists in
        `trainable_variables` / `non_trainable_variables` order), changing no Variable, as
        Keras. Returns `(outputs, non_trainable_variables)` (their values after the call, e.g.
        updated BatchNormalization statistics), plus the call's losses with `return_losses`."""
        name = type(self).__name__
        if not self.built:
            raise ValueError(f"To call stateless_call, {name} must be built (i.e. its "
                             "variables must have been already created). You can build it by "
                             "calling it on some data.")
        for argument, given, own in (
                ("trainable_variables", trainable_variables, self.trainable_variables),
                ("non_trainable_variables", non_trainable_variables,
                 self.non_trainable_variables)):
            if len(given) != len(own):
                raise ValueError(f"Argument `{argument}` must be a list of tensors "
                                 f"corresponding 1:1 to {name}().{argument}. Received list "
                                 f"with length {len(given)}, but expected {len(own)} "
                                 "variables.")
        mapping = (list(zip(self.trainable_variables, trainable_variables))
                   + list(zip(self.non_trainable_variables, non_trainable_variables)))
        with StatelessScope(state_mapping=mapping, collect_losses=return_losses) as scope:
            outputs = self.call(*args, **kwargs)
            losses = self.losses if return_losses else None
        non_trainable = [scope.get_current_value(v) for v in self.non_trainable_variables]
        if return_losses:
            return outputs, non_trainable, losses
        return outputs, non_trainable

    # ---- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The dataclass fields (serialized), plus any constructor arguments of a Keras-style
        subclass that are not fields."""
        fields = sorted(dataclasses.fields(self), key=lambda f: f.kw_only)  # own config first
        config = {f.name: _serialize(getattr(self, f.name)) for f in fields
                  if f.init and not f.name.startswith("_")}
        for key, value in self._init_arguments.items():
            config.setdefault(key, _serialize(value))
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    # ---- build config (Keras's `build_config` entry of a saved layer) -------------------------
    def get_build_config(self) -> dict | None:
        """`{"input_shape": shape}` the layer was built for (`{"shapes_dict": {name: shape}}`
        when `build` took several shapes), as Keras; None when `build` never ran."""
        shapes = self.__dict__.get("_build_shapes_dict")
        if shapes is None:
            return None
        if len(shapes) == 1:
            return {"input_shape": next(iter(shapes.values()))}
        return {"shapes_dict": dict(shapes)}

    def build_from_config(self, config: dict | None) -> None:
        """Make the weights `get_build_config()` describes: `build(input_shape)`, or
        `build(**shapes_dict)`."""
        if not config:
            return
        if "input_shape" in config:
            self.build(_as_shapes(config["input_shape"]))
        elif "shapes_dict" in config:
            self.build(**{key: _as_shapes(v) for key, v in config["shapes_dict"].items()})

    # ---- shapes and building ----------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the weights for inputs of `input_shape` (a tuple, or a list of tuples).
        Every subclass's `build` marks the layer built when it returns (`_marks_built`)."""
        self.built = True

    def compute_output_shape(self, input_shape):
        """Output shape(s) for `input_shape`, by running `call` on symbolic tensors."""
        out = self._call_with_context(_shapes_to_tensors(input_shape, self.dtype), {})
        return map_structure(lambda t: t.shape, out)

    def _maybe_build(self, inputs, kwargs=None) -> None:
        self._assert_input_compatibility(inputs)
        if not self.built:
            self.build(map_structure(lambda t: tuple(t.shape), inputs),
                       **_other_shapes(self.build, kwargs))
            self._assert_input_compatibility(inputs)      # `build` may set the spec

    def _assert_input_compatibility(self, inputs) -> None:
        """Check `inputs` (the first call argument) against `self.input_spec`, if any."""
        assert_input_compatibility(self.__dict__.get("input_spec"), inputs,
                                   f"{type(self).__name__} '{self.name}'")

    def _symbolic_call(self, inputs, **kwargs):
        """Outputs of `call` on KerasTensors: shapes and dtypes, no values."""
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            shapes = self.compute_output_shape(map_structure(lambda t: t.shape, inputs),
                                               **_other_shapes(self.compute_output_shape, kwargs))
            return _shapes_to_tensors(shapes, self.dtype)
        return self._call_with_context(inputs, kwargs)

    # ---- masking ----------------------------------------------------------------------------
    @property
    def supports_masking(self) -> bool:
        """Whether `compute_mask` gives the outputs' masks: as the layer (or its class) sets
        it, else True where the class overrides `compute_mask` (as Keras)."""
        value = self.__dict__.get("_supports_masking")
        if value is None:
            cls = type(self)
            return cls._supports_masking_by_default or cls.compute_mask is not Layer.compute_mask
        return value

    @supports_masking.setter
    def supports_masking(self, value: bool) -> None:
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs, previous_mask):
        """The outputs' mask(s) given the inputs' (None: no mask); by default the inputs'."""
        return previous_mask

    def _pass_mask(self, inputs, kwargs):
        """The inputs' masks, given to `call` as Keras does when it takes them and none was
        given: as `mask` for a call on one tensor argument, else as `<argument>_mask` for each
        tensor argument (MultiHeadAttention's query_mask, value_mask, key_mask). Returns the
        mask the outputs' masks derive from."""
        parameters = _call_parameters(type(self))
        tensors = {name: value for name, value in kwargs.items() if name != "mask"
                   and any(isinstance(x, Tensor) for x in flatten(value))}
        if tensors:
            tensors[_positional_parameters(type(self))[0]] = inputs
            for name, value in tensors.items():
                masks = map_structure(_mask_of, value)
                if f"{name}_mask" in parameters and kwargs.get(f"{name}_mask") is None and any(
                        m is not None for m in flatten(masks)):
                    kwargs[f"{name}_mask"] = masks
        given = kwargs.get("mask")
        if given is not None:
            return given
        masks = map_structure(_mask_of, inputs)
        if not tensors and "mask" in parameters and any(m is not None for m in flatten(masks)):
            kwargs["mask"] = masks
        return masks

    def _set_output_masks(self, inputs, outputs, previous_mask) -> None:
        """Attach compute_mask's masks to outputs without one; a layer that does not support
        masking drops the mask, with Keras's warning."""
        if not self.supports_masking:
            if any(m is not None for m in flatten(previous_mask)):
                warnings.warn(f"Layer '{self.name}' (of type {type(self).__name__}) was passed "
                              "an input with a mask attached to it. However, this layer does "
                              "not support masking and will therefore destroy the mask "
                              "information. Downstream layers will not see the mask.",
                              stacklevel=3)
            return
        tensors = [t for t in flatten(outputs) if isinstance(t, (Tensor, KerasTensor))]
        if all(t._keras_mask is not None for t in tensors):
            return
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        for tensor, mask in zip(flatten(outputs), flatten(masks)):
            if isinstance(tensor, (Tensor, KerasTensor)) and tensor._keras_mask is None \
                    and mask is not None:
                tensor._keras_mask = (mask if isinstance(mask, (Tensor, KerasTensor))
                                      else convert_to_tensor(mask))

    # ---- calling ----------------------------------------------------------------------------
    def call(self, inputs, *args, **kwargs):
        return inputs

    def __call__(self, *args, training=None, mask=None, **kwargs):
        by_position = len(args)
        inputs, args = self._first_argument(args, kwargs)
        if args:
            kwargs = self._name_positional(args, kwargs)
        if training is not None:
            kwargs["training"] = training
        if mask is not None:
            kwargs["mask"] = mask
        if any(isinstance(x, KerasTensor) for x in flatten((inputs, kwargs))):
            return self._call_symbolic(inputs, kwargs, by_position)
        placement = self._home_device()
        if placement is not None and placement != current_device():
            with device(placement):          # inputs follow the weights (fit, predict, calls)
                return self._call_eagerly(inputs, kwargs)
        return self._call_eagerly(inputs, kwargs)

    def _first_argument(self, args: tuple, kwargs: dict) -> tuple:
        """(the first argument of `call`, the other positional arguments): the first by
        position, else taken out of `kwargs` by its name (`mha(query=q, value=v)`)."""
        if args:
            return args[0], args[1:]
        names = _positional_parameters(type(self))
        if not names or names[0] not in kwargs:
            raise TypeError(f"{type(self).__name__} '{self.name}': call needs its first "
                            f"argument{f' {names[0]!r}' if names else ''}, by position or name")
        return kwargs.pop(names[0]), ()

    def _name_positional(self, args, kwargs) -> dict:
        """Extra positional call arguments as keywords, by the names `call` gives them
        (MultiHeadAttention(query, value, key))."""
        names = _positional_parameters(type(self))[1:]
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} '{self.name}': call takes {len(names) + 1} "
                            f"positional arguments; received {len(args) + 1}")
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__} '{self.name}': {name!r} given both by "
                                "position and by keyword")
            kwargs[name] = value
        return kwargs

    def _home_device(self) -> str | None:
        """Where this layer computes: its weights' device, else the `nk.device` block it was
        made in; None when neither is known."""
        return self._weights_device() or self.__dict__.get("_placement")

    def _weights_device(self) -> str | None:
        """The device of this layer's (or its first sublayer's) weights; None without any."""
        own = self._trainable_variables or self._non_trainable_variables
        if own:
            return canonical(own[0].device)
        for layer in self._layers:
            placement = layer._weights_device()
            if placement is not None:
                return placement
        return None

    def _call_eagerly(self, inputs, kwargs):
        inputs = map_structure(self._convert_input, inputs)
        for key, value in kwargs.items():      # tensor arguments (value, key, initial_state)
            if key != "mask" and any(isinstance(x, (np.ndarray, Tensor)) for x in flatten(value)):
                kwargs[key] = map_structure(self._convert_input, value)
        self._maybe_build(inputs, kwargs)
        if get_stateless_scope() is None:      # a stateless call keeps the last call's losses
            self._activity_losses = []
        previous_mask = self._pass_mask(inputs, kwargs)
        outputs = self._call_with_context(inputs, kwargs)
        self._set_output_masks(inputs, outputs, previous_mask)
        activity_regularizer = regularizers.get(getattr(self, "activity_regularizer", None))
        if activity_regularizer is not None:   # per sample, as Keras 3: over the batch size
            for y in flatten(outputs):
                self.add_loss(_per_sample(activity_regularizer(y), y))
        return outputs

    def _convert_input(self, x):
        """Arrays become Tensors; float inputs are cast to the layer's dtype (as Keras)."""
        if x is None or isinstance(x, (bool, str)):
            return x
        tensor = x if isinstance(x, Tensor) else convert_to_tensor(x)
        if is_float(tensor.dtype) and tensor.dtype != self.dtype:
            mask, tensor = tensor._keras_mask, cast(tensor, self.dtype)
            tensor._keras_mask = mask
        return tensor

    def _call_with_context(self, inputs, kwargs):
        """Run `call` with `training` resolved as Keras does: the caller's, else the enclosing
        call's, else the default of this `call`'s own `training` argument (None stays None, so
        a model called without `training` lets RandomFlip augment and Dropout rest)."""
        training = kwargs.pop("training", None)
        if training is None and _training_context:
            training = _training_context[-1]
        parameters = _call_parameters(type(self))
        if training is None and "training" in parameters:
            default = parameters["training"].default
            training = None if default is inspect.Parameter.empty else default
        if training is not None and ("training" in parameters or "kwargs" in parameters):
            kwargs["training"] = bool(training)
        if "mask" not in parameters and "kwargs" not in parameters:
            kwargs.pop("mask", None)
        _training_context.append(training)
        try:
            return self.call(inputs, **kwargs)
        finally:
            _training_context.pop()

    def _call_symbolic(self, inputs, kwargs, by_position: int | None = None):
        """The symbolic call's outputs and graph node; `by_position`: how many of the
        arguments the caller gave by position (0: `inputs` by name), which the node keeps
        for the functional config (None: unknown)."""
        try:
            self._maybe_build(inputs, kwargs)
            with SymbolicScope():
                outputs = self._symbolic_call(inputs, **dict(kwargs))
        except (ValueError, TypeError) as error:
            raise ValueError(_flow_error(self, inputs, error)) from error
        recorded, filled, previous_mask = self._symbolic_masks(inputs, kwargs)
        specs = [t.spec for t in flatten(outputs)]
        names = [self.name] if len(specs) == 1 else [f"{self.name}_{i}" for i in range(len(specs))]
        node = Node(self, (inputs,), recorded, specs, names)
        node.by_position = by_position
        node.filled = filled
        self._inbound_nodes.append(node)
        outputs = pack_like(outputs, node.outputs)
        self._set_output_masks(inputs, outputs, previous_mask)
        return outputs

    def _symbolic_masks(self, inputs, kwargs: dict) -> tuple[dict, frozenset, object]:
        """(the node's keyword arguments, the names among them the call filled in, the mask
        the outputs' masks derive from) of a symbolic call, as Keras's: the inputs' symbolic
        masks go into `mask` where Keras's `Layer.__call__` fills it in and records it
        (call_records.keras_fills_in), so the graph computes the mask and its config names
        it. Elsewhere masks reach `call` on values (`_pass_mask`)."""
        from ..saving.call_records import keras_call_parameters, keras_fills_in

        given = kwargs.get("mask")
        if given is not None:
            return kwargs, frozenset(), given
        masks = map_structure(_mask_of, inputs)
        if (any(m is not None for m in flatten(masks))
                and "mask" in keras_call_parameters(type(self))
                and keras_fills_in(self, [inputs], kwargs)):
            return {**kwargs, "mask": masks}, frozenset({"mask"}), masks
        return kwargs, frozenset(), masks

    # ---- graph views --------------------------------------------------------------------------
    def _first_node(self, what: str) -> Node:
        if not self._inbound_nodes:
            raise AttributeError(f"{type(self).__name__} '{self.name}' has no {what}: it has not "
                                 "been called on a symbolic input (nk.Input)")
        return self._inbound_nodes[0]

    @property
    def input(self):
        node = self._first_node("input")
        return node.args[0]

    @property
    def output(self):
        outputs = self._first_node("output").outputs
        return outputs[0] if len(outputs) == 1 else outputs

    def __repr__(self) -> str:
        """`Dense(units=3, activation='relu', name='dense')`: the config entries that differ
        from their defaults, then the name."""
        defaults = {f.name: f.default for f in dataclasses.fields(self)
                    if f.default is not dataclasses.MISSING}
        config = self.get_config()
        shown = [f"{k}={v!r}" for k, v in config.items()
                 if k != "name" and (k not in defaults or defaults[k] != v)]
        return f"{type(self).__name__}({', '.join(shown + [f'name={self.name!r}'])})"


def _mask_of(x):
    return x._keras_mask if isinstance(x, (Tensor, KerasTensor)) else None


def _per_sample(loss, output):
    """An activity loss divided by the output's batch size (a scalar output: as it is)."""
    return divide(loss, output.shape[0]) if len(output.shape) else loss


def _marks_built(build):
    """`build` that marks the layer built when it returns, whoever called it (a user's
    `layer.build(shape)` then `set_weights` must survive the next call, as in Keras), and
    records the shapes it was given for `get_build_config`."""
    signature = inspect.signature(build)

    @functools.wraps(build)
    def build_and_mark(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        shapes = signature.bind(self, *args, **kwargs).arguments
        shapes.pop(next(iter(shapes)))   # self
        self._build_shapes_dict = shapes
        return result
    return build_and_mark


Layer.build = _marks_built(Layer.build)

# The layers Keras 3.15 marks built in `__init__` (`_build_at_init`; Reshape sets `built`):
# no call builds them, so they record no shapes and write no `build_config`. nbkeras's
# `_SpatialDropout` stands for Keras's SpatialDropout*, which subclass Dropout.
_KERAS_BUILT_AT_INIT = frozenset({
    "Activation", "ActivityRegularization", "AlphaDropout", "BaseGlobalPooling", "BasePooling",
    "Dropout", "ELU", "GaussianDropout", "GaussianNoise", "Identity", "LeakyReLU", "Masking",
    "ReLU", "Reshape", "Softmax", "UnitNormalization", "_SpatialDropout"})


def _built_at_init(cls: type) -> bool:
    """Whether a new `cls` layer is built, as Keras's: one of those classes or a subclass of
    one, whose `build` nobody overrides."""
    return cls.build is Layer.build and any(
        c.__name__ in _KERAS_BUILT_AT_INIT and c.__module__.startswith("nbkeras.layers.")
        for c in cls.__mro__)


def _as_shapes(value):
    """A shape from a JSON config (lists) as tuples: a shape, or a list or dict of them."""
    if isinstance(value, dict):
        return {key: _as_shapes(v) for key, v in value.items()}
    if _is_shape(value):
        return tuple(value)
    if isinstance(value, (list, tuple)):
        return [_as_shapes(v) for v in value]
    return value


def _layers_in(value):
    """The layers in `value`: a layer, or a list/tuple/dict nesting them."""
    if isinstance(value, Layer):
        yield value
    elif isinstance(value, (list, tuple, dict)):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _layers_in(item)


def _unique(variables: list[Variable]) -> list[Variable]:
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _serialize(value):
    if hasattr(value, "get_config") and not isinstance(value, type):
        return {"class_name": type(value).__name__, "config": value.get_config()}
    return value


_parameter_cache: dict[type, dict[str, inspect.Parameter]] = {}
_positional_cache: dict[type, list[str]] = {}


def _call_parameters(cls: type) -> dict[str, inspect.Parameter]:
    if cls not in _parameter_cache:
        _parameter_cache[cls] = dict(inspect.signature(cls.call).parameters)
    return _parameter_cache[cls]


def _positional_parameters(cls: type) -> list[str]:
    """`call`'s parameters that can be given by position, after self, in order."""
    if cls not in _positional_cache:
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        _positional_cache[cls] = [p.name for p in list(
            inspect.signature(cls.call).parameters.values())[1:] if p.kind in kinds]
    return _positional_cache[cls]


def _other_shapes(method, kwargs) -> dict:
    """The shapes of the call's other tensor arguments, for a `build` or
    `compute_output_shape` that takes them as `<argument>_shape` (Keras's convention:
    MultiHeadAttention.build(query_shape, value_shape, key_shape=None))."""
    if not kwargs:
        return {}
    names = list(inspect.signature(method).parameters)[1:]
    return {name: map_structure(lambda t: tuple(t.shape), kwargs[name[:-6]])
            for name in names if name.endswith("_shape") and kwargs.get(name[:-6]) is not None}


def _is_shape(value) -> bool:
    return isinstance(value, (list, tuple)) and all(n is None or isinstance(n, (int, np.integer))
                                                    for n in value)


def _shapes_to_tensors(shapes, dtype):
    """KerasTensors for a shape, or for a list or dict of shapes."""
    if isinstance(shapes, dict):
        return {k: _shapes_to_tensors(v, dtype) for k, v in shapes.items()}
    if _is_shape(shapes):
        return KerasTensor(tuple(shapes), dtype)
    return [_shapes_to_tensors(s, dtype) for s in shapes]


def _flow_error(layer: Layer, inputs, error: Exception) -> str:
    """'Dense 'dense_1' cannot take the output of Flatten 'flatten' (shape (None, 3)): ...'."""
    sources = []
    for t in flatten(inputs):
        if isinstance(t, KerasTensor):
            producer = t.node.operation if t.node is not None else None
            who = (f"{type(producer).__name__} '{producer.name}'" if isinstance(producer, Layer)
                   else "an input")
            sources.append(f"{who} (shape {t.shape})")
    return (f"{type(layer).__name__} '{layer.name}' cannot take the output of "
            f"{', '.join(sources)}: {error}")
