"""Inner kernels: compiled functions that only other compiled functions call.

For every function it compiles, Numba also builds, optimizes and emits two wrappers: one that
unboxes each argument from a Python object (for a function of a dozen arrays and tuples, the
larger part of its machine code) and one for C callers. A function that only kernels call,
an im2col helper or a shell's body (shells.py calls it by address), uses neither.
`inner_kernel` compiles it without them, cached on disk like any kernel: measured on the
MNIST convnet's cold compile in one process, 15.4 s before and 14.0 s after.

Without its wrapper, a call from Python would jump to a null address; an inner kernel's
dispatcher raises a TypeError there instead. Numba types and compiles calls from compiled
code without that method, so they are unaffected.

Each compiled function is a library that links in the machine-independent code of every
function it calls, and LLVM optimizes and emits each library whole: code three calls deep
goes through LLVM three times. A helper that only groups a body's calls to other kernels,
called once from it, is therefore inlined into Numba's IR instead (`@njit(inline="always")`):
conv.py's `_finish_block` and `_patches_one_channel` (the convnet's convolution kernels
compiled in 7.35 -> 6.8 s in one process) and winograd.py's `_input_tiles` (2.8 -> 2.67 s).
Leaves (loops that call nothing) stay inner kernels: inlined into the bodies' IR, they
compiled slower (7.1-7.9 s).

    @inner_kernel
    def _move(xf, xa, cf, ca, count, scatter): ...
"""
from numba import njit
from numba.core.registry import CPUDispatcher

__all__ = ["inner_kernel"]


class _InnerDispatcher(CPUDispatcher):
    """A CPUDispatcher whose compiled functions have no Python wrapper (see the module)."""

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.py_func.__module__}.{self.py_func.__qualname__} is an inner "
                        f"kernel, compiled without a Python entry point: only compiled "
                        f"kernels call it")


def inner_kernel(function=None, **options):
    """`@njit(cache=True, **options)` without the Python and C wrappers (see the module);
    used bare (`@inner_kernel`) or with Numba options (`@inner_kernel(fastmath=True)`)."""
    def compile_inner(py_func):
        dispatcher = njit(cache=True, no_cpython_wrapper=True, no_cfunc_wrapper=True,
                          **options)(py_func)
        dispatcher.__class__ = _InnerDispatcher
        return dispatcher

    return compile_inner if function is None else compile_inner(function)
