"""N-d max, average and sum pooling (1-D, 2-D and 3-D), channels_last.

x is (N, *spatial, C); padding is explicit, one (before, after) pair per spatial axis, and is
never materialized: each window is clipped to the input, so max pooling ignores padded cells
and average pooling divides by the count of real cells (Keras's "same" semantics). 1-D and
2-D problems run through the one 3-D routine with leading spatial axes of size 1, so each
dtype compiles once.

Max pooling of whole images whose windows all lie inside them (no padding: a CNN's pools) runs
`max_pool_rows` per image, in a chunk body run by the parfor shell (shells.py): 3.1 -> 1.1 s of
cold compile, and as fast as inside the general parfor (alternated ABBA, 26x26x32: 0.995-1.00x
the time, 11x11x64: 0.94-1.06x). Other cases run these parallel tasks, (image, channel
block) pairs: the channel axis is innermost and contiguous,
so every window row is a unit-stride vector loop, and a small batch still splits over the
threads by channels. A task writes only its own image and channels, so the backward scatters
need no atomics. Rows are addressed as `uint64` so Numba drops the negative-index wraparound
check, which otherwise keeps LLVM from vectorizing the channel loops.

Max pooling's backward finds each window's first cell equal to y instead of reading argmax
positions stored by the forward: the Op contract passes only (dy, y, x) to the VJP, inference
never pays for an index array, and measured over forward + backward the branch-free
recompute is about as fast as storing int64 positions (whose forward is up to 1.8x slower).
"""
import numba
import numpy as np
from numba import njit, prange, uint64

from .inner import inner_kernel
from .parallel import chunk_span, launch
from .shells import parallel_chunks

__all__ = ["max_pool_forward", "max_pool_backward", "average_pool_forward",
           "average_pool_backward", "sum_pool_forward"]


@inner_kernel
def _window(i, stride, pad, size, extent):
    """The input range [start, stop) of output index i along one axis, clipped to the input."""
    start = i * stride - pad
    return max(start, 0), min(start + size, extent)


@inner_kernel
def _channels(task, blocks, block, channels):
    """(image, first channel, end channel) of a parallel task."""
    c0 = (task % blocks) * block
    return task // blocks, uint64(c0), uint64(min(c0 + block, channels))


@inner_kernel
def _zero_image(a2, n, cells, c0, c1):
    """a2[rows of image n, c0:c1] = 0, where a2 is (N * cells, C)."""
    for row in range(uint64(n * cells), uint64((n + 1) * cells)):
        for ch in range(c0, c1):
            a2[row, ch] = 0


@njit(inline="always")
def next_window(i, j, l, oh, ow):
    """The window after (i, j, l) in row-major order over (., oh, ow). The pooling kernels
    walk an image's windows in one loop with these counters: three nested loops over them,
    around three over each window's cells, took LLVM 0.2-0.6 s more per kernel to compile."""
    l += 1
    if l == ow:
        l, j = 0, j + 1
        if j == oh:
            j, i = 0, i + 1
    return i, j, l


@inner_kernel(linked=False)
def max_pool_rows(src, r0, in_sp, pk, ps, pooled_sp, dst, d0):
    """dst[d0 + (i, j, l)] = the maximum of src's rows r0 + (position) over window (i, j, l)
    of an image laid out as in_sp positions (windows of size pk, strides ps per axis, all
    inside the image). src, dst (rows, F). Per line of windows, first the maximum over their
    lines of input (whole lines: long loops, vectorized), then over each window's cells of
    that line: a loop per window and cell, as few values long as F, costs several times more
    per value (the Simple MNIST convnet's first 2x2 pool: 4.3 -> 1.9 us an image). A NaN
    anywhere in a window makes its maximum NaN, as `_max_pool`'s. Each value stored is
    computed, never the one just loaded (the first two lines' and cells' maximum out of
    place, later ones from the stored one + 0): LLVM turns `m = max(a, m)` in place into a
    store only where a wins, which it does not vectorize (8x slower a line; see conv.py's
    `_bias_relu`). Max pooling's whole images and the convolution's fused pool (conv.py) run
    this."""
    n_out, sf, df = np.uintp(src.shape[1]), src.reshape(-1), dst.reshape(-1)
    kd, kh, kw = pk
    sd, sh, sw = ps
    _, ih, iw = in_sp
    od, oh, ow = pooled_sp
    span = np.uintp((ow - 1) * sw + kw) * n_out        # the values a line of windows reads
    line = np.empty(span, src.dtype)
    zero = src.dtype.type(0)
    for w_line in range(od * oh):
        i, j = w_line // oh, w_line % oh
        first = np.uintp(0)
        for tap in range(kd * kh):
            p, q = tap // kh, tap % kh
            at = np.uintp(r0 + ((i * sd + p) * ih + j * sh + q) * iw) * n_out
            if tap == 0:
                first = at
                if kd * kh == 1:
                    for v in range(span):
                        line[v] = sf[at + v]
            elif tap == 1:                  # the first two lines' maximum, out of place
                for v in range(span):
                    a, m = sf[at + v], sf[first + v]
                    line[v] = a if (a > m) | (a != a) else m
            else:
                for v in range(span):
                    a, m = sf[at + v], line[v] + zero     # (+0: see the docstring)
                    line[v] = a if (a > m) | (a != a) else m
        out = np.uintp(d0 + w_line * ow) * n_out
        for l in range(ow):
            cell, to = np.uintp(l * sw) * n_out, out + np.uintp(l) * n_out
            if kw == 1:
                for f in range(n_out):
                    df[to + f] = line[cell + f]
            else:
                for f in range(n_out):
                    a, m = line[cell + n_out + f], line[cell + f]
                    df[to + f] = a if (a > m) | (a != a) else m
            for r in range(2, kw):
                at = cell + np.uintp(r) * n_out
                for f in range(n_out):
                    a, m = line[at + f], df[to + f] + zero
                    df[to + f] = a if (a > m) | (a != a) else m


