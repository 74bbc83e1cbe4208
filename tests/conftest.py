"""Hypothesis profiles: `dev` (default) and `ci` (fixed example count). No deadline, since a
test's first example pays Numba's compile time.

Numba's thread pool gets at least two threads even on a one-core machine (set before Numba
is imported), so the tests of the parallel paths can split work; `two_threads` runs a test
with two of them."""
import os

os.environ.setdefault("NUMBA_NUM_THREADS", str(max(2, os.cpu_count() or 1)))

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("dev", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=30, derandomize=False,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


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
