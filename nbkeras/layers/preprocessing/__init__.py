"""preprocessing layers: rescaling, normalization, and the image resizing and augmentation
layers of image_preprocessing/."""
from .image_preprocessing.auto_contrast import AutoContrast  # noqa: F401
from .image_preprocessing.center_crop import CenterCrop  # noqa: F401
from .image_preprocessing.cut_mix import CutMix  # noqa: F401
from .image_preprocessing.mix_up import MixUp  # noqa: F401
from .image_preprocessing.random_brightness import RandomBrightness  # noqa: F401
from .image_preprocessing.random_contrast import RandomContrast  # noqa: F401
from .image_preprocessing.random_crop import RandomCrop  # noqa: F401
from .image_preprocessing.random_erasing import RandomErasing  # noqa: F401
from .image_preprocessing.random_flip import RandomFlip  # noqa: F401
from .image_preprocessing.random_gaussian_blur import RandomGaussianBlur  # noqa: F401
from .image_preprocessing.random_grayscale import RandomGrayscale  # noqa: F401
from .image_preprocessing.random_rotation import RandomRotation  # noqa: F401
from .image_preprocessing.random_shear import RandomShear  # noqa: F401
from .image_preprocessing.random_translation import RandomTranslation  # noqa: F401
from .image_preprocessing.random_zoom import RandomZoom  # noqa: F401
from .image_preprocessing.resizing import Resizing  # noqa: F401
from .image_preprocessing.solarization import Solarization  # noqa: F401
from .normalization import Normalization  # noqa: F401
from .rescaling import Rescaling  # noqa: F401