@inner_kernel(linked=False)
def max_pool_rows_backward(dy, y, p0, x, r0, in_sp, pk, ps, pooled_sp, dx, d0, unspent):
    """The VJP of max_pool_rows for one image: dx[d0 + (position)] = the sum of dy[p0 +
    (i, j, l)] over the windows (i, j, l) whose first cell equal to their maximum y[p0 +
    (i, j, l)] is that position of x's rows r0 + (position), else 0 (a NaN maximum equals
    no cell: its gradient is dropped, as `_max_pool_backward`'s). dy, y (rows, F); x, dx
    (rows, F) laid out as in_sp positions; unspent (F,) scratch. The convolution's backward
    with a pooled gradient (conv.py) runs this on its block of rows still in cache."""
    n_out = np.uintp(x.shape[1])
    yf, dyf, xf, dxf = y.reshape(-1), dy.reshape(-1), x.reshape(-1), dx.reshape(-1)
    kd, kh, kw = pk
    _, ih, iw = in_sp
    od, oh, ow = pooled_sp
    zero = dx.dtype.type(0)
    first = np.uintp(d0) * n_out
    disjoint = ps[0] >= kd and ps[1] >= kh and ps[2] >= kw     # no cell in two windows
    tiled = (ps == pk and od * kd == in_sp[0] and oh * kh == ih    # every cell in exactly
             and ow * kw == iw)                                    # one window
    if not tiled:
        for v in range(np.uintp(in_sp[0] * ih * iw) * n_out):  # some cell in no window
            dxf[first + v] = zero
    i = j = l = 0
    for window in range(od * oh * ow):
        out = np.uintp(p0 + window) * n_out
        for f in range(n_out):
            unspent[f] = dyf[out + f]
        p = q = r = 0                  # the window's cell, in row-major order (no divisions)
        for _ in range(kd * kh * kw):
            at = np.uintp(((i * ps[0] + p) * ih + j * ps[1] + q) * iw + l * ps[2] + r) * n_out
            src, dst = np.uintp(r0) * n_out + at, first + at
            if disjoint:                                   # stored, not added
                for f in range(n_out):
                    hit = xf[src + f] == yf[out + f]
                    g = unspent[f]
                    dxf[dst + f] = g if hit else zero
                    unspent[f] = zero if hit else g + zero     # (+0: a computed value,
            else:
                for f in range(n_out):
                    hit = xf[src + f] == yf[out + f]
                    g = unspent[f]
                    dxf[dst + f] += g if hit else zero
                    unspent[f] = zero if hit else g + zero     # see max_pool_rows)
            p, q, r = next_window(p, q, r, kh, kw)
        i, j, l = next_window(i, j, l, oh, ow)


