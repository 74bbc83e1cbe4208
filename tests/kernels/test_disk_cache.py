"""Numba's disk cache never runs a kernel's old machine code (kernels/disk_cache.py): a kernel
whose helper in another file changed compiles afresh, whether the cache is NUMBA_CACHE_DIR or
the package's own __pycache__; the stamp covers every kernel source file and nothing else;
user functions keep Numba's own locators; processes saving into one kernel cache at once
lose no entry and never swap two entries' machine code."""
import os
import shutil
import subprocess
import sys
import textwrap
import time

import numba
import pytest

import nbkeras
from nbkeras.kernels import disk_cache
from nbkeras.kernels.cpu import array

_EXP_RATIO = textwrap.dedent("""\
    import numpy as np
    from nbkeras.kernels.cpu import array
    x = np.linspace(-1, 1, 8, dtype=np.float32)
    out = np.empty_like(x)
    array._exp_float32(x, out)       # calls vector_math.exp, defined in another file
    hits = sum(array._exp_float32.stats.cache_hits.values())
    print(round(float(out[0] / np.exp(x[0])), 3), "hits", hits)
""")


def _run(package_root, cache_dir) -> str:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(package_root)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    done = subprocess.run([sys.executable, "-c", _EXP_RATIO], env=env, cwd=package_root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-3:]


@pytest.mark.parametrize("where", ["NUMBA_CACHE_DIR", "__pycache__"])
def test_a_kernel_compiles_afresh_when_a_helper_in_another_file_changes(tmp_path, where):
    package = tmp_path / "site"
    shutil.copytree(os.path.dirname(nbkeras.__file__), package / "nbkeras",
                    ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "numba-cache" if where == "NUMBA_CACHE_DIR" else None
    assert _run(package, cache) == ["1.0", "hits", "0"]
    assert _run(package, cache) == ["1.0", "hits", "1"]          # loaded from the cache
    helper = package / "nbkeras" / "kernels" / "cpu" / "vector_math.py"
    source = helper.read_text()
    changed = source.replace("return lambda x: _exp_float32(x)\n",
                             "return lambda x: _exp_float32(x) * np.float32(2)\n")
    assert changed != source
    helper.write_text(changed)
    assert _run(package, cache) == ["2.0", "hits", "0"]          # not the old code
    assert _run(package, cache) == ["2.0", "hits", "1"]


def test_the_stamp_covers_every_source_file_and_only_those(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "api.py").write_text("A = 1\n")
    (tmp_path / "cpu" / "conv.py").write_text("B = 2\n")
    stamp = disk_cache.sources_stamp.__wrapped__
    first = stamp(str(tmp_path))
    (tmp_path / "__pycache__" / "api.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "cpu" / "notes.txt").write_text("not code")
    assert stamp(str(tmp_path)) == first
    (tmp_path / "cpu" / "conv.py").write_text("B = 3\n")
    assert stamp(str(tmp_path)) != first
    (tmp_path / "cpu" / "conv.py").write_text("B = 2\n")
    assert stamp(str(tmp_path)) == first
    (tmp_path / "cpu" / "pool.py").write_text("")
    assert stamp(str(tmp_path)) != first


def test_kernels_carry_the_stamp_and_user_functions_do_not(tmp_path, monkeypatch):
    cache = array._exp_float32._cache
    assert cache._cache_path in disk_cache._kernel_cache_folders       # its saves lock
    assert isinstance(cache._impl.locator, disk_cache._KernelSourcesStamp)
    assert cache._impl.locator.get_source_stamp() == disk_cache.sources_stamp()
    module = tmp_path / "user_module.py"
    module.write_text("from numba import njit\n\n@njit(cache=True)\ndef twice(x):\n"
                      "    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from user_module import twice
    assert twice(3) == 6
    assert not isinstance(twice._cache._impl.locator, disk_cache._KernelSourcesStamp)


def test_stamping_twice_changes_nothing():
    before = list(numba.core.caching.CacheImpl._locator_classes)
    disk_cache.stamp_kernel_caches(numba.core.caching)
    assert numba.core.caching.CacheImpl._locator_classes == before


_SAVES = textwrap.dedent("""\
    import sys, time
    from numba.core import caching
    from nbkeras.kernels import cpu, disk_cache
    folder, start, tag = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    disk_cache._kernel_cache_folders.add(folder)        # as a stamped locator registers it
    index = caching.IndexDataCacheFile(folder, "kernel-1.py311", b"stamp")
    while time.time() < start:
        pass
    for i in range(150):
        index.save((tag, i), (tag, i))
""")


def test_processes_saving_into_one_kernel_cache_keep_every_entry_whole(tmp_path):
    from numba.core import caching

    start = time.time() + 3             # both processes imported by then; they save at once
    savers = [subprocess.Popen([sys.executable, "-c", _SAVES, str(tmp_path), str(start), tag],
                               stderr=subprocess.PIPE, text=True) for tag in "ab"]
    for saver in savers:
        assert saver.wait(timeout=120) == 0, saver.stderr.read()
    index = caching.IndexDataCacheFile(str(tmp_path), "kernel-1.py311", b"stamp")
    keys = sorted(index._load_index())
    assert keys == sorted((tag, i) for tag in "ab" for i in range(150))
    assert all(index.load(key) == key for key in keys)
    assert (tmp_path / disk_cache.LOCK_FILE).exists()


def test_a_save_goes_on_unlocked_where_the_lock_file_cannot_be_opened(tmp_path, monkeypatch):
    from numba.core import caching

    os.symlink(tmp_path / "missing" / "lock", tmp_path / disk_cache.LOCK_FILE)   # dangling
    monkeypatch.setattr(disk_cache, "_kernel_cache_folders", {str(tmp_path)})
    index = caching.IndexDataCacheFile(str(tmp_path), "kernel-1.py311", b"stamp")
    index.save(("key",), "machine code")
    assert index.load(("key",)) == "machine code"
