"""Winograd's minimal filtering F(2x2, 3x3) for the 3x3, stride-1, undilated, ungrouped 2-D
convolutions (most of a small CNN's multiply-adds), channels_last; conv.py's `conv_forward`
sends them here.

Each 2x2 tile of the output comes from the 4x4 input patch d it reads (Lavin and Gray, 2016):
per input channel c and filter f, y_tile = Aᵀ [(G w_cf Gᵀ) ⊙ (Bᵀ d_c B)] A summed over c: 16
multiplications per tile where the direct convolution makes 36, 2.25x fewer. The 16
transformed points e are independent products over the channels: with the kernel as U
(16, C, F) and a block of tiles as V (16, tiles, C), M[e] = V[e] @ U[e] is 16 BLAS products,
and each tile's output is Aᵀ M A. F(2x2, 3x3)'s transforms only add, subtract and halve, so
float32 results round as the direct convolution's do (larger tiles save more products but
lose digits: F(4x4, 3x3) multiplies the error by about ten).

Per chunk (thread), tiles run in blocks whose V and M stay in the L2 cache between the
transforms and the products. Bᵀ runs along the rows over whole input lines, once for all the
tiles of a tile row (which share half their cells), read in place where they lie inside the
image; the other passes run over whole blocks. Every pass is a loop of two or three operands
and one result, which LLVM vectorizes. The helpers that only arrange those loops are
inlined into the kernel (compiled as functions of their own, they took 0.8 s more of the
cold compile). With a 2x2 max-pool of strides 2 (inference fusion), each tile
is one pooling window: it is pooled where it is computed and only the maxima are stored, then
+ bias, then relu (both commute with the maximum), as in the direct kernel.
"""
import threading
from collections import OrderedDict

import numpy as np
from numba import njit

from .gemm import dot_in_row_runs
from .inner import inner_kernel
from .parallel import chunk_span

__all__ = ["applies", "block_tiles", "kernel_transforms", "transformed_kernel",
           "winograd_forward"]

# G of F(2x2, 3x3)
KERNEL_TRANSFORM = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
POINTS = 16              # transformed points per tile (4 x 4)
L2_BUDGET = 1 << 19      # bytes of a block's buffers (V, M, transforms): half a Zen 4 L2
# where BLAS has no small products (gemm.small_product_limit() is 0), each product packs its
# operands: blocks this many times larger amortize that (on a Zen 3 core without AVX-512,
# the convnet's second convolution forward 3.9-4.3 -> 3.4-3.6 ms at batch 128)
PACKED_BUDGET_FACTOR = 4
MIN_CHANNELS = 8         # fewer input channels (a first layer): the direct kernel is faster


def applies(window, groups: int, channels: int, pool) -> bool:
    """Whether conv_forward runs this: a 2-D 3x3 window, strides and dilation 1, no groups,
    at least MIN_CHANNELS input channels, and no pooling or a 2x2 one of strides 2."""
    return (window.rank == 2 and tuple(window.size) == (3, 3)
            and tuple(window.strides) == (1, 1) and tuple(window.dilation) == (1, 1)
            and groups == 1 and channels >= MIN_CHANNELS
            and (pool is None or tuple(pool.size) == tuple(pool.strides) == (2, 2)))


def transformed_kernel(w, dtype):
    """U (16, C, F) = G w[:, :, c, f] Gᵀ for w (3, 3, C, F), computed in float64."""
    g = KERNEL_TRANSFORM
    w64 = np.asarray(w, np.float64)
    rows = (g @ w64.reshape(3, -1)).reshape(4, 3, -1)          # G w: (4, 3, C * F)
    u = np.matmul(g, rows)                                      # (G w) Gᵀ per row a: (4, 4, CF)
    return np.ascontiguousarray(u.reshape(POINTS, *w.shape[2:]), dtype=dtype)


