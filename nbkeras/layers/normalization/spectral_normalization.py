"""SpectralNormalization: a wrapper that divides a layer's kernel by its spectral norm."""
from __future__ import annotations

from dataclasses import dataclass

from ... import initializers, ops
from ..input_spec import InputSpec
from ..layer import Layer, require


@dataclass(eq=False)
class SpectralNormalization(Layer):
    """Wraps a layer with a `kernel` (or `embeddings`) weight, as Keras 3. In training, each
    call first runs `power_iterations` steps of the power method on the kernel reshaped to
    (-1, out), starting from the non-trainable `vector_u` (1, out), then assigns the new u to
    `vector_u` and kernel / sigma to the kernel (sigma = v W u^T, the estimated largest
    singular value; skipped while the kernel is all zeros), and calls the layer. Outside
    training it just calls the layer. The assignment is not differentiated: gradients are the
    wrapped layer's at the normalized kernel. Weights: the kernel, `vector_u`, then the
    layer's other weights (Keras's order)."""

    layer: Layer
    power_iterations: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "layer", isinstance(self.layer, Layer), "a layer")
        require(self, "power_iterations", isinstance(self.power_iterations, int)
                and not isinstance(self.power_iterations, bool) and self.power_iterations > 0,
                "a positive integer")
        self._track(self.layer)

    def build(self, input_shape) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(f"SpectralNormalization '{self.name}': layer must have a 'kernel' "
                             f"or 'embeddings' weight; received layer={self.layer!r}")
        self.kernel = kernel
        self.kernel_shape = tuple(kernel.shape)
        self.vector_u = self.add_weight((1, self.kernel_shape[-1]),
                                        initializers.TruncatedNormal(stddev=0.02),
                                        dtype=kernel.dtype, trainable=False, name="vector_u")

    def call(self, inputs, training=False):
        if training and not bool(ops.all(ops.equal(self.kernel, 0))):
            vector_u, kernel = self.normalized_weights()
            self.vector_u.assign(vector_u)
            self.kernel.assign(kernel)
        outputs = self.layer(inputs)
        return outputs if outputs.dtype == inputs.dtype else ops.cast(outputs, inputs.dtype)

    def normalized_weights(self):
        """(u, kernel / sigma) after `power_iterations` power steps from `vector_u`."""
        kernel = ops.stop_gradient(ops.convert_to_tensor(self.kernel))
        weights = ops.reshape(kernel, (-1, self.kernel_shape[-1]))
        vector_u = ops.convert_to_tensor(self.vector_u)
        for _ in range(self.power_iterations):
            vector_v = ops.normalize(ops.matmul(vector_u, ops.transpose(weights)), axis=None)
            vector_u = ops.normalize(ops.matmul(vector_v, weights), axis=None)
        sigma = ops.matmul(ops.matmul(vector_v, weights), ops.transpose(vector_u))
        return vector_u, ops.reshape(ops.divide(kernel, sigma), self.kernel_shape)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        from ...models.functional import _serialize_layer   # models import the layers

        config = super().get_config()
        config["layer"] = _serialize_layer(self.layer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from ...models.functional import deserialize_layer

        config = dict(config)
        layer = config.pop("layer")
        if isinstance(layer, dict):
            layer = deserialize_layer(layer, custom_objects)
        return cls(layer, **config)
