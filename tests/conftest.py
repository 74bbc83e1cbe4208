"""Hypothesis profiles: `dev` (default), `ci` (fixed example count) and `simulator` (the ci
profile with few examples: Numba's simulator runs one Python thread per CUDA thread; CI's
CUDA stage uses it). No deadline, since a
test's first example pays Numba's compile time; `function_scoped_fixture` is no problem for
the `device` fixture, which every example of a test shares on purpose.

Numba's thread pool gets at least two threads even on a one-core machine (set before Numba
is imported), so the tests of the parallel paths can split work; `two_threads` runs a test
with two of them.

`device` runs a test once per device of tests/devices.py's DEVICES ("cpu", plus "cuda" on a
GPU or in Numba's simulator), inside `nk.device(...)`: what the test makes lives there.
Select the variants with `-k cpu` / `-k cuda`.

With NBKERAS_KERAS_SKIPS set to a file, every test (or module) skipped because Keras is not
installed is listed there, one node id per line: CI's test step has no Keras, and its parity
step, with Keras added, runs exactly those."""
import os

os.environ.setdefault("NUMBA_NUM_THREADS", str(max(2, os.cpu_count() or 1)))
os.environ.setdefault("KERAS_BACKEND", "jax")   # Keras, a reference in tests: before its import

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from devices import DEVICES  # noqa: E402  (tests/devices.py)
from nbkeras.core.device import simulator_requested  # noqa: E402

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("dev", deadline=None, max_examples=25,
                          suppress_health_check=_SUPPRESSED)
settings.register_profile("ci", deadline=None, max_examples=30, derandomize=False,
                          print_blob=True, suppress_health_check=_SUPPRESSED)
settings.register_profile("simulator", settings.get_profile("ci"), max_examples=3)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _list_a_keras_skip(report) -> None:
    listing = os.environ.get("NBKERAS_KERAS_SKIPS")
    if listing and report.skipped and "could not import 'keras'" in str(report.longrepr):
        with open(listing, "a") as file:
            file.write(report.nodeid + "\n")


def pytest_runtest_logreport(report):
    _list_a_keras_skip(report)


def pytest_collectreport(report):
    _list_a_keras_skip(report)


def pytest_configure(config):
    if simulator_requested():
        # the simulator runs the counter-based hashes on numpy scalars, which warn on the
        # uint64 wraparound the hash relies on
        config.addinivalue_line("filterwarnings",
                                "ignore:.*overflow encountered in scalar:RuntimeWarning")


@pytest.fixture(params=DEVICES)
def device(request):
    """"cpu" or "cuda": the test body runs inside `nk.device(device)`."""
    import nbkeras as nk

    with nk.device(request.param):
        yield request.param


@pytest.fixture
def two_threads():
    """Run the test with two Numba threads (restored afterwards)."""
    import nbkeras as nk

    before = nk.config.get_num_threads()
    nk.config.set_num_threads(2)
    try:
        yield
    finally:
        nk.config.set_num_threads(before)
