"""Convolution layers against Keras 3 on JAX: weight layout, forward and gradients over
Hypothesis-drawn windows (strides, dilation, valid/same/causal padding, both data formats,
groups, output_padding, depth multipliers), with the corners pinned as examples: "same"
with even kernels and strides (uneven padding), dilation, causal Conv1D with dilation,
transposes with output_padding, channels_first."""
import numpy as np
import pytest
from hypothesis import example, given, settings

from parity_cases import conv_cases
from parity_harness import check_parity

# A drawn softmax may act on an axis of size 1 (always 1): Keras warns, rightly, and the
# comparison still holds.
pytestmark = pytest.mark.filterwarnings("ignore:You are using a softmax over axis")


def fixed(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@settings(max_examples=12)
@given(case=conv_cases("conv", 1))
@example(case=({"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
               fixed((2, 7, 3))))
@example(case=({"filters": 2, "kernel_size": 2, "padding": "causal", "dilation_rate": 3,
                "data_format": "channels_first"}, fixed((1, 3, 6))))
@example(case=({"filters": 3, "kernel_size": 4, "strides": 3, "padding": "same"},
               fixed((2, 8, 2))))
def test_conv1d(case):
    check_parity("Conv1D", *case)


@settings(max_examples=12)
@given(case=conv_cases("conv", 2))
@example(case=({"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same"},
               fixed((2, 5, 6, 2))))
@example(case=({"filters": 2, "kernel_size": (4, 3), "strides": (3, 2), "padding": "same",
                "data_format": "channels_first"}, fixed((1, 2, 7, 6))))
@example(case=({"filters": 2, "kernel_size": 3, "dilation_rate": (2, 1), "padding": "same",
                "activation": "relu"}, fixed((2, 6, 5, 2))))
@example(case=({"filters": 4, "kernel_size": 2, "groups": 2, "dilation_rate": 2},
               fixed((1, 5, 5, 4))))
def test_conv2d(case):
    check_parity("Conv2D", *case)


@settings(max_examples=6)
@given(case=conv_cases("conv", 3))
@example(case=({"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same",
                "data_format": "channels_first"}, fixed((1, 2, 3, 4, 5))))
@example(case=({"filters": 2, "kernel_size": 2, "dilation_rate": 2, "padding": "same"},
               fixed((1, 4, 3, 3, 2))))
def test_conv3d(case):
    check_parity("Conv3D", *case)


@settings(max_examples=12)
@given(case=conv_cases("transpose", 1))
@example(case=({"filters": 2, "kernel_size": 3, "strides": 3, "output_padding": 2},
               fixed((2, 4, 2))))
@example(case=({"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same",
                "data_format": "channels_first"}, fixed((1, 2, 5))))
def test_conv1d_transpose(case):
    check_parity("Conv1DTranspose", *case)


@settings(max_examples=12)
@given(case=conv_cases("transpose", 2))
@example(case=({"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same",
                "output_padding": (1, 0)}, fixed((2, 3, 4, 2))))
@example(case=({"filters": 3, "kernel_size": (3, 4), "strides": (2, 3), "padding": "same",
                "data_format": "channels_first"}, fixed((1, 2, 3, 3))))
@example(case=({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "valid",
                "output_padding": 1, "data_format": "channels_first"}, fixed((1, 2, 3, 3))))
def test_conv2d_transpose(case):
    check_parity("Conv2DTranspose", *case)


@settings(max_examples=6)
@given(case=conv_cases("transpose", 3))
@example(case=({"filters": 2, "kernel_size": 2, "strides": (2, 1, 2), "padding": "same",
                "output_padding": (1, 0, 0)}, fixed((1, 2, 3, 2, 2))))
def test_conv3d_transpose(case):
    check_parity("Conv3DTranspose", *case)


@settings(max_examples=12)
@given(case=conv_cases("depthwise", 1))
@example(case=({"kernel_size": 4, "strides": 2, "padding": "same", "depth_multiplier": 2},
               fixed((2, 7, 2))))
def test_depthwise_conv1d(case):
    check_parity("DepthwiseConv1D", *case)


@settings(max_examples=12)
@given(case=conv_cases("depthwise", 2))
@example(case=({"kernel_size": 2, "strides": 2, "padding": "same", "depth_multiplier": 2,
                "data_format": "channels_first"}, fixed((1, 2, 5, 4))))
@example(case=({"kernel_size": 3, "dilation_rate": 2, "padding": "same"}, fixed((2, 5, 6, 3))))
def test_depthwise_conv2d(case):
    check_parity("DepthwiseConv2D", *case)


@settings(max_examples=12)
@given(case=conv_cases("separable", 1))
@example(case=({"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same",
                "depth_multiplier": 2}, fixed((2, 5, 2))))
def test_separable_conv1d(case):
    check_parity("SeparableConv1D", *case)


@settings(max_examples=12)
@given(case=conv_cases("separable", 2))
@example(case=({"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same",
                "data_format": "channels_first"}, fixed((1, 2, 5, 5))))
@example(case=({"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same",
                "depth_multiplier": 2}, fixed((1, 5, 6, 2))))
def test_separable_conv2d(case):
    check_parity("SeparableConv2D", *case)
