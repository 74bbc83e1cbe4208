"""Compile the CPU kernels some host code needs on every core at once.

Numba compiles a kernel on its first call, in the calling process, one kernel after another:
a fresh process's first training step spends most of its time there with one core busy.
`compile_concurrently(run)` first finds the kernels `run()` will call: it runs `run()` once as
a dry run in which a call of a cached nbkeras CPU kernel that is neither compiled in this
process nor in Numba's disk cache is recorded and, when the kernel returns nothing (it writes
into arrays its caller allocated), skipped; the arrays it would have written keep whatever they
held, so the dry run's numbers are meaningless and only its calls count. A kernel that returns
a value is compiled and run in this process, since the host code reads what it returns.
Each recorded kernel is queued, as it is found, for a pool of worker processes (one per core
beyond the first) that compile it into Numba's disk cache; once the dry run is over, this
process compiles from the same queue too. `run()`'s real calls afterwards find each kernel
compiled here or load it from the cache. A chunk body run by the parfor shell (shells.py) is
compiled before the shell is called, for the shell to call it by address: the dry run queues it
too (with its unpacking function), and the shell runs at address 0, doing nothing. The queue
hands out the largest compile first (`compile_cost`), so one process does not end alone on a
large kernel found late (the MNIST convnet's convolution backward did: 2.5 s of a 13 s cold
start with one core idle). Host code that picks by size (numpy for small arrays, a kernel for
large ones) sees the dry run's arrays `size_scale` times larger (`parallel.large`), so that a
small sample finds the real batches' kernels: after `warmup`'s two samples, taken at their
own size, the MNIST convnet's first step at batch 128 compiled its dropout's `_arithmetic`
alone, 1.9 s. The scale is the real batches' size over the sample's, not unbounded: taking
every large-input kernel compiled the row sums of a loss of 2 values (`_row_sums`, 0.7-1 s
of compile), which batches under 131072 samples never call.

Two processes saving different signatures of one kernel at once could both claim the same
data file in Numba's cache; disk_cache.py serializes every save into a kernel cache folder, so
the workers' saves and this process's never interleave. If the
dry run raises (the meaningless numbers took host code somewhere a real run never goes), it
stops there: the kernels found so far are still compiled, and the real run compiles the rest.
"""
from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import inspect
import itertools
import math
import os
import pickle
import queue
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
from numba.core import caching, config
from numba.core.registry import CPUDispatcher

from ..disk_cache import fcntl   # None where there are no POSIX file locks: no workers
from . import parallel, shells

__all__ = ["compile_concurrently", "worker_count"]

_KERNEL_MODULES = "nbkeras.kernels.cpu."
_returns_value_cache: dict = {}          # py_func -> whether its source returns a value
_size_cache: dict = {}                   # py_func -> the count of its source's syntax nodes


def worker_count() -> int:
    """Compiling processes, this one included: the environment variable
    NBKERAS_COMPILE_WORKERS if set (0 or 1: this process only), else one per core this
    process may use."""
    configured = os.environ.get("NBKERAS_COMPILE_WORKERS", "").strip()
    if configured:
        try:
            return int(configured)
        except ValueError:
            raise ValueError(f"NBKERAS_COMPILE_WORKERS must be an integer; received "
                             f"{configured!r}") from None
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                       # not Linux
        return os.cpu_count() or 1


def compile_concurrently(run, workers: int | None = None,
                         size_scale: float = math.inf) -> dict:
    """Dry-run `run()` (see the module docstring) and compile the kernels it would compile in
    `workers` processes, this one included (default: `worker_count()`), filling Numba's disk
    cache. Does nothing with one, with the JIT disabled or without POSIX file locks.
    size_scale: how many times larger than the dry run's the real calls' arrays may be, for
    the host code that picks a kernel by size (default: any size). Returns
    {"kernel(signature)": compile seconds} for the kernels compiled."""
    workers = worker_count() if workers is None else workers
    if workers < 2 or config.DISABLE_JIT or fcntl is None:
        return {}
    with _DryRun(workers, size_scale) as dry_run:
        with contextlib.suppress(Exception), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")           # the dry run's numbers are meaningless
            run()
        return dry_run.results()


