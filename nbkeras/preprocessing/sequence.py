"""`nk.preprocessing.sequence`, as `keras.preprocessing.sequence`: pad_sequences."""
from ..utils.sequence_utils import pad_sequences as pad_sequences
