"""BatchNormalization: normalizes each channel with the batch's statistics in training and
with moving averages of them at inference."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..input_spec import InputSpec
from ..layer import Layer, require


@dataclass(eq=False)
class BatchNormalization(Layer):
    """gamma * (x - mean) / sqrt(variance + epsilon) + beta per channel of `axis`; same shape.

    Training (and `trainable`): the batch's mean and biased variance over every other axis,
    differentiated through, and `moving = moving * momentum + batch * (1 - momentum)`.
    Inference, or a frozen layer (`trainable=False`, as in Keras 3): the moving statistics.
    Weights [gamma, beta, moving_mean, moving_variance], each (channels,)."""

    _supports_masking_by_default = True

    axis: int = -1
    momentum: float = 0.99
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    beta_initializer: object = "zeros"
    gamma_initializer: object = "ones"
    moving_mean_initializer: object = "zeros"
    moving_variance_initializer: object = "ones"
    beta_regularizer: object = None
    gamma_regularizer: object = None
    beta_constraint: object = None
    gamma_constraint: object = None
    synchronized: bool = False          # accepted for Keras compatibility; one device here

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "axis", isinstance(self.axis, int) and not isinstance(self.axis, bool),
                "an int")
        require(self, "momentum", _is_number(self.momentum) and 0 <= self.momentum <= 1,
                "a number in [0, 1]")
        require(self, "epsilon", _is_number(self.epsilon) and self.epsilon > 0,
                "a positive number")

    def build(self, input_shape) -> None:
        rank = len(input_shape)
        if not -rank <= self.axis < rank or input_shape[self.axis] is None:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} must be a "
                             f"known axis of the input; received input shape {input_shape}")
        shape = (input_shape[self.axis],)
        self.gamma = (self.add_weight(shape, self.gamma_initializer,
                                      regularizer=self.gamma_regularizer,
                                      constraint=self.gamma_constraint, name="gamma")
                      if self.scale else None)
        self.beta = (self.add_weight(shape, self.beta_initializer,
                                     regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint, name="beta")
                     if self.center else None)
        self.moving_mean = self.add_weight(shape, self.moving_mean_initializer, trainable=False,
                                           name="moving_mean")
        self.moving_variance = self.add_weight(shape, self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: shape[0]})

    def call(self, inputs, training=None, mask=None):
        if mask is not None and len(mask.shape) != len(inputs.shape) - 1:
            raise ValueError(f"BatchNormalization '{self.name}': the mask must have one axis "
                             f"less than the inputs; received mask.shape={tuple(mask.shape)}, "
                             f"inputs.shape={tuple(inputs.shape)}")
        if training and self.trainable:
            if mask is None:
                outputs, mean, variance = ops.batch_normalization_training(
                    inputs, self.axis, self.gamma, self.beta, self.epsilon)
            else:
                mean, variance = self._masked_moments(inputs, mask)
                outputs = ops.batch_normalization(inputs, mean, variance, self.axis, self.beta,
                                                  self.gamma, self.epsilon)
            # The moving averages are state (no input of these ops is tracked by a tape).
            for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
                moving.assign(ops.add(ops.multiply(moving, self.momentum),
                                      ops.multiply(batch, 1.0 - self.momentum)))
            return outputs
        return ops.batch_normalization(inputs, self.moving_mean, self.moving_variance,
                                       self.axis, self.beta, self.gamma, self.epsilon)

    def _masked_moments(self, inputs, mask):
        """Mean and biased variance per channel over the unmasked elements (mask: the
        inputs' shape without the channel axis), as Keras."""
        rank = len(inputs.shape)
        axes = tuple(a for a in range(rank) if a != self.axis % rank)
        weights = ops.cast(ops.expand_dims(ops.cast(mask, "bool"), self.axis), inputs.dtype)
        count = ops.add(ops.sum(ops.multiply(ops.ones_like(inputs), weights), axes), 1e-7)
        mean = ops.divide(ops.sum(ops.multiply(inputs, weights), axes), count)
        shape = [1] * rank
        shape[self.axis] = -1
        centred = ops.multiply(ops.subtract(inputs, ops.reshape(mean, shape)), weights)
        return mean, ops.divide(ops.sum(ops.square(centred), axes), count)

    def compute_output_shape(self, input_shape):
        return input_shape


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
