"""nbkeras: a Keras-compatible deep-learning framework with Numba kernels."""
from . import (activations, callbacks, config, constraints, datasets, initializers,  # noqa: F401
               layers, losses, metrics, ops, optimizers, random, regularizers, saving, utils)
from .core.device import device  # noqa: F401
from .core.keras_tensor import KerasTensor  # noqa: F401
from .core.tape import GradientTape  # noqa: F401
from .core.tensor import Tensor, Variable  # noqa: F401
from .layers import Input, InputLayer  # noqa: F401
from .models import Model, Sequential  # noqa: F401

__version__ = "0.1.0"
