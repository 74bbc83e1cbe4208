"""The CUDA kernels against the CPU kernels. They run on a GPU, or in Numba's simulator when
the process starts with NUMBA_ENABLE_CUDASIM=1 (`.ci/run` starts such a run); elsewhere the
folder is not collected (tests/devices.py has the rule)."""
from devices import cuda_only_ignore_glob

collect_ignore_glob = cuda_only_ignore_glob()
