"""Convolution ops: conv (grouped, fused with bias and activation), conv_transpose,
depthwise_conv and separable_conv, for 1-D, 2-D and 3-D inputs, as in `keras.ops`.

The ops compute in channels_last, (N, *spatial, C), with Keras's kernel layouts;
channels_first inputs are transposed to channels_last and back around them. Padding is
"valid", "same" (the odd cell on the bottom/right, as TensorFlow), "causal" (1-D:
dilation * (k - 1) on the left), or explicit ((before, after), ...) per spatial axis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import config
from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from ..core.tensor import Tensor
from ..kernels.geometry import Window, window
from .activation import KERNELS as ACTIVATION_KERNELS
from .composite import composite, is_symbolic
from .op import Op, convert_to_tensor, result_type
from .pooling import MaxPoolGradient, data_format_or_default, pooling_output_shape
from .shape import reshape, transpose

# Elementwise activations whose derivative is a function of the output alone, so the fused
# op keeps nothing but y: relu' = [y > 0], sigmoid' = y (1 - y), tanh' = 1 - y^2, exp' = y.
# relu's mask is applied inside `conv_backward` (given y); the others' `<name>_backward(dy,
# x, y)` kernels read only y, so they are given y for x. Other activations run as own ops.
FUSED_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "exponential")

# Keras's conv ops keep the data format resolved (None is the configured one), as pooling's
_RESOLVED_FORMAT = {"data_format": data_format_or_default}


# ---- shape rules -------------------------------------------------------------------------

def _effective(kernel: int, dilation: int) -> int:
    return dilation * (kernel - 1) + 1


def conv_output_shape(input_shape, kernel_shape, strides, padding, dilation,
                      who: str = "conv") -> tuple:
    """(N, *spatial, C) convolved with a kernel (*k, C // groups, F) -> (N, *out, F):
    ceil(n / stride) cells for "same" and "causal", else (n + before + after - dilation
    (k - 1) - 1) // stride + 1 (None where n is None)."""
    rank = len(input_shape) - 2
    spatial = tuple(input_shape[1:-1])
    out = window(padding, spatial, kernel_shape[:rank], strides, dilation).output_spatial(spatial)
    _check_positive(who, input_shape, kernel_shape, out)
    return (input_shape[0], *out, kernel_shape[-1])


def conv_transpose_output_length(length, kernel: int, stride: int, padding: str,
                                 output_padding, dilation: int):
    """Keras's transposed-convolution output length (None if `length` is None)."""
    if length is None:
        return None
    k = _effective(kernel, dilation)
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        return (length - 1) * stride + k + extra
    if output_padding is None:
        return length * stride
    return (length - 1) * stride + k % 2 + output_padding


def conv_transpose_output_shape(input_shape, kernel_shape, strides, padding, output_padding,
                                dilation, who: str = "conv_transpose") -> tuple:
    """(N, *spatial, C) with a kernel (*k, F, C) -> (N, *out, F)."""
    rank = len(input_shape) - 2
    output_padding = output_padding or (None,) * rank
    out = tuple(conv_transpose_output_length(n, k, s, padding, o, d) for n, k, s, o, d in
                zip(input_shape[1:-1], kernel_shape[:rank], strides, output_padding, dilation))
    _check_positive(who, input_shape, kernel_shape, out)
    return (input_shape[0], *out, kernel_shape[-2])


def conv_transpose_padding(length: int, out_length: int, kernel: int, stride: int,
                           padding: str, output_padding, dilation: int) -> tuple:
    """(before, after) padding of the forward conv (out_length -> length cells) whose input
    gradient the transposed conv is. `before` is Keras's: k - 1 minus the JAX backend's left
    pad; `after` just covers the last window, so the forward conv has `length` outputs."""
    k = _effective(kernel, dilation)
    before = 0
    if padding == "same":
        total = (stride + k - 2 if output_padding is None
                 else k + k % 2 - 2 + output_padding)
        before = k - 1 - min(total // 2 + total % 2, k - 1)
    return (before, max(0, (length - 1) * stride + k - out_length - before))


def _check_positive(who, input_shape, kernel_shape, out) -> None:
    if any(n is not None and n <= 0 for n in out):
        raise ValueError(f"{who}: an input of shape {tuple(input_shape)} is too small for a "
                         f"kernel of shape {tuple(kernel_shape)}: the output's spatial shape "
                         f"would be {out}")


def _specs(*arrays) -> list:
    """The specs of a forward's arrays (None stays None), to check them with output_spec."""
    return [None if a is None else Spec(a.shape, a.dtype.name) for a in arrays]


def _check_ranks(who: str, rank: int, x: Spec, w: Spec, b: Spec | None, filters) -> None:
    if x.ndim != rank + 2 or w.ndim != rank + 2:
        raise ValueError(f"{who}: a {rank}-D convolution takes an input (batch, *{rank} spatial "
                         f"axes, channels) and a kernel of rank {rank + 2}; received input "
                         f"shape {x.shape} and kernel shape {w.shape}")
    if b is not None and tuple(b.shape) != (filters,):
        raise ValueError(f"{who}: the bias must have shape ({filters},); received bias shape "
                         f"{b.shape} for kernel shape {w.shape}")


# ---- ops -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Conv(Op):
    """activation(x (N, *spatial, C) correlated with kernel (*k, C // groups, F) [+ bias (F,)])
    -> (N, *out, F). One op, one VJP: bias and activation (one of FUSED_ACTIVATIONS) are
    applied in place on the kernel's output, and the VJP needs only y. With `max_pool` =
    (pool_size, strides) the result is max-pooled over valid windows in the same pass, (N,
    *pooled, F): the activations are all non-decreasing, so pooling commutes with them; the
    VJP then recomputes the unpooled output (inference is what this form is for)."""

    strides: tuple
    padding: object           # "valid" | "same" | "causal" | ((before, after), ...)
    dilation: tuple
    groups: int = 1
    activation: str = "linear"
    max_pool: tuple | None = None

    float_inputs = True
    takes_deferred_gradients = True     # max pooling's, of this op's output (vjp)

    def output_spec(self, x: Spec, w: Spec, b: Spec | None = None) -> Spec:
        _check_ranks("conv", len(self.strides), x, w, b, w.shape[-1])
        if x.shape[-1] is not None and x.shape[-1] != w.shape[-2] * self.groups:
            raise ValueError(f"conv: the input's channels ({x.shape[-1]}) must equal the "
                             f"kernel's input channels ({w.shape[-2]}) times groups "
                             f"({self.groups}); received input shape {x.shape} and kernel "
                             f"shape {w.shape}")
        if w.shape[-1] % self.groups:
            raise ValueError(f"conv: the kernel's filters ({w.shape[-1]}) must be divisible by "
                             f"groups ({self.groups})")
        shape = conv_output_shape(x.shape, w.shape, self.strides, self.padding, self.dilation)
        if self.max_pool is not None:
            shape = pooling_output_shape(shape, *self.max_pool)
        return Spec(shape, result_type(x.dtype, w.dtype))

    def _window(self, x_shape, w_shape) -> Window:
        return window(self.padding, x_shape[1:-1], w_shape[:len(self.strides)], self.strides,
                      self.dilation)

    def _pool(self) -> Window | None:
        if self.max_pool is None:
            return None
        size, strides = self.max_pool
        return window("valid", (None,) * len(size), size, strides)

    @property
    def writes_out(self) -> bool:
        """Whether `apply` writes its output into an `out` it is given: the activation is
        the kernel's own (linear or relu)."""
        return self.activation in ("linear", "relu")

    def _apply(self, k, x, w, b, pool, out=None):
        """The output: conv (+ bias, relu, max-pool in the kernel; into `out` when given and
        writes_out), then the other fused activations."""
        y = k.conv_forward(x, w, self._window(x.shape, w.shape), self.groups, b,
                           self.activation == "relu", pool, out if self.writes_out else None)
        if not self.writes_out:
            y = ACTIVATION_KERNELS[self.activation](k)[0](y)
        return y

    def forward(self, k, x, w, b=None):
        self.output_spec(*_specs(x, w, b))       # the kernels trust their inputs
        y = self.apply(k, x, w, b)
        return y, (x, w, b, y)

    def apply(self, k, x, w, b=None, out=None):
        """forward's output, unchecked: for arrays of the shapes and dtypes of a call that
        passed the checks (the inference plan's repeated calls; see conv_op). `out`: an
        array of the output's shape and dtype that the convolution kernel writes the output
        into when writes_out (then returned), else unused."""
        return self._apply(k, x, w, b, self._pool(), out)

    def vjp(self, k, dy, residuals, needs):
        """With max_pool, the unpooled output is recomputed: the fused form exists so that
        inference never stores it (1.1-1.4x faster MNIST-convnet predict); a model under a
        tape runs its layers unfused, so only a direct `ops.conv(max_pool=...)` call pays.
        dy may be max pooling's deferred gradient (ops/pooling.py): when that pooling read
        this op's output and the activation is relu or linear, the kernel takes it as it is
        and makes dL/dy a block of images at a time, never stored whole (the Simple MNIST
        convnet's training step 0.93-0.94x the time, alternated ABBA in one process);
        otherwise it is made here."""
        x, w, b, y = residuals
        pool_of_y = None                  # (y, pooled, window): dy is max_pool(y)'s gradient
        if isinstance(dy, MaxPoolGradient):
            if dy.x is y and self.max_pool is None and self.activation in ("linear", "relu"):
                dy, pool_of_y = dy.dy, (y, dy.y, dy.window)
            else:
                dy = dy.materialize()
        if self.max_pool is not None:     # back through the pooling, to the unpooled output
            unpooled = self._apply(k, x, w, b, None)
            pool = self._pool()           # the maxima of this recomputation, which may round
            pooled = k.max_pool_forward(unpooled, pool)    # apart from the fused pass's
            dy = k.max_pool_backward(dy, unpooled, pooled, pool)
            y = unpooled
        if self.activation not in ("linear", "relu"):
            dy = ACTIVATION_KERNELS[self.activation](k)[1](dy, y, y)
        dx, dw, db = k.conv_backward(dy, x, w, self._window(x.shape, w.shape), self.groups,
                                     y if self.activation == "relu" else None,
                                     needs[0], needs[1], pool_of_y)
        return (dx, dw) if b is None else (dx, dw, db if needs[2] else None)


@dataclass(frozen=True)
class ConvTranspose(Op):
    """x (N, *spatial, C), kernel (*k, F, C) [+ bias (F,)] -> (N, *out, F): the input gradient
    of the forward conv by the same kernel, with Keras's output length."""

    strides: tuple
    padding: str              # "valid" | "same"
    output_padding: tuple | None
    dilation: tuple

    float_inputs = True

    def output_spec(self, x: Spec, w: Spec, b: Spec | None = None) -> Spec:
        _check_ranks("conv_transpose", len(self.strides), x, w, b, w.shape[-2])
        if x.shape[-1] is not None and x.shape[-1] != w.shape[-1]:
            raise ValueError(f"conv_transpose: the input's channels ({x.shape[-1]}) must equal "
                             f"the kernel's last axis; received input shape {x.shape} and "
                             f"kernel shape {w.shape} (layout (*k, filters, in_channels))")
        shape = conv_transpose_output_shape(x.shape, w.shape, self.strides, self.padding,
                                            self.output_padding, self.dilation)
        return Spec(shape, result_type(x.dtype, w.dtype))

    def _geometry(self, x, w, b=None) -> tuple:
        """(output shape, the Window of the forward conv whose input gradient this is)."""
        out = self.output_spec(*_specs(x, w, b)).shape
        output_padding = self.output_padding or (None,) * len(self.strides)
        pads = tuple(conv_transpose_padding(n, m, kk, s, self.padding, o, d) for n, m, kk, s, o, d
                     in zip(x.shape[1:-1], out[1:-1], w.shape, self.strides, output_padding,
                            self.dilation))
        return out, Window(tuple(w.shape[:len(self.strides)]), self.strides, pads, self.dilation)

    def forward(self, k, x, w, b=None):
        out, geometry = self._geometry(x, w, b)
        y = k.conv_backward_input(x, w, out, geometry)
        if b is not None:
            y = k.add(y, b)
        return y, (x, w, b is not None, geometry)

    def vjp(self, k, dy, residuals, needs):
        x, w, has_bias, geometry = residuals
        dx = k.conv_forward(dy, w, geometry) if needs[0] else None
        dw = k.conv_backward_kernel(x, dy, w.shape, geometry) if needs[1] else None
        if not has_bias:
            return dx, dw
        return dx, dw, k.reduce("sum", dy, tuple(range(dy.ndim - 1)), False) if needs[2] else None


# ---- public functions ------------------------------------------------------------------------

def _as_tuple(who: str, name: str, value, rank: int, minimum: int = 1) -> tuple:
    values = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != rank or not all(isinstance(v, (int, np.integer)) and v >= minimum
                                      for v in values):
        raise ValueError(f"{who}: {name} must be an int >= {minimum} or a tuple of {rank} such "
                         f"ints; received {name}={value!r}")
    return tuple(int(v) for v in values)


def _padding(who: str, padding, rank: int, allowed: tuple, pairs: bool = True):
    """A lower-cased name in `allowed`, or (if `pairs`) ((before, after), ...) per axis."""
    if isinstance(padding, str) and padding.lower() in allowed:
        return padding.lower()
    if pairs and not isinstance(padding, str):
        try:
            explicit = tuple((int(a), int(b)) for a, b in padding)
        except (TypeError, ValueError):
            explicit = ()
        if len(explicit) == rank and all(min(p) >= 0 for p in explicit):
            return explicit
    expected = " or ".join(map(repr, allowed))
    if pairs:
        expected += f" or {rank} (before, after) pairs"
    raise ValueError(f"{who}: padding must be {expected}; received padding={padding!r}")


def _conv_paddings(rank: int) -> tuple:
    return ("valid", "same", "causal") if rank == 1 else ("valid", "same")


def _in_layout(who: str, x, data_format, activation, body):
    """body(x, fused) on x moved to channels_last, moved back; `fused` is the activation's
    name if the conv op can fuse it ("linear" if none), else it runs afterwards on the
    result in the caller's layout (softmax then acts on the caller's last axis, as Keras)."""
    from .. import activations   # activations is built on ops: imported on use

    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: data_format must be 'channels_last' or 'channels_first'; "
                         f"received data_format={data_format!r}")
    name = activations.serialize(activations.get(activation))
    fused = name if isinstance(name, str) and name in FUSED_ACTIVATIONS else "linear"
    x = x if isinstance(x, (Tensor, KerasTensor)) else convert_to_tensor(x)
    rank = len(x.shape)
    if data_format == "channels_first":
        y = body(transpose(x, (0, *range(2, rank), 1)), fused)
        y = transpose(y, (0, rank - 1, *range(1, rank - 1)))
    else:
        y = body(x, fused)
    return y if fused == name else activations.get(name)(y)


def _none(*extras) -> bool:
    """Whether none of nbkeras's extra arguments (bias, activation, ...) was given."""
    return all(extra is None for extra in extras)


def _call(op, x, kernel, bias):
    return op(x, kernel) if bias is None else op(x, kernel, bias)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1, *,
         bias=None, groups=None, activation=None, max_pool=None):
    """activation(conv(inputs, kernel) + bias) for 1-D, 2-D and 3-D inputs (rank from the
    kernel). Keras's arguments, then nbkeras's fused extras by keyword.

    inputs: (N, *spatial, C) (channels_last) or (N, C, *spatial); kernel: (*k, C // groups, F);
    bias: (F,) or None. groups: None infers C // kernel.shape[-2], as keras.ops.conv does.
    padding: "valid", "same", "causal" (1-D only) or ((before, after), ...) per axis.
    max_pool: None, or (pool_size, strides) to max-pool the result over valid windows in the
    same pass (as `max_pool(..., padding="valid")` after it; activation one of
    FUSED_ACTIVATIONS).
    Called on KerasTensors with Keras's arguments only, it is one node: Keras's Conv op."""
    if is_symbolic((inputs, kernel)) and _none(bias, groups, activation, max_pool):
        return _keras_conv(inputs, kernel, strides, padding, data_format, dilation_rate)
    return _conv(inputs, kernel, strides, padding, data_format, dilation_rate, bias=bias,
                 groups=groups, activation=activation, max_pool=max_pool)


