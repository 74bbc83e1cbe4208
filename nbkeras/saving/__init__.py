"""Saving and loading (`nk.saving`): whole models in Keras 3's `.keras` files, weights in its
`.weights.h5` layout (and, through `Model.load_weights`, Keras 2's legacy `.h5` weights:
legacy_h5.py)."""
from .keras_archive import InvalidArchiveError as InvalidArchiveError
from .keras_archive import load_model as load_model
from .keras_archive import save_model as save_model
from .object_registration import CustomObjectScope as CustomObjectScope
from .object_registration import custom_object_scope as custom_object_scope
from .object_registration import get_custom_objects as get_custom_objects
from .object_registration import get_registered_name as get_registered_name
from .object_registration import get_registered_object as get_registered_object
from .object_registration import register_keras_serializable as register_keras_serializable
from .serialization_lib import deserialize_keras_object as deserialize_keras_object
from .serialization_lib import serialize_keras_object as serialize_keras_object
from .weights_h5 import load_weights as load_weights
from .weights_h5 import save_weights as save_weights
