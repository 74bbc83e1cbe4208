"""Numba's disk cache for nbkeras's kernels, stamped with every kernel source file.

Numba keys a cached function by the contents of its own file only, so a kernel whose helper
in another file changed ran its old machine code: conv.py compiles pooling.next_window into
the convolution, most float32 kernels vector_math's exp, CUDA kernels runtime.py's device
functions. Here every `cache=True` function defined under nbkeras/kernels gets one stamp,
the hash of all the .py files there: a change to any of them (an edit, an upgrade that
leaves the kernel's own file alone) makes each kernel compile afresh once. Where the cache
lives stays Numba's choice (NUMBA_CACHE_DIR, the package's __pycache__, else the user-wide
cache directory); the CPU, Python and Numba versions stay in Numba's own keys.

Saves into those folders are serialized across processes (an exclusive lock on one file per
folder). A save reads a kernel's index, picks the first free data file name, rewrites the
index and writes the data, so two processes saving different signatures of one kernel at
once (pytest workers, two notebooks, the compile workers of concurrent_compile.py) could both
take `kernel.1.nbc`: one index entry then named the other signature's machine code.
"""
from __future__ import annotations

import functools
import hashlib
import os

try:
    import fcntl
except ImportError:              # not POSIX: saves go unlocked, as Numba's own
    fcntl = None

KERNELS = os.path.dirname(os.path.abspath(__file__))
LOCK_FILE = "nbkeras-cache.lock"
# Numba's locators for a function read from a .py file, the ones stamped here
_SOURCE_FILE_LOCATORS = ("UserProvidedCacheLocator", "InTreeCacheLocator",
                         "UserWideCacheLocator")
_kernel_cache_folders: set[str] = set()     # where stamped locators have put caches


@functools.cache
def sources_stamp(root: str = KERNELS) -> bytes:
    """sha256 over the relative path and bytes of every .py file under `root`."""
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as source:
                    digest.update(source.read())
    return digest.digest()


class _KernelSourcesStamp:
    """Mixed in before a Numba locator: serves functions defined under nbkeras/kernels only,
    stamped with sources_stamp()."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if not os.path.abspath(py_file).startswith(KERNELS + os.sep):
            return None
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return sources_stamp()

    def get_cache_path(self):
        path = super().get_cache_path()
        _kernel_cache_folders.add(path)
        return path


def _serialized(save):
    """Numba's IndexDataCacheFile.save, holding the folder's lock file when the folder holds
    kernels' caches."""
    def save_holding_the_folder_lock(cache_file, key, data):
        folder = cache_file._cache_path
        if fcntl is None or folder not in _kernel_cache_folders:
            return save(cache_file, key, data)
        try:      # read-only: a lock file another user created in a shared folder still opens
            lock = os.open(os.path.join(folder, LOCK_FILE), os.O_RDONLY | os.O_CREAT, 0o666)
        except OSError:                          # unreadable: save as Numba alone would
            return save(cache_file, key, data)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            save(cache_file, key, data)
        finally:
            os.close(lock)                       # releases the lock
    return save_holding_the_folder_lock


def stamp_kernel_caches(caching) -> None:
    """Put a stamped twin of each of `caching`'s source-file locators in front of its list
    and serialize its saves into kernels' cache folders (`caching`: numba.core.caching, or
    numba-cuda's numba.cuda.core.caching). Functions decorated before this call keep Numba's
    stamp; calling it again changes nothing."""
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
    locators = impl._locator_classes
    if any(issubclass(locator, _KernelSourcesStamp) for locator in locators):
        return
    stamped = [type("Stamped" + locator.__name__.lstrip("_"), (_KernelSourcesStamp, locator),
                    {"__module__": __name__})
               for locator in locators
               if locator.__name__.lstrip("_") in _SOURCE_FILE_LOCATORS]
    impl._locator_classes = stamped + list(locators)
    caching.IndexDataCacheFile.save = _serialized(caching.IndexDataCacheFile.save)