class _DryRun:
    """While entered: nbkeras CPU kernel calls that would compile are recorded and handed to
    a lazily started pool of compiling workers instead (see the module docstring)."""

    def __init__(self, workers: int, size_scale: float):
        self._workers = workers
        self._size_scale = size_scale
        self._jobs = {}            # (dispatcher, signature) -> _Job
        self._pool = None

    def __enter__(self):
        dry_run = self

        def call(dispatcher, *args, **kwargs):
            return dry_run._call(dispatcher, args, kwargs)

        CPUDispatcher.__call__ = call
        shells.compile_hook = self._queued         # a chunk body, compiled before the call
        parallel._size_scale[0] = self._size_scale     # size-picked kernels: the real sizes'
        return self

    def __exit__(self, *exc):
        del CPUDispatcher.__call__
        shells.compile_hook = None
        parallel._size_scale[0] = 1.0
        if self._pool is not None:
            self._pool.close()

    def results(self) -> dict:
        """{"kernel(signature)": seconds} of the compiles that succeeded, once all are done
        (this process compiling queued kernels too meanwhile)."""
        if self._pool is not None:
            with _collection_paused():
                self._pool.compile_here()
                self._pool.join()
        return {f"{d.py_func.__module__}.{d.py_func.__qualname__}{signature}": job.seconds
                for (d, signature), job in self._jobs.items() if job.seconds is not None}

    def _call(self, dispatcher, args, kwargs):
        run_now = super(CPUDispatcher, dispatcher).__call__
        if kwargs or not _queueable(dispatcher) or _returns_value(dispatcher.py_func):
            return run_now(*args, **kwargs)
        if self._queued(dispatcher, tuple(dispatcher.typeof_pyval(a) for a in args)):
            return None                            # a worker compiles it; the call is skipped
        return run_now(*args)                      # compiled, or loads from the disk cache

    def _queued(self, dispatcher, signature: tuple) -> bool:
        """Whether `dispatcher` for `signature` is queued for the workers (now, or earlier):
        False when it is not a cached nbkeras CPU kernel, or is compiled in this process or in
        Numba's disk cache."""
        key = (dispatcher, signature)
        if key not in self._jobs:
            if (not _queueable(dispatcher) or signature in dispatcher.overloads
                    or _in_disk_cache(dispatcher, signature)):
                return False
            if self._pool is None:
                self._pool = _WorkerPool(self._workers - 1)
            self._jobs[key] = self._pool.submit(dispatcher.py_func.__module__,
                                                dispatcher.py_func.__qualname__, signature,
                                                compile_cost(dispatcher))
        return True


class _Job:
    """One kernel signature to compile; `seconds` is set once it is compiled."""

    def __init__(self, module: str, qualname: str, signature: tuple):
        self.request = (module, qualname, signature)
        self.seconds = None


class _WorkerPool:
    """`workers` Python processes that compile kernels (`_serve`), each fed by a thread of
    this process from one queue, from which this process may compile too (`compile_here`).
    Plain subprocesses, not multiprocessing: spawning would re-run the user's main script in
    every worker."""

    def __init__(self, workers: int):
        command = _worker_command()
        self._queue = queue.PriorityQueue()    # (-cost, order, job); job None: a feeder stops
        self._entries = itertools.count()
        self._processes = [subprocess.Popen(command, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE)
                           for _ in range(workers)]
        self._feeders = [threading.Thread(target=self._feed, args=(p,), daemon=True)
                         for p in self._processes]
        for feeder in self._feeders:
            feeder.start()

    def submit(self, module: str, qualname: str, signature: tuple, cost: float) -> _Job:
        """Queue a compile of estimated `cost`: the largest queued compile goes first."""
        job = _Job(module, qualname, signature)
        self._queue.put((-cost, next(self._entries), job))
        return job

    def compile_here(self) -> None:
        """Compile queued jobs in this process until the queue is empty."""
        while True:
            try:
                _, _, job = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                job.seconds = _compile(*job.request)
            except Exception:                      # the real run raises it where it belongs
                pass
            finally:
                self._queue.task_done()

    def join(self) -> None:
        """Wait until every submitted job is done (compiled or failed)."""
        self._queue.join()

    def close(self) -> None:
        """Finish the queued jobs, then stop the workers."""
        for _ in self._feeders:
            self._queue.put((math.inf, next(self._entries), None))
        for feeder, process in zip(self._feeders, self._processes):
            feeder.join()
            process.stdin.close()
            process.wait()
            process.stdout.close()

    def _feed(self, process) -> None:
        """Send jobs to `process` one at a time until the queue says stop (None) or the
        process dies (its jobs are then left to the real run)."""
        alive = True
        while True:
            _, _, job = self._queue.get()
            try:
                if job is None:
                    return
                if alive:
                    pickle.dump(job.request, process.stdin)
                    process.stdin.flush()
                    job.seconds = pickle.load(process.stdout)
            except (OSError, EOFError, pickle.PickleError):
                alive = False
            finally:
                self._queue.task_done()


