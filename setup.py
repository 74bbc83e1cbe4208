"""nbkeras's build: setuptools as pyproject.toml configures it, plus one step that fills the
wheel's Numba cache for this machine (nbkeras/utils/precompile.py)."""
import glob
import os
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithKernelCache(build_py):
    """build_py, then `python -m nbkeras.utils.precompile` on the built copy of the package,
    whose kernels' __pycache__ folders then ship in the wheel. Skipped for editable installs
    (a source tree fills its own cache on first use) and with NBKERAS_PRECOMPILE=0 (a wheel
    for other machines, whose CPUs would not use it); a failure only warns, and the kernels
    then compile on first use, as without this step."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        build_lib = os.path.abspath(self.build_lib)
        _remove(build_lib, "*.nb[ic]")           # a previous build's entries
        if os.environ.get("NBKERAS_PRECOMPILE", "1") == "0":
            return
        env = {name: value for name, value in os.environ.items() if name != "NUMBA_CACHE_DIR"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [build_lib, env.get("PYTHONPATH")]))
        done = subprocess.run([sys.executable, "-m", "nbkeras.utils.precompile"], env=env,
                              cwd=build_lib)
        _remove(build_lib, "nbkeras-cache.lock")  # the saves' lock files (disk_cache.LOCK_FILE)
        if done.returncode != 0:
            self.warn("nbkeras: filling the kernel cache failed; the kernels will compile on "
                      "first use")


def _remove(build_lib: str, pattern: str) -> None:
    """Delete the files matching `pattern` anywhere in the built package."""
    for path in glob.glob(os.path.join(build_lib, "nbkeras", "**", pattern), recursive=True):
        os.remove(path)


setup(cmdclass={"build_py": BuildWithKernelCache})
