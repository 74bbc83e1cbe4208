"""Layers (`nk.layers`), named and configured as in `keras.layers`."""
from .activations.activation import Activation  # noqa: F401
from .core.dense import Dense  # noqa: F401
from .core.einsum_dense import EinsumDense  # noqa: F401
from .attention.multi_head_attention import MultiHeadAttention  # noqa: F401
from .attention.attention import Attention  # noqa: F401
from .attention.additive_attention import AdditiveAttention  # noqa: F401
from .attention.grouped_query_attention import GroupedQueryAttention  # noqa: F401
from .attention.grouped_query_attention import GroupedQueryAttention as GroupQueryAttention  # noqa: F401,E501
from .core.embedding import Embedding  # noqa: F401
from .core.reversible_embedding import ReversibleEmbedding  # noqa: F401
from .core.identity import Identity  # noqa: F401
from .core.lambda_layer import Lambda  # noqa: F401
from .core.masking import Masking  # noqa: F401
from .input_layer import Input, InputLayer  # noqa: F401
from .input_spec import InputSpec  # noqa: F401
from .layer import Layer  # noqa: F401
from .regularization.dropout import Dropout  # noqa: F401
from .reshaping.flatten import Flatten  # noqa: F401
from .reshaping.permute import Permute  # noqa: F401
from .reshaping.repeat_vector import RepeatVector  # noqa: F401
from .reshaping.reshape import Reshape  # noqa: F401
from .normalization.batch_normalization import BatchNormalization  # noqa: F401
from .normalization.layer_normalization import LayerNormalization  # noqa: F401
from .normalization.group_normalization import GroupNormalization  # noqa: F401
from .activations.relu import ReLU  # noqa: F401
from .activations.leaky_relu import LeakyReLU  # noqa: F401
from .activations.prelu import PReLU  # noqa: F401
from .activations.elu import ELU  # noqa: F401
from .activations.softmax import Softmax  # noqa: F401
from .activations.thresholded_relu import ThresholdedReLU  # noqa: F401
from .regularization.spatial_dropout import SpatialDropout1D, SpatialDropout2D, SpatialDropout3D  # noqa: F401,E501
from .regularization.gaussian_noise import GaussianNoise  # noqa: F401
from .regularization.gaussian_dropout import GaussianDropout  # noqa: F401
from .regularization.alpha_dropout import AlphaDropout  # noqa: F401
from .regularization.activity_regularization import ActivityRegularization  # noqa: F401
from .pooling.max_pooling import MaxPooling1D, MaxPooling2D, MaxPooling3D  # noqa: F401
from .pooling.average_pooling import AveragePooling1D, AveragePooling2D, AveragePooling3D  # noqa: F401
from .pooling.global_max_pooling import GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D  # noqa: F401
from .pooling.global_average_pooling import (GlobalAveragePooling1D, GlobalAveragePooling2D,  # noqa: F401
                                             GlobalAveragePooling3D)
from .reshaping.zero_padding import ZeroPadding1D, ZeroPadding2D, ZeroPadding3D  # noqa: F401
from .reshaping.cropping import Cropping1D, Cropping2D, Cropping3D  # noqa: F401
from .reshaping.up_sampling import UpSampling1D, UpSampling2D, UpSampling3D  # noqa: F401
from .convolutional.conv import Conv1D, Conv2D, Conv3D  # noqa: F401
from .convolutional.conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose  # noqa: F401
from .convolutional.depthwise_conv import DepthwiseConv1D, DepthwiseConv2D  # noqa: F401
from .convolutional.separable_conv import SeparableConv1D, SeparableConv2D  # noqa: F401
from .pooling.max_pooling import MaxPooling1D as MaxPool1D, MaxPooling2D as MaxPool2D, MaxPooling3D as MaxPool3D  # noqa: F401,E501
from .pooling.average_pooling import AveragePooling1D as AvgPool1D, AveragePooling2D as AvgPool2D, AveragePooling3D as AvgPool3D  # noqa: F401,E501
from .pooling.global_max_pooling import GlobalMaxPooling1D as GlobalMaxPool1D, GlobalMaxPooling2D as GlobalMaxPool2D, GlobalMaxPooling3D as GlobalMaxPool3D  # noqa: F401,E501
from .pooling.global_average_pooling import GlobalAveragePooling1D as GlobalAvgPool1D, GlobalAveragePooling2D as GlobalAvgPool2D, GlobalAveragePooling3D as GlobalAvgPool3D  # noqa: F401,E501
from .convolutional.conv import Conv1D as Convolution1D, Conv2D as Convolution2D, Conv3D as Convolution3D  # noqa: F401,E501
from .convolutional.conv_transpose import Conv1DTranspose as Convolution1DTranspose, Conv2DTranspose as Convolution2DTranspose, Conv3DTranspose as Convolution3DTranspose  # noqa: F401,E501
from .convolutional.separable_conv import SeparableConv1D as SeparableConvolution1D, SeparableConv2D as SeparableConvolution2D  # noqa: F401,E501
from .merging.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum,  # noqa: F401
                            Multiply, Subtract)
from .merging.merge import (add, average, concatenate, dot, maximum, minimum,  # noqa: F401
                            multiply, subtract)
from .normalization.rms_normalization import RMSNormalization  # noqa: F401
from .normalization.unit_normalization import UnitNormalization  # noqa: F401
from .normalization.spectral_normalization import SpectralNormalization  # noqa: F401
from .pooling.adaptive_pooling import (AdaptiveAveragePooling1D, AdaptiveAveragePooling2D,  # noqa: F401
                                       AdaptiveAveragePooling3D, AdaptiveMaxPooling1D,
                                       AdaptiveMaxPooling2D, AdaptiveMaxPooling3D)
from .locally_connected.locally_connected import LocallyConnected1D, LocallyConnected2D  # noqa: F401
from .rnn.rnn import RNN  # noqa: F401
from .rnn.stacked_rnn_cells import StackedRNNCells  # noqa: F401
from .rnn.simple_rnn import SimpleRNN, SimpleRNNCell  # noqa: F401
from .rnn.lstm import LSTM, LSTMCell  # noqa: F401
from .rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D  # noqa: F401
from .rnn.gru import GRU, GRUCell  # noqa: F401
from .core.wrapper import Wrapper  # noqa: F401
from .rnn.time_distributed import TimeDistributed  # noqa: F401
from .rnn.bidirectional import Bidirectional  # noqa: F401
from .preprocessing import (AutoContrast, CenterCrop, CutMix, MixUp,  # noqa: F401
                            Normalization, RandomBrightness, RandomContrast, RandomCrop,
                            RandomErasing, RandomFlip, RandomGaussianBlur, RandomGrayscale,
                            RandomRotation, RandomShear, RandomTranslation, RandomZoom,
                            Rescaling, Resizing, Solarization)
