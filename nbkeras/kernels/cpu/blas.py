"""BLAS's gemm called from Numba kernels with its full interface, which Numba's `np.dot` does
not give: C = A @ B + C (beta 1, so a product adds into what C holds) and operands that are
transposed views. It calls the gemm of the BLAS that `np.dot` calls (SciPy's,
`scipy.linalg.cython_blas`), at an address the host passes in as an integer (`address`):
a kernel that referred to the function itself would hold a pointer valid in one process
only, and Numba does not cache such a kernel.

Matrices are row-major as numpy's; each only needs its rows evenly spaced with contiguous
columns (a block of rows of a larger matrix, or a column slice), so `leading` is its row
stride in elements."""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import get_cython_function_address, intrinsic

__all__ = ["address", "add_product_of_transposed"]

_NAMES = {np.dtype(np.float32): "sgemm", np.dtype(np.float64): "dgemm"}


def address(dtype) -> int:
    """The address of SciPy's gemm for float32 or float64 (as Numba kernels take it)."""
    return get_cython_function_address("scipy.linalg.cython_blas", _NAMES[np.dtype(dtype)])


@intrinsic
def _gemm(typingctx, gemm_address, transa, transb, m, n, k, a, lda, b, ldb, c, ldc):
    """Fortran gemm at gemm_address: c = op(a) op(b) + c, column-major (m, n, k and the
    leading dimensions as Fortran sees them; transa, transb the codes of "N" or "T")."""
    signature = types.void(gemm_address, transa, transb, m, n, k, a, lda, b, ldb, c, ldc)

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
            return by_reference(builder.trunc(number, ir.IntType(32)), ir.IntType(32))

        def data(array, kind):
            proxy = cgutils.create_struct_proxy(kind)(context, builder, value=array)
            return builder.bitcast(proxy.data, pointer)
        (at, transa, transb, m, n, k, a, lda, b, ldb, c, ldc) = args
        one = by_reference(ir.Constant(value, 1.0), value)
        arguments = [character(transa), character(transb), integer(m), integer(n),
                     integer(k), one, data(a, sig.args[6]), integer(lda),
                     data(b, sig.args[8]), integer(ldb), one, data(c, sig.args[10]),
                     integer(ldc)]
        function = builder.inttoptr(at, ir.FunctionType(ir.VoidType(), [pointer] * 13)
                                    .as_pointer())
        builder.call(function, arguments)
        return context.get_dummy_value()
    return signature, codegen


_N, _T = ord("N"), ord("T")


@njit(inline="always")
def add_product_of_transposed(gemm_address, s, d, out, columns_per_call):
    """out (C, W) += s.T @ d for s (R, C) and d (R, W), calls of at most
    `columns_per_call` columns of out each (so each can be one of OpenBLAS's small products).
    Rows of each matrix evenly spaced, columns contiguous."""
    rows, width = d.shape
    # Fortran sees out.T (W, C) += d.T (W, R) @ s (R, C), s stored as s.T (C, R) ("T")
    for w0 in range(0, width, columns_per_call):
        count = min(columns_per_call, width - w0)
        _gemm(gemm_address, _N, _T, count, s.shape[1], rows, d[:, w0:], d.strides[0] //
              d.itemsize, s, s.strides[0] // s.itemsize, out[:, w0:],
              out.strides[0] // out.itemsize)
