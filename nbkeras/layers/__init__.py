"""Layers (`nk.layers`), named and configured as in `keras.layers`."""
from .activations.activation import Activation  # noqa: F401
from .core.dense import Dense  # noqa: F401
from .core.identity import Identity  # noqa: F401
from .core.lambda_layer import Lambda  # noqa: F401
from .input_layer import Input, InputLayer  # noqa: F401
from .layer import Layer  # noqa: F401
from .regularization.dropout import Dropout  # noqa: F401
from .reshaping.flatten import Flatten  # noqa: F401
from .reshaping.permute import Permute  # noqa: F401
from .reshaping.repeat_vector import RepeatVector  # noqa: F401
from .reshaping.reshape import Reshape  # noqa: F401