class KernelTransforms:
    """transformed_kernel(w, dtype) of the kernels convolved lately, each kept with a copy of
    its w and handed out again while w holds the same bytes. The inference plan convolves the
    same weights batch after batch, and the transform costs more than the comparison (the
    Simple MNIST convnet's second kernel: 50-90 us against 5-10 us); a Variable is written in
    place, so only its values, not its identity, tell whether it changed. At most
    `limit_bytes` of copies and transforms are kept, the least recently used dropped first."""

    def __init__(self, limit_bytes: int):
        self.limit_bytes = limit_bytes
        self._entries = OrderedDict()   # (id(w), dtype) -> (copy of w, U)
        self._bytes = 0
        self._lock = threading.Lock()

    def __call__(self, w, dtype):
        """U (16, C, F) for w (3, 3, C, F) as transformed_kernel(w, dtype), which the caller
        only reads (a read-only flag would make Numba compile the kernels again)."""
        dtype = np.dtype(dtype)
        if not (isinstance(w, np.ndarray) and w.flags.c_contiguous):
            return transformed_kernel(w, dtype)
        key = (id(w), dtype)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and _same_bytes(entry[0], w):
                self._entries.move_to_end(key)
                return entry[1]
        u = transformed_kernel(w, dtype)
        entry = (w.copy(), u)
        with self._lock:
            self._drop(key)
            self._entries[key] = entry
            self._bytes += entry[0].nbytes + u.nbytes
            while self._bytes > self.limit_bytes and len(self._entries) > 1:
                self._drop(next(iter(self._entries)))
        return u

    def _drop(self, key) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[0].nbytes + entry[1].nbytes


def _same_bytes(a, b) -> bool:
    """Whether the C-contiguous arrays a and b have one shape and dtype and the same bytes
    (-0.0 is not 0.0 here, and a NaN equals its own bytes)."""
    return (a.shape == b.shape and a.dtype == b.dtype
            and np.array_equal(_words(a), _words(b)))


def _words(a):
    """A C-contiguous array's bytes as the widest unsigned integers that tile them (compared
    in a third of the time of single bytes)."""
    flat = a.reshape(-1).view(np.uint8)
    for word in (np.uint64, np.uint32, np.uint16):
        if flat.size % np.dtype(word).itemsize == 0:
            return flat.view(word)
    return flat


kernel_transforms = KernelTransforms(limit_bytes=64 << 20)


# Bᵀ and Aᵀ of F(2x2, 3x3), row by row, as the operands they add: row a of Bᵀ d is
# d[j1] + sign * d[j2], row a of Aᵀ m is m[j1] + sign * (m[j2] + m[j3])
INPUT_ROWS = ((0, 2, -1), (1, 2, 1), (2, 1, -1), (1, 3, -1))
OUTPUT_ROWS = ((0, 1, 2, 1), (1, 2, 3, -1))


@inner_kernel(linked=False)
def _combine2(dst, d0, d_row, src, a0, b0, sign, s_row, rows, count):
    """dst[d0 + r*d_row + i] = src[a0 + r*s_row + i] + sign * src[b0 + r*s_row + i] for
    r < rows, i < count (sign 1 or -1, an integer: a float64 factor would convert every
    float32 value and back). Two operands and one result per loop, so LLVM vectorizes it:
    four results in one loop need more aliasing checks than it makes, and stayed scalar."""
    d0, d_row, a0, b0, s_row = (np.uintp(d0), np.uintp(d_row), np.uintp(a0), np.uintp(b0),
                                np.uintp(s_row))
    for r in range(np.uintp(rows)):
        at, a, b = d0 + r * d_row, a0 + r * s_row, b0 + r * s_row
        if sign > 0:
            for i in range(np.uintp(count)):
                dst[at + i] = src[a + i] + src[b + i]
        else:
            for i in range(np.uintp(count)):
                dst[at + i] = src[a + i] - src[b + i]


@inner_kernel(linked=False)
def _combine3(dst, d0, d_row, src, a0, b0, c0, sign, s_row, rows, count):
    """dst[d0 + r*d_row + i] = src[a0 + ...] + sign * (src[b0 + ...] + src[c0 + ...]), over
    rows r and runs i as in _combine2."""
    d0, d_row, a0, b0, c0, s_row = (np.uintp(d0), np.uintp(d_row), np.uintp(a0),
                                    np.uintp(b0), np.uintp(c0), np.uintp(s_row))
    for r in range(np.uintp(rows)):
        at, a, b, c = d0 + r * d_row, a0 + r * s_row, b0 + r * s_row, c0 + r * s_row
        if sign > 0:
            for i in range(np.uintp(count)):
                dst[at + i] = src[a + i] + (src[b + i] + src[c + i])
        else:
            for i in range(np.uintp(count)):
                dst[at + i] = src[a + i] - (src[b + i] + src[c + i])


