"""Parfor shells: a `prange` loop that calls its body, a plain compiled function, by address.

Numba compiles a parfor's body again as a gufunc, then wraps it twice more (the gufunc
wrapper and the parallel launcher), and every one of those libraries, and the function
holding the loop, links in the machine code of every function the body calls and optimizes
and emits it again: the body of the MNIST convnet's convolution went through LLVM five times
(6.9 s of cold compile for the forward kernel, 2.9 s of it in the parfor's layers). A shell
does not link its body: `call_body(address, args)` calls the body's compiled code through a
pointer, so the body compiles once as an ordinary function (and may be cached on its own) and
the shell is a loop of a few lines (0.6 s).

    @njit(cache=True)
    def _body(x, y, t, chunks): ...              # chunk t of `chunks`

    @njit(cache=True, parallel=True)
    def _shell(body, x, y, chunks):
        for t in prange(chunks):
            call_body(body, (x, y, np.intp(t), chunks))

    _shell(body_address(_body, (x, y, 0, chunks)), x, y, chunks)

The shell passes its arrays as separate arguments (a gufunc takes no tuple of arrays) and the
chunk index as np.intp (the loop index is unsigned in the gufunc). `body_address` compiles the
body for the types of the arguments the shell will pass (or loads it from Numba's cache), once
per body and argument types; the shell then calls it with values of exactly those types, as
Numba's own first-class function calls do (the jit address and Numba's calling convention).
As in any parfor, an error raised on one of the pool's threads is lost, so a body must not
raise (on the calling thread it reaches the caller, chained to a SystemError). While
`concurrent_compile` dry-runs a step, `compile_hook` queues the body for a compiling worker
instead and its address is 0, at which `call_body` calls nothing.
"""
from numba import typeof
from numba._dispatcher import compute_fingerprint
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["body_address", "call_body"]

compile_hook = None     # set during a concurrent_compile dry run: (body, signature) -> queued
_addresses: dict = {}   # (body, argument fingerprints) -> address of the compiled body


@intrinsic
def call_body(typingctx, address, args):
    """body(*args) for the body compiled at `address` (body_address) for args' types;
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


def body_address(body, args: tuple) -> int:
    """The address of `body` (a cached @njit function that returns nothing) compiled for the
    types of `args`, the values the shell passes it; 0 when a dry run queued the compile."""
    try:
        key = (body, tuple(map(compute_fingerprint, args)))
    except (TypeError, ValueError):          # a value Numba's dispatcher types the slow way
        key = (body, tuple(typeof(a) for a in args))
    address = _addresses.get(key)
    if address is None:
        signature = tuple(typeof(a) for a in args)
        if compile_hook is not None and compile_hook(body, signature):
            return 0
        body.compile(signature)
        result = body.overloads[signature]
        if result.signature.return_type != types.none:
            raise TypeError(f"{body.py_func.__qualname__} returns "
                            f"{result.signature.return_type}: a shell's body returns nothing")
        address = result.library.get_pointer_to_function(result.fndesc.llvm_func_name)
        _addresses[key] = address
    return address
