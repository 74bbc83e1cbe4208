"""Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate and Dot: layers that
combine a list of tensors, as in `keras.layers`."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ...ops.op import broadcast_shapes
from ..layer import Layer, require


@dataclass(eq=False)
class Merge(Layer):
    """Elementwise merge of a list of at least two tensors of broadcastable shapes."""

    _supports_masking_by_default = True

    def compute_mask(self, inputs, previous_mask):
        """A position is kept where any input keeps it (as Keras); None unless every input
        has a mask."""
        if previous_mask is None or any(m is None for m in previous_mask):
            return None
        mask = previous_mask[0]
        for m in previous_mask[1:]:
            mask = ops.logical_or(mask, m)
        return mask

    def _check(self, shapes) -> None:
        if not isinstance(shapes, list) or len(shapes) < 2:
            raise ValueError(f"{type(self).__name__} '{self.name}' must be called on a list of at "
                             f"least 2 inputs; received {shapes!r}")

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        shape = tuple(input_shape[0])
        for other in input_shape[1:]:
            shape = broadcast_shapes(shape, tuple(other), f"{type(self).__name__} '{self.name}'")
        return shape

    def call(self, inputs):
        self._check([tuple(x.shape) for x in inputs] if isinstance(inputs, list) else inputs)
        return self.merge(inputs)


@dataclass(eq=False)
class Add(Merge):
    """x_1 + x_2 + ... + x_n."""

    def merge(self, inputs):
        total = inputs[0]
        for x in inputs[1:]:
            total = ops.add(total, x)
        return total


@dataclass(eq=False)
class Subtract(Merge):
    """x_1 - x_2 (exactly two inputs)."""

    def _check(self, shapes) -> None:
        super()._check(shapes)
        if len(shapes) != 2:
            raise ValueError(f"Subtract '{self.name}' must be called on exactly 2 inputs; "
                             f"received {len(shapes)}")

    def merge(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


@dataclass(eq=False)
class Multiply(Merge):
    """x_1 * x_2 * ... * x_n."""

    def merge(self, inputs):
        product = inputs[0]
        for x in inputs[1:]:
            product = ops.multiply(product, x)
        return product


@dataclass(eq=False)
class Average(Add):
    """(x_1 + ... + x_n) / n."""

    def merge(self, inputs):
        return ops.divide(super().merge(inputs), float(len(inputs)))


@dataclass(eq=False)
class Maximum(Merge):
    """Elementwise maximum of the inputs."""

    def merge(self, inputs):
        result = inputs[0]
        for x in inputs[1:]:
            result = ops.maximum(result, x)
        return result


@dataclass(eq=False)
class Minimum(Merge):
    """Elementwise minimum of the inputs."""

    def merge(self, inputs):
        result = inputs[0]
        for x in inputs[1:]:
            result = ops.minimum(result, x)
        return result


@dataclass(eq=False)
class Concatenate(Merge):
    """Joins the inputs along `axis`; the other axes must match."""

    axis: int = -1

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        rank = len(input_shape[0])
        axis = self.axis % rank
        for shape in input_shape[1:]:
            if len(shape) != rank or any(a != b and None not in (a, b) for i, (a, b)
                                         in enumerate(zip(shape, input_shape[0])) if i != axis):
                raise ValueError(f"Concatenate '{self.name}': the inputs must have the same shape "
                                 f"except along axis {self.axis}; received shapes "
                                 f"{[tuple(s) for s in input_shape]}")
        sizes = [shape[axis] for shape in input_shape]
        out = list(input_shape[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def merge(self, inputs):
        self.compute_output_shape([tuple(x.shape) for x in inputs])
        return ops.concatenate(inputs, axis=self.axis)

    def compute_mask(self, inputs, previous_mask):
        """The inputs' masks (all True for an unmasked input), widened to the inputs' rank,
        joined along `axis` and reduced by any over the last axis, as Keras."""
        if previous_mask is None or all(m is None for m in previous_mask):
            return None
        masks = []
        for x, mask in zip(inputs, previous_mask):
            if mask is None:
                mask = ops.ones_like(x, dtype="bool")
            elif len(mask.shape) < len(x.shape):
                mask = ops.logical_or(ops.expand_dims(mask, -1), ops.zeros_like(x, dtype="bool"))
            masks.append(mask)
        return ops.any(ops.concatenate(masks, axis=self.axis), axis=-1)


@dataclass(eq=False)
class Dot(Merge):
    """Per-sample dot product of two inputs over `axes` (one int for both inputs, or a pair;
    axis 0 is the batch axis, as in Keras): (N, ..., K) . (N, K, ...) -> (N, ..., ...), or
    (N, 1) for two vectors. `normalize` L2-normalizes both along those axes first."""

    axes: int | tuple = -1
    normalize: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        require(self, "axes", len(axes) == 2 and all(isinstance(a, int) for a in axes),
                "an int or a pair of ints")

    def _axes(self, shapes) -> tuple[int, int]:
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        return tuple(a % len(s) for a, s in zip(axes, shapes))

    def _check(self, shapes) -> None:
        super()._check(shapes)
        if len(shapes) != 2:
            raise ValueError(f"Dot '{self.name}' must be called on exactly 2 inputs; received "
                             f"{len(shapes)}")
        a, b = self._axes(shapes)
        if shapes[0][a] is not None and shapes[1][b] is not None and shapes[0][a] != shapes[1][b]:
            raise ValueError(f"Dot '{self.name}': axis {a} of {tuple(shapes[0])} and axis {b} of "
                             f"{tuple(shapes[1])} must have the same size")

    def compute_mask(self, inputs, previous_mask):
        return None

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        a, b = self._axes(input_shape)
        first = [n for i, n in enumerate(input_shape[0]) if i != a]
        second = [n for i, n in enumerate(input_shape[1]) if i not in (0, b)]
        shape = tuple(first + second)
        return shape if len(shape) > 1 else shape + (1,)

    def merge(self, inputs):
        x, y = inputs
        a, b = self._axes([x.shape, y.shape])
        if self.normalize:
            x, y = ops.normalize(x, axis=a), ops.normalize(y, axis=b)   # as Keras 3's Dot
        x = ops.moveaxis(x, a, -1)                       # (N, ..., K)
        y = ops.moveaxis(y, b, 1)                        # (N, K, ...)
        n, k = x.shape[0], x.shape[-1]
        left = ops.reshape(x, (n, -1, k))                # (N, P, K)
        right = ops.reshape(y, (n, k, -1))               # (N, K, Q)
        out = ops.matmul(left, right)                    # (N, P, Q)
        shape = (n, *x.shape[1:-1], *y.shape[2:])
        return ops.reshape(out, shape if len(shape) > 1 else (n, 1))


# ---- Keras's functional interfaces: make the layer and call it on `inputs` ----------------
def _functional_interface(layer_class: type[Merge]):
    """`name(inputs, **kwargs)` = `LayerClass(**kwargs)(inputs)`, named in lower case."""
    def merge(inputs, **kwargs):
        return layer_class(**kwargs)(inputs)
    merge.__name__ = merge.__qualname__ = layer_class.__name__.lower()
    merge.__doc__ = f"`{layer_class.__name__}(**kwargs)(inputs)`: {layer_class.__doc__}"
    return merge


add = _functional_interface(Add)
subtract = _functional_interface(Subtract)
multiply = _functional_interface(Multiply)
average = _functional_interface(Average)
maximum = _functional_interface(Maximum)
minimum = _functional_interface(Minimum)


def concatenate(inputs, axis=-1, **kwargs):
    """`Concatenate(axis, **kwargs)(inputs)`: the inputs joined along `axis`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """`Dot(axes, **kwargs)(inputs)`: per-sample dot product of two inputs over `axes`
    (`normalize=True` among the kwargs L2-normalizes them first)."""
    return Dot(axes=axes, **kwargs)(inputs)
