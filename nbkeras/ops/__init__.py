"""Differentiable ops (`nk.ops`), named as in `keras.ops`."""
from .activation import (elu, exponential, gelu, hard_sigmoid, leaky_relu, linear,  # noqa: F401
                         log_softmax, mish, relu, relu6, selu, sigmoid, silu, softmax,
                         softplus, softsign, swish, tanh)
from .core import argmax, argmin, cast, clip, one_hot, stop_gradient, where  # noqa: F401
from .elementwise import (abs, absolute, add, divide, divide_no_nan, equal, exp, greater,  # noqa: F401
                          greater_equal, less, less_equal, log, maximum, minimum, multiply,
                          negative, not_equal, power, sqrt, square, subtract, true_divide)
from .matmul import dot, matmul  # noqa: F401
from .dense import dense  # noqa: F401
from .dropout import dropout  # noqa: F401
from .op import Op, convert_to_tensor  # noqa: F401
from .reduction import amax, amin, max, mean, min, prod, sum  # noqa: F401
from .shape import (broadcast_to, concatenate, expand_dims, getitem, moveaxis,  # noqa: F401
                    reshape, split, squeeze, stack, transpose)
from .normalization import (batch_normalization, batch_normalization_training,  # noqa: F401
                            group_normalization, layer_normalization)
from .prelu import prelu  # noqa: F401
from .losses import (binary_crossentropy, categorical_crossentropy,  # noqa: F401
                     sigmoid_cross_entropy_with_logits, softmax_cross_entropy_with_logits,
                     sparse_categorical_crossentropy, sparse_softmax_cross_entropy_with_logits)
from .pooling import average_pool, max_pool  # noqa: F401
from .padding import pad  # noqa: F401
from .resize import resize  # noqa: F401
from .conv import (conv, conv_output_shape, conv_transpose, conv_transpose_output_shape,  # noqa: F401
                   depthwise_conv, separable_conv)
from .creation import *  # noqa: F401,F403
from .manipulation import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from .scatter import *  # noqa: F401,F403
from .products import *  # noqa: F401,F403
from .statistics import *  # noqa: F401,F403
from .signal import *  # noqa: F401,F403
from .control_flow import *  # noqa: F401,F403
from .math import *  # noqa: F401,F403
from .nn_functions import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .ctc import *  # noqa: F401,F403
from .correlation import *  # noqa: F401,F403
from .image import *  # noqa: F401,F403
from . import nn, numpy  # noqa: E402,F401  (Keras's submodules; linalg and image are modules)