def _worker_command() -> list:
    """The command line of a compiling worker (`_serve`). It runs on this process's import
    path, so that it imports the very kernel files this process runs (Numba's cache is per
    source file; `python -c` would put its cwd first), with the top package a bare namespace
    of its folder: a worker imports the kernel modules without the layers, ops and models
    (0.4 s of its start, before its first compile; the kernels import nothing outside
    nbkeras.kernels)."""
    paths = [path or os.getcwd() for path in sys.path]
    package = __name__.split(".")[0]
    folder = os.path.dirname(sys.modules[package].__file__)
    return [sys.executable, "-c", f"import sys, types; sys.path[:] = {paths!r}; "
            f"top = types.ModuleType({package!r}); top.__path__ = [{folder!r}]; "
            f"sys.modules[{package!r}] = top; from {__name__} import _serve; _serve()"]


def _serve() -> None:
    """A compiling worker: reads pickled (module, qualname, signature) requests on stdin and
    answers each with the compile seconds (None if it failed) on stdout; exits at the end of
    its input."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    gc.disable()                                   # see _collection_paused
    sys.stdout = sys.stderr                        # nothing else may write to the replies
    while True:
        try:
            module, qualname, signature = pickle.load(requests)
        except EOFError:          # done: every compile is saved and answered, so the worker
            sys.stderr.flush()    # skips the interpreter's teardown, which the caller would
            os._exit(0)           # wait for (0.45 s after the MNIST convnet's compiles)
        try:
            seconds = _compile(module, qualname, signature)
        except Exception:                          # the real run raises it where it belongs
            seconds = None
        pickle.dump(seconds, replies)
        replies.flush()


@contextlib.contextmanager
def _collection_paused():
    """Python's cyclic garbage collector paused: compiling a kernel makes hundreds of
    thousands of objects, and each collection walks them all (7% of the MNIST convnet's
    convolution kernels' compile in a process holding the model)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _queueable(dispatcher) -> bool:
    """Whether `dispatcher` is an nbkeras CPU kernel cached on disk (a worker can compile it
    for this process)."""
    return (dispatcher.py_func.__module__.startswith(_KERNEL_MODULES)
            and isinstance(dispatcher._cache, caching.FunctionCache))


def _in_disk_cache(dispatcher, signature: tuple) -> bool:
    """Whether Numba's disk cache holds `dispatcher` compiled for `signature` (its index is
    read, not the machine code)."""
    cache = dispatcher._cache
    try:
        key = cache._index_key(signature, dispatcher.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except (AttributeError, OSError, EOFError, pickle.UnpicklingError):  # Numba changed: ask a
        return False                                                      # worker to load it


def compile_cost(dispatcher) -> float:
    """A kernel's compile time, estimated: the syntax nodes of its source and of the nbkeras
    kernels it calls (found by name among its globals, each counted once), doubled for a
    parfor (Numba compiles its body again as a gufunc and optimizes it with every function
    it calls again). Measured on the MNIST convnet's kernels it orders the large ones right."""
    seen, pending, total = set(), [dispatcher], 0
    while pending:
        kernel = pending.pop()
        if kernel.py_func in seen:
            continue
        seen.add(kernel.py_func)
        total += _source_size(kernel.py_func)
        names = kernel.py_func.__globals__
        pending.extend(names[name] for name in kernel.py_func.__code__.co_names
                       if isinstance(names.get(name), CPUDispatcher))
    return total * (2 if dispatcher.targetoptions.get("parallel") else 1)


def _source_size(py_func) -> int:
    """The count of syntax nodes in `py_func`'s source (0 when the source is unknown)."""
    if py_func not in _size_cache:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(py_func)))
            _size_cache[py_func] = sum(1 for _ in ast.walk(tree))
        except (OSError, TypeError, SyntaxError):
            _size_cache[py_func] = 0
    return _size_cache[py_func]


def _returns_value(py_func) -> bool:
    """Whether `py_func`'s source has a `return <value>` (True when the source is unknown)."""
    if py_func not in _returns_value_cache:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(py_func)))
            _returns_value_cache[py_func] = any(
                isinstance(node, ast.Return) and node.value is not None for node in ast.walk(tree))
        except (OSError, TypeError, SyntaxError):
            _returns_value_cache[py_func] = True
    return _returns_value_cache[py_func]


def _compile(module: str, qualname: str, signature: tuple) -> float:
    """Compile (or load from the disk cache) module.qualname for `signature`, saving it to
    the cache; returns the seconds it took."""
    kernel = importlib.import_module(module)
    for part in qualname.split("."):
        kernel = getattr(kernel, part)
    start = time.perf_counter()
    kernel.compile(signature)
    return time.perf_counter() - start
