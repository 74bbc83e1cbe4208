"""nk.config: settings, validation, the nbkeras.json file, threads and seeding."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers


def test_defaults_and_setters_validate():
    assert nk.config.floatx() == "float32"
    assert nk.config.image_data_format() == "channels_last"
    assert nk.config.epsilon() == 1e-7
    with pytest.raises(ValueError, match="floatx must be one of"):
        nk.config.set_floatx("float8")
    with pytest.raises(ValueError, match="data format must be one of"):
        nk.config.set_image_data_format("nhwc")
    with pytest.raises(ValueError, match="epsilon must be positive"):
        nk.config.set_epsilon(0)
    nk.config.set_epsilon(1e-5)
    try:
        assert nk.config.epsilon() == 1e-5
    finally:
        nk.config.set_epsilon(1e-7)


def test_config_file_is_read_once_at_import(tmp_path):
    (tmp_path / "nbkeras.json").write_text(json.dumps(
        {"floatx": "float64", "image_data_format": "channels_first", "epsilon": 1e-4}))
    probe = ("import nbkeras as nk; c = nk.config; "
             "print(c.floatx(), c.image_data_format(), c.epsilon(), nk.layers.Dense(1).dtype)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "NBKERAS_HOME": str(tmp_path)}).stdout.split()
    assert out == ["float64", "channels_first", "0.0001", "float64"]


def test_set_num_threads_sets_numba_threads():
    import numba

    before = nk.config.get_num_threads()
    nk.config.set_num_threads(1)
    try:
        assert numba.get_num_threads() == 1
    finally:
        nk.config.set_num_threads(before)
    with pytest.raises(ValueError, match="set_num_threads"):
        nk.config.set_num_threads(10_000)


_OPENMP_PROBE = """
import ctypes, os, sys
import nbkeras as nk
import numba
nk.config.set_num_threads(1)          # starts Numba's threads, as a user's first call may
if numba.threading_layer() != "omp":
    print("not-omp"); sys.exit()
sys.stdout.flush()
ctypes.CDLL("libgomp.so.1").omp_display_env(1)   # libgomp's own settings, on stderr
"""


def _openmp_settings(**env) -> dict[str, str] | None:
    """libgomp's settings in a fresh process that set `env` and imported nbkeras (None when
    Numba's threading layer there is not OpenMP)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    run = subprocess.run([sys.executable, "-c", _OPENMP_PROBE], capture_output=True, text=True,
                         check=True, env={**clean, **env})
    if "not-omp" in run.stdout:
        return None
    pairs = (line.strip().split(" = ", 1) for line in run.stderr.splitlines() if " = " in line)
    return {name: value.strip("'") for name, value in pairs}


def test_openmp_workers_spin_briefly_unless_the_user_chose_a_wait_policy():
    settings = _openmp_settings()
    if settings is None:
        pytest.skip("Numba's threading layer is not OpenMP here")
    assert settings["GOMP_SPINCOUNT"] == str(nk.config.OPENMP_SPIN_LOOPS)
    assert _openmp_settings(GOMP_SPINCOUNT="123")["GOMP_SPINCOUNT"] == "123"
    active = _openmp_settings(OMP_WAIT_POLICY="active")
    assert active["OMP_WAIT_POLICY"] == "ACTIVE"
    assert active["GOMP_SPINCOUNT"] != str(nk.config.OPENMP_SPIN_LOOPS)


def _seeded_run(seed: int):
    nk.config.set_random_seed(seed)
    model = nk.Sequential([nk.Input((5,)), layers.Dense(4), layers.Dropout(0.5), layers.Dense(2)])
    x = np.ones((3, 5), "float32")
    return model.get_weights(), np.asarray(model(x, training=True)), np.random.rand(), \
        __import__("random").random()


def test_set_random_seed_makes_initializers_dropout_and_generators_repeat():
    first, second, other = _seeded_run(11), _seeded_run(11), _seeded_run(12)
    for a, b in zip(first[0], second[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first[1], second[1])
    assert first[2:] == second[2:]
    assert not np.array_equal(first[0][0], other[0][0])


def test_numba_generator_is_seeded():
    from numba import njit

    @njit
    def draw():
        return np.random.random()

    nk.config.set_random_seed(5)
    a = draw()
    nk.config.set_random_seed(5)
    assert draw() == a
