"""Global settings, as in `keras.config`: float type, image layout, epsilon, threads, seeds.

Defaults may be overridden once, at import, by `~/.nbkeras/nbkeras.json` (or the file in
`$NBKERAS_HOME`), e.g. `{"floatx": "float64", "epsilon": 1e-7}`, like Keras's keras.json.
"""
from __future__ import annotations

import json
import os
import random as _py_random

import numpy as np

_FLOAT_TYPES = ("float16", "float32", "float64")
_DATA_FORMATS = ("channels_last", "channels_first")

_settings = {"floatx": "float32", "epsilon": 1e-7, "image_data_format": "channels_last"}

# Numba's OpenMP threading layer (GNU libgomp) keeps its workers spinning after each parallel
# region: 300,000 `pause` loops by default, several milliseconds on current CPUs. A product on
# nbkeras's chunk pool (kernels/cpu/parallel.py) started within that time shares a core with a
# spinning worker: LSTM's weight gradient after its backward loop took 13-15 ms against 8-9 ms
# alone (2 cores). Unless the user chose a wait policy, the spin is 10,000 loops (a fraction
# of a millisecond: the Python between two kernels of a step, not the next BLAS call). libgomp
# reads it once, when Numba first starts its threads (or earlier if another library, such as
# PyTorch, loaded libgomp first), so it is set here, at import.
OPENMP_SPIN_LOOPS = 10_000
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", str(OPENMP_SPIN_LOOPS))


def _config_path() -> str:
    home = os.environ.get("NBKERAS_HOME", os.path.join(os.path.expanduser("~"), ".nbkeras"))
    return os.path.join(home, "nbkeras.json")


def floatx() -> str:
    """The default float type of new layers and tensors ('float32' unless set)."""
    return _settings["floatx"]


def set_floatx(value: str) -> None:
    if value not in _FLOAT_TYPES:
        raise ValueError(f"set_floatx: floatx must be one of {_FLOAT_TYPES}; received {value!r}")
    _settings["floatx"] = value


def epsilon() -> float:
    """The fuzz factor added to denominators (1e-7 unless set)."""
    return _settings["epsilon"]


def set_epsilon(value: float) -> None:
    if not value > 0:
        raise ValueError(f"set_epsilon: epsilon must be positive; received {value!r}")
    _settings["epsilon"] = float(value)


def image_data_format() -> str:
    """'channels_last' (N, H, W, C) unless set to 'channels_first' (N, C, H, W)."""
    return _settings["image_data_format"]


def set_image_data_format(value: str) -> None:
    if value not in _DATA_FORMATS:
        raise ValueError(f"set_image_data_format: data format must be one of {_DATA_FORMATS}; "
                         f"received {value!r}")
    _settings["image_data_format"] = value


def set_num_threads(n: int) -> None:
    """Threads used by the parallel Numba kernels (at most the cores Numba found)."""
    import numba

    if not 1 <= int(n) <= numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"set_num_threads: n must be in [1, {numba.config.NUMBA_NUM_THREADS}]; "
                         f"received {n!r}")
    numba.set_num_threads(int(n))


def get_num_threads() -> int:
    import numba

    return numba.get_num_threads()


def set_random_seed(seed: int) -> None:
    """Seed Python's `random`, numpy, Numba's internal generator and nbkeras's own generator,
    so that initializers, dropout and shuffling repeat exactly."""
    from .core import random
    from .kernels.cpu.random import seed_numba

    seed = int(seed)
    _py_random.seed(seed)
    np.random.seed(seed % 2**32)
    seed_numba(seed % 2**32)
    random.reset_global_generator(seed)


def enable_unsafe_deserialization() -> None:
    """Disables safe mode globally (this thread), allowing the deserialization of lambdas and
    of classes from modules outside nbkeras, as `keras.config.enable_unsafe_deserialization`."""
    from .saving.serialization_lib import enable_unsafe_deserialization as disable_safe_mode

    disable_safe_mode()


def _load_config_file() -> None:
    path = _config_path()
    if not os.path.isfile(path):
        return
    with open(path) as f:
        saved = json.load(f)
    setters = {"floatx": set_floatx, "epsilon": set_epsilon,
               "image_data_format": set_image_data_format}
    for key, setter in setters.items():
        if key in saved:
            setter(saved[key])


_load_config_file()
