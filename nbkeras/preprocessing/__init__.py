"""`nk.preprocessing`, named as `keras.preprocessing`: the `image` module (ImageDataGenerator
and the image utilities), `sequence` (pad_sequences) and the data set builders."""
from . import image as image
from . import sequence as sequence
from ..utils.image_dataset import image_dataset_from_directory as image_dataset_from_directory
from ..utils.dataset_utils import timeseries_dataset_from_array as timeseries_dataset_from_array
