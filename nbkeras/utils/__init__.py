"""Utilities (`nk.utils`), named as in `keras.utils`."""
from .model_visualization import model_to_dot as model_to_dot
from .model_visualization import plot_model as plot_model
from .numerical_utils import to_categorical as to_categorical
from .plot_history import plot_history as plot_history
from .profiling import profile as profile
from .warmup import warmup as warmup
from ..config import set_random_seed as set_random_seed
