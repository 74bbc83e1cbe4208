"""VGG16 (Simonyan & Zisserman, ICLR 2015), as keras.applications.vgg16: the same layers,
names and order, so `get_layer('block4_pool')` finds the block-4 features.

    base = VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    base.output.shape                      # (None, 2, 2, 512)
"""
from __future__ import annotations

from .. import layers
from ..models import Model
from . import imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                       "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
_FILTERS = (64, 128, 256, 512, 512)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    """The VGG16 model: images (N, 224, 224, 3) -> class scores (N, classes), or with
    `include_top=False` the block-5 features (N, H/32, W/32, 512), pooled to (N, 512) by
    `pooling` "avg" or "max". `weights`: None, "imagenet" or a weights file path
    (`.weights.h5`, or the legacy `.h5` Keras publishes).
    Expects `vgg16.preprocess_input`'d images."""
    return build_vgg("VGG16", (2, 2, 3, 3, 3), WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP,
                     ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
                     include_top, weights, input_tensor, input_shape, pooling, classes,
                     classifier_activation, name)


def build_vgg(model_name: str, depths: tuple, top_url: str, notop_url: str, hashes: tuple,
              include_top, weights, input_tensor, input_shape, pooling, classes,
              classifier_activation, name) -> Model:
    """A VGG whose block b has depths[b] 3x3 ReLU convolutions then a 2x2 max pooling."""
    imagenet_utils.check_arguments(model_name, weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, 224, 32, "channels_last",
                                                    include_top, weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    x = img_input
    for block, (filters, depth) in enumerate(zip(_FILTERS, depths), start=1):
        for conv in range(1, depth + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{conv}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pool(x, pooling)
    model = Model(imagenet_utils.model_inputs(input_tensor, img_input), x, name=name)
    url = top_url if include_top else notop_url
    imagenet_utils.load_weights(model, weights, url.rsplit("/", 1)[1], url,
                                hashes[0] if include_top else hashes[1])
    return model


def preprocess_input(x, data_format=None):
    """Images in [0, 255], RGB -> BGR, minus ImageNet's BGR channel means (Keras's "caffe"
    mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")
