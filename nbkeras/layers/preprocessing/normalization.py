"""Normalization: (x - mean) / sqrt(variance) per feature, with statistics given or learnt by
`adapt` from an array or from batches."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ... import config, ops
from ...core.tensor import Tensor
from ...utils.py_dataset import PyDataset
from ..layer import Layer, require


def _features(batch):
    """The inputs of a batch given as x, (x, y) or (x, y, sample_weight)."""
    return batch[0] if isinstance(batch, tuple) else batch


@dataclass(eq=False)
class Normalization(Layer):
    """x -> (x - mean) / max(sqrt(variance), epsilon) (`invert`: x * max(sqrt(variance),
    epsilon) + mean). The statistics have one value per index of the kept `axis` (an int, a
    tuple, or None for one scalar pair) and are reduced over the other axes. Given `mean` and
    `variance` (numbers or arrays broadcast against the kept axes), they are constants;
    otherwise they are the non-trainable weights [mean, variance, count] (Keras's layout),
    which `adapt(data)` sets. Differentiable in x."""

    _supports_masking_by_default = True

    axis: int | tuple | None = -1
    mean: float | list | None = None
    variance: float | list | None = None
    invert: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        axis = () if self.axis is None else self.axis
        axis = (axis,) if isinstance(axis, (int, np.integer)) else axis
        require(self, "axis", isinstance(axis, (list, tuple))
                and all(isinstance(a, (int, np.integer)) for a in axis),
                "an int, a tuple of ints or None")
        self.axis = tuple(int(a) for a in axis)
        require(self, "mean", (self.mean is None) == (self.variance is None),
                f"given together with variance (variance={self.variance!r})")
        if self.mean is not None:
            require(self, "mean", np.shape(self.mean) == np.shape(self.variance),
                    f"of the shape of variance {np.shape(self.variance)}")
            require(self, "mean", np.ndim(self.mean) <= len(self.axis),
                    f"of rank at most the number of axes {self.axis}")
            self.mean = np.asarray(self.mean, np.float64).tolist()   # Keras's config: lists
            self.variance = np.asarray(self.variance, np.float64).tolist()
        self._build_input_shape = None

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        for a in self.axis:
            if not -ndim <= a < ndim:
                raise ValueError(f"Normalization '{self.name}': every axis must be in [-{ndim}, "
                                 f"{ndim}); received axis={self.axis} for inputs of shape "
                                 f"{tuple(input_shape)}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[a] is None for a in self._keep_axis):
            raise ValueError(f"Normalization '{self.name}': the kept axes {self.axis} need known "
                             f"sizes; received inputs of shape {tuple(input_shape)}")
        self._build_input_shape = tuple(input_shape)
        self._reduce_axis = tuple(a for a in range(ndim) if a not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[a] if a in self._keep_axis else 1
                                      for a in range(ndim))
        kept = tuple(input_shape[a] for a in self._keep_axis)
        if self.mean is None:
            self.adapt_mean = self.add_weight(kept, "zeros", trainable=False, name="mean")
            self.adapt_variance = self.add_weight(kept, "ones", trainable=False, name="variance")
            self.count = self.add_weight((), "zeros", dtype="int32", trainable=False,
                                         name="count")
        else:
            self._mean_constant = self._given(self.mean)
            self._variance_constant = self._given(self.variance)

    def _given(self, value) -> Tensor:
        """A given statistic broadcast to the kept axes: its axes align with the last ones."""
        array = np.asarray(value, np.float64)
        expanded = [1] * len(self._broadcast_shape)
        for i in range(1, array.ndim + 1):
            expanded[self._keep_axis[-i]] = array.shape[-i]
        array = np.broadcast_to(array.reshape(expanded), self._broadcast_shape)
        return ops.convert_to_tensor(np.ascontiguousarray(array, self.dtype))

    def _statistics(self):
        if self.mean is not None:
            return self._mean_constant, self._variance_constant
        return (ops.reshape(self.adapt_mean, self._broadcast_shape),
                ops.reshape(self.adapt_variance, self._broadcast_shape))

    def call(self, inputs):
        x = inputs if inputs.dtype == self.dtype else ops.cast(inputs, self.dtype)
        mean, variance = self._statistics()
        spread = ops.maximum(ops.sqrt(variance), config.epsilon())
        return x * spread + mean if self.invert else (x - mean) / spread

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def adapt(self, data) -> None:
        """Set the mean and variance from `data`: an array or tensor (statistics over all of
        it), or an iterable of batches (arrays, or (x, y) tuples; a `PyDataset` by index),
        merged batch by batch with Keras's running-moment update."""
        if self.mean is not None:
            raise ValueError(f"Normalization '{self.name}': adapt needs a layer without given "
                             f"mean and variance; received mean={self.mean!r}")
        if isinstance(data, (np.ndarray, Tensor)):
            batches, shape = None, tuple(data.shape)
        else:
            if isinstance(data, PyDataset):
                data = map(data.__getitem__, range(len(data)))
            try:
                iterator = iter(data)
            except TypeError:
                raise TypeError(f"Normalization '{self.name}': adapt takes an array, a tensor "
                                f"or an iterable of batches; received {type(data).__name__}"
                                ) from None
            first = next(iterator, None)
            if first is None:
                raise ValueError(f"Normalization '{self.name}': adapt received an empty "
                                 "iterable (no batches)")
            first = np.asarray(_features(first))
            batches, shape = itertools.chain([first], iterator), first.shape
        if not self.built:
            self.build(shape)
        self._check_kept_sizes(shape)
        if batches is None:
            values = np.asarray(data, np.float64)
            mean, variance = values.mean(self._reduce_axis), values.var(self._reduce_axis)
        else:
            mean, variance = self._running_moments(batches)
        self.adapt_mean.assign(mean.astype(self.dtype))
        self.adapt_variance.assign(variance.astype(self.dtype))

    def _check_kept_sizes(self, shape: tuple) -> None:
        if len(shape) != len(self._build_input_shape) or any(
                shape[a] != self._build_input_shape[a] for a in self._keep_axis):
            raise ValueError(f"Normalization '{self.name}': the layer was built for inputs of "
                             f"shape {self._build_input_shape}, but adapt received data of "
                             f"shape {tuple(shape)}")

    def _running_moments(self, batches) -> tuple[np.ndarray, np.ndarray]:
        """Mean and (biased) variance over all batches, merging each batch's moments into the
        running ones weighted by counts (Keras's update, here in float64)."""
        mean = variance = np.zeros(tuple(self._build_input_shape[a] for a in self._keep_axis))
        total = 0
        for batch in batches:
            values = np.asarray(_features(batch), np.float64)
            self._check_kept_sizes(values.shape)
            count = math.prod(values.shape[a] for a in self._reduce_axis)
            total += count
            weight = count / total
            batch_mean, batch_variance = values.mean(self._reduce_axis), values.var(
                self._reduce_axis)
            new_mean = mean * (1 - weight) + batch_mean * weight
            variance = ((variance + (mean - new_mean) ** 2) * (1 - weight)
                        + (batch_variance + (batch_mean - new_mean) ** 2) * weight)
            mean = new_mean
        return mean, variance
