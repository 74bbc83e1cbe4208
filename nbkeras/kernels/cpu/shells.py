"""One parfor shell for every chunk body: `parallel_chunks(body, chunks, *args)`.

Numba compiles a parfor's body again as a gufunc, then wraps it twice more (the gufunc
wrapper and the parallel launcher), and every one of those libraries, and the function
holding the loop, links in the machine code of every function the body calls and optimizes
and emits it again: the body of the MNIST convnet's convolution went through LLVM five times
(6.9 s of cold compile for the forward kernel, 2.9 s of it in the parfor's layers). So a
kernel's parallel work is a plain compiled function of one chunk, `body(t, chunks, *args)`
(chunk t of `chunks`: a contiguous run of images or rows), run on Numba's pool by one parfor
of three integers, `_parallel_calls`, compiled once for every body:

    @inner_kernel
    def _chunk(t, chunks, x, y): ...

    launch(parallel_chunks, x.size, _chunk, numba.get_num_threads(), x, y)

The host packs the body's address and arguments into a buffer as Numba lays out a tuple of
them in memory (`_PackedCall`); on each thread the shell calls `_unpacked`, compiled once per
argument types (0.05 s), which loads that tuple and calls the body by address (`call_body`:
the jit address and Numba's calling convention). Before, each body had a parfor shell of its
own, its dozen arguments crossing the gufunc: 0.45-0.9 s to compile each (the MNIST
convnet's warmup 8.5 -> 7.6 s). Packing costs the host about 6 us more a launch than Numba's
unboxing did (a compiled launcher per argument types, which unboxes in C, took 0.2 s each to
compile and left the warmup at 8.4 s).

As in any parfor, an error raised on one of the pool's threads is lost, so a body must not
raise (on the calling thread it reaches the caller, chained to a SystemError). While
`concurrent_compile` dry-runs a step, `compile_hook` queues the body and `_unpacked` for the
compiling workers, and the shell runs with address 0, at which `call_body` calls nothing
(the dry run queues the shell too).
"""
import ctypes
import struct

import numpy as np
from numba import njit, prange, typeof
from numba._dispatcher import compute_fingerprint
from numba.core import cgutils, types
from numba.core.registry import cpu_target
from numba.extending import intrinsic

from .inner import inner_kernel

__all__ = ["call_body", "parallel_chunks"]

compile_hook = None     # set during a concurrent_compile dry run: (kernel, signature) -> queued
_calls: dict = {}       # (body, argument fingerprints) -> _PackedCall


@intrinsic
def call_body(typingctx, address, args):
    """body(*args) for the body compiled at `address` for args' types (_compiled_address);
    nothing at address 0 (a dry run queued the body's compile)."""
    if not isinstance(address, types.Integer) or not isinstance(args, types.BaseTuple):
        return None

    def codegen(context, builder, signature, values):
        address_value, packed = values
        argument_types = tuple(args)
        arguments = [builder.extract_value(packed, i) for i in range(len(argument_types))]
        function_type = context.call_conv.get_function_type(types.none, argument_types)
        queued = cgutils.is_null(builder, address_value)
        with builder.if_then(builder.not_(queued), likely=True):
            function = builder.inttoptr(address_value, function_type.as_pointer())
            status, _ = context.call_conv.call_function(builder, function, types.none,
                                                        argument_types, arguments)
            with cgutils.if_unlikely(builder, status.is_error):
                context.call_conv.return_status_propagate(builder, status)
        return context.get_dummy_value()

    return types.none(address, args), codegen


def parallel_chunks(body, chunks: int, *args) -> None:
    """body(t, chunks, *args) for every chunk t < `chunks`, on Numba's threads (as many as
    it is set to: parallel.launch), for `body` a cached @njit function that returns nothing
    (see the module)."""
    try:
        key = (body, tuple(map(compute_fingerprint, args)))
    except (TypeError, ValueError, NotImplementedError):   # typed the slow way
        key = (body, tuple(typeof(a) for a in args))
    call = _calls.get(key)
    if call is None:
        call = _PackedCall.prepare(body, tuple(typeof(a) for a in args))
        if call is None:                          # a dry run queued a compile: run nothing
            _parallel_calls(0, 0, chunks)
            return
        _calls[key] = call
    payload = np.empty(call.size, np.uint8)
    call.pack(payload, *args)
    _parallel_calls(call.unpacked, _data(payload), chunks)


@njit(cache=True, parallel=True)
def _parallel_calls(unpacked, payload, chunks):
    """unpacked(payload, t, chunks) for every t < chunks, on Numba's threads."""
    for t in prange(chunks):
        call_body(unpacked, (payload, np.intp(t), chunks))


@inner_kernel
def _unpacked(payload, t, chunks):
    """body(t, chunks, *args) for the tuple (body's address, *args) stored at `payload`."""
    fields = _fields(payload)
    call_body(fields[0], (t, chunks) + fields[1:])


