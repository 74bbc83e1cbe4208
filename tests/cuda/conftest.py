"""The CUDA kernels against the CPU kernels. They run on a GPU, or in Numba's simulator when
the process starts with NUMBA_ENABLE_CUDASIM=1 (`.ci/run` starts such a run); elsewhere the
folder is skipped."""
from nbkeras.core.device import cuda_unavailable_reason

collect_ignore_glob = [] if cuda_unavailable_reason() is None else ["test_*.py"]


def pytest_configure(config):
    # the simulator runs the counter-based hashes on numpy scalars, which warn on the
    # uint64 wraparound the hash relies on
    config.addinivalue_line("filterwarnings",
                            "ignore:.*overflow encountered in scalar:RuntimeWarning")
