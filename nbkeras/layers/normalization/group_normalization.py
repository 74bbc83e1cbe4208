"""GroupNormalization: normalizes each example over groups of channels."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..input_spec import InputSpec
from ..layer import Layer, require


@dataclass(eq=False)
class GroupNormalization(Layer):
    """Per example, the channels of `axis` split into `groups` groups (-1: one per channel,
    instance normalization); each group is normalized over its channels and every other
    non-batch axis, then `* gamma + beta` per channel. Same shape; gamma, beta (channels,)."""

    _supports_masking_by_default = True

    groups: int = 32
    axis: int = -1
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    beta_initializer: object = "zeros"
    gamma_initializer: object = "ones"
    beta_regularizer: object = None
    gamma_regularizer: object = None
    beta_constraint: object = None
    gamma_constraint: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "groups", isinstance(self.groups, int) and not isinstance(self.groups, bool)
                and (self.groups > 0 or self.groups == -1), "a positive integer or -1")
        require(self, "axis", isinstance(self.axis, int) and not isinstance(self.axis, bool),
                "an int")
        require(self, "epsilon", isinstance(self.epsilon, (int, float)) and self.epsilon > 0,
                "a positive number")

    def _groups(self, channels: int) -> int:
        return channels if self.groups == -1 else self.groups

    def build(self, input_shape) -> None:
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"GroupNormalization '{self.name}': axis {self.axis} must be a "
                             f"non-batch axis of the input; received input shape {input_shape}")
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(f"GroupNormalization '{self.name}': axis {self.axis} of the input "
                             f"must be known; received input shape {input_shape}")
        groups = self._groups(channels)
        if groups > channels or channels % groups:
            raise ValueError(f"GroupNormalization '{self.name}': groups={groups} must divide "
                             f"the {channels} channels of axis {self.axis} (and not exceed "
                             f"them); received input shape {input_shape}")
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: channels})
        self.gamma = (self.add_weight((channels,), self.gamma_initializer,
                                      regularizer=self.gamma_regularizer,
                                      constraint=self.gamma_constraint, name="gamma")
                      if self.scale else None)
        self.beta = (self.add_weight((channels,), self.beta_initializer,
                                     regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint, name="beta")
                     if self.center else None)

    def call(self, inputs):
        groups = self._groups(inputs.shape[self.axis])
        return ops.group_normalization(inputs, groups, self.gamma, self.beta, self.axis,
                                       self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape
