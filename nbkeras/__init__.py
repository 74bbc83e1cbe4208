"""nbkeras: a Keras-compatible deep-learning framework with Numba kernels."""
from . import (activations, callbacks, config, constraints, datasets, initializers,  # noqa: F401
               layers, losses, metrics, ops, optimizers, random, regularizers, saving, utils)
from .core.device import device  # noqa: F401
from .core.keras_tensor import KerasTensor  # noqa: F401
from .core.stateless_scope import StatelessScope  # noqa: F401
from .core.symbolic_scope import SymbolicScope  # noqa: F401
from .core.tape import GradientTape  # noqa: F401
from .core.tensor import Tensor, Variable  # noqa: F401
from .layers import Input, InputLayer  # noqa: F401
from .models import Model, Sequential  # noqa: F401
from . import dtype_policies, mixed_precision, tree, visualization  # noqa: F401
from . import applications, preprocessing  # noqa: F401
from ._version import __version__, version  # noqa: F401
from .dtype_policies import DTypePolicy, FloatDTypePolicy  # noqa: F401
from .function import Function  # noqa: F401
from .initializers import Initializer  # noqa: F401
from .layers import Layer  # noqa: F401
from .layers.input_spec import InputSpec  # noqa: F401
from .losses import Loss  # noqa: F401
from .metrics import Metric  # noqa: F401
from .name_scope import name_scope  # noqa: F401
from .ops.op import Op as Operation  # noqa: F401
from .optimizers import Optimizer  # noqa: F401
from .regularizers import Regularizer  # noqa: F401