@inner_kernel
def _max_pool_images(t, chunks, x2, in_sp, ks, s, out_sp, y2):
    """Chunk t of `chunks` (contiguous runs of images) of max_pool_rows on every image, whose
    windows all lie inside it: x2 (N * cells, C), y2 (N * pooled cells, C)."""
    in_cells, out_cells = in_sp[0] * in_sp[1] * in_sp[2], out_sp[0] * out_sp[1] * out_sp[2]
    start, stop = chunk_span(t, chunks, x2.shape[0] // in_cells)
    for image in range(start, stop):
        max_pool_rows(x2, image * in_cells, in_sp, ks, s, out_sp, y2, image * out_cells)


@njit(cache=True, parallel=True)
def _max_pool(x, ks, s, pb, block, y):
    """y[n, i, j, l] = max of x[n] over the window of output (i, j, l), per channel, each
    window clipped to the input: NaN where the window holds a NaN, as Keras's (XLA's max)
    and PyTorch's max pooling."""
    n_batch, od, oh, ow, c = y.shape
    d, h, w = x.shape[1], x.shape[2], x.shape[3]
    x2, y2 = x.reshape(-1, c), y.reshape(-1, c)
    zero = y.dtype.type(0)
    blocks = (c + block - 1) // block
    for task in prange(n_batch * blocks):
        n, c0, c1 = _channels(task, blocks, block, c)
        i = j = l = 0
        for out in range(uint64(n * od * oh * ow), uint64((n + 1) * od * oh * ow)):
            d0, d1 = _window(i, s[0], pb[0], ks[0], d)
            h0, h1 = _window(j, s[1], pb[1], ks[1], h)
            w0, w1 = _window(l, s[2], pb[2], ks[2], w)
            first = uint64(((n * d + d0) * h + h0) * w + w0)
            for ch in range(c0, c1):
                y2[out, ch] = x2[first, ch]
            for p in range(d0, d1):
                for q in range(h0, h1):
                    for r in range(w0, w1):
                        row = uint64(((n * d + p) * h + q) * w + r)
                        for ch in range(c0, c1):
                            v, m = x2[row, ch], y2[out, ch] + zero    # (+0: see
                            y2[out, ch] = v if (v > m) | (v != v) else m   # max_pool_rows)
            i, j, l = next_window(i, j, l, oh, ow)


@njit(cache=True, parallel=True)
def _max_pool_backward(dy, x, y, ks, s, pb, block, dx):
    """dx[n, argmax of window (i, j, l)] += dy[n, i, j, l], the argmax being the window's
    first cell equal to its maximum y (the forward's first maximum); dx is zeroed here, by
    each task in its own image and channels. Branch-free: every window cell adds
    `g if hit else 0`, and a hit spends g."""
    n_batch, od, oh, ow, c = dy.shape
    d, h, w = x.shape[1], x.shape[2], x.shape[3]
    x2, y2, dy2, dx2 = x.reshape(-1, c), y.reshape(-1, c), dy.reshape(-1, c), dx.reshape(-1, c)
    blocks = (c + block - 1) // block
    for task in prange(n_batch * blocks):
        n, c0, c1 = _channels(task, blocks, block, c)
        _zero_image(dx2, n, d * h * w, c0, c1)
        unspent = np.empty(c, dy.dtype)        # per task, reused for every window
        i = j = l = 0
        for out in range(uint64(n * od * oh * ow), uint64((n + 1) * od * oh * ow)):
            d0, d1 = _window(i, s[0], pb[0], ks[0], d)
            h0, h1 = _window(j, s[1], pb[1], ks[1], h)
            w0, w1 = _window(l, s[2], pb[2], ks[2], w)
            for ch in range(c0, c1):
                unspent[ch] = dy2[out, ch]
            for p in range(d0, d1):
                for q in range(h0, h1):
                    for r in range(w0, w1):
                        row = uint64(((n * d + p) * h + q) * w + r)
                        for ch in range(c0, c1):
                            hit = x2[row, ch] == y2[out, ch]
                            g = unspent[ch]
                            dx2[row, ch] += g if hit else 0
                            unspent[ch] = 0 if hit else g + 0    # (+0: see max_pool_rows)
            i, j, l = next_window(i, j, l, oh, ow)


@njit(cache=True, parallel=True)
def _sum_pool(x, y, ks, s, pb, block, mean, adjoint):
    """y[n, i, j, l] = sum of x[n] over the real (unpadded) cells of window (i, j, l), divided
    by their count if `mean`; with `adjoint`, its transpose: x[n, window (i, j, l)] +=
    y[n, i, j, l] (/ count), x zeroed here by each task in its own image and channels."""
    n_batch, od, oh, ow, c = y.shape
    d, h, w = x.shape[1], x.shape[2], x.shape[3]
    x2, y2 = x.reshape(-1, c), y.reshape(-1, c)
    blocks = (c + block - 1) // block
    for task in prange(n_batch * blocks):
        n, c0, c1 = _channels(task, blocks, block, c)
        if adjoint:
            _zero_image(x2, n, d * h * w, c0, c1)
        share = np.empty(c, y.dtype)
        i = j = l = 0
        for out in range(uint64(n * od * oh * ow), uint64((n + 1) * od * oh * ow)):
            d0, d1 = _window(i, s[0], pb[0], ks[0], d)
            h0, h1 = _window(j, s[1], pb[1], ks[1], h)
            w0, w1 = _window(l, s[2], pb[2], ks[2], w)
            scale = 1.0 / ((d1 - d0) * (h1 - h0) * (w1 - w0)) if mean else 1.0
            for ch in range(c0, c1):
                share[ch] = y2[out, ch] * scale if adjoint else 0
            for p in range(d0, d1):
                for q in range(h0, h1):
                    for r in range(w0, w1):
                        row = uint64(((n * d + p) * h + q) * w + r)
                        if adjoint:
                            for ch in range(c0, c1):
                                x2[row, ch] += share[ch]
                        else:
                            for ch in range(c0, c1):
                                share[ch] += x2[row, ch]
            if not adjoint:
                for ch in range(c0, c1):
                    y2[out, ch] = share[ch] * scale
            i, j, l = next_window(i, j, l, oh, ow)


# ---- host side ----------------------------------------------------------------------------

def _lift(values, fill):
    """Per-axis values of a 1-D or 2-D problem, led by `fill` to three axes."""
    return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)


