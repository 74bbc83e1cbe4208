"""BLAS's gemm called from Numba kernels with its full interface, which Numba's `np.dot` does
not give: C = A @ B + C (a product that adds into what C holds) and operands that are
transposed views. Kernels take the gemm's address as an integer the host passes in
(`address`): a kernel that referred to the function itself would hold a pointer valid in one
process only, and Numba does not cache such a kernel. Plain products (C = A @ B) take it too:
each call of `np.dot` compiles Numba's checks, copies and error messages into its kernel and a
function of its own per signature (the MNIST convnet's cold compile in one process, 20.5 ->
19.6 s).

The gemm is numpy's own BLAS's where that is an OpenBLAS whose symbols can be looked up
(numpy's wheels bundle one built for 64-bit integers, `scipy_sgemm_64_` in numpy 2), else
SciPy's (`scipy.linalg.cython_blas`, 32-bit integers; what Numba's `np.dot` calls). The two
bundled OpenBLAS builds are not equally fast: on a Zen 3 core (Haswell kernels), called from
a kernel, numpy's 0.3.31 multiplies a convolution's kernel gradient (9, 676) @ (676, 32) at
41 GFLOP/s and SciPy 1.17's 0.3.30 at 20. An ILP64 gemm's address is passed as a uint64 and a 32-bit one's
as an int64, so each kernel is compiled for the integer width its gemm reads.

Matrices are row-major as numpy's; each only needs its rows evenly spaced with contiguous
columns (a block of rows of a larger matrix, or a column slice): BLAS's leading dimension is
its row stride."""
import ctypes
import functools
import os

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import get_cython_function_address, intrinsic

from .parallel import blas_controller

__all__ = ["address", "gemm_library", "product", "product_of_transposed", "runs"]

_NAMES = {np.dtype(np.float32): "sgemm", np.dtype(np.float64): "dgemm"}
# the Fortran symbols of the 64-bit-integer OpenBLAS numpy's wheels bundle: scipy-openblas64's
# (numpy 2), openblas64_'s (numpy 1.22-1.26)
_ILP64_NAMES = ("scipy_{}_64_", "{}_64_")


def address(dtype):
    """The address of the kernels' gemm for float32 or float64 (see the module): a uint64
    for a gemm of 64-bit integers, else an int."""
    return _gemms()[1][np.dtype(dtype)]


def gemm_library():
    """threadpoolctl's controller of the library whose gemm the kernels call, or None when
    threadpoolctl is not installed or does not list it."""
    return _gemms()[0]


@functools.cache
def _gemms():
    """(library controller or None, {dtype: address}): numpy's OpenBLAS where its ILP64
    symbols are found, else SciPy's gemm."""
    controller = blas_controller()
    libraries = [] if controller is None else controller.lib_controllers
    numpy_folder = os.path.dirname(np.__file__)     # also the prefix of numpy.libs
    for library in libraries:
        if library.internal_api == "openblas" and library.filepath.startswith(numpy_folder):
            try:
                handle = ctypes.CDLL(library.filepath)      # loaded already: the same handle
            except OSError:
                continue
            for pattern in _ILP64_NAMES:
                found = {dtype: getattr(handle, pattern.format(name), None)
                         for dtype, name in _NAMES.items()}
                if all(found.values()):
                    return library, {dtype: np.uint64(ctypes.cast(f, ctypes.c_void_p).value)
                                     for dtype, f in found.items()}
    import scipy
    import scipy.linalg.cython_blas   # noqa: F401 (loads SciPy's library)

    scipy_folder = os.path.dirname(scipy.__file__)  # also the prefix of scipy.libs
    scipys = [library for library in libraries if library.filepath.startswith(scipy_folder)]
    return (scipys[0] if scipys else None,
            {dtype: get_cython_function_address("scipy.linalg.cython_blas", name)
             for dtype, name in _NAMES.items()})


