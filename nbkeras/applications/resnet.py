"""ResNet50 (He et al., CVPR 2016), as keras.applications.resnet, and the stem, top and
residual stacks it shares with ResNet50V2 (resnet_v2.py).

    base = ResNet50(weights=None, include_top=False, pooling="avg")
    base.output.shape                      # (None, 2048)
"""
from __future__ import annotations

from .. import layers
from ..models import Model
from . import imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
}
_EPSILON = 1.001e-5


def ResNet(stack_fn, preact: bool, use_bias: bool, include_top=True, weights="imagenet",
           input_tensor=None, input_shape=None, pooling=None, classes=1000,
           classifier_activation="softmax", name="resnet", weights_name=None) -> Model:
    """A ResNet: the 7x7/2 stem and 3x3/2 max pooling, `stack_fn`'s residual stacks, then
    (pre-activation nets) a final BatchNormalization + ReLU, then the top."""
    imagenet_utils.check_arguments(name, weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, 224, 32, "channels_last",
                                                    include_top, weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pool(x, pooling, names=("avg_pool", "max_pool"))
    model = Model(imagenet_utils.model_inputs(input_tensor, img_input), x, name=name)
    suffix = "" if include_top else "_notop"
    fname = f"{weights_name or name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    hashes = WEIGHTS_HASHES.get(weights_name, (None, None))
    imagenet_utils.load_weights(model, weights, fname, BASE_WEIGHTS_PATH + fname,
                                hashes[0 if include_top else 1])
    return model


def _bn(x, name: str):
    return layers.BatchNormalization(axis=3, epsilon=_EPSILON, name=name)(x)


def residual_block_v1(x, filters: int, kernel_size=3, stride=1, conv_shortcut=True,
                      name=None):
    """Bottleneck block (N, H, W, C) -> (N, H/stride, W/stride, 4 * filters): 1x1, 3x3, 1x1
    convolutions, each batch-normalized, added to the (projected) shortcut, then ReLU."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(shortcut, f"{name}_0_bn")
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(_bn(x, f"{name}_1_bn"))
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(_bn(x, f"{name}_2_bn"))
    x = _bn(layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x), f"{name}_3_bn")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(x, filters: int, blocks: int, stride1=2, name=None):
    """`blocks` v1 blocks; the first projects the shortcut and strides by `stride1`."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def residual_block_v2(x, filters: int, kernel_size=3, stride=1, conv_shortcut=False,
                      name=None):
    """Pre-activation bottleneck block (N, H, W, C) -> (N, H/stride, W/stride, 4 * filters):
    BatchNormalization + ReLU first; the stride is on the 3x3 convolution and the shortcut
    (a 1x1 max pooling) of the block."""
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(_bn(x, f"{name}_preact_bn"))
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.Activation("relu", name=f"{name}_1_relu")(_bn(x, f"{name}_1_bn"))
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False,
                      name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(_bn(x, f"{name}_2_bn"))
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x, filters: int, blocks: int, stride1=2, name=None):
    """`blocks` v2 blocks; the first projects the shortcut, the last strides by
    `stride1`."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="resnet50"):
    """ResNet50: images (N, 224, 224, 3) -> class scores (N, classes), or with
    `include_top=False` features (N, H/32, W/32, 2048), pooled to (N, 2048) by `pooling`.
    Expects `resnet50.preprocess_input`'d images (Keras's "caffe" mode)."""
    def stack_fn(x):
        x = stack_residual_blocks_v1(x, 64, 3, stride1=1, name="conv2")
        x = stack_residual_blocks_v1(x, 128, 4, name="conv3")
        x = stack_residual_blocks_v1(x, 256, 6, name="conv4")
        return stack_residual_blocks_v1(x, 512, 3, name="conv5")

    return ResNet(stack_fn, False, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name, weights_name="resnet50")


def preprocess_input(x, data_format=None):
    """Images in [0, 255], RGB -> BGR, minus ImageNet's BGR channel means ("caffe")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")
