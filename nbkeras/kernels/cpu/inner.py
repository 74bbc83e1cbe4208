"""Inner kernels: compiled functions that only other compiled functions call.

For every function it compiles, Numba also builds, optimizes and emits two wrappers: one that
unboxes each argument from a Python object (for a function of a dozen arrays and tuples, the
larger part of its machine code) and one for C callers. A function that only kernels call,
an im2col helper or a chunk body (shells.py calls it by address), uses neither.
`inner_kernel` compiles it without them, cached on disk like any kernel: measured on the
MNIST convnet's cold compile in one process, 15.4 s before and 14.0 s after.

Without its wrapper, a call from Python would jump to a null address; an inner kernel's
dispatcher raises a TypeError there instead. Numba types and compiles calls from compiled
code without that method, so they are unaffected.

Each compiled function is a library that links in the machine-independent code of every
function it calls, and LLVM optimizes and emits each library whole: code three calls deep
goes through LLVM three times. The convolution's backward body was 27% its own code and 73%
its helpers' (im2col, the relu mask, the pooling gradient), none of them inlined. Helpers of
that kind, loops of hundreds of instructions, are `@inner_kernel(linked=False)`: compiled
once into their own library, which defines a symbol named after the kernel and signature,
and called through that symbol, so no caller links in their code (the MNIST convnet's
warmup 9.2 -> 8.5 s, its convolution backward body compiled in 5.3 -> 4.6 s). A caller's
library records the symbols it calls; before Numba loads it from its cache, it compiles or
loads each of those kernels, which defines the symbol (a library's reload hooks, which
Numba keeps in the cache; `_rebuild_keeping_hooks` passes them on to the kernels that link
the caller in, as Numba does for a caller it has just compiled). Small helpers called in
inner loops (`_window`, `row_max`, `_moments`, conv.py's `_move`) stay linked, for LLVM to
inline: `_move`, called once per run of im2col (one value long for a one-channel input),
made the first convolution's backward 1.45 -> 2.08 ms through its symbol.

A helper that only groups a body's calls to other kernels, called once from it, is inlined
into Numba's IR instead (`@njit(inline="always")`): conv.py's `_finish_block` and
`_patches_one_channel` (the convnet's convolution kernels compiled in 7.35 -> 6.8 s in one
process) and winograd.py's `_input_tiles` (2.8 -> 2.67 s). Leaves inlined into the bodies'
IR compiled slower (7.1-7.9 s).

    @inner_kernel(linked=False)
    def _patches(x, row0, count, index, c0, cg, s, pb, d, ks, out_sp, cols, scatter): ...
"""
import copy
import dataclasses
import hashlib
import importlib

import llvmlite.binding as llvm
from numba import njit
from numba.core import imputils
from numba.core.base import OverloadSelector
from numba.core.compiler import CompileResult
from numba.core.registry import CPUDispatcher

__all__ = ["inner_kernel"]


class _InnerDispatcher(CPUDispatcher):
    """A CPUDispatcher whose compiled functions have no Python wrapper (see the module)."""

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.py_func.__module__}.{self.py_func.__qualname__} is an inner "
                        f"kernel, compiled without a Python entry point: only compiled "
                        f"kernels call it")


class _SeparateDispatcher(_InnerDispatcher):
    """An inner kernel that compiled code calls through its symbol (see the module)."""

    def add_overload(self, result):
        super().add_overload(result)
        symbol = _Symbol(self.py_func.__module__, self.py_func.__qualname__,
                         tuple(result.signature.args))
        llvm.add_symbol(symbol.name,
                        result.library.get_pointer_to_function(result.fndesc.llvm_func_name))
        described = copy.copy(result.fndesc)
        described.mangled_name = symbol.name
        call = imputils.user_function(described, libs=())     # declares the symbol, links none

        def call_by_symbol(context, builder, signature, args):
            context.active_code_library._reload_init.add(symbol)
            return call(context, builder, signature, args)

        calls = OverloadSelector()
        calls.append(call_by_symbol, call.signature)
        self.targetctx._defns[result.entry_point] = calls    # Numba's call would link it in


@dataclasses.dataclass(frozen=True)
class _Symbol:
    """The symbol of a `linked=False` inner kernel compiled for `signature`. Called (a
    library's reload hook), it compiles the kernel or loads it from the cache, which defines
    the symbol."""
    module: str
    qualname: str
    signature: tuple

    @property
    def name(self) -> str:
        digest = hashlib.sha256(str(self.signature).encode()).hexdigest()[:16]
        return f"nbkeras.inner.{self.module}.{self.qualname}.{digest}"

    def __call__(self):
        kernel = importlib.import_module(self.module)
        for part in self.qualname.split("."):
            kernel = getattr(kernel, part)
        kernel.compile(self.signature)


def _rebuild_keeping_hooks(rebuild):
    """Numba's CompileResult._rebuild (a function loaded from the cache), keeping the reload
    hooks it ran on the loaded library, as on a freshly compiled one: a kernel that links it
    in then records them too."""
    def rebuild_keeping_hooks(cls, *args, **kwargs):
        result = rebuild(cls, *args, **kwargs)
        result.library._reload_init.update(result.reload_init or ())
        return result

    rebuild_keeping_hooks.keeps_hooks = True
    return classmethod(rebuild_keeping_hooks)


if not getattr(CompileResult._rebuild, "keeps_hooks", False):
    CompileResult._rebuild = _rebuild_keeping_hooks(CompileResult._rebuild.__func__)


def inner_kernel(function=None, *, linked=True, **options):
    """`@njit(cache=True, **options)` without the Python and C wrappers (see the module);
    used bare (`@inner_kernel`) or with options (`@inner_kernel(linked=False)`,
    `@inner_kernel(fastmath=True)`). `linked=False`: compiled code calls its one compiled
    copy through a symbol instead of linking in its code."""
    def compile_inner(py_func):
        dispatcher = njit(cache=True, no_cpython_wrapper=True, no_cfunc_wrapper=True,
                          **options)(py_func)
        dispatcher.__class__ = _InnerDispatcher if linked else _SeparateDispatcher
        return dispatcher

    return compile_inner if function is None else compile_inner(function)
