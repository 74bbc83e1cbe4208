"""Utilities (`nk.utils`), named as in `keras.utils`."""
from .numerical_utils import to_categorical as to_categorical