@intrinsic
def _gemm(typingctx, gemm_address, transa, transb, m, n, k, a, lda, b, ldb, c, ldc, add):
    """Fortran gemm at gemm_address: c = op(a) op(b), + c when `add` (beta 1, else 0: c is
    not read), column-major (m, n, k and the leading dimensions as Fortran sees them; transa,
    transb the codes of "N" or "T"). Its integers are 64-bit when gemm_address is unsigned
    (`address`), else 32-bit."""
    signature = types.void(gemm_address, transa, transb, m, n, k, a, lda, b, ldb, c, ldc, add)
    width = 32 if gemm_address.signed else 64

    def codegen(context, builder, sig, args):
        pointer = ir.IntType(8).as_pointer()
        value = context.get_value_type(sig.args[10].dtype)

        def by_reference(value, kind):
            slot = cgutils.alloca_once(builder, kind)
            builder.store(value, slot)
            return builder.bitcast(slot, pointer)

        def character(code):
            return by_reference(builder.trunc(code, ir.IntType(8)), ir.IntType(8))

        def integer(number):
            kind = ir.IntType(width)
            if number.type.width != width:
                number = (builder.trunc if number.type.width > width else builder.sext)(number,
                                                                                      kind)
            return by_reference(number, kind)

        def data(array, kind):
            proxy = cgutils.create_struct_proxy(kind)(context, builder, value=array)
            return builder.bitcast(proxy.data, pointer)
        (at, transa, transb, m, n, k, a, lda, b, ldb, c, ldc, add) = args
        one = by_reference(ir.Constant(value, 1.0), value)
        beta = by_reference(context.cast(builder, add, sig.args[12], sig.args[10].dtype), value)
        arguments = [character(transa), character(transb), integer(m), integer(n),
                     integer(k), one, data(a, sig.args[6]), integer(lda),
                     data(b, sig.args[8]), integer(ldb), beta, data(c, sig.args[10]),
                     integer(ldc)]
        function = builder.inttoptr(at, ir.FunctionType(ir.VoidType(), [pointer] * 13)
                                    .as_pointer())
        builder.call(function, arguments)
        return context.get_dummy_value()
    return signature, codegen


_N, _T = ord("N"), ord("T")


@njit(inline="always")
def runs(rows, inputs, width, small_limit):
    """(rows, columns) per call of `product_of_transposed` for s (rows, inputs) and d
    (rows, width): where small_limit (gemm.small_product_limit()) is above 0, calls of at most
    small_limit multiply-adds (OpenBLAS's small products), runs of rows, a multiple of 16,
    where 16 rows fit, else runs of columns, a multiple of 16, where 16 columns of all rows
    fit; else one call (a larger product in runs would be packed by each call again: 1.4x
    slower on a 3x3 convolution of 256 channels)."""
    if small_limit > 0:
        fit = small_limit // max(inputs * width, 1)
        if fit >= 16:
            return fit - fit % 16, width
        columns = small_limit // max(inputs * max(rows, 1), 1) // 16 * 16
        if columns >= 16:
            return max(rows, 1), columns
    return max(rows, 1), width


@njit(inline="always")
def _leading(matrix):
    """A row-major matrix's row stride in elements: BLAS's leading dimension of its transpose
    (at least its width and 1, as BLAS requires, where a single row's stride says nothing)."""
    return max(matrix.strides[0] // matrix.itemsize, matrix.shape[1], 1)


@njit(inline="always")
def product(gemm_address, a, b, out, add):
    """out (M, N) = a (M, K) @ b (K, N), + what out holds when `add` (a bool; rows of each
    evenly spaced, columns contiguous); one BLAS call."""
    product_of_views(gemm_address, a, False, b, False, out, add)


@njit(inline="always")
def product_of_views(gemm_address, a, a_transposed, b, b_transposed, out, add):
    """out (M, N) = op(a) @ op(b), + what out holds when `add`; op(m) is m.T where
    m_transposed (a bool), else m. a and b as stored (rows evenly spaced, columns
    contiguous): (M, K) or, transposed, (K, M); (K, N) or (N, K). One BLAS call."""
    rows, columns = out.shape
    inner = a.shape[0] if a_transposed else a.shape[1]
    # Fortran sees out.T (N, M) = op(b).T @ op(a).T, and reads each row-major matrix as its
    # transpose: an operand op() leaves as it is goes as "N", one op() transposes as "T"
    _gemm(gemm_address, _T if b_transposed else _N, _T if a_transposed else _N, columns,
          rows, inner, b, _leading(b), a, _leading(a), out, _leading(out), add)


@njit(inline="always")
def product_of_transposed(gemm_address, s, d, out, add, small_limit):
    """out (C, W) = s.T @ d, + what out holds when `add` (a bool), for s (R, C) and d (R, W)
    (rows of each evenly spaced, columns contiguous), in calls of `runs` rows and columns
    (each run of rows after the first adds into out)."""
    rows, inputs, width = d.shape[0], s.shape[1], d.shape[1]
    row_run, column_run = runs(rows, inputs, width, small_limit)
    for r0 in range(0, max(rows, 1), row_run):
        count = min(row_run, rows - r0)
        for w0 in range(0, width, column_run):
            # Fortran sees out.T (W, C) = d.T (W, R) @ s (R, C), s stored as s.T (C, R) ("T")
            _gemm(gemm_address, _N, _T, min(column_run, width - w0), inputs, count,
                  d[r0:, w0:], _leading(d), s[r0:], _leading(s), out[:, w0:], _leading(out),
                  add | (r0 > 0))