@composite("strides", "padding", "data_format", "dilation_rate", resolve=_RESOLVED_FORMAT)
def _keras_conv(inputs, kernel, strides, padding, data_format, dilation_rate):
    """conv with Keras's arguments only, recorded on KerasTensors as Keras's Conv op."""
    return _conv(inputs, kernel, strides, padding, data_format, dilation_rate)


def _geometry(rank: int, strides, padding, dilation_rate, max_pool) -> tuple:
    """conv's (strides, padding, dilation, max_pool), checked and normalized."""
    if max_pool is not None:
        max_pool = (_as_tuple("conv", "max_pool size", max_pool[0], rank),
                    _as_tuple("conv", "max_pool strides", max_pool[1], rank))
    return (_as_tuple("conv", "strides", strides, rank),
            _padding("conv", padding, rank, _conv_paddings(rank)),
            _as_tuple("conv", "dilation_rate", dilation_rate, rank), max_pool)


def conv_op(rank: int, strides, padding, dilation_rate, groups: int, activation: str,
            max_pool=None) -> Conv:
    """The Conv op `conv` applies to channels_last inputs of `rank` spatial axes for these
    arguments (activation one of FUSED_ACTIVATIONS). A caller that repeats a call on inputs
    of one shape and dtype (the inference plan) keeps it and calls `Conv.apply`, without
    conv's per-call argument handling and checks."""
    strides, padding, dilation, max_pool = _geometry(rank, strides, padding, dilation_rate,
                                                     max_pool)
    return Conv(strides, padding, dilation, int(groups), activation, max_pool)


