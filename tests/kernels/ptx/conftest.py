"""CUDA code checked with no GPU and no simulator (PTX compiles, the allocator plugin):
collected where numba-cuda is installed (the cuda extra) and NUMBA_ENABLE_CUDASIM is off."""
import importlib.util

from numba import config

collect_ignore_glob = ([] if importlib.util.find_spec("numba_cuda") is not None
                       and not config.ENABLE_CUDASIM else ["test_*.py"])
