"""Keras's ImageNet models, as keras.applications: the same constructors, layer names and
order, `preprocess_input` and `decode_predictions` per module."""
from . import imagenet_utils, vgg16, vgg19  # noqa: F401
from .vgg16 import VGG16  # noqa: F401
from .vgg19 import VGG19  # noqa: F401
