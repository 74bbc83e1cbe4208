"""ResNet50V2 (He et al., ECCV 2016: pre-activation blocks), as
keras.applications.resnet_v2."""
from __future__ import annotations

from . import imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401
from .resnet import ResNet, stack_residual_blocks_v2


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax",
               name="resnet50v2"):
    """ResNet50V2: images (N, 224, 224, 3) -> class scores (N, classes), or with
    `include_top=False` features (N, H/32, W/32, 2048), pooled to (N, 2048) by `pooling`.
    Expects `resnet_v2.preprocess_input`'d images (scaled to [-1, 1])."""
    def stack_fn(x):
        x = stack_residual_blocks_v2(x, 64, 3, name="conv2")
        x = stack_residual_blocks_v2(x, 128, 4, name="conv3")
        x = stack_residual_blocks_v2(x, 256, 6, name="conv4")
        return stack_residual_blocks_v2(x, 512, 3, stride1=1, name="conv5")

    return ResNet(stack_fn, True, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name, weights_name="resnet50v2")


def preprocess_input(x, data_format=None):
    """Images in [0, 255] scaled to [-1, 1] (Keras's "tf" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
