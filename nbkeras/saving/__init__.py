"""Saving and loading weights (`nk.saving`) in Keras 3's `.weights.h5` layout."""
from .weights_h5 import load_weights as load_weights
from .weights_h5 import save_weights as save_weights
