"""kernels/cpu/parallel.py's chunk pool: `run_chunks(kernel, chunks, ...)` runs every chunk
once, raises a chunk's error after all chunks are done, stays usable afterwards, runs the
chunks in the caller when another thread holds the pool, and works in a forked child."""
import os
import threading

import numpy as np
import pytest
from numba import njit

from nbkeras.kernels.cpu.parallel import chunk_span, launch_chunks, run_chunks


@njit(nogil=True)
def _mark(t, chunks, out, fail_chunk):
    """out[i] += t + 1 over chunk t's span of out; chunk `fail_chunk` raises instead."""
    if t == fail_chunk:
        raise ValueError("chunk failed")
    start, stop = chunk_span(t, chunks, out.shape[0])
    for i in range(start, stop):
        out[i] += t + 1


def _expected(n, chunks):
    return np.concatenate([np.full((t + 1) * n // chunks - t * n // chunks, t + 1.0)
                           for t in range(chunks)])


@pytest.mark.parametrize("chunks", [1, 2, 3, 5])
@pytest.mark.parametrize("n", [0, 1, 7, 64])
def test_every_chunk_runs_once_over_its_own_span(chunks, n):
    out = np.zeros(n)
    run_chunks(_mark, chunks, out, -1)
    np.testing.assert_array_equal(out, _expected(n, chunks) if n else out)


def test_a_chunks_error_is_raised_after_all_chunks_and_the_pool_stays_usable():
    out = np.zeros(30)
    with pytest.raises(ValueError, match="chunk failed"):
        run_chunks(_mark, 3, out, 2)
    np.testing.assert_array_equal(out[:20], _expected(30, 3)[:20])   # chunks 0, 1 ran
    out = np.zeros(30)
    run_chunks(_mark, 3, out, -1)
    np.testing.assert_array_equal(out, _expected(30, 3))


def test_callers_on_several_threads_each_get_all_their_chunks():
    outs = [np.zeros(1000) for _ in range(4)]

    def work(out):
        for _ in range(50):
            run_chunks(_mark, 2, out, -1)

    threads = [threading.Thread(target=work, args=(out,)) for out in outs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for out in outs:
        np.testing.assert_array_equal(out, 50 * _expected(1000, 2))


def test_small_work_runs_as_one_chunk():
    out = np.zeros(10)
    launch_chunks(_mark, 10, out, 1)       # chunk 1 would raise: there is only chunk 0
    np.testing.assert_array_equal(out, np.ones(10))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_fresh_pool():
    run_chunks(_mark, 2, np.zeros(4), -1)           # the parent's workers exist
    pid = os.fork()
    if pid == 0:                                    # child: the parent's threads are gone
        out = np.zeros(8)
        run_chunks(_mark, 2, out, -1)
        os._exit(0 if np.array_equal(out, _expected(8, 2)) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
