"""Optimizer base, as `keras.optimizers.Optimizer` (Keras 3): learning rate or schedule,
`iterations`, lazily built slot variables, gradient clipping, decoupled weight decay,
constraints after the step, an exponential moving average of the variables (`use_ema`),
gradient accumulation (`gradient_accumulation_steps`), config round trip.

One `apply` call: drop None gradients, cast each gradient to its variable's dtype, unscale
(`loss_scale_factor`), clip (`clipnorm` per variable, `global_clipnorm` over all, or
`clipvalue`) in numpy, then run one fused kernel per variable that applies the weight decay
`w -= w * weight_decay * lr` and the update rule in place, then each variable's
`constraint`, then `iterations += 1`. With `use_ema`, the averages are updated after the
kernels and before the constraints, as Keras does. With `gradient_accumulation_steps=N`,
the gradients are summed into accumulators and only every N-th `apply` clips and applies
their mean (then zeroes them); the schedule still reads the real step count, while
`iterations` and every step-dependent term (bias corrections, EMA) count updates
(steps // N), as Keras. Subclasses declare their slots (`slot_groups`) and call their kernel
in `update_step`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numbers
import re
import warnings
from typing import Any, Callable, Iterable

import numpy as np

from .. import config as nk_config
from .. import initializers, ops
from ..core.device import device, kernels_for
from ..core.stateless_scope import StatelessScope
from ..core.tensor import Tensor, Variable
from ..layers.layer import unique_name
from ..ops import convert_to_tensor
from ..serialization import snake_case
from . import schedules

LearningRate = float | schedules.LearningRateSchedule | Callable[[], float]

def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class Optimizer(ABC):
    """Base class of the optimizers. A subclass defines `slot_groups()`, `update_step()`,
    its hyperparameters in `__init__` and `get_config()` (adding to the base's config)."""

    def __init__(self, learning_rate: LearningRate, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None,
                 **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if gradient_accumulation_steps and (
                not isinstance(gradient_accumulation_steps, numbers.Integral)
                or isinstance(gradient_accumulation_steps, bool)
                or gradient_accumulation_steps < 2):
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps!r}")
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError("`ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        clip_args = dict(clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm)
        if sum(value is not None for value in clip_args.values()) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        for key, value in dict(clip_args, weight_decay=weight_decay,
                               loss_scale_factor=loss_scale_factor).items():
            if value is not None and not _is_number(value):
                raise ValueError(f"{type(self).__name__}: `{key}` must be a float or None; "
                                 f"received {key}={value!r}")
        self.name = name if name is not None else unique_name(snake_case(type(self).__name__))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._learning_rate = self._checked_learning_rate(learning_rate)
        with device("cpu"):            # a host scalar: read every step to schedule it
            self._iterations = Variable(0, trainable=False, name="iteration", dtype="int64")
        self._variables: list[Variable] = [self._iterations]
        self._trainable_variables: list[Variable] = []
        self._index: dict[int, int] = {}
        self._slots: list[list[Variable]] = []
        self._model_variables_moving_average: list[Variable] = []
        self._accumulated_gradients: list[Variable] = []
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern | None = None
        self.built = False

    # ---- learning rate -------------------------------------------------------------------

    @staticmethod
    def _checked_learning_rate(learning_rate: LearningRate) -> LearningRate:
        if isinstance(learning_rate, schedules.LearningRateSchedule) or callable(learning_rate):
            return learning_rate
        if not _is_number(learning_rate):
            raise ValueError("Argument `learning_rate` should be float, or an instance of "
                             "LearningRateSchedule, or a callable (that takes in the current "
                             "iteration value and returns the corresponding learning rate "
                             f"value). Received instead: learning_rate={learning_rate!r}")
        return float(learning_rate)

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step (a schedule is evaluated at `iterations`)."""
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return float(self._learning_rate(self._iterations))
        if callable(self._learning_rate):
            return float(self._learning_rate())
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: LearningRate) -> None:
        if (not isinstance(learning_rate, schedules.LearningRateSchedule)
                and not callable(learning_rate)
                and isinstance(self._learning_rate, schedules.LearningRateSchedule)):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object "
                            "as its `learning_rate` constructor argument, hence its learning "
                            "rate is not settable. If you need the learning rate to be "
                            "settable, you should instantiate the optimizer with a float "
                            "`learning_rate` argument.")
        self._learning_rate = self._checked_learning_rate(learning_rate)

    # ---- state ---------------------------------------------------------------------------

    @property
    def iterations(self) -> Variable | Tensor:
        """Steps applied so far: a non-trainable int64 Variable; with
        `gradient_accumulation_steps=N`, the updates made so far (steps // N, a Tensor), as
        Keras."""
        if self.gradient_accumulation_steps:
            return Tensor(np.asarray(self._update_count(), dtype=np.int64))
        return self._iterations

    def _update_count(self) -> int:
        """Updates applied so far: `apply` calls, or their number // gradient_accumulation_steps."""
        steps = int(self._iterations.data)
        return steps // self.gradient_accumulation_steps if self.gradient_accumulation_steps \
            else steps

    @property
    def variables(self) -> list[Variable]:
        """`iterations`, the EMA averages, the gradient accumulators, then the slot variables
        in the order `build` made them (Keras's order)."""
        return list(self._variables)

    def slot_groups(self) -> list[tuple[str, ...]]:
        """The slot variables per model variable, as groups of names: `build` makes each group
        for every variable in turn (names within a group interleave per variable), so the
        order of `variables` is Keras's. `update_step` receives one variable's slots in the
        order the groups list them. No slots by default."""
        return []

    def slot_initial_value(self, slot_name: str) -> float:
        """The constant a new slot variable starts from (0 unless a subclass says otherwise)."""
        return 0.0

    def build(self, var_list: Iterable[Variable]) -> None:
        """Create the slot variables of `var_list` (once; `apply` calls it on first use)."""
        if self.built:
            return
        var_list = list(var_list)
        self._trainable_variables = var_list
        self._index = {id(variable): i for i, variable in enumerate(var_list)}
        self._slots = [[] for _ in var_list]
        for group in self.slot_groups():
            for i, variable in enumerate(var_list):
                for slot_name in group:
                    self._slots[i].append(self.add_variable_from_reference(
                        variable, slot_name, initializer=self.slot_initial_value(slot_name)))
        self.built = True
        self._build_ema()
        self._build_gradient_accumulators()

    def _build_ema(self) -> None:
        """With `use_ema`, one zero-initialized `average` per trainable variable (once), placed
        right after `iterations` in `variables`, where Keras's base `build` puts them (before
        the subclass's slots). `apply` calls it too, for subclasses whose `build` does not
        reach the base's."""
        if not self.use_ema or self._model_variables_moving_average:
            return
        start = len(self._variables)
        averages = [self.add_variable_from_reference(variable, "average")
                    for variable in self._trainable_variables]
        del self._variables[start:]
        self._variables[1:1] = averages
        self._model_variables_moving_average = averages

    def _build_gradient_accumulators(self) -> None:
        """With `gradient_accumulation_steps`, one zero-initialized `gradient_accumulator` per
        trainable variable (once), placed after `iterations` and the EMA averages, as Keras's
        base `build` orders them. `apply` calls it too, as `_build_ema`."""
        if not self.gradient_accumulation_steps or self._accumulated_gradients:
            return
        start = len(self._variables)
        accumulators = [self.add_variable_from_reference(variable, "gradient_accumulator")
                        for variable in self._trainable_variables]
        del self._variables[start:]
        position = 1 + len(self._model_variables_moving_average)
        self._variables[position:position] = accumulators
        self._accumulated_gradients = accumulators

    def add_variable(self, shape, initializer="zeros", dtype=None,
                     name: str | None = None) -> Variable:
        """A non-trainable optimizer variable, tracked in `variables`. `initializer` is an
        initializer identifier or a constant."""
        if _is_number(initializer):
            value = np.full(tuple(shape), initializer, dtype=dtype or nk_config.floatx())
        else:
            value = initializers.get(initializer)(tuple(shape), dtype)
        variable = Variable(value, trainable=False, name=name or "variable", dtype=dtype)
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(self, reference_variable: Variable, name: str | None = None,
                                    initializer="zeros") -> Variable:
        """A variable with the reference's shape and dtype, named '<path>_<name>' as Keras."""
        path = getattr(reference_variable, "path", None) or reference_variable.name
        with device(reference_variable.device):     # slots live with their variable
            return self.add_variable(reference_variable.shape, initializer,
                                     dtype=reference_variable.dtype,
                                     name=f"{path.replace('/', '_')}_{name or 'var'}")

    # ---- weight decay --------------------------------------------------------------------

    def exclude_from_weight_decay(self, var_list: Iterable[Variable] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Skip weight decay for the variables in `var_list` and for every variable whose name
        contains one of `var_names` (regular expressions, as Keras). Call before building."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the "
                             "optimizer is built.")
        self._exclude_ids = {id(variable) for variable in var_list or ()}
        var_names = list(var_names or ())
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable: Variable) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern is not None
                    and self._exclude_pattern.search(variable.name) is not None)

    # ---- applying gradients --------------------------------------------------------------

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> Variable:
        """Apply `(gradient, variable)` pairs; returns `iterations`."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(list(grads), list(variables))
        return self._iterations

    def _variables_to_apply(self, trainable_variables) -> list:
        """The variables `apply` updates: `trainable_variables` as a list, or, when None, the
        ones the optimizer was built on."""
        if trainable_variables is not None:
            return list(trainable_variables)
        if not self.built:
            raise ValueError("When passing `grads` without `variables`, the optimizer must "
                             "already be built on a list of variables. Call "
                             "`optimizer.build(trainable_variables)` first.")
        return list(self._trainable_variables)

    def apply(self, grads: Iterable, trainable_variables: Iterable[Variable] | None = None) -> None:
        """One optimizer step. `grads` pairs with `trainable_variables` (or, once built, with
        the variables the optimizer was built on); None gradients are skipped."""
        grads = list(grads)
        if not grads:
            return
        variables = self._variables_to_apply(trainable_variables)
        if trainable_variables is not None:
            self.build(variables)
            for variable in variables:
                if id(variable) not in self._index:
                    raise ValueError(f"Unknown variable: {variable}. This optimizer can only be "
                                     "called for the variables it was originally built with. "
                                     "When working with a new set of variables, you should "
                                     "recreate a new optimizer instance.")
        if len(grads) != len(variables):
            raise ValueError(f"{type(self).__name__}: received {len(grads)} gradients for "
                             f"{len(variables)} variables")
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if len(pairs) < len(variables):
            missing = [v.path for g, v in zip(grads, variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the "
                          "loss. If using `model.compile()`, did you forget to provide a "
                          "`loss` argument?", stacklevel=2)
        variables = [v for _, v in pairs]
        grads = [self._gradient_array(g, v) for g, v in pairs]
        self._build_ema()
        self._build_gradient_accumulators()
        if self.gradient_accumulation_steps:
            grads = self._accumulate(grads, variables)
        if grads is not None:
            grads = self._clip(grads, variables)
            learning_rate = self.learning_rate
            self.prepare_step()
            for grad, variable in zip(grads, variables):
                decay = (self.weight_decay * learning_rate if self.weight_decay is not None
                         and self._use_weight_decay(variable) else 0.0)
                self._update_variable(grad, variable, learning_rate, decay)
        if self.use_ema:
            self._update_model_variables_moving_average(self._trainable_variables)
            if (self.ema_overwrite_frequency
                    and (self._update_count() + 1) % self.ema_overwrite_frequency == 0):
                self._overwrite_model_variables_with_average_value(self._trainable_variables)
        for variable in variables:
            if getattr(variable, "constraint", None) is not None:   # on the host (numpy)
                variable.assign(variable.constraint(variable.numpy()))
        self._iterations.assign(self._iterations.data + 1)

    def _accumulate(self, grads: list, variables: list[Variable]) -> list | None:
        """Add the gradients to their accumulators and return None, except on every
        `gradient_accumulation_steps`-th step: then return (gradient + accumulator) / N and
        zero those accumulators."""
        steps = self.gradient_accumulation_steps
        accumulators = [self._accumulated_gradients[self._index[id(v)]] for v in variables]
        sums = [kernels_for(v.device).add(g, acc.data)
                for g, acc, v in zip(grads, accumulators, variables)]
        if (int(self._iterations.data) + 1) % steps != 0:
            for accumulator, total in zip(accumulators, sums):
                accumulator.assign(total)
            return None
        for accumulator in accumulators:
            accumulator.assign(np.zeros(accumulator.shape, accumulator.data.dtype))
        return [kernels_for(v.device).divide(total, total.dtype.type(steps))
                for total, v in zip(sums, variables)]

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """`apply` on given values, changing no Variable, as Keras: `optimizer_variables`
        pairs with `variables`, `trainable_variables` with the variables the optimizer was
        built on. Returns `(trainable_variables, optimizer_variables)`: the values after the
        step (Tensors)."""
        if not self.built:
            raise ValueError(f"To call `stateless_apply`, {type(self).__name__} must be built "
                             "(i.e. its variables must have been created). You can build it "
                             "via `optimizer.build(trainable_variables)`.")
        if len(optimizer_variables) != len(self.variables):
            raise ValueError("Argument `optimizer_variables` must be a list of tensors "
                             f"corresponding 1:1 to {type(self).__name__}().variables. Received "
                             f"list with length {len(optimizer_variables)}, but expected "
                             f"{len(self.variables)} variables.")
        if len(trainable_variables) != len(self._trainable_variables):
            raise ValueError("Argument `optimizer_variables` must be a list of tensors "
                             "corresponding 1:1 to the trainable variables list that the "
                             "optimizer was built with. Received len(trainable_variables) == "
                             f"{len(trainable_variables)} whereas the optimizer was built with "
                             f"{len(self._trainable_variables)} variables.")
        mapping = (list(zip(self._trainable_variables, trainable_variables))
                   + list(zip(self.variables, optimizer_variables)))
        with StatelessScope(state_mapping=mapping) as scope:
            self.apply(grads)
        return ([scope.get_current_value(v) for v in self._trainable_variables],
                [scope.get_current_value(v) for v in self.variables])

    def scale_loss(self, loss):
        """The loss the trainer differentiates: loss * loss_scale_factor when it is set (`apply`
        divides the gradients by it again), else the loss itself."""
        if self.loss_scale_factor is not None:
            return ops.multiply(loss, self.loss_scale_factor)
        return loss

    # ---- exponential moving average -----------------------------------------------------

    def _update_model_variables_moving_average(self, var_list: list[Variable]) -> None:
        """average = m * average + (1 - m) * variable, in the variable's dtype, with m =
        ema_momentum, except m = 0 until the first update is counted (the average starts at
        the variable)."""
        momentum = self.ema_momentum if self._update_count() != 0 else 0.0
        for variable, average in zip(var_list, self._model_variables_moving_average):
            k = kernels_for(variable.device)
            m = variable.data.dtype.type(momentum)
            one_minus = variable.data.dtype.type(1) - m
            average.assign(k.add(k.multiply(average.data, m),
                                 k.multiply(variable.data, one_minus)))

    def _overwrite_model_variables_with_average_value(self, var_list: list[Variable]) -> None:
        """Write each average into its model variable."""
        if len(var_list) != len(self._model_variables_moving_average):
            raise ValueError(f"The length of model variables ({len(var_list)}) to override does "
                             "not match the length of model variables stored in the optimizer "
                             f"({len(self._model_variables_moving_average)}). Please check if "
                             "the optimizer was called on your model.")
        for variable, average in zip(var_list, self._model_variables_moving_average):
            variable.assign(average.data)

    def finalize_variable_values(self, var_list: Iterable[Variable]) -> None:
        """Set the final values of the model's trainable variables (`fit` calls it at the end):
        with `use_ema`, each variable becomes its moving average; otherwise nothing."""
        if self.use_ema and self._model_variables_moving_average:
            self._overwrite_model_variables_with_average_value(list(var_list))

    def _gradient_array(self, grad, variable: Variable):
        """The gradient as an array of the variable's device, shape and dtype, unscaled."""
        k = kernels_for(variable.device)
        array = convert_to_tensor(grad, device=variable.device).data
        if tuple(array.shape) != variable.shape:
            raise ValueError(f"{type(self).__name__}: gradient of shape {tuple(array.shape)} for "
                             f"variable '{variable.path}' of shape {variable.shape}")
        if array.dtype != variable.data.dtype:
            array = k.cast(array, variable.data.dtype)
        if self.loss_scale_factor is not None:
            array = k.divide(array, array.dtype.type(self.loss_scale_factor))
        return array

    def _clip(self, grads: list, variables: list[Variable]) -> list:
        """Keras's clipping: each gradient to norm <= clipnorm, all of them together to global
        norm <= global_clipnorm (NaN if that norm is not finite), or each entry to
        [-clipvalue, clipvalue]."""
        devices = [kernels_for(v.device) for v in variables]
        if self.clipnorm and self.clipnorm > 0:
            return [k.multiply(g, g.dtype.type(self.clipnorm / max(_norm(k, g), self.clipnorm)))
                    for k, g in zip(devices, grads)]
        if self.global_clipnorm and self.global_clipnorm > 0:
            norm = float(np.sqrt(sum(_norm(k, g) ** 2 for k, g in zip(devices, grads))))
            scale = self.global_clipnorm / max(norm, self.global_clipnorm) + (norm - norm)
            return [k.multiply(g, g.dtype.type(scale)) for k, g in zip(devices, grads)]
        if self.clipvalue and self.clipvalue > 0:
            return [k.clip(g, g.dtype.type(-self.clipvalue), g.dtype.type(self.clipvalue))
                    for k, g in zip(devices, grads)]
        return grads

    def _update_variable(self, grad, variable: Variable, learning_rate: float,
                         decay: float) -> None:
        """Run `update_step` on flat C-contiguous float32/float64 arrays, writing back any
        array that had to be copied for it (non-contiguous, or float16 computed in float32).
        On "cuda" the variables are contiguous device arrays, updated where they are."""
        slots = self._slots[self._index[id(variable)]]
        k = kernels_for(variable.device)
        if variable.device != "cpu":
            self.update_step(k, variable.data.reshape(-1), grad.reshape(-1),
                             [slot.data.reshape(-1) for slot in slots], learning_rate, decay)
            return
        compute = variable.data.dtype if variable.data.dtype in (np.float32, np.float64) \
            else np.dtype(np.float32)
        arrays = [variable.data] + [slot.data for slot in slots]
        flats = [_flat(array, compute) for array in arrays]
        grad = np.ascontiguousarray(grad, dtype=compute).reshape(-1)
        self.update_step(k, flats[0], grad, flats[1:], learning_rate, decay)
        for array, flat in zip(arrays, flats):
            if not np.may_share_memory(array, flat):
                array[...] = flat.reshape(array.shape)

    def prepare_step(self) -> None:
        """Called once per `apply`, before the per-variable updates (Nadam's schedule)."""

    @abstractmethod
    def update_step(self, k, var: np.ndarray, grad: np.ndarray, slots: list[np.ndarray],
                    learning_rate: float, decay: float) -> None:
        """Update one variable in place: `var`, `grad` and `slots` are flat arrays of one
        dtype; `k` is the kernel module of the variable's device; `decay` is
        weight_decay * learning_rate (0 for none)."""

    def _local_step(self) -> int:
        """t of the update being applied: 1 on the first one."""
        return self._update_count() + 1

    # ---- saving: the saveable protocol of nbkeras/saving/walker.py -------------------------

    def save_own_variables(self, store) -> None:
        """Keras's optimizer state in `store` ("0", "1", ...): `iterations`, the learning rate
        when it is a number (Keras keeps it as a floatx variable; a schedule or a callable is
        not state), then the other `variables` in order."""
        state = list(self._variables)
        if _is_number(self._learning_rate):
            with device("cpu"):
                state.insert(1, Variable(self._learning_rate, trainable=False,
                                         name="learning_rate", dtype=nk_config.floatx()))
        for i, value in enumerate(state):
            store[str(i)] = value

    def load_own_variables(self, store) -> None:
        """Read back what `save_own_variables` wrote; another count (an optimizer not built
        yet, one of another kind, or a file nbkeras wrote before it saved the learning rate)
        is a ValueError. A saved learning rate that is the current one rounded to the saved
        precision leaves the current one as it is."""
        with_rate = _is_number(self._learning_rate)
        expected = len(self._variables) + with_rate
        if len(store.keys()) != expected:
            unbuilt = "" if self.built else (" (it is not built yet: call "
                                             "`optimizer.build(model.trainable_variables)`)")
            raise ValueError(f"Optimizer '{self.name}' expected {expected} variables, but "
                             f"received {len(store.keys())} variables during loading{unbuilt}")
        values = [store[str(i)] for i in range(expected)]
        rate = np.asarray(values.pop(1)) if with_rate else None
        for variable, value in zip(self._variables, values):
            variable.assign(value)
        if rate is not None and np.asarray(self._learning_rate, rate.dtype) != rate:
            self._learning_rate = float(rate)

    # ---- config --------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            learning_rate = schedules.serialize(self._learning_rate)
        else:
            learning_rate = self._learning_rate
        return {"name": self.name, "learning_rate": learning_rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name} learning_rate={self._learning_rate!r}>"


def _norm(k, array) -> float:
    """The L2 norm, accumulated in float64."""
    return float(np.sqrt(np.asarray(k.reduce("sum", k.square(k.cast(array, np.float64)),
                                             None, False))))


def _flat(array: np.ndarray, dtype) -> np.ndarray:
    """A flat C-contiguous array of `dtype`: a view of `array` when possible, else a copy."""
    if array.dtype == dtype and array.flags.c_contiguous:
        return array.reshape(-1)
    return np.ascontiguousarray(array, dtype=dtype).reshape(-1)
