"""N-d convolution (1-D, 2-D and 3-D), channels_last, as im2col + BLAS.

x is (N, *spatial, C); w is (*k, C // groups, F) (Keras's layout); the geometry is one
`Window` (kernels/geometry.py) whose padding, one (before, after) pair per spatial axis,
is never materialized: im2col writes zeros
for taps that fall outside the input, col2im drops them. 1-D and 2-D problems run through
the one 3-D routine with leading spatial axes of size 1, so each dtype compiles once. The
forward of a 3x3, stride-1, undilated, ungrouped 2-D convolution of 8 or more channels runs
Winograd's F(2x2, 3x3) instead (winograd.py: 2.25x fewer multiply-adds; the Simple MNIST
convnet's second convolution with its pool 2.4-2.8 -> 1.55 ms a batch of 128), and that of
one channel (a first layer on grey images), unpooled or with a 2x2 pool, a direct loop
(`_conv3x3_one_channel_chunk`, `_conv3x3_one_channel_pooled_chunk`: a product of inner
size 9 is a poor BLAS call); so does the
kernel gradient of a stride-1 one-channel convolution from its 2x2 pool's gradient
(`_pooled_one_channel_kernel_gradient_chunk`).

Per image and group, im2col gathers the receptive fields into rows of a (positions, taps *
C/groups) buffer, and BLAS does the contraction per block of images (in runs of rows that
are OpenBLAS's small products where it has them, gemm.dot_in_row_runs: the Simple MNIST
convnet's inference 31k -> 35k samples/s on 2 threads). The kernel gradient's product adds
into its partial sum in BLAS itself (blas.py), there in runs of rows too: the convnet's
second convolution's backward 7.2-8.4 -> 6.2-7.2 ms. The
forward pass gathers and multiplies a large image's rows in equal runs of at most 1024, so
they are still in cache when BLAS reads them (10% faster at 224x224x64, and a buffer of
megabytes, not a hundred). The
batch is split into one contiguous chunk per Numba thread (a chunk body run by the one parfor
shell, which calls it by address: shells.py; 6.9 -> 4.4 s of cold compile forward, 6.2 -> 3.3-3.9 s
backward), so the buffers are
allocated once per chunk and reused for every image in it, and no two threads write the
same output (the kernel gradient sums one partial per chunk). BLAS is held to one thread
while these kernels run (threadpoolctl): OpenBLAS threads nested under Numba's oversubscribe
the cores and serialize on its lock (measured 10-50x slower on 2 cores). Without
threadpoolctl the images run one at a time and BLAS threads on its own.

The helpers shared by the bodies take no literal arguments: Numba compiles a helper once per
literal value (`_patches`' direction is an np.bool_, not True or False: one compile of 0.5 s
instead of two). Copies run as contiguous runs indexed with unsigned integers (LLVM then
vectorizes them; signed indices keep a wraparound test that blocked it, and im2col cost as
much as the product). A
one-channel input (a first layer on grey images) unfolds transposed, taps by positions, since
its runs along a row are long there and one value long in the row-major layout. The backward
pass is one kernel: relu mask, bias, kernel and input gradients per block of images; it
drops the rows of dz that are all zero from both products (the positions no pooling window
took: 17% of the Simple MNIST convnet's second convolution, 11x11 pooled to 5x5, whose
backward ran 6.1-6.3 -> 5.2-5.3 ms, and the training step 0.945x the time). Given the
gradient of its max-pooled output instead (`pool`: max pooling's deferred gradient, see
ops/conv.py), it makes dz a block of images at a time from it (pooling.max_pool_rows_backward)
and the unpooled gradient is never stored: the Simple MNIST convnet's first convolution with
its pool 1.7 -> 1.25 ms backward, the training step 0.93-0.94x the time. The
forward may max-pool its result before storing it (`max_pool`, used by inference fusion):
the pooled rows are taken from the block still in cache, and only the positions some window
reads are computed.
"""
import math

import numba
import numpy as np
from numba import njit

from ..api import checked_out
from . import winograd
from .blas import address, product, product_of_transposed
from .gemm import THREADED_MIN_FLOPS, dot_in_row_runs, small_product_limit
from .inner import inner_kernel
from .parallel import PARALLEL_MIN_ELEMENTS, blas_controller, launch, single_threaded_blas
from .pooling import max_pool_backward, max_pool_rows, max_pool_rows_backward, windows_inside
from .shells import parallel_chunks

__all__ = ["conv_forward", "conv_backward", "conv_backward_input", "conv_backward_kernel"]


@inner_kernel
def _move(xf, xa, cf, ca, count, scatter):
    """count contiguous values between the flat input and the flat columns:
    cf[ca:ca+count] = xf[xa:xa+count] (gather), or xf[xa:xa+count] += cf[ca:ca+count].
    Unsigned indices: no negative-index wraparound test, so LLVM vectorizes the loops
    (measured 4-10x faster than signed indices or slice assignment)."""
    xa, ca = np.uintp(xa), np.uintp(ca)
    if scatter:
        for t in range(np.uintp(count)):
            xf[xa + t] += cf[ca + t]
    else:
        for t in range(np.uintp(count)):
            cf[ca + t] = xf[xa + t]


@inner_kernel
def _zero(values, start, count):
    """values[start:start + count] = 0 for a flat array: a loop (a slice assignment compiles
    Numba's broadcasting checks at every call site, seconds inside the parfors)."""
    start = np.uintp(start)
    for t in range(np.uintp(max(count, 0))):
        values[start + t] = 0


@inner_kernel(linked=False)
def _copy_columns(dst, d0, src, s0, rows, width):
    """dst[r, d0:d0 + width] = src[r, s0:s0 + width] for r < rows. A loop, not a slice
    assignment: Numba's slice assignment compiles its shape-mismatch message formatting
    (seconds of first-call compile per kernel)."""
    for r in range(rows):
        for j in range(width):
            dst[r, d0 + j] = src[r, s0 + j]


