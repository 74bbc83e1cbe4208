"""The devices the tests run on here, decided once: "cpu" always, "cuda" where
`cuda_unavailable_reason()` is None (a GPU, or Numba's simulator: NUMBA_ENABLE_CUDASIM=1 set
before the process imports Numba). tests/conftest.py's `device` fixture runs the op tests on
each of DEVICES; the CUDA-only folders (tests/kernels/cuda, tests/models/cuda) take
`collect_ignore_glob` from `cuda_only_ignore_glob()` in their conftest, so a machine without
CUDA neither collects nor skips them."""
from nbkeras.core.device import cuda_unavailable_reason

CUDA_AVAILABLE = cuda_unavailable_reason() is None
DEVICES = ("cpu", "cuda") if CUDA_AVAILABLE else ("cpu",)


def cuda_only_ignore_glob() -> list[str]:
    """A CUDA-only folder's `collect_ignore_glob`: nothing where CUDA can run, else its tests."""
    return [] if CUDA_AVAILABLE else ["test_*.py"]
