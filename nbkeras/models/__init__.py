"""Models: functional graphs, Sequential stacks and subclassed models."""
from .cloning import clone_model  # noqa: F401
from .functional import Functional  # noqa: F401
from .model import Model, model_from_json  # noqa: F401
from .sequential import Sequential  # noqa: F401
from ..saving.keras_archive import load_model, save_model  # noqa: F401
