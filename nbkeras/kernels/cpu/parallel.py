"""Thread count per kernel launch: small arrays run on one thread, since waking the
thread pool costs more than the work (and far more when the cores are shared)."""
import numba

PARALLEL_MIN_ELEMENTS = 1 << 15


def launch(kernel, elements: int, *args):
    """kernel(*args) on all of Numba's threads if `elements` is large, else on one."""
    if elements >= PARALLEL_MIN_ELEMENTS:
        return kernel(*args)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(threads)