@inner_kernel(linked=False)
def _patches(x, row0, count, index, c0, cg, s, pb, d, ks, out_sp, cols, scatter):
    """im2col (scatter False) of `count` rows of the batch's patch matrix, row0 + k for k <
    count, or row0 + index[k] when index has entries; the matrix's rows are the images' out_sp
    positions, image by image, each in row-major order: cols[k, ((p, q, r), c)] = x[n, i*s0 +
    p*d0 - pb0, ..., c0 + c] for its k-th row (n, (i, j, l)), 0 where the tap falls outside
    x. col2im (scatter True), its adjoint: x[n, ...] += each such entry (taps in the padding
    dropped), so overlapping windows add up exactly. Each row is a few contiguous runs: one
    per tap r of cg channels, or one for a whole line of taps (r, c) when the channels are not
    split into groups and the last axis is not dilated. Callers pass scatter as a literal:
    each direction compiles on its own (0.5 s), and runs 1.2-1.3x faster on small images (a
    Conv1D of 25 steps) than with a runtime flag."""
    depth, height, width, channels = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    oh, ow = out_sp[1], out_sp[2]
    n_pos = out_sp[0] * oh * ow
    xf, cf = x.reshape(-1), cols.reshape(-1)
    n_cols, line = cols.shape[1], ks[2] * cg
    whole_line = cg == channels and d[2] == 1
    listed = index.shape[0] > 0
    for k in range(count):
        row = row0 + (index[k] if listed else k)
        n, pos = row // n_pos, row % n_pos
        i, j, l = pos // (oh * ow), (pos // ow) % oh, pos % ow
        at, x0 = k * n_cols, l * s[2] - pb[2]
        for p in range(ks[0]):
            zi = i * s[0] + p * d[0] - pb[0]
            for q in range(ks[1]):
                yi = j * s[1] + q * d[1] - pb[1]
                base = (((n * depth + zi) * height + yi) * width) * channels + c0
                if not (0 <= zi < depth and 0 <= yi < height):
                    if not scatter:
                        _zero(cf, at, line)
                elif whole_line and x0 >= 0 and x0 + ks[2] <= width:
                    _move(xf, base + x0 * channels, cf, at, line, scatter)
                else:
                    for r in range(ks[2]):
                        xi = x0 + r * d[2]
                        if 0 <= xi < width:
                            _move(xf, base + xi * channels, cf, at + r * cg, cg, scatter)
                        elif not scatter:
                            _zero(cf, at + r * cg, cg)
                at += line


