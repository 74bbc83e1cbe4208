"""The parity suite: nbkeras against Keras 3 on JAX (the `xla` extra), run on its own.

`python -m pytest -q tests/parity` runs it (so does NBKERAS_PARITY=1 with any selection);
the plain `python -m pytest -q` leaves this folder uncollected, so the main run neither
imports JAX nor runs these tests twice when `.ci/run` then runs them on their own. Where
Keras is absent, each module skips at import (`parity_harness` calls importorskip; a skip
raised in a conftest would be an error when this folder is named on the command line).
"""
import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")     # before anything imports keras

HERE = Path(__file__).parent.resolve()


def _requested(config) -> bool:
    if os.environ.get("NBKERAS_PARITY") == "1":
        return True
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    """Skip collecting this folder unless it was asked for (None: let pytest decide)."""
    if not _requested(config):
        return True
    return None


def pytest_sessionfinish(session, exitstatus):
    """Where Keras is absent every module skips at import, and pytest would exit 5 (no tests
    collected): for this suite that is the clean skip it means, so exit 0."""
    if exitstatus != pytest.ExitCode.NO_TESTS_COLLECTED or not _requested(session.config):
        return
    try:
        import keras  # noqa: F401
    except ModuleNotFoundError:
        session.exitstatus = pytest.ExitCode.OK
