"""Device placement from a user's side, on a machine without a GPU: "cpu" everywhere by
default, `import nbkeras` never imports numba.cuda, and asking for "cuda" where it cannot work
fails at once with one clear error that names the simulator."""
import subprocess
import sys

import numpy as np
import pytest

import nbkeras as nk
from nbkeras.core.device import cuda_unavailable_reason


def test_tensors_and_variables_are_on_the_cpu_by_default():
    t = nk.ops.convert_to_tensor(np.ones(3))
    v = nk.Variable(np.zeros(2))
    assert t.device == "cpu" and v.device == "cpu"
    assert isinstance(np.asarray(nk.ops.add(t, 1.0)), np.ndarray)


def test_import_does_not_import_numba_cuda():
    probe = "import sys, nbkeras; print('numba.cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


@pytest.mark.skipif(cuda_unavailable_reason() is None, reason="a GPU or the simulator is here")
def test_cuda_without_a_gpu_or_the_simulator_names_what_is_missing():
    with pytest.raises(RuntimeError, match="device 'cuda' is not available.*NUMBA_ENABLE_CUDASIM=1"):
        with nk.device("cuda"):
            pass


def test_bad_device_names_fail_clearly():
    with pytest.raises(ValueError, match="device: name must be 'cpu', 'cuda' or 'cuda:0'"):
        with nk.device("tpu"):
            pass