def _conv(inputs, kernel, strides, padding, data_format, dilation_rate, *, bias=None,
          groups=None, activation=None, max_pool=None):
    rank = len(kernel.shape) - 2
    strides, padding, dilation, max_pool = _geometry(rank, strides, padding, dilation_rate,
                                                     max_pool)
    if max_pool is not None:
        from .. import activations   # activations is built on ops: imported on use

        if activations.serialize(activations.get(activation)) not in FUSED_ACTIVATIONS:
            raise ValueError(f"conv: max_pool needs an activation that commutes with it (one "
                             f"of {FUSED_ACTIVATIONS}); received activation={activation!r}")

    def body(x, fused):
        n_groups = groups
        if n_groups is None:
            channels = x.shape[-1]
            n_groups = 1 if channels is None else max(1, channels // kernel.shape[-2])
        return _call(Conv(strides, padding, dilation, int(n_groups), fused, max_pool), x,
                     kernel, bias)
    return _in_layout("conv", inputs, data_format, activation, body)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1, *, bias=None, activation=None):
    """Each input channel c convolved with its own depth_multiplier filters:
    kernel (*k, C, depth_multiplier) -> output channel c * depth_multiplier + m.
    Called on KerasTensors with Keras's arguments only, it is Keras's DepthwiseConv op."""
    if is_symbolic((inputs, kernel)) and _none(bias, activation):
        return _keras_depthwise_conv(inputs, kernel, strides, padding, data_format,
                                     dilation_rate)
    return _depthwise_conv(inputs, kernel, strides, padding, data_format, dilation_rate,
                           bias=bias, activation=activation)


