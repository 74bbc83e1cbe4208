"""The `keras` fixture: Keras 3 on JAX as a reference, or a skip where it is not installed."""
import os

import pytest


@pytest.fixture(scope="session")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")     # before anything imports keras
    return pytest.importorskip("keras")
