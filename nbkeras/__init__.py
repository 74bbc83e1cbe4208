"""nbkeras: a Keras-compatible deep-learning framework with Numba kernels."""
from . import config, ops  # noqa: F401
from .core.device import device  # noqa: F401
from .core.tape import GradientTape  # noqa: F401
from .core.tensor import Tensor, Variable  # noqa: F401
from .core.keras_tensor import KerasTensor  # noqa: F401

__version__ = "0.1.0"
