"""VGG19, as keras.applications.vgg19: VGG16 with four convolutions in blocks 3 to 5.

    base = VGG19(weights=None)
    features = nk.Model(inputs=base.input, outputs=base.get_layer('block4_pool').output)
"""
from __future__ import annotations

from .imagenet_utils import decode_predictions  # noqa: F401
from .vgg16 import build_vgg, preprocess_input  # noqa: F401

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                       "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19"):
    """The VGG19 model: images (N, 224, 224, 3) -> class scores (N, classes), or with
    `include_top=False` the block-5 features (N, H/32, W/32, 512), pooled to (N, 512) by
    `pooling` "avg" or "max". `weights`: None, "imagenet" or a weights file path
    (`.weights.h5`, or the legacy `.h5` Keras publishes).
    Expects `vgg19.preprocess_input`'d images."""
    return build_vgg("VGG19", (2, 2, 4, 4, 4), WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP,
                     ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"),
                     include_top, weights, input_tensor, input_shape, pooling, classes,
                     classifier_activation, name)
