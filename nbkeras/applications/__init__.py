"""Keras's ImageNet models, as keras.applications: the same constructors, layer names and
order, `preprocess_input` and `decode_predictions` per module."""
from . import (efficientnet, imagenet_utils, mobilenet_v2, resnet, resnet50,  # noqa: F401
               resnet_v2, vgg16, vgg19)
from .efficientnet import EfficientNetB0  # noqa: F401
from .mobilenet_v2 import MobileNetV2  # noqa: F401
from .resnet import ResNet50  # noqa: F401
from .resnet_v2 import ResNet50V2  # noqa: F401
from .vgg16 import VGG16  # noqa: F401
from .vgg19 import VGG19  # noqa: F401
