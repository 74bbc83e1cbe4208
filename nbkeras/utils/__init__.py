"""Utilities (`nk.utils`), named as in `keras.utils`."""
from .model_visualization import model_to_dot as model_to_dot
from .model_visualization import plot_model as plot_model
from .numerical_utils import normalize as normalize
from .numerical_utils import to_categorical as to_categorical
from .plot_history import plot_history as plot_history
from .profiling import profile as profile
from .warmup import warmup as warmup
from .data_utils import (is_keras_tensor, pack_x_y_sample_weight,  # noqa: F401
                         standardize_dtype, unpack_x_y_sample_weight)
from .dataset_utils import split_dataset, timeseries_dataset_from_array  # noqa: F401
from .file_utils import get_file  # noqa: F401
from .image_dataset import image_dataset_from_directory  # noqa: F401
from .image_utils import array_to_img, img_to_array, load_img, save_img  # noqa: F401
from .progbar import Progbar  # noqa: F401
from .config import Config  # noqa: F401
from .global_state import clear_session  # noqa: F401
from .io_utils import (disable_interactive_logging, enable_interactive_logging,  # noqa: F401
                       is_interactive_logging_enabled)
from .py_dataset import PyDataset, Sequence  # noqa: F401
from .sequence_utils import pad_sequences  # noqa: F401
from ..config import set_random_seed as set_random_seed
from ..saving.object_registration import (CustomObjectScope, custom_object_scope,  # noqa: F401
                                          get_custom_objects, get_registered_name,
                                          get_registered_object, register_keras_serializable)
from ..saving.serialization_lib import (deserialize_keras_object,  # noqa: F401
                                        serialize_keras_object)
from .source_inputs import get_source_inputs  # noqa: F401
