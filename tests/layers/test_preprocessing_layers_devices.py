"""Every preprocessing layer on each device (tests/devices.py: the CPU, and CUDA on a GPU or
in Numba's simulator): a seeded training call gives the CPU's numbers on the current
device, and the gradient flows back to the images there."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads
from op_checks import assert_on_current_device, tensor

ALL = [
    (layers.Rescaling, {"scale": 0.5, "offset": 0.1}),
    (layers.Resizing, {"height": 4, "width": 7, "interpolation": "bicubic"}),
    (layers.CenterCrop, {"height": 3, "width": 4}),
    (layers.RandomCrop, {"height": 3, "width": 4, "seed": 1}),
    (layers.RandomFlip, {"seed": 1}),
    (layers.Normalization, {"mean": [0.2, 0.4, 0.6], "variance": [1.0, 2.0, 4.0]}),
    (layers.RandomRotation, {"factor": 0.3, "seed": 1}),
    (layers.RandomZoom, {"height_factor": 0.3, "fill_mode": "constant", "seed": 1}),
    (layers.RandomTranslation, {"height_factor": 0.3, "width_factor": 0.2,
                                "fill_mode": "wrap", "seed": 1}),
    (layers.RandomShear, {"x_factor": 0.3, "y_factor": 0.2, "seed": 1}),
    (layers.RandomContrast, {"factor": 0.5, "value_range": (-9, 9), "seed": 1}),
    (layers.RandomBrightness, {"factor": 0.5, "value_range": (-9, 9), "seed": 1}),
    (layers.RandomGrayscale, {"factor": 0.5, "seed": 1}),
    (layers.RandomErasing, {"seed": 1}),
    (layers.RandomGaussianBlur, {"seed": 1}),
    (layers.AutoContrast, {"value_range": (0, 1)}),
    (layers.Solarization, {"addition_factor": 0.2, "threshold_factor": 0.5,
                           "value_range": (0, 1), "seed": 1}),
    (layers.MixUp, {"seed": 1}),
    (layers.CutMix, {"seed": 1}),
]


@pytest.mark.parametrize("cls, kwargs", ALL, ids=[c.__name__ for c, _ in ALL])
def test_each_layer_computes_the_cpu_numbers_on_each_device(device, cls, kwargs):
    x = np.random.default_rng(0).uniform(0.05, 0.95, (3, 6, 5, 3))
    y = cls(**kwargs, dtype="float64")(tensor(x), training=True)
    assert_on_current_device(y)
    with nk.device("cpu"):
        expected = np.asarray(cls(**kwargs, dtype="float64")(x, training=True))
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-10, atol=1e-10)
    layer = cls(**kwargs, dtype="float64")

    def replayed(images):
        if hasattr(layer, "seed_generator"):
            layer.seed_generator.counter = 0
        return layer(images, training=True)
    check_grads(replayed, [x[:2, :4, :4]], mode="projection")
