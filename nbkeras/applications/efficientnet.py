"""EfficientNetB0 (Tan & Le, ICML 2019), as keras.applications.efficientnet: MBConv blocks
with squeeze-and-excitation; the model rescales its own input, so `preprocess_input` is the
identity.

    base = EfficientNetB0(weights=None, include_top=False, input_shape=(64, 64, 3))
    base.output.shape                      # (None, 2, 2, 1280)
"""
from __future__ import annotations

import math

from .. import layers
from ..models import Model
from . import imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/keras-applications/"
WEIGHTS_HASHES = {"b0": ("902e53a9f72be733fc0bcb005b3ebbac",
                         "50bc09e76180e00e4465e1a485ddc09d")}
IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]
# kernel_size, repeats, filters_in, filters_out, expand_ratio, strides of the 7 stages;
# every block has id_skip and se_ratio 0.25
DEFAULT_BLOCKS_ARGS = [
    dict(kernel_size=k, repeats=r, filters_in=i, filters_out=o, expand_ratio=e, id_skip=True,
         strides=s, se_ratio=0.25)
    for k, r, i, o, e, s in ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2),
                             (3, 3, 40, 80, 6, 2), (5, 3, 80, 112, 6, 1),
                             (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))]
CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out",
                                      "distribution": "truncated_normal"}}
DENSE_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                            "config": {"scale": 1.0 / 3.0, "mode": "fan_out",
                                       "distribution": "uniform"}}


def EfficientNet(width_coefficient: float, depth_coefficient: float, default_size: int,
                 dropout_rate=0.2, drop_connect_rate=0.2, depth_divisor=8, activation="swish",
                 blocks_args="default", name="efficientnet", include_top=True,
                 weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                 classes=1000, classifier_activation="softmax", weights_name=None) -> Model:
    """An EfficientNet: stages of `blocks_args` widened by `width_coefficient` and deepened by
    `depth_coefficient`; the stem rescales [0, 255] images and normalizes them per channel
    (the Normalization's mean and variance come with the weights)."""
    blocks_args = DEFAULT_BLOCKS_ARGS if blocks_args == "default" else blocks_args
    imagenet_utils.check_arguments(name, weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size, 32,
                                                    "channels_last", include_top, weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)

    def round_filters(filters: float, divisor: int = depth_divisor) -> int:
        filters *= width_coefficient
        new_filters = max(divisor, int(filters + divisor / 2) // divisor * divisor)
        return int(new_filters + divisor if new_filters < 0.9 * filters else new_filters)

    def round_repeats(repeats: int) -> int:
        return int(math.ceil(depth_coefficient * repeats))

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=3)(x)
    if weights == "imagenet":
        # Keras's published weights divide by the variance, not its square root
        x = layers.Rescaling([1.0 / math.sqrt(stddev) for stddev in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(round_filters(32), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="stem_conv")(x)
    x = layers.BatchNormalization(axis=3, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    b = 0
    blocks = float(sum(round_repeats(args["repeats"]) for args in blocks_args))
    for i, args in enumerate(blocks_args):
        if args["repeats"] <= 0:
            raise ValueError("The number of repeats in `EfficientNet` must be > 0. "
                             f"Received: repeats={args['repeats']}")
        args = dict(args, filters_in=round_filters(args["filters_in"]),
                    filters_out=round_filters(args["filters_out"]))
        for j in range(round_repeats(args.pop("repeats"))):
            if j > 0:   # later blocks of a stage keep the size and width
                args.update(strides=1, filters_in=args["filters_out"])
            x = block(x, activation, drop_connect_rate * b / blocks,
                      name=f"block{i + 1}{chr(j + 97)}_", **args)
            b += 1

    x = layers.Conv2D(round_filters(1280), 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="top_conv")(x)
    x = layers.BatchNormalization(axis=3, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=DENSE_KERNEL_INITIALIZER, name="predictions")(x)
    else:
        x = imagenet_utils.pool(x, pooling, names=("avg_pool", "max_pool"))
    model = Model(imagenet_utils.model_inputs(input_tensor, img_input), x, name=name)
    fname = name + (".h5" if include_top else "_notop.h5")
    hashes = WEIGHTS_HASHES.get(weights_name, (None, None))
    imagenet_utils.load_weights(model, weights, fname, BASE_WEIGHTS_PATH + fname,
                                hashes[0 if include_top else 1])
    return model


def block(inputs, activation="swish", drop_rate=0.0, name="", filters_in=32, filters_out=16,
          kernel_size=3, strides=1, expand_ratio=1, se_ratio=0.0, id_skip=True):
    """MBConv (N, H, W, filters_in) -> (N, H/strides, W/strides, filters_out): 1x1 expansion,
    depthwise convolution, squeeze-and-excitation, 1x1 projection; with the same shape, a
    residual connection whose branch is dropped per sample at `drop_rate` in training."""
    filters = filters_in * expand_ratio
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False,
                          kernel_initializer=CONV_KERNEL_INITIALIZER,
                          name=f"{name}expand_conv")(inputs)
        x = layers.BatchNormalization(axis=3, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    else:
        x = inputs
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides,
                               padding="valid" if strides == 2 else "same", use_bias=False,
                               depthwise_initializer=CONV_KERNEL_INITIALIZER,
                               name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        filters_se = max(1, int(filters_in * se_ratio))
        se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
        se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
        se = layers.Conv2D(filters_se, 1, padding="same", activation=activation,
                           kernel_initializer=CONV_KERNEL_INITIALIZER,
                           name=f"{name}se_reduce")(se)
        se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                           kernel_initializer=CONV_KERNEL_INITIALIZER,
                           name=f"{name}se_expand")(se)
        x = layers.Multiply(name=f"{name}se_excite")([x, se])
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.Add(name=f"{name}add")([x, inputs])
    return x


def EfficientNetB0(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="efficientnetb0"):
    """EfficientNetB0: images (N, 224, 224, 3) in [0, 255] -> class scores (N, classes), or
    with `include_top=False` features (N, H/32, W/32, 1280), pooled by `pooling`."""
    return EfficientNet(1.0, 1.0, 224, 0.2, name=name, include_top=include_top,
                        weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                        pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, weights_name="b0")


def preprocess_input(x, data_format=None):
    """The identity, as in Keras: EfficientNet models rescale their input themselves."""
    return x