def _as_3d(a):
    """(N, *spatial, C) -> (N, D, H, W, C), C-contiguous."""
    a = np.ascontiguousarray(a)
    return a.reshape(a.shape[0], *_lift(a.shape[1:-1], 1), a.shape[-1])


def _channel_block(n_batch: int, channels: int) -> int:
    """Channels per task: whole images when the batch covers the threads, else channel blocks
    (multiples of 16: a cache line of float32) so that a small batch still uses every thread."""
    threads = numba.get_num_threads()
    if n_batch >= threads:
        return max(channels, 1)
    per_block = -(-channels // -(-threads // n_batch))
    return max(16, -(-per_block // 16) * 16)


def _setup(x_shape, window):
    """(3-D pool, strides, padding-before triples, output shape) of an N-d problem."""
    out = window.output_spatial(x_shape[1:-1])
    return (_lift(window.size, 1), _lift(window.strides, 1),
            _lift([p[0] for p in window.padding], 0), (x_shape[0], *out, x_shape[-1]))


def windows_inside(window, spatial) -> bool:
    """Whether every window lies inside an image of `spatial` cells, without padding: the
    case max_pool_rows (and its backward) computes."""
    out = window.output_spatial(spatial)
    return all(before == 0 for before, _ in window.padding) and all(
        (o - 1) * stride + k <= n for o, stride, k, n in zip(out, window.strides, window.size,
                                                             spatial))


def max_pool_forward(x, window):
    """Max over each window (a Window: size, strides, padding pairs) of x (N, *spatial, C)."""
    ks, s, pb, out_shape = _setup(x.shape, window)
    y = np.empty(out_shape, x.dtype)
    x3, y3, block = _as_3d(x), _as_3d(y), _channel_block(x.shape[0], x.shape[-1])
    in_sp, out_sp = x3.shape[1:4], y3.shape[1:4]
    whole_images = windows_inside(window, x.shape[1:-1]) and block >= x.shape[-1]
    if whole_images and y.size:                                 # line by line
        x2, y2 = x3.reshape(-1, x.shape[-1]), y3.reshape(-1, x.shape[-1])
        launch(parallel_chunks, x.size, _max_pool_images, numba.get_num_threads(), x2, in_sp,
               ks, s, out_sp, y2)
    else:
        launch(_max_pool, x.size, x3, ks, s, pb, block, y3)
    return y


def max_pool_backward(dy, x, y, window):
    """dL/dx: each dy goes to the first cell of its window that equals the maximum y."""
    ks, s, pb, _ = _setup(x.shape, window)
    dx = np.empty(x.shape, x.dtype)
    launch(_max_pool_backward, x.size, _as_3d(np.asarray(dy, x.dtype)), _as_3d(x),
           _as_3d(np.asarray(y, x.dtype)), ks, s, pb, _channel_block(x.shape[0], x.shape[-1]),
           _as_3d(dx))
    return dx


def _sum_pool_forward(x, window, mean):
    ks, s, pb, out_shape = _setup(x.shape, window)
    y = np.empty(out_shape, x.dtype)
    launch(_sum_pool, x.size, _as_3d(x), _as_3d(y), ks, s, pb,
           _channel_block(x.shape[0], x.shape[-1]), mean, False)
    return y


def average_pool_forward(x, window):
    """Mean over the real cells of each window; x (N, *spatial, C)."""
    return _sum_pool_forward(x, window, True)


def sum_pool_forward(x, window):
    """Sum over the real cells of each window (the adjoint of nearest upsampling)."""
    return _sum_pool_forward(x, window, False)


def average_pool_backward(dy, x_shape, window):
    """dL/dx: each dy shared equally among the real cells of its window."""
    ks, s, pb, _ = _setup(x_shape, window)
    dx = np.empty(x_shape, dy.dtype)
    launch(_sum_pool, dx.size, _as_3d(dx), _as_3d(dy), ks, s, pb,
           _channel_block(x_shape[0], x_shape[-1]), True, True)
    return dx
