"""Public testing tools: gradient checks, the layer contract and Hypothesis strategies
(`nbkeras.testing.strategies`, which needs the `hypothesis` package)."""
from .gradcheck import GradientCheckError, check_grads  # noqa: F401
from .layer_test import layer_test  # noqa: F401
