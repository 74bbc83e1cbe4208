"""The wheel ships Numba's cache for the machine that built it (setup.py runs
nbkeras/utils/precompile.py on the wheel's copy of the package): installed from it, the
first-run models train, predict and evaluate in a fresh process without compiling a kernel."""
import os
import subprocess
import sys
import textwrap

import pytest

import nbkeras

_FIRST_RUNS = textwrap.dedent("""\
    import sys
    import numba
    import nbkeras
    from nbkeras.utils.precompile import first_run_models

    for model, x, y in first_run_models():
        model.fit(x, y, epochs=1, verbose=0, validation_split=0.2)
        model.predict(x, verbose=0)
        model.evaluate(x, y, verbose=0)
    hits = misses = 0
    for name, module in list(sys.modules.items()):
        for value in vars(module).values() if name.startswith("nbkeras.kernels.cpu") else ():
            if isinstance(value, numba.core.registry.CPUDispatcher) and value._cache.cache_path:
                hits += sum(value.stats.cache_hits.values())
                misses += sum(value.stats.cache_misses.values())
    print(nbkeras.__file__, hits, misses)
""")


def _clean_env() -> dict:
    """This environment without a Numba cache folder or extra import paths."""
    return {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}


def _installed_folder(cwd) -> str:
    """The nbkeras folder a fresh process outside the source tree imports."""
    done = subprocess.run([sys.executable, "-c", "import importlib.util; "
                           "print(importlib.util.find_spec('nbkeras').origin)"],
                          cwd=cwd, env=_clean_env(), capture_output=True, text=True, check=True)
    return os.path.dirname(done.stdout.strip())


def test_the_installed_package_trains_its_first_run_models_without_compiling(tmp_path):
    installed = _installed_folder(tmp_path)
    if os.path.samefile(installed, os.path.dirname(nbkeras.__file__)):
        pytest.skip("nbkeras is installed editable here (the source tree); CI's venv holds "
                    "it from `pip install .`, its wheel")
    done = subprocess.run([sys.executable, "-c", _FIRST_RUNS], cwd=tmp_path, env=_clean_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    module_file, hits, misses = done.stdout.split()[-3:]
    assert module_file.startswith(installed)
    assert int(hits) > 0
    assert int(misses) == 0, "a first-run kernel compiled: the wheel's cache missed it"
