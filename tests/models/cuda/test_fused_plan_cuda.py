"""The executor's inference fusions on "cuda" (a GPU, or Numba's simulator): a Conv + folded
BatchNormalization + ReLU + max pooling block and a Dense + folded BatchNormalization +
Activation block run fused on the device and give the CPU's layer-by-layer numbers."""
import numpy as np

import nbkeras as nk
import nbkeras.models.fusion as fusion
from nbkeras import layers


def _model(device_name):
    nk.config.set_random_seed(5)
    with nk.device(device_name):
        model = nk.Sequential([nk.Input((6, 6, 1)), layers.Conv2D(2, 3),
                               layers.BatchNormalization(), layers.ReLU(),
                               layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3),
                               layers.BatchNormalization(), layers.Activation("tanh")])
    rng = np.random.default_rng(6)
    model.set_weights([rng.uniform(0.5, 2.0, w.shape).astype("float32") for w in
                       model.get_weights()])    # positive variances, non-trivial statistics
    return model


def test_fused_blocks_on_cuda_give_the_cpu_layer_by_layer_numbers(monkeypatch):
    fused, real = [], fusion.run_block

    def recording(block, x, checked=False, **options):
        y = real(block, x, checked, **options)
        fused.append(y.device)
        return y

    monkeypatch.setattr(fusion, "run_block", recording)
    x = np.random.default_rng(7).standard_normal((2, 6, 6, 1)).astype("float32")
    cpu, cuda = _model("cpu"), _model("cuda")
    y = x
    for layer in cpu.layers:
        y = layer(y)
    got = cuda(x, training=False)
    assert got.device == "cuda:0" and fused == ["cuda:0", "cuda:0"]
    np.testing.assert_allclose(got.numpy(), np.asarray(y), rtol=1e-4, atol=1e-5)