@njit(inline="always")
def _input_rows(dst, d0, d_step, d_row, src, s0, s_step, s_row, rows, count):
    """Bᵀ along one axis: with the operands v_j = src[s0 + j*s_step ...] (j < 4), result a
    goes to dst[d0 + a*d_step ...]; each is `rows` runs of `count` (d_row, s_row apart)."""
    for a in range(4):
        j1, j2, sign = INPUT_ROWS[a]
        _combine2(dst, d0 + a * d_step, d_row, src, s0 + j1 * s_step, s0 + j2 * s_step, sign,
                  s_row, rows, count)


@njit(inline="always")
def _output_rows(dst, d0, d_step, d_row, src, s0, s_step, s_row, rows, count):
    """Aᵀ along one axis, laid out as _input_rows: two results from four operands."""
    for a in range(2):
        j1, j2, j3, sign = OUTPUT_ROWS[a]
        _combine3(dst, d0 + a * d_step, d_row, src, s0 + j1 * s_step, s0 + j2 * s_step,
                  s0 + j3 * s_step, sign, s_row, rows, count)


@njit(inline="always")
def _input_tiles(xf, shape, k0, count, per_image, tiles_w, top_pad, left_pad, lines, rows,
                 vf, block):
    """V[e, k] = (Bᵀ d B)[e] for the tiles k0 .. k0 + count - 1, d each tile's 4x4 input
    patch, one run of a tile row's tiles at a time: Bᵀ along the rows over the whole input
    lines the run reads (its tiles share them: half the work of patch by patch, and no copy
    where the lines lie inside the image), then along the columns, tile by tile.
    shape: x's (N, H, W, C); lines, rows: (4, 2 * tiles_w + 2 cells, C) flat each. Inlined
    into winograd_forward's IR, its one caller (inner.py says why)."""
    _, height, width, channels = shape
    plane = lines.size // 4                  # one line of cells
    zero, one = np.intp(0), np.intp(1)       # not literals: one compile of _combine2
    k = 0
    while k < count:
        n, r = (k0 + k) // per_image, (k0 + k) % per_image
        run = min(tiles_w - r % tiles_w, count - k)
        top, left = 2 * (r // tiles_w) - top_pad, 2 * (r % tiles_w) - left_pad
        cells = 2 * run + 2
        if 0 <= top and top + 4 <= height and 0 <= left and left + cells <= width:
            src, s0, step = xf, ((n * height + top) * width + left) * channels, width * channels
        else:
            _gather_lines(xf, n, top, left, cells, height, width, channels, lines)
            src, s0, step = lines, 0, plane
        _input_rows(rows, zero, plane, zero, src, s0, step, zero, one, cells * channels)
        for a in range(4):
            _input_rows(vf, (a * 4 * block + k) * channels, block * channels, channels,
                        rows, a * plane, channels, 2 * channels, run, channels)
        k += run


@njit(inline="always")
def _gather_lines(xf, n, top, left, cells, height, width, channels, lines):
    """lines[i, j] = x[n, top + i, left + j] for i < 4, j < cells (0 outside the image)."""
    plane = np.uintp(lines.size // 4)
    for i in range(4):
        row = top + i
        for j in range(cells):
            col = left + j
            at = np.uintp(i) * plane + np.uintp(j * channels)
            start = np.uintp(((n * height + row) * width + col) * channels)
            inside = 0 <= row < height and 0 <= col < width
            for c in range(np.uintp(channels)):
                lines[at + c] = xf[start + c] if inside else 0


@njit(inline="always")
def _store_tiles(out, k0, count, block, per_image, tiles_w, pooled, bias, relu, y):
    """y's cells of tiles k0 .. k0 + count - 1 from out[a, k, (b, f)] = tile k's output (a, b)
    (2, block, 2F flat): all four cells inside y, or their maximum (pooled: a NaN among them
    makes it NaN, as max-pooling's); + bias when it has entries, then relu (NaN stays). y
    (N, OH, OW, F)."""
    out_h, out_w, n_out = y.shape[1], y.shape[2], y.shape[3]
    yf, f_count = y.reshape(-1), np.uintp(n_out)
    zero = y.dtype.type(0)
    plane = np.uintp(block * 2 * n_out)
    for k in range(count):
        n, r = (k0 + k) // per_image, (k0 + k) % per_image
        ti, tj = r // tiles_w, r % tiles_w
        tile = np.uintp(k * 2 * n_out)
        for cell in range(1 if pooled else 4):
            a, b = cell // 2, cell % 2
            i, j = (ti, tj) if pooled else (2 * ti + a, 2 * tj + b)
            if i >= out_h or j >= out_w:
                continue
            at = np.uintp(((n * out_h + i) * out_w + j) * n_out)
            first = np.uintp(a) * plane + tile + np.uintp(b) * f_count
            for f in range(f_count):
                v = out[first + f]
                if pooled:
                    for other in (f_count, plane, plane + f_count):
                        w = out[first + other + f]
                        v = w if (w > v) | (w != w) else v
                if bias.shape[0] > 0:
                    v += bias[f]
                yf[at + f] = zero if relu and v < zero else v


@njit(cache=True, nogil=True, error_model="numpy")
def winograd_forward(t, chunks, x, u, bias, top_pad, left_pad, relu, pooled, y, block, small,
                     gemm_address):
    """Chunk t of `chunks` (run by the parfor shell, shells.py) of y = conv(x, w) (+ bias,
    relu) with U = transformed_kernel(w); pooled: y is the 2x2 max-pool (strides 2) of the
    convolution,
    one tile per pooled cell. x (N, H, W, C), u (16, C, F), bias (F,) or (0,), y (N, OH, OW,
    F): the convolution's or the pool's output; top_pad, left_pad: the padding before (the
    padding after only sets OH, OW); `block` tiles (block_tiles) per product, by the BLAS
    gemm at gemm_address (blas.py), held to one thread by the caller. A plain function
    called from the parfor shell (shells.py), not a parfor itself: the same speed, and 2.5 s
    less to compile."""
    channels, n_out = x.shape[3], y.shape[3]
    tiles_h, tiles_w = ((y.shape[1], y.shape[2]) if pooled
                        else ((y.shape[1] + 1) // 2, (y.shape[2] + 1) // 2))
    per_image = tiles_h * tiles_w
    start, stop = chunk_span(t, chunks, x.shape[0] * per_image)
    xf = x.reshape(-1)
    zero, one = np.intp(0), np.intp(1)       # not literals: one compile of _combine3
    # M A (4, block, 2F), Aᵀ M A (2, block, 2F); a tile row's input lines and Bᵀ of them
    # (4, 2 * tiles_w + 2 cells, C); V (16, block, C) and M (16, block, F)
    first = np.empty(block * 8 * n_out, x.dtype)
    second = np.empty(block * 4 * n_out, x.dtype)
    lines = np.empty(4 * (2 * tiles_w + 2) * channels, x.dtype)
    rows = np.empty(4 * (2 * tiles_w + 2) * channels, x.dtype)
    v = np.empty((POINTS, block, channels), x.dtype)
    m = np.empty((POINTS, block, n_out), x.dtype)
    vf, mf = v.reshape(-1), m.reshape(-1)
    for k0 in range(start, stop, block):
        count = min(block, stop - k0)
        _input_tiles(xf, x.shape, k0, count, per_image, tiles_w, top_pad, left_pad, lines,
                     rows, vf, block)
        for e in range(POINTS):
            dot_in_row_runs(gemm_address, v[e, :count], u[e], m[e, :count], small)
        for i in range(4):                           # M A along the columns j, per row i
            _output_rows(first, i * block * 2 * n_out, n_out, 2 * n_out, mf,
                         i * 4 * block * n_out, block * n_out, n_out, count, n_out)
        _output_rows(second, zero, block * 2 * n_out, zero, first, zero, block * 2 * n_out,
                     zero, one, count * 2 * n_out)   # then along the rows i
        _store_tiles(second, k0, count, block, per_image, tiles_w, pooled, bias, relu, y)


def block_tiles(channels: int, filters: int, itemsize: int, tiles: int, small: int) -> int:
    """Tiles per block: as many as keep the block's buffers within L2_BUDGET bytes, or
    PACKED_BUDGET_FACTOR times that where BLAS has no small products (`small` 0)."""
    per_tile = 12 * filters + POINTS * (channels + filters)
    budget = L2_BUDGET if small else PACKED_BUDGET_FACTOR * L2_BUDGET
    return max(1, min(tiles, budget // (per_tile * itemsize)))
