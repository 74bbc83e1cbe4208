"""Window: the geometry of a convolution or pooling over (N, *spatial, C) arrays, as one
record the ops hand to both devices' kernels; the output-length formula lives here only."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """A window of `size` cells per spatial axis, moved by `strides`, its taps `dilation`
    apart, over an input padded by `padding` = ((before, after), ...) cells per axis."""

    size: tuple[int, ...]
    strides: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.size)

    @property
    def effective(self) -> tuple[int, ...]:
        """The span of each dilated window: dilation * (size - 1) + 1."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.size, self.dilation))

    def output_spatial(self, spatial) -> tuple:
        """Windows per axis: (n + before + after - span) // stride + 1 (None stays None)."""
        return tuple(None if n is None else (n + b + a - e) // s + 1 for n, (b, a), e, s
                     in zip(spatial, self.padding, self.effective, self.strides))


def window(padding, spatial, size, strides, dilation=None) -> Window:
    """The Window of a named padding over `spatial` cells: "valid" (none), "same" (the output
    has ceil(n / stride) cells, the odd padding cell after, as TF/JAX), "causal" (dilation *
    (size - 1) before), or explicit ((before, after), ...)."""
    dilation = tuple(dilation or (1,) * len(size))
    if not isinstance(padding, str):
        pairs = tuple((int(b), int(a)) for b, a in padding)
    elif padding == "valid":
        pairs = ((0, 0),) * len(size)
    elif padding == "causal":
        pairs = tuple((d * (k - 1), 0) for k, d in zip(size, dilation))
    else:
        pairs = tuple(_same(n, d * (k - 1) + 1, s)
                      for n, k, s, d in zip(spatial, size, strides, dilation))
    return Window(tuple(size), tuple(strides), pairs, dilation)


def _same(length, span: int, stride: int) -> tuple[int, int]:
    if length is None:
        return (0, 0)
    total = max((-(-length // stride) - 1) * stride + span - length, 0)
    return (total // 2, total - total // 2)
