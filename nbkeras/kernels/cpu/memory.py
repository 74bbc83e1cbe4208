"""Reuse of freed memory: a training step allocates and frees many activation-sized arrays;
with glibc's defaults each one above the mmap threshold comes fresh from the OS and pays a
page fault per 4 KiB on first touch (measured: kernels 3-8x slower inside a training step
than alone). Raising the mmap and trim thresholds keeps freed blocks in the heap for the
next step, as framework allocators cache blocks. Only glibc (Linux) is affected."""
import ctypes
import ctypes.util

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 << 20    # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 1 << 30
TOP_PAD = 64 << 20


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as above; False where there is no glibc `mallopt`."""
    path = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(path).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return all(mallopt(option, value) == 1 for option, value in (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (_M_TOP_PAD, TOP_PAD)))
