"""nk.KerasTensor made by hand, as Keras users make keras.KerasTensor."""
import numpy as np

import nbkeras as nk


def test_a_keras_tensor_s_dtype_defaults_to_float32_and_is_standardized():
    assert nk.KerasTensor((None, 3)).dtype == "float32"
    assert nk.KerasTensor((2,), np.int8).dtype == "int8"
    assert nk.KerasTensor((2,), np.dtype("float16")).dtype == "float16"
    nk.config.set_floatx("float64")
    try:
        assert nk.KerasTensor((2,), None).dtype == "float64"     # None: floatx, as Keras
    finally:
        nk.config.set_floatx("float32")


def test_ops_on_hand_made_keras_tensors_infer_shapes():
    x = nk.KerasTensor((None, 3, 4))
    assert nk.ops.matmul(x, nk.KerasTensor((4, 5))).shape == (None, 3, 5)
    assert nk.ops.add(x, 1).dtype == "float32"
