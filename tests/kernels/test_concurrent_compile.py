"""kernels/cpu/concurrent_compile.py: a dry run finds the kernels, worker processes and this one
compile them (into Numba's disk cache), and the real run then compiles nothing; nothing the
caller has changes.

Each check runs in a fresh Python process with its own empty Numba cache (Numba reads the cache
folder at import), as a user's first run does.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32",
                                reason="concurrent compiles need POSIX file locks")


def _run_script(tmp_path, body: str) -> str:
    """Run `body` as a script (no `if __name__ == "__main__"` guard, as users write them) in a
    fresh process whose Numba cache is empty; returns its stdout. The process shows every
    ResourceWarning, and must leave none (the workers' pipes are closed)."""
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(body))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    done = subprocess.run([sys.executable, "-W", "always::ResourceWarning", str(script)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning" not in done.stderr, done.stderr
    return done.stdout


def test_workers_compile_what_the_real_run_then_loads_from_the_cache(tmp_path):
    out = _run_script(tmp_path, """
        import numpy as np
        import nbkeras as nk
        from nbkeras.kernels.cpu import softmax
        from nbkeras.kernels.cpu.concurrent_compile import compile_concurrently

        print("script started")                  # once: workers never re-run this script
        rng = np.random.default_rng(0)
        x32 = rng.standard_normal((4, 7)).astype("float32")
        x64 = rng.standard_normal((3, 5))
        before = (x32.copy(), x64.copy())

        def run():
            return [nk.ops.softmax(x32).numpy(), nk.ops.softmax(x64).numpy()]

        compiled = compile_concurrently(run, workers=3)   # this process and two workers
        names = sorted(compiled)
        # one signature per dtype of the same kernel, compiled by racing processes
        print("compiled", sum("softmax._softmax_rows(" in n for n in names))
        assert all(seconds > 0 for seconds in compiled.values())
        misses = sum(softmax._softmax_rows.stats.cache_misses.values())
        y32, y64 = run()
        print("new misses", sum(softmax._softmax_rows.stats.cache_misses.values()) - misses)
        for x, y in ((x32, y32), (x64, y64)):
            e = np.exp(x.astype("float64") - x.max(axis=-1, keepdims=True))
            np.testing.assert_allclose(y, e / e.sum(axis=-1, keepdims=True), rtol=1e-5)
        np.testing.assert_array_equal(before[0], x32)
        np.testing.assert_array_equal(before[1], x64)
    """)
    assert out.count("script started") == 1
    assert "compiled 2" in out
    assert "new misses 0" in out        # the real run compiled nothing: all was done before


def test_a_small_sample_finds_the_kernels_large_inputs_pick(tmp_path):
    """Host code that runs numpy on small arrays and a kernel on large ones (elementwise
    arithmetic, exp, row sums) takes the kernel in the dry run, so `warmup`'s two-sample batch
    compiles what the real batches call: their first call compiles nothing. Bounded by a
    size_scale, it takes numpy where arrays that many times larger would. Small arrays still
    run numpy outside the dry run."""
    out = _run_script(tmp_path, """
        import numpy as np
        from nbkeras.kernels.cpu import array
        from nbkeras.kernels.cpu.concurrent_compile import compile_concurrently

        small = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
        big = np.linspace(-1, 1, 1 << 18, dtype=np.float32).reshape(512, -1)

        def run(x):
            return array.multiply(x, x), array.exp(x), array.reduce("sum", x, 1, False)

        kernels = (array._arithmetic, array._exp_float32, array._row_sums)
        bounded = compile_concurrently(lambda: run(small), workers=2, size_scale=1000)
        print("found at 1000 times the sample", sorted(bounded))
        compiled = compile_concurrently(lambda: run(small), workers=2)
        print("found", sorted(k.py_func.__name__ for k in kernels
                              if any(k.py_func.__name__ + "(" in name for name in compiled)))
        print("small runs numpy", array._parallel_operands(small, small) is None)

        def misses():
            return sum(sum(k.stats.cache_misses.values()) for k in kernels)

        before = misses()
        product, exp, sums = run(big)
        print("new misses", misses() - before)
        np.testing.assert_allclose(product, big * big)
        np.testing.assert_allclose(exp, np.exp(big), rtol=1e-6)
        np.testing.assert_allclose(sums, big.sum(axis=1, dtype=np.float64), rtol=1e-5)
    """)
    assert "found at 1000 times the sample []" in out    # 6000 elements: numpy's still
    assert "found ['_arithmetic', '_exp_float32', '_row_sums']" in out
    assert "small runs numpy True" in out
    assert "new misses 0" in out


def test_a_dry_run_that_raises_still_compiles_what_it_found(tmp_path):
    out = _run_script(tmp_path, """
        import numpy as np
        import nbkeras as nk
        from numba.core.registry import CPUDispatcher
        from nbkeras.kernels.cpu import softmax
        from nbkeras.kernels.cpu.concurrent_compile import compile_concurrently

        x = np.random.default_rng(1).standard_normal((2, 3)).astype("float32")

        def run():
            nk.ops.softmax(x)
            raise RuntimeError("the dry run's numbers sent the host code astray")

        compiled = compile_concurrently(run, workers=2)
        print("compiled", sum("softmax._softmax_rows(" in name for name in compiled))
        assert "__call__" not in CPUDispatcher.__dict__     # the interception is gone
        misses = sum(softmax._softmax_rows.stats.cache_misses.values())
        try:
            run()
        except RuntimeError:
            pass
        print("new misses", sum(softmax._softmax_rows.stats.cache_misses.values()) - misses)
        print("one worker", compile_concurrently(run, workers=1))
    """)
    assert "compiled 1" in out
    assert "new misses 0" in out
    assert "one worker {}" in out


def test_warmup_in_a_fresh_process_compiles_concurrently_and_changes_nothing(tmp_path):
    out = _run_script(tmp_path, """
        import numpy as np
        import nbkeras as nk
        from nbkeras import layers

        print("script started")
        rng = np.random.default_rng(2)
        x = rng.standard_normal((8, 12, 3)).astype("float32")
        y = rng.integers(0, 4, 8)

        def model():
            nk.config.set_random_seed(3)
            m = nk.Sequential([nk.Input((12, 3)), layers.Conv1D(5, 3, activation="relu"),
                               layers.GlobalMaxPooling1D(), layers.Dense(4, activation="softmax")])
            m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            return m

        warmed, plain = model(), model()
        nk.utils.warmup(warmed, x[:2], y[:2])
        np.testing.assert_array_equal(warmed.train_on_batch(x, y), plain.train_on_batch(x, y))
        for a, b in zip(warmed.get_weights(), plain.get_weights()):
            np.testing.assert_array_equal(a, b)
        print("same")
    """)
    assert out.count("script started") == 1
    assert "same" in out


def test_a_plain_first_fit_compiles_concurrently_and_changes_no_number(tmp_path):
    body = """
        import numpy as np
        import nbkeras as nk
        import nbkeras.utils.warmup
        if {no_dry_run}:
            nbkeras.utils.warmup.compile_first_calls = lambda *args, **kwargs: None
        from nbkeras import layers
        nk.config.set_random_seed(4)
        rng = np.random.default_rng(5)
        x = rng.standard_normal((16, 10, 2)).astype("float32")
        y = rng.integers(0, 3, 16)
        model = nk.Sequential([nk.Input((10, 2)), layers.Conv1D(4, 3, activation="relu"),
                               layers.Dropout(0.3), layers.Flatten(),
                               layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        print("weights", [w.round(6).tolist() for w in model.get_weights()])
    """
    cold = _run_script(tmp_path, body.format(no_dry_run=False))
    warm = _run_script(tmp_path, body.format(no_dry_run=False))   # the cache now filled
    plain = _run_script(tmp_path, body.format(no_dry_run=True))   # fit without a dry run

    def weights(out):
        return [line for line in out.splitlines() if line.startswith("weights")]

    assert weights(cold) and weights(cold) == weights(warm) == weights(plain)


def test_the_largest_compile_is_handed_out_first():
    """The queue orders compiles by estimated cost, largest first, whatever order the dry run
    found them in; equal costs keep that order."""
    from nbkeras.kernels.cpu.concurrent_compile import _WorkerPool

    pool = _WorkerPool(0)
    for name, cost in [("small", 1.0), ("large", 30.0), ("middle", 2.0), ("middle_too", 2.0)]:
        pool.submit("module", name, (), cost)
    order = [pool._queue.get_nowait()[2].request[1] for _ in range(4)]
    assert order == ["large", "middle", "middle_too", "small"]


def test_compile_cost_counts_the_kernels_a_kernel_calls_and_doubles_a_parfor():
    """A kernel's estimate includes the nbkeras kernels it calls (so the convolution's body,
    which calls the im2col and pooling kernels, ranks above pooling), and a parfor's is twice
    the same function's compiled without `parallel` (Numba compiles a parfor's body twice)."""
    import numba

    from nbkeras.kernels.cpu import conv, pooling, random
    from nbkeras.kernels.cpu.concurrent_compile import _source_size, compile_cost

    body = conv._conv_forward_chunk
    assert compile_cost(body) > _source_size(body.py_func) + _source_size(
        conv._patches.py_func)
    assert (compile_cost(body) > compile_cost(pooling._max_pool)
            > compile_cost(random._fill_mask32) > 0)
    plain = numba.njit(pooling._max_pool.py_func)
    assert compile_cost(pooling._max_pool) == 2 * compile_cost(plain)


def test_the_collector_is_paused_while_this_process_compiles_and_restored_after():
    import gc

    from nbkeras.kernels.cpu.concurrent_compile import _collection_paused

    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            with pytest.raises(RuntimeError), _collection_paused():
                assert not gc.isenabled()
                raise RuntimeError("a compile failed")
            assert gc.isenabled() is enabled
        finally:
            gc.enable()


def test_a_worker_compiles_without_importing_the_layers_ops_and_models(tmp_path):
    """A worker (its own command line) answers a compile request, having imported the
    kernel modules but none of nbkeras outside nbkeras.kernels (`python -X importtime` lists
    every module it imports)."""
    import pickle

    from numba import typeof

    from nbkeras.kernels.cpu.concurrent_compile import _worker_command

    command = _worker_command()
    request = ("nbkeras.kernels.cpu.softmax", "_softmax_rows",
               (typeof(0), typeof(0), typeof(np.ones((2, 3))), typeof(np.ones((2, 3)))))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    done = subprocess.run([command[0], "-X", "importtime", *command[1:]],
                          input=pickle.dumps(request), capture_output=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    assert pickle.loads(done.stdout) > 0                      # compiled, in seconds
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.decode().splitlines()
                if line.startswith("import time:")}
    assert "nbkeras.kernels.cpu.softmax" in imported
    assert not {name for name in imported if name.startswith("nbkeras.")
                and not name.startswith("nbkeras.kernels")}, sorted(imported)