@intrinsic
def _fields(typingctx, payload):
    """The tuple stored at `payload`, a pointer to it (packed by `parallel_chunks`)."""
    if not isinstance(payload, types.CPointer) or not isinstance(payload.dtype,
                                                                  types.BaseTuple):
        return None

    def codegen(context, builder, signature, args):
        fields = context.unpack_value(builder, payload.dtype, args[0])
        if context.enable_nrt:          # a new reference, which the caller releases
            context.nrt.incref(builder, payload.dtype, fields)
        return fields

    return payload.dtype(payload), codegen


class _PackedCall:
    """The entry points of a body and of `_unpacked` for its argument types, and `pack`, which
    writes the body's address and those arguments into a buffer as Numba lays out a tuple of
    them in memory (struct's native alignment is C's, which is LLVM's): an array as its data
    model's fields (meminfo, parent, size, itemsize, data, shape, strides), lent without a
    reference (meminfo null). `pack` is generated for the argument types, one expression per
    field (a loop over per-argument functions took twice as long)."""

    _SCALARS = {types.boolean: "?", types.float32: "f", types.float64: "d"}

    def __init__(self, unpacked: int, size: int, pack):
        self.unpacked, self.size, self.pack = unpacked, size, pack

    @classmethod
    def prepare(cls, body, argument_types: tuple):
        """The packed call of `body` for `argument_types`, its functions compiled or loaded
        from the cache; None when a concurrent_compile dry run queued one of them."""
        payload = types.Tuple((types.intp, *argument_types))   # the body's address first
        formats, values = zip(*(cls._field(kind, f"a{i}") for i, kind in enumerate(payload)))
        packer = struct.Struct("@" + "".join(formats) + "0n")   # padded to 8 at the end
        context = cpu_target.target_context
        size = context.get_abi_sizeof(context.get_data_type(payload))
        if packer.size != size:
            raise TypeError(f"parallel_chunks: {payload} packs into {packer.size} bytes, "
                            f"Numba lays it out in {size}")
        body_signature = (types.intp, types.intp, *argument_types)
        unpacked_signature = (types.CPointer(payload), types.intp, types.intp)
        if compile_hook is not None and any([compile_hook(body, body_signature),
                                             compile_hook(_unpacked, unpacked_signature)]):
            return None
        body_address = _compiled_address(body, body_signature)
        names = ", ".join(f"a{i}" for i in range(1, len(payload)))
        namespace = {"pack_into": packer.pack_into, "a0": body_address, "data": _data}
        exec(f"def pack(payload, {names}):\n"
             f"    pack_into(payload, 0, {', '.join(values)})", namespace)
        return cls(_compiled_address(_unpacked, unpacked_signature), size, namespace["pack"])

    @classmethod
    def _field(cls, kind, name: str) -> tuple:
        """(struct format, expression of its values) of an argument `name` of Numba type
        `kind`."""
        if isinstance(kind, types.Array):
            axes = "n" * kind.ndim
            return ("PPnnP" + axes + axes,
                    f"0, 0, {name}.size, {name}.itemsize, data({name}), *{name}.shape, "
                    f"*{name}.strides")
        if isinstance(kind, types.UniTuple) and not isinstance(kind.dtype, (types.Array,
                                                                           types.BaseTuple)):
            return cls._field(kind.dtype, "")[0] * kind.count, f"*{name}"
        if kind in cls._SCALARS:
            return cls._SCALARS[kind], name
        if isinstance(kind, types.Integer):
            code = {8: "b", 16: "h", 32: "i", 64: "q"}[kind.bitwidth]
            return (code if kind.signed else code.upper()), name
        raise TypeError(f"parallel_chunks: cannot pass an argument of type {kind}")


def _data_pointer_reader():
    """array -> the address of its first element. `a.ctypes.data` makes a ctypes object
    (1.4 us, a third of a launch's packing); the field itself, read where numpy's C API keeps
    it (right after the object's header: PyArray_DATA), costs 0.2 us. That offset is checked
    on arrays here, and `ctypes.data` is the fallback where it does not hold."""
    offset = object.__basicsize__
    probes = [np.arange(3.0), np.ones((2, 3), np.float32)[:, 1:], np.empty(0)]

    def read(a):
        return ctypes.c_void_p.from_address(id(a) + offset).value or 0

    if all(read(p) == p.ctypes.data for p in probes):
        return read
    return lambda a: a.ctypes.data


_data = _data_pointer_reader()


def _compiled_address(function, signature: tuple) -> int:
    """The address of `function` (a cached @njit function returning nothing) compiled for
    `signature` (or loaded from Numba's cache)."""
    function.compile(signature)
    result = function.overloads[signature]
    if result.signature.return_type != types.none:
        raise TypeError(f"{function.py_func.__qualname__} returns "
                        f"{result.signature.return_type}: a shell's body returns nothing")
    return result.library.get_pointer_to_function(result.fndesc.llvm_func_name)
