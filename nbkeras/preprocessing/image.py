"""`nk.preprocessing.image`: the names of Keras's `keras.preprocessing.image` (its tf.keras
namespace, which the tutorials import): ImageDataGenerator and its iterators, the legacy
transform functions and the image file utilities."""
from ..utils.image_utils import array_to_img as array_to_img
from ..utils.image_utils import img_to_array as img_to_array
from ..utils.image_utils import load_img as load_img
from ..utils.image_utils import save_img as save_img
from ..utils.image_utils import smart_resize as smart_resize
from .image_data_generator import ImageDataGenerator as ImageDataGenerator
from .image_transforms import apply_affine_transform as apply_affine_transform
from .image_transforms import apply_brightness_shift as apply_brightness_shift
from .image_transforms import apply_channel_shift as apply_channel_shift
from .image_transforms import random_brightness as random_brightness
from .image_transforms import random_channel_shift as random_channel_shift
from .image_transforms import random_rotation as random_rotation
from .image_transforms import random_shear as random_shear
from .image_transforms import random_shift as random_shift
from .image_transforms import random_zoom as random_zoom
from .iterators import DataFrameIterator as DataFrameIterator
from .iterators import DirectoryIterator as DirectoryIterator
from .iterators import Iterator as Iterator
from .iterators import NumpyArrayIterator as NumpyArrayIterator