@composite("strides", "padding", "data_format", "dilation_rate", resolve=_RESOLVED_FORMAT)
def _keras_depthwise_conv(inputs, kernel, strides, padding, data_format, dilation_rate):
    """depthwise_conv with Keras's arguments only: Keras's DepthwiseConv op on KerasTensors."""
    return _depthwise_conv(inputs, kernel, strides, padding, data_format, dilation_rate)


def _depthwise_conv(inputs, kernel, strides, padding, data_format, dilation_rate, *,
                    bias=None, activation=None):
    rank = len(kernel.shape) - 2
    strides = _as_tuple("depthwise_conv", "strides", strides, rank)
    dilation = _as_tuple("depthwise_conv", "dilation_rate", dilation_rate, rank)
    padding = _padding("depthwise_conv", padding, rank, _conv_paddings(rank))

    def body(x, fused):
        return _depthwise(x, kernel, bias, strides, padding, dilation, fused)
    return _in_layout("depthwise_conv", inputs, data_format, activation, body)


def _depthwise(x, kernel, bias, strides, padding, dilation, fused):
    """A grouped conv with one group per channel: (*k, C, m) -> (*k, 1, C * m) is a reshape."""
    *window, channels, multiplier = kernel.shape
    grouped = reshape(kernel, (*window, 1, channels * multiplier))
    return _call(Conv(strides, padding, dilation, channels, fused), x, grouped, bias)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1, *, bias=None, activation=None):
    """depthwise_conv (strides, padding, dilation) then a 1x1 conv with pointwise_kernel
    (1.., C * depth_multiplier, F), + bias (F,), then activation.
    Called on KerasTensors with Keras's arguments only, it is Keras's SeparableConv op."""
    if (is_symbolic((inputs, depthwise_kernel, pointwise_kernel))
            and _none(bias, activation)):
        return _keras_separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides,
                                     padding, data_format, dilation_rate)
    return _separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides, padding,
                           data_format, dilation_rate, bias=bias, activation=activation)


