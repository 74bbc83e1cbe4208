"""preprocessing layers: rescaling, normalization, and the image resizing and augmentation
layers of image_preprocessing/."""
from .image_preprocessing.center_crop import CenterCrop  # noqa: F401
from .image_preprocessing.random_crop import RandomCrop  # noqa: F401
from .image_preprocessing.random_flip import RandomFlip  # noqa: F401
from .image_preprocessing.resizing import Resizing  # noqa: F401
from .normalization import Normalization  # noqa: F401
from .rescaling import Rescaling  # noqa: F401
