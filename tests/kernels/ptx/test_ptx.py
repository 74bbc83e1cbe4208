"""Every CUDA kernel compiles to PTX for the GPUs nbkeras targets (compute capability 9.0,
H100/H200, and 8.0, A100), for each signature it is launched with, and a float32 kernel
has no float64 instruction (a bare `0.5` or `x * 3.0` promotes to float64 on a GPU, which
the simulator never shows). Needs NVVM (the `cuda` extra), no GPU; not in the simulator."""
import importlib
import pkgutil

import pytest
from numba import cuda, types

import nbkeras.kernels.cuda as cuda_kernels
from nbkeras.kernels.cuda import runtime

for module in pkgutil.iter_modules(cuda_kernels.__path__):
    importlib.import_module(f"nbkeras.kernels.cuda.{module.name}")

CASES = [(function, signature) for function, signatures in runtime.KERNELS
         for signature in signatures]


def _float_types(signature):
    for t in signature:
        t = getattr(t, "dtype", t)
        if isinstance(t, types.Float):
            yield t


def test_every_kernel_declares_its_signatures():
    assert runtime.KERNELS, "no CUDA kernels were registered"
    missing = [function.__qualname__ for function, signatures in runtime.KERNELS
               if not signatures]
    assert not missing, f"kernels without launch signatures: {missing}"


@pytest.mark.parametrize("cc", [(9, 0), (8, 0)], ids=["sm90", "sm80"])
@pytest.mark.parametrize("function, signature", CASES,
                         ids=[f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}-{i}"
                              for i, (f, _) in enumerate(CASES)])
def test_compiles_to_ptx_without_float64_in_float32_kernels(function, signature, cc):
    ptx, _ = cuda.compile_ptx(function, signature, cc=cc)
    floats = set(_float_types(signature))
    if floats == {types.float32}:
        lines = [line.strip() for line in ptx.splitlines() if ".f64" in line]
        assert not lines, (f"{function.__qualname__}{signature}: float64 instructions in a "
                           f"float32 kernel: {lines[:3]}")


def test_cuda_kernels_are_stamped_with_every_kernel_source():
    """A CUDA kernel inlines device functions from other files (runtime.py's reductions), so
    its disk cache carries the stamp of all kernel sources, as the CPU kernels' does."""
    from nbkeras.kernels import disk_cache

    cached = [cuda.jit(cache=True)(function) for function, _ in runtime.KERNELS[:3]]
    for dispatcher in cached:
        locator = dispatcher._cache._impl.locator
        assert isinstance(locator, disk_cache._KernelSourcesStamp)
        assert locator.get_source_stamp() == disk_cache.sources_stamp()