@composite("strides", "padding", "data_format", "dilation_rate", resolve=_RESOLVED_FORMAT)
def _keras_separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides, padding,
                          data_format, dilation_rate):
    """separable_conv with Keras's arguments only: Keras's SeparableConv op on KerasTensors."""
    return _separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides, padding,
                           data_format, dilation_rate)


def _separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides, padding,
                    data_format, dilation_rate, *, bias=None, activation=None):
    rank = len(depthwise_kernel.shape) - 2
    strides = _as_tuple("separable_conv", "strides", strides, rank)
    dilation = _as_tuple("separable_conv", "dilation_rate", dilation_rate, rank)
    padding = _padding("separable_conv", padding, rank, _conv_paddings(rank))
    ones = (1,) * rank

    def body(x, fused):
        y = _depthwise(x, depthwise_kernel, None, strides, padding, dilation, "linear")
        return _call(Conv(ones, "valid", ones, 1, fused), y, pointwise_kernel, bias)
    return _in_layout("separable_conv", inputs, data_format, activation, body)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1, *, bias=None, activation=None):
    """The transposed convolution: inputs (N, *spatial, C), kernel (*k, F, C) -> (N, *out, F) with
    Keras's output length; output_padding (each < its stride) adds cells at the end."""
    from .. import activations

    rank = len(kernel.shape) - 2
    strides = _as_tuple("conv_transpose", "strides", strides, rank)
    dilation = _as_tuple("conv_transpose", "dilation_rate", dilation_rate, rank)
    padding = _padding("conv_transpose", padding, rank, ("valid", "same"), pairs=False)
    if output_padding is not None:
        output_padding = _as_tuple("conv_transpose", "output_padding", output_padding, rank, 0)
        if any(o >= s for o, s in zip(output_padding, strides)):
            raise ValueError(f"conv_transpose: output_padding must be smaller than strides; "
                             f"received output_padding={output_padding}, strides={strides}")

    def body(x, fused):
        y = _call(ConvTranspose(strides, padding, output_padding, dilation), x, kernel, bias)
        return y if fused == "linear" else activations.get(fused)(y)
    return _in_layout("conv_transpose", inputs, data_format, activation, body)
