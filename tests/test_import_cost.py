"""`import nbkeras` stays light: Numba, SciPy and the optional libraries load on first use (a
kernel's first call, a plot, a file), never at import — the framework's first impression."""
import subprocess
import sys

HEAVY = ("numba", "llvmlite", "scipy", "matplotlib", "PIL", "h5py", "cv2", "tensorboardX",
         "keras", "jax", "torch", "tqdm", "numba_cuda")


def test_import_loads_no_heavy_library():
    probe = ("import sys, nbkeras, nbkeras.applications, nbkeras.preprocessing.image, "
             "nbkeras.visualization, nbkeras.saving; "
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == [], f"import nbkeras loaded {loaded}"
