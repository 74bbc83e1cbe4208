"""Hypothesis profiles: `dev` (default) and `ci` (fixed example count). No deadline, since a
test's first example pays Numba's compile time."""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=30, derandomize=False,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