@inner_kernel
def _inside(offset, stride, size, count):
    """(lo, hi): the output indices l in [0, count) whose input cell l * stride + offset lies
    in [0, size)."""
    lo = 0 if offset >= 0 else (stride - 1 - offset) // stride
    hi = 0 if size - 1 - offset < 0 else min(count, (size - 1 - offset) // stride + 1)
    return min(lo, count), max(min(lo, count), hi)


@njit(inline="always")
def _patches_one_channel(x, n, s, pb, d, ks, out_sp, cols_t, col0):
    """im2col of a one-channel image, transposed: cols_t[(p, q, r), col0 + (i, j, l)] =
    x[n, i*s0 + p*d0 - pb0, ..., 0], 0 where the tap falls outside x. Along l the input is
    contiguous (at stride 1), so each row of cols_t fills in long runs, where _patches would
    copy one value per run (measured 3x faster for a 28x28 image and a 3x3 kernel). One loop
    over the taps and one over the output's lines (i, j), with counters: six nested loops
    took LLVM 0.6 s more inside the conv kernels' parfors. Inlined into each body's IR (one
    call site each; inner.py says why)."""
    depth, height, width = x.shape[1], x.shape[2], x.shape[3]
    od, oh, ow = out_sp
    xf, step = x.reshape(-1), np.uintp(s[2])
    for tap in range(ks[0] * ks[1] * ks[2]):
        p, q, r = tap // (ks[1] * ks[2]), tap // ks[2] % ks[1], tap % ks[2]
        off = r * d[2] - pb[2]
        lo, hi = _inside(off, s[2], width, ow)
        row = cols_t[tap]
        zi, yi, j = p * d[0] - pb[0], q * d[1] - pb[1], 0    # input line of output line (i, j)
        for line in range(od * oh):
            at = col0 + line * ow
            first, last = (lo, hi) if 0 <= zi < depth and 0 <= yi < height else (0, 0)
            _zero(row, at, first)
            _zero(row, at + last, ow - last)
            base = ((n * depth + zi) * height + yi) * width + off
            for l in range(np.uintp(first), np.uintp(last)):
                row[np.uintp(at) + l] = xf[np.uintp(base) + l * step]
            yi, j = yi + s[1], j + 1
            if j == oh:
                zi, yi, j = zi + s[0], q * d[1] - pb[1], 0


@inner_kernel
def _conv_forward_chunk(t, chunks, x, wg, bias, s, pb, d, ks, out_sp, relu, pk, ps, pooled_sp,
                        block, tile, y, small, gemm_address):
    """Chunk t of `chunks` (contiguous runs of images) of
    y[(n, pos), group g] = im2col(x[n], group g) @ wg[g], `block` images per block, each
    block's rows gathered and multiplied `tile` at a time (so the im2col rows stay in cache),
    then pooled, biased and rectified (`_finish_block`); the products by the BLAS gemm at
    gemm_address (blas.py). x (N, D, H, W, C), wg (G, K, Fg), bias (F,) or (0,), y
    (N * positions, F)."""
    n_batch, n_pos = x.shape[0], out_sp[0] * out_sp[1] * out_sp[2]
    groups, n_cols, per_group = wg.shape
    cg = x.shape[4] // groups
    cols = np.empty((tile, n_cols), x.dtype)
    part = np.empty((tile if groups > 1 else 0, per_group), x.dtype)
    scratch = np.empty((block * n_pos if pk != (1, 1, 1) or ps != (1, 1, 1) else 0,
                        y.shape[1]), x.dtype)
    every = np.empty(0, np.intp)       # _patches' rows: all, in order
    stop = (t + 1) * n_batch // chunks
    for n0 in range(t * n_batch // chunks, stop, block):
        n1 = min(n0 + block, stop)
        rows = (n1 - n0) * n_pos
        out = scratch[:rows] if scratch.shape[0] else y[n0 * n_pos:n1 * n_pos]
        for g in range(groups):
            for r0 in range(0, rows, tile):
                m = min(tile, rows - r0)
                _patches(x, n0 * n_pos + r0, m, every, g * cg, cg, s, pb, d, ks, out_sp,
                         cols, np.bool_(False))
                if groups == 1:
                    dot_in_row_runs(gemm_address, cols[:m], wg[0], out[r0:r0 + m], small)
                else:
                    dot_in_row_runs(gemm_address, cols[:m], wg[g], part[:m], small)
                    _copy_columns(out[r0:r0 + m], g * per_group, part, 0, m, per_group)
        _finish_block(out, n0, n1, n_pos, out_sp, pk, ps, pooled_sp, bias, relu, y)


@inner_kernel
def _conv_forward_one_channel_chunk(t, chunks, x, wg, bias, s, pb, d, ks, out_sp, relu, pk,
                                    ps, pooled_sp, block, tile, y, small, gemm_address):
    """_conv_forward_chunk for x of one channel (a first layer; no groups): each block's
    patches gathered transposed by _patches_one_channel (long contiguous runs) into one
    product. Its own body, so that a model whose other convolutions take Winograd never
    compiles the general one (1 s of a cold start); `tile` and `small` are unused."""
    n_batch, n_pos = x.shape[0], out_sp[0] * out_sp[1] * out_sp[2]
    n_cols = wg.shape[1]
    cols_t = np.empty((n_cols, block * n_pos), x.dtype)
    scratch = np.empty((block * n_pos if pk != (1, 1, 1) or ps != (1, 1, 1) else 0,
                        y.shape[1]), x.dtype)
    stop = (t + 1) * n_batch // chunks
    for n0 in range(t * n_batch // chunks, stop, block):
        n1 = min(n0 + block, stop)
        rows = (n1 - n0) * n_pos
        out = scratch[:rows] if scratch.shape[0] else y[n0 * n_pos:n1 * n_pos]
        for n in range(n0, n1):
            _patches_one_channel(x, n, s, pb, d, ks, out_sp, cols_t, (n - n0) * n_pos)
        product_of_transposed(gemm_address, cols_t[:, :rows], wg[0], out, False, 0)
        _finish_block(out, n0, n1, n_pos, out_sp, pk, ps, pooled_sp, bias, relu, y)


@inner_kernel
def _conv3x3_one_channel_chunk(t, chunks, x, wg, bias, s, pb, d, ks, out_sp, relu, pk, ps,
                               pooled_sp, block, tile, y, small, gemm_address):
    """_conv_forward_chunk for a 2-D 3x3, stride-1, undilated convolution of one channel (the
    usual first layer on grey images) without a pool, direct: the positions run in 2x2
    blocks, each position's 9 taps are scalars and its F values one vectorized loop over the
    kernel's 9 rows, so no patch matrix is stored and no product of inner size 9 runs
    through BLAS (the Simple MNIST convnet's first convolution in training, a batch of 128
    on one thread: 1.92-2.25 -> 1.74-1.90 ms). A block's 4 positions stay in `acc`, and each
    one inside the output is biased, rectified and stored. Per image, the cells the blocks
    read are first copied into `image`, zero where they fall in the padding or past the
    input. The loops' shape is measured, not arbitrary: the taps' products written in a
    helper function, or the positions in a loop of variable length, ran 1.3-1.6x slower;
    the 4 positions' sums in one loop over the filters (as the pooled body) ran no faster
    here, where storing the unpooled output bounds it. `s`, `d`, `ks`, `pk`, `ps`,
    `pooled_sp`, `block`, `tile`, `small` and `gemm_address` are unused."""
    n_batch, n_out = x.shape[0], wg.shape[2]
    _, oh, ow = out_sp
    w = wg[0]
    b = bias if bias.shape[0] > 0 else np.zeros(n_out, x.dtype)
    blocks_h, blocks_w = (oh + 1) // 2, (ow + 1) // 2
    image = np.zeros((2 * blocks_h + 2, 2 * blocks_w + 2), x.dtype)
    acc = np.empty((4, n_out), x.dtype)
    zero = x.dtype.type(0)
    for n in range(t * n_batch // chunks, (t + 1) * n_batch // chunks):
        _copy_image(x, n, pb, image)
        for i in range(blocks_h):
            for j in range(blocks_w):
                for a in range(4):
                    r, c = 2 * i + a // 2, 2 * j + a % 2
                    v0, v1, v2 = image[r, c], image[r, c + 1], image[r, c + 2]
                    v3, v4, v5 = image[r + 1, c], image[r + 1, c + 1], image[r + 1, c + 2]
                    v6, v7, v8 = image[r + 2, c], image[r + 2, c + 1], image[r + 2, c + 2]
                    for f in range(n_out):
                        acc[a, f] = (v0 * w[0, f] + v1 * w[1, f] + v2 * w[2, f]
                                     + v3 * w[3, f] + v4 * w[4, f] + v5 * w[5, f]
                                     + v6 * w[6, f] + v7 * w[7, f] + v8 * w[8, f])
                for a in range(4):
                    r, c = 2 * i + a // 2, 2 * j + a % 2
                    if r < oh and c < ow:
                        row = (n * oh + r) * ow + c
                        for f in range(n_out):
                            v = acc[a, f] + b[f]
                            y[row, f] = zero if relu and v < zero else v


@inner_kernel(fastmath={"contract"})
def _conv3x3_one_channel_pooled_chunk(t, chunks, x, wg, bias, s, pb, d, ks, out_sp, relu, pk,
                                      ps, pooled_sp, block, tile, y, small, gemm_address):
    """_conv3x3_one_channel_chunk followed by a 2x2 max-pool of strides 2 (inference's fused
    first layer): each pooling window's 4 positions read one 4x4 patch of 16 cells, held as
    scalars, and one vectorized loop over the filters reads the kernel's 9 values of filter
    f once for all four sums, multiply-adds them (fastmath "contract": fused, one rounding
    each), and stores only their maximum (NaN wins, as max_pool_rows'), biased and
    rectified. No buffer is written between the sums and the maximum: the 4 sums stored to
    a (4, F) buffer, as the unpooled body does, ran 1.38x slower, and the two bodies in one
    function slowed this one's loop to the unpooled one's. The Simple MNIST convnet's first
    convolution with its pool, a batch of 128 on one thread: 1.25-1.41 -> 1.06-1.13 ms.
    Arguments as _conv3x3_one_channel_chunk's; `s`, `d`, `ks`, `out_sp`, `pk`, `ps`, `block`,
    `tile`, `small` and `gemm_address` are unused."""
    n_batch, n_out = x.shape[0], wg.shape[2]
    _, ph, pw = pooled_sp
    w = wg[0]
    b = bias if bias.shape[0] > 0 else np.zeros(n_out, x.dtype)
    image = np.zeros((2 * ph + 2, 2 * pw + 2), x.dtype)
    zero = x.dtype.type(0)
    for n in range(t * n_batch // chunks, (t + 1) * n_batch // chunks):
        _copy_image(x, n, pb, image)
        for i in range(ph):
            for j in range(pw):
                r, c = 2 * i, 2 * j
                a00, a01, a02, a03 = (image[r, c], image[r, c + 1], image[r, c + 2],
                                      image[r, c + 3])
                a10, a11, a12, a13 = (image[r + 1, c], image[r + 1, c + 1], image[r + 1, c + 2],
                                      image[r + 1, c + 3])
                a20, a21, a22, a23 = (image[r + 2, c], image[r + 2, c + 1], image[r + 2, c + 2],
                                      image[r + 2, c + 3])
                a30, a31, a32, a33 = (image[r + 3, c], image[r + 3, c + 1], image[r + 3, c + 2],
                                      image[r + 3, c + 3])
                row = (n * ph + i) * pw + j
                for f in range(n_out):
                    w0, w1, w2 = w[0, f], w[1, f], w[2, f]
                    w3, w4, w5 = w[3, f], w[4, f], w[5, f]
                    w6, w7, w8 = w[6, f], w[7, f], w[8, f]
                    top_left = (a00 * w0 + a01 * w1 + a02 * w2 + a10 * w3 + a11 * w4
                                + a12 * w5 + a20 * w6 + a21 * w7 + a22 * w8)
                    top_right = (a01 * w0 + a02 * w1 + a03 * w2 + a11 * w3 + a12 * w4
                                 + a13 * w5 + a21 * w6 + a22 * w7 + a23 * w8)
                    bottom_left = (a10 * w0 + a11 * w1 + a12 * w2 + a20 * w3 + a21 * w4
                                   + a22 * w5 + a30 * w6 + a31 * w7 + a32 * w8)
                    bottom_right = (a11 * w0 + a12 * w1 + a13 * w2 + a21 * w3 + a22 * w4
                                    + a23 * w5 + a31 * w6 + a32 * w7 + a33 * w8)
                    v = _nan_max(_nan_max(top_left, top_right),
                                 _nan_max(bottom_left, bottom_right)) + b[f]
                    y[row, f] = zero if relu and v < zero else v


@njit(inline="always")
def _copy_image(x, n, pb, image):
    """image[r + pb[1], c + pb[2]] = x[n, 0, r, c, 0] for the cells of image n of x (N, 1, H,
    W, 1) that land in `image`, row by row; its other cells (the padding, zero) are left as
    they are. Inlined into each body's IR (inner.py says why)."""
    height, width = x.shape[2], x.shape[3]
    rows, cols = min(height, image.shape[0] - pb[1]), min(width, image.shape[1] - pb[2])
    xf, flat = x.reshape(-1), image.reshape(-1)
    for r in range(rows):
        _move(xf, (n * height + r) * width, flat, (r + pb[1]) * image.shape[1] + pb[2], cols,
              np.bool_(False))


@njit(inline="always")
def _nan_max(a, b):
    """The larger of a and b, NaN if a is NaN."""
    return a if (a > b) | (a != a) else b


@njit(inline="always")
def _finish_block(out, n0, n1, n_pos, out_sp, pk, ps, pooled_sp, bias, relu, y):
    """A forward block's convolution rows `out` (images n0 .. n1 - 1, n_pos positions each)
    into y: unless pk and ps are both (1, 1, 1), the maximum over each window (size pk,
    strides ps) of the out_sp positions (y then holds pooled_sp positions per image; out is
    y's rows otherwise); then + bias, then relu (both commute with the maximum, so they run
    on the pooled rows). Inlined into each body's IR (inner.py says why)."""
    n_pooled = pooled_sp[0] * pooled_sp[1] * pooled_sp[2]
    if pk != (1, 1, 1) or ps != (1, 1, 1):
        for n in range(n0, n1):
            max_pool_rows(out, (n - n0) * n_pos, out_sp, pk, ps, pooled_sp, y, n * n_pooled)
    if bias.shape[0] > 0 or relu:
        _bias_relu(y, n0 * n_pooled, (n1 - n0) * n_pooled, bias, relu)


@inner_kernel(linked=False)
def _bias_relu(y, r0, rows, bias, relu):
    """y[r0:r0 + rows] += bias (when it has entries), then max(y, 0) if relu (NaN stays), in
    one pass over each row. Each value stored is computed, never the one just loaded: LLVM
    turns `y = 0 if y < 0 else y` in place into a store only where y < 0, which it does not
    vectorize (a bias pass, then that relu pass, took 14 us a block of 676 x 32 values, the
    one pass 1.8 us; the convnet's first convolution forward 2.0 -> 1.05 ms at batch 128)."""
    n_out, yf = np.uintp(y.shape[1]), y.reshape(-1)
    zero = y.dtype.type(0)
    biased = bias.shape[0] > 0
    for r in range(np.uintp(r0), np.uintp(r0 + rows)):
        row = r * n_out
        if biased:
            for f in range(n_out):
                v = yf[row + f] + bias[f]
                yf[row + f] = zero if relu and v < zero else v
        elif relu:
            for f in range(n_out):
                v = yf[row + f] + zero          # (+0: a computed value, see above)
                yf[row + f] = zero if v < zero else v


@inner_kernel(linked=False)
def _gradient_rows(dy, d0, y, r0, rows, dz, db, kept):
    """dz = the rows of dy[d0:d0 + rows], zeroed where y[r0:r0 + rows] <= 0 when y has rows
    (relu's VJP from its output); db += their column sums. With `kept` of at least `rows`
    entries, the rows left all zero are dropped: dz[:m] holds the others in order, kept[:m]
    their indices in the block. Returns m (rows when kept is empty)."""
    n_out, dyf, yf, dzf = np.uintp(dy.shape[1]), dy.reshape(-1), y.reshape(-1), dz.reshape(-1)
    zero = dy.dtype.type(0)
    relu, compact = y.shape[0] > 0, kept.shape[0] > 0
    m = 0
    for r in range(np.uintp(rows)):
        row, src = np.uintp(m) * n_out, (r + np.uintp(d0)) * n_out
        at = (r + np.uintp(r0)) * n_out
        if relu:
            for f in range(n_out):
                dzf[row + f] = dyf[src + f] if yf[at + f] > zero else zero
        else:
            for f in range(n_out):
                dzf[row + f] = dyf[src + f]
        nonzero = not compact
        if compact:
            for f in range(n_out):
                nonzero |= dzf[row + f] != zero
        if nonzero:
            for f in range(n_out):
                db[f] += dzf[row + f]
            if compact:
                kept[m] = r
            m += 1
    return m


@inner_kernel
def _conv_backward_chunk(t, chunks, dy, y, x, wgt, s, pb, d, ks, out_sp, block, dx, part_w,
                         part_b, small, gemm_address, pooled, unpooled, pk, ps, pooled_sp):
    """Chunk t of `chunks` of the VJP of y = relu?(conv(x, w) + b) in one pass over the
    batch, `block` images per matrix product and one contiguous run of images per chunk:
    dz = dy, zeroed where y <= 0 when y has rows (else y is (0, 0): no relu), its rows left
    all zero dropped (positions no pooling window took, dead units);
    dwg[g] = sum over n of im2col(x[n], group g).T @ dz[(n, pos), group g], when x has images;
    dx[n] += col2im(dz[(n, pos), group g] @ wgt[g]) for each group, when dx has images (dx is
    zero on entry); db = the column sums of dz. Chunk t (of part_w.shape[0], one per thread)
    sums its share of dwg and db into part_w[t] (G, K, Fg) and part_b[t] (F,), zero on entry.
    dy, y (N * P, F); x, dx (N, D, H, W, C) or empty; wgt (G, Fg, K). When `pooled` has rows,
    dy (N * P', F) is the gradient of pooled = max_pool(unpooled) (windows of size pk,
    strides ps, all inside the out_sp image, pooled_sp of them); the block's dz comes from it,
    in cache, and dL/d(unpooled) is never stored. The kernel gradient of an x of one channel
    has a body of its own (_conv_backward_one_channel_chunk)."""
    n_batch = max(x.shape[0], dx.shape[0])
    n_pos = out_sp[0] * out_sp[1] * out_sp[2]
    groups, per_group, n_cols = wgt.shape
    n_out = dy.shape[1]
    cg = max(x.shape[4], dx.shape[4]) // groups
    cols = np.empty((block * n_pos, n_cols), dy.dtype)      # im2col, then dz @ wgt
    dzg = np.empty((block * n_pos, per_group), dy.dtype)
    kept = np.empty(block * n_pos, np.intp)                 # rows with a gradient
    dz, du, unspent, db = _gradient_buffers(dy, pooled, block * n_pos)
    stop = (t + 1) * n_batch // chunks
    for n0 in range(t * n_batch // chunks, stop, block):
        n1 = min(n0 + block, stop)
        rows = _block_gradient(dy, y, pooled, unpooled, pk, ps, pooled_sp, out_sp, n0, n1, du,
                               unspent, dz, db, kept)
        for g in range(groups if rows else 0):
            if groups > 1:
                _copy_columns(dzg, 0, dz, g * per_group, rows, per_group)
            grad = dz[:rows] if groups == 1 else dzg[:rows]
            if x.shape[0] > 0:    # part_w[t, g] += cols.T @ grad, BLAS adding
                _patches(x, n0 * n_pos, rows, kept, g * cg, cg, s, pb, d, ks, out_sp, cols,
                         np.bool_(False))
                product_of_transposed(gemm_address, cols[:rows], grad, part_w[t, g], True,
                                      small)
            if dx.shape[0] > 0:
                _add_input_gradient(grad, wgt[g], dx, n0 * n_pos, rows, kept, g * cg, cg, s,
                                    pb, d, ks, out_sp, cols, small, gemm_address)
    for f in range(n_out):
        part_b[t, f] = db[f]


@inner_kernel
def _conv_backward_one_channel_chunk(t, chunks, dy, y, x, wgt, s, pb, d, ks, out_sp, block,
                                     dx, part_w, part_b, small, gemm_address, pooled,
                                     unpooled, pk, ps, pooled_sp):
    """_conv_backward_chunk for an x (with images) of one channel: its kernel gradient is
    the transposed patch matrix (taps by positions, _patches_one_channel) times dz, since
    along an image's rows the transposed one fills in long runs where the row-major one copies
    one value per run (an unpooled grey 3x3 convolution's kernel gradient, one thread: 8.0
    -> 3.5 ms); no rows of dz are dropped, the patch matrix's columns being every position.
    A body of its own: as a branch of _conv_backward_chunk it cost every model 0.7 s of cold
    compile, the Simple MNIST convnet's among them, whose grey convolution runs
    _pooled_one_channel_kernel_gradient_chunk."""
    n_pos = out_sp[0] * out_sp[1] * out_sp[2]
    n_out, n_cols = dy.shape[1], wgt.shape[2]
    cols_t = np.empty((n_cols, block * n_pos), dy.dtype)
    cols = np.empty((block * n_pos if dx.shape[0] > 0 else 0, n_cols), dy.dtype)   # dz @ wgt
    kept = np.empty(0, np.intp)
    dz, du, unspent, db = _gradient_buffers(dy, pooled, block * n_pos)
    stop = (t + 1) * x.shape[0] // chunks
    for n0 in range(t * x.shape[0] // chunks, stop, block):
        n1 = min(n0 + block, stop)
        rows = _block_gradient(dy, y, pooled, unpooled, pk, ps, pooled_sp, out_sp, n0, n1, du,
                               unspent, dz, db, kept)
        for n in range(n0, n1):
            _patches_one_channel(x, n, s, pb, d, ks, out_sp, cols_t, (n - n0) * n_pos)
        product(gemm_address, cols_t[:, :rows], dz[:rows], part_w[t, 0], True)
        if dx.shape[0] > 0:
            _add_input_gradient(dz[:rows], wgt[0], dx, n0 * n_pos, rows, kept, 0, 1, s, pb,
                                d, ks, out_sp, cols, small, gemm_address)
    for f in range(n_out):
        part_b[t, f] = db[f]


@njit(inline="always")
def _gradient_buffers(dy, pooled, rows):
    """The backward bodies' per-chunk buffers for `rows` positions: dz (rows, F); with a
    pool (pooled has rows), dL/d(unpooled) (rows, F) and max_pool_rows_backward's (F,)
    scratch, else empty; and the chunk's own bias gradient, float64 (F,) zeros (rows of
    part_b share cache lines). Inlined into each body's IR (inner.py says why)."""
    n_out = dy.shape[1]
    pooling = pooled.shape[0] > 0
    dz = np.empty((rows, n_out), dy.dtype)
    du = np.empty((rows if pooling else 0, n_out), dy.dtype)
    unspent = np.empty(n_out if pooling else 0, dy.dtype)
    return dz, du, unspent, np.zeros(n_out)


@njit(inline="always")
def _block_gradient(dy, y, pooled, unpooled, pk, ps, pooled_sp, out_sp, n0, n1, du, unspent,
                    dz, db, kept):
    """dz of images n0 .. n1 - 1 for the backward bodies: from dy, or from the gradient of
    their pooled output when `pooled` has rows (made into du first), masked and compacted by
    _gradient_rows (db += its column sums); returns its row count. Inlined into each body's
    IR (inner.py says why)."""
    n_pos = out_sp[0] * out_sp[1] * out_sp[2]
    pooling = pooled.shape[0] > 0
    if pooling:
        n_pooled = pooled_sp[0] * pooled_sp[1] * pooled_sp[2]
        for n in range(n0, n1):
            max_pool_rows_backward(dy, pooled, n * n_pooled, unpooled, n * n_pos, out_sp, pk,
                                   ps, pooled_sp, du, (n - n0) * n_pos, unspent)
    source, d0 = (du, 0) if pooling else (dy, n0 * n_pos)   # (not dz: LLVM vectorizes
                                                            # _gradient_rows out of place)
    return _gradient_rows(source, d0, y, n0 * n_pos, (n1 - n0) * n_pos, dz, db, kept)


@njit(inline="always")
def _add_input_gradient(grad, wgt_g, dx, row0, rows, kept, c0, cg, s, pb, d, ks, out_sp, cols,
                        small, gemm_address):
    """dx += col2im(grad @ wgt_g) over channels c0 .. c0 + cg - 1, for the patch matrix's
    rows row0 + k (or row0 + kept[k]), k < rows; cols is the scratch. Inlined into each body's
    IR (inner.py says why)."""
    dot_in_row_runs(gemm_address, grad, wgt_g, cols[:rows], small)
    _patches(dx, row0, rows, kept, c0, cg, s, pb, d, ks, out_sp, cols, np.bool_(True))


@inner_kernel
def _pooled_one_channel_kernel_gradient_chunk(t, chunks, dy, y, x, wgt, s, pb, d, ks, out_sp,
                                              block, dx, part_w, part_b, small, gemm_address,
                                              pooled, unpooled, pk, ps, pooled_sp):
    """_conv_backward_chunk's kernel and bias gradients (no dx) for a 2-D, stride-1,
    undilated convolution of one channel (a first layer on grey images) with a 2x2 pool of
    strides 2 after it, from the pool's gradient dy (N * P', F), direct: per pooling window,
    the dz of its 4 positions in `dz` (a window's first cell equal to its maximum takes dy,
    none for a NaN maximum, as max_pool_rows_backward's; zero unless the relu output y is
    positive, when y has rows), then added into the kernel's gradient tap by tap, 4 scalar
    inputs times 4 rows. No patch matrix, no product of inner size taps through BLAS, no
    dL/d(unpooled) (the Simple MNIST convnet's first convolution, a batch of 128: 3.7-4.0 ->
    2.0-2.3 ms on one thread, 1.84-1.98 -> 1.09-1.17 ms on two). Per image, the cells the
    windows read are first copied into `image`, zero where they fall in the padding. dz is
    one (4, F) array on purpose: rows of a (windows, 4, F) array as the target of these
    loops kept LLVM from vectorizing them (14x slower); dw and db are the thread's own
    (part_w[t]'s and part_b[t]'s edges share cache lines with the next chunk's: 1.9 -> 1.1
    ms on two threads). `wgt`, `s`, `d`, `block`, `dx`, `small`, `gemm_address`, `pk` and
    `ps` are unused."""
    n_batch, n_out = x.shape[0], dy.shape[1]
    _, oh, ow = out_sp
    _, ph, pw = pooled_sp
    _, kh, kw = ks
    taps, linear = kh * kw, y.shape[0] == 0
    image = np.zeros((2 * ph + kh - 1, 2 * pw + kw - 1), x.dtype)
    dz = np.empty((4, n_out), dy.dtype)
    dw = np.zeros((taps, n_out), dy.dtype)
    sums = np.empty(n_out, dy.dtype)        # an image's bias gradient
    db = np.zeros(n_out)                    # float64: the chunk's sum of them
    zero = dy.dtype.type(0)
    for n in range(t * n_batch // chunks, (t + 1) * n_batch // chunks):
        _copy_image(x, n, pb, image)
        for f in range(n_out):
            sums[f] = zero
        for i in range(ph):
            for j in range(pw):
                cell, at = (n * ph + i) * pw + j, (n * oh + 2 * i) * ow + 2 * j
                for f in range(n_out):
                    top, g = pooled[cell, f], dy[cell, f]
                    u0, u1 = unpooled[at, f], unpooled[at + 1, f]
                    u2, u3 = unpooled[at + ow, f], unpooled[at + ow + 1, f]
                    g = g if (top > zero) | linear else zero     # relu's VJP, at the top
                    w0, w1, w2, w3 = u0 == top, u1 == top, u2 == top, u3 == top
                    dz[0, f] = g if w0 else zero
                    dz[1, f] = g if w1 > w0 else zero             # (w1 and not w0)
                    dz[2, f] = g if w2 > (w0 | w1) else zero
                    dz[3, f] = g if w3 > (w0 | w1 | w2) else zero
                    sums[f] += g if w0 | w1 | w2 | w3 else zero
                for p in range(kh):
                    for q in range(kw):
                        r, c, tap = 2 * i + p, 2 * j + q, p * kw + q
                        v0, v1 = image[r, c], image[r, c + 1]
                        v2, v3 = image[r + 1, c], image[r + 1, c + 1]
                        for f in range(n_out):
                            dw[tap, f] += (v0 * dz[0, f] + v1 * dz[1, f] + v2 * dz[2, f]
                                           + v3 * dz[3, f])
        for f in range(n_out):
            db[f] += sums[f]
    for f in range(n_out):
        part_b[t, f] = db[f]
        for tap in range(taps):
            part_w[t, 0, tap, f] = dw[tap, f]


# ---- host side: layouts, dtypes, output allocation, threads --------------------------------

BLOCK_ROWS = 512   # im2col rows per matrix product: small images are stacked up to this
TILE_ROWS = 1024   # and larger ones split into equal runs of at most this many rows
def _chunks(batch: int, elements: int) -> int:
    """Contiguous runs of images, one per Numba thread (`nk.config.set_num_threads`); one
    for small work, and one without threadpoolctl (BLAS then threads on its own)."""
    if blas_controller() is None or elements < PARALLEL_MIN_ELEMENTS:
        return 1
    return max(1, min(batch, numba.get_num_threads()))


def _run(body, chunks: int, *args) -> None:
    """body(t, chunks, *args) for every chunk t, on `chunks` Numba threads each calling
    single-threaded BLAS (shells.parallel_chunks)."""
    if blas_controller() is None:
        launch(parallel_chunks, 0, body, chunks, *args)
        return
    with single_threaded_blas():
        launch(parallel_chunks, PARALLEL_MIN_ELEMENTS if chunks > 1 else 0, body, chunks, *args)


def _block(n_pos: int, batch: int) -> int:
    """Images per BLAS product: enough rows (positions) that small images still make one
    efficient matrix product."""
    return max(1, min(batch, BLOCK_ROWS // max(n_pos, 1)))


def _lift(values, rank: int, fill) -> tuple:
    """A per-axis tuple for `rank` spatial axes as a 3-axis tuple (leading axes get `fill`)."""
    return (fill,) * (3 - rank) + tuple(int(v) for v in values)


def _geometry(window):
    """The window's strides, padding before, dilation and size as 3-axis tuples."""
    rank = window.rank
    return (_lift(window.strides, rank, 1), _lift([p[0] for p in window.padding], rank, 0),
            _lift(window.dilation, rank, 1), _lift(window.size, rank, 1))


def _as_5d(a, dtype):
    """(N, *spatial, C) as a C-contiguous (N, D, H, W, C) array of `dtype`."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a.reshape(a.shape[0], *_lift(a.shape[1:-1], a.ndim - 2, 1), a.shape[-1])


def _grouped(w, dtype, groups: int, axes: tuple):
    """w (*k, C // groups, F) as (K, groups, F // groups) transposed by `axes`, contiguous."""
    n_out = w.shape[-1]
    return np.ascontiguousarray(np.asarray(w, dtype).reshape(-1, groups, n_out // groups)
                                .transpose(axes))


def conv_forward(x, w, window, groups=1, bias=None, relu=False, pool=None, out=None):
    """y (N, *o, F) = x (N, *spatial, C) correlated with w (*k, C // groups, F), grouped,
    over `window` (a Window: size k, strides, dilation, explicit padding); then + bias (F,),
    then max(y, 0) if relu; o = window.output_spatial(spatial).
    pool: None, or a Window (size, strides, no padding) to max-pool the result over, (N,
    *pooled, F), in the same pass (the unpooled output is never stored, and the positions no
    pooling window reads are not computed).
    out: None, or the array to write the result into and return (api.checked_out)."""
    rank, batch = x.ndim - 2, x.shape[0]
    dtype = np.result_type(x.dtype, w.dtype)
    spatial = window.output_spatial(x.shape[1:-1])
    pool_size, pool_strides = ((1,) * rank, (1,) * rank) if pool is None else (pool.size,
                                                                                pool.strides)
    pooled = tuple((n - k) // st + 1 for n, k, st in zip(spatial, pool_size, pool_strides))
    shape = (batch, *pooled, w.shape[-1])
    if out is None:
        out = np.empty(shape, dtype)
    elif np.may_share_memory(checked_out("conv_forward", out, shape, dtype), x):
        raise ValueError(f"conv_forward: out (shape {out.shape}) must not overlap the input "
                         f"x (shape {x.shape})")
    y = out.reshape(-1, w.shape[-1])
    if y.size == 0:
        return out
    b = np.zeros(0, dtype) if bias is None else np.ascontiguousarray(bias, dtype)
    if winograd.applies(window, groups, x.shape[-1], pool):
        _winograd(x, w, window, b, relu, pool is not None, out)
        return out
    spatial = tuple((n - 1) * st + k for n, k, st in zip(pooled, pool_size, pool_strides))
    wg = _grouped(w, dtype, groups, (1, 0, 2))                        # (G, K, F/G)
    s, pb, d, ks = _geometry(window)
    n_pos = math.prod(spatial)                      # the positions the pooling windows read
    chunks = _chunks(batch, batch * n_pos * w.shape[-1] * wg.shape[1])
    block = _block(n_pos, batch)
    rows = block * n_pos
    tile = -(-rows // -(-rows // TILE_ROWS))        # rows / ceil(rows / TILE_ROWS), rounded up
    args = (_as_5d(x, dtype), wg, b, s, pb, d, ks, _lift(spatial, rank, 1), bool(relu),
            _lift(pool_size, rank, 1), _lift(pool_strides, rank, 1), _lift(pooled, rank, 1),
            block, tile, y)
    if _direct_3x3(window, x.shape[-1], groups, pool):
        chunk = _conv3x3_one_channel_chunk if pool is None else _conv3x3_one_channel_pooled_chunk
    elif x.shape[-1] == 1:
        chunk = _conv_forward_one_channel_chunk
    else:
        chunk = _conv_forward_chunk
    _run(chunk, chunks, *args, small_product_limit(), address(dtype))
    return out


def _direct_3x3(window, channels: int, groups: int, pool) -> bool:
    """Whether the convolution runs the direct one-channel bodies: 2-D, 3x3, stride 1,
    undilated, of one channel, unpooled or with a 2x2 pool of strides 2."""
    return (channels == 1 and groups == 1 and window.size == (3, 3)
            and window.strides == (1, 1) and window.dilation == (1, 1)
            and (pool is None or pool.size == pool.strides == (2, 2)))


def _winograd(x, w, window, bias, relu: bool, pooled: bool, y) -> None:
    """conv_forward's 3x3 stride-1 2-D convolutions (winograd.applies) into y (N, OH, OW, F),
    by Winograd's F(2x2, 3x3), one chunk of tiles per thread: on Numba's pool, from the shell,
    as the other kernels of a step, whose threads are then still awake (on the chunk pool it
    left them asleep: the convnet's step 2-4% and predict 8-11% slower, alternated ABBA).
    The transformed kernel is kept while w holds the same values (winograd.kernel_transforms:
    predict's batches transform it once)."""
    u = winograd.kernel_transforms(w, y.dtype)
    per_axis = y.shape[1:3] if pooled else [(n + 1) // 2 for n in y.shape[1:3]]
    tiles = y.shape[0] * per_axis[0] * per_axis[1]
    small = small_product_limit()
    args = (np.ascontiguousarray(x, y.dtype), u, bias, window.padding[0][0],
            window.padding[1][0], bool(relu), pooled, y,
            winograd.block_tiles(u.shape[1], u.shape[2], y.itemsize, tiles, small), small,
            address(y.dtype))
    if blas_controller() is None:          # one chunk; BLAS threads on its own
        winograd.winograd_forward(0, 1, *args)
        return
    threaded = 2 * tiles * u.size >= THREADED_MIN_FLOPS     # else waking threads costs more
    chunks = numba.get_num_threads() if threaded else 1
    with single_threaded_blas():
        launch(parallel_chunks, PARALLEL_MIN_ELEMENTS if chunks > 1 else 0,
               winograd.winograd_forward, chunks, *args)


def conv_backward(dy, x, w, window, groups=1, y=None, input_gradient=True,
                  kernel_gradient=True, pool=None):
    """(dx or None, dw or None, db) of y = conv_forward(x, w, window, ...) [+ bias] given
    dy = dL/dy, in one pass: pass the forward's output y when it applied relu (the VJP reads
    y > 0). x is read only for dw, so it may be any array of x's shape when kernel_gradient
    is False. dx (x's shape), dw (w's shape), db (F,).
    pool: None, or (unpooled, pooled, pool_window) when dy is the gradient of pooled =
    max_pool_forward(unpooled, pool_window) and unpooled (N, *out, F) is the forward's output
    (y itself when it applied relu): the gradient of unpooled is then made a block of images
    at a time, in cache, never stored whole (when the pooling windows lie inside the image
    without padding; otherwise max_pool_backward makes it first)."""
    rank, batch = x.ndim - 2, x.shape[0]
    dtype = np.result_type(dy.dtype, x.dtype, w.dtype)
    n_out = w.shape[-1]
    out_sp = window.output_spatial(x.shape[1:-1])
    if pool is not None and not (windows_inside(pool[2], out_sp) and dy.size
                                 and (input_gradient or kernel_gradient)):
        dy, pool = max_pool_backward(dy, *pool), None
    wgt = _grouped(w, dtype, groups, (1, 2, 0))                       # (G, F/G, K)
    dy2 = np.ascontiguousarray(dy, dtype).reshape(-1, n_out)
    y2 = np.zeros((0, 0), dtype) if y is None else np.ascontiguousarray(y, dtype).reshape(-1, n_out)
    x5 = _as_5d(x, dtype) if kernel_gradient else np.zeros((0,) * 5, dtype)
    dx = np.zeros((batch if input_gradient else 0, *_lift(x.shape[1:-1], rank, 1), x.shape[-1]),
                  dtype)
    if dy2.size == 0:
        dwg, db = np.zeros((groups, wgt.shape[2], wgt.shape[1]), dtype), np.zeros(n_out, dtype)
    elif not (input_gradient or kernel_gradient):    # a frozen conv with a trainable bias
        dz = dy2 if y is None else np.where(y2 > 0, dy2, 0)
        dwg, db = None, dz.sum(axis=0, dtype=np.float64).astype(dtype)
    else:
        n_pos = math.prod(out_sp)
        s, pb, d, ks = _geometry(window)
        chunks = _chunks(batch, batch * n_pos * n_out * wgt.shape[2])
        part_w = np.zeros((chunks, groups, wgt.shape[2], wgt.shape[1]), dtype)
        part_b = np.zeros((chunks, n_out))             # float64: sums over many rows
        if pool is None:
            empty = np.zeros((0, 0), dtype)
            pooling = (empty, empty, (1, 1, 1), (1, 1, 1), (1, 1, 1))
        else:
            unpooled, pooled, pool_window = pool
            pooling = (np.ascontiguousarray(pooled, dtype).reshape(-1, n_out),
                       np.ascontiguousarray(unpooled, dtype).reshape(-1, n_out),
                       _lift(pool_window.size, rank, 1), _lift(pool_window.strides, rank, 1),
                       _lift(pooled.shape[1:-1], rank, 1))
        args = (dy2, y2, x5, wgt, s, pb, d, ks, _lift(out_sp, rank, 1), _block(n_pos, batch),
                dx, part_w, part_b, small_product_limit(), address(dtype), *pooling)
        direct = (pool is not None and not input_gradient and x.shape[-1] == 1 and rank == 2
                  and window.strides == window.dilation == (1, 1)
                  and pool[2].size == pool[2].strides == (2, 2))
        if direct:
            body = _pooled_one_channel_kernel_gradient_chunk
        elif kernel_gradient and x.shape[-1] == 1:
            body = _conv_backward_one_channel_chunk
        else:
            body = _conv_backward_chunk
        _run(body, chunks, *args)
        dwg, db = part_w.sum(axis=0), part_b.sum(axis=0).astype(dtype)
    dw = np.ascontiguousarray(dwg.transpose(1, 0, 2)).reshape(w.shape) if kernel_gradient else None
    return (dx.reshape(x.shape) if input_gradient else None), dw, db


def conv_backward_input(dy, w, x_shape, window, groups=1):
    """dL/dx (x_shape) of conv_forward given dy = dL/dy: the transposed convolution,
    exact for every stride, dilation and padding (col2im scatter-add)."""
    x = np.broadcast_to(np.zeros((), dy.dtype), x_shape)       # only its shape is read
    return conv_backward(dy, x, w, window, groups, kernel_gradient=False)[0]


def conv_backward_kernel(dy, x, w_shape, window, groups=1):
    """dL/dw (w_shape = (*k, C // groups, F)) of conv_forward given dy = dL/dy."""
    w = np.broadcast_to(np.zeros((), dy.dtype), w_shape)       # only its shape is read
    return conv_backward(dy, x, w, window, groups, input_gradient=False)[1]
