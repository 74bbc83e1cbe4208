"""Noise, dropout and activity-regularization layers against Keras 3 on JAX. The random
streams differ by design, so the noise layers are checked where both must agree: identity
at inference (for both), no weights. ActivityRegularization is an identity with a loss: its
forward, gradients and the loss of a call are compared."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.testing import strategies as nst
from parity_harness import check_parity, keras_layer, nbkeras_layer

NOISE = [("Dropout", {"rate": 0.5, "noise_shape": None, "seed": 1}, 3),
         ("Dropout", {"rate": 0.3, "noise_shape": (None, 1, 3)}, 3),
         ("SpatialDropout1D", {"rate": 0.5, "seed": 1}, 3),
         ("SpatialDropout2D", {"rate": 0.4, "data_format": "channels_first"}, 4),
         ("SpatialDropout3D", {"rate": 0.2, "data_format": "channels_last"}, 5),
         ("GaussianNoise", {"stddev": 0.5, "seed": 2}, 2),
         ("GaussianDropout", {"rate": 0.3}, 3),
         ("AlphaDropout", {"rate": 0.2, "seed": 3}, 2)]


@pytest.mark.parametrize("name, config, rank", NOISE, ids=[f"{n}-{i}" for i, (n, _, _) in
                                                          enumerate(NOISE)])
def test_noise_identity_at_inference(name, config, rank):
    x = np.random.default_rng(0).normal(size=(2, *(3,) * (rank - 1)))
    ours, theirs = nbkeras_layer(name, config), keras_layer(name, config)
    np.testing.assert_array_equal(np.asarray(ours(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(theirs(x, training=False)), x)
    assert ours.weights == [] and theirs.weights == []
    # check_parity in inference mode: the same (empty) layout, identity forward and gradient
    check_parity(name, config, x)


def _losses(config, x):
    ours, theirs = nbkeras_layer("ActivityRegularization", config), keras_layer(
        "ActivityRegularization", config)
    ours(x)
    theirs(x)
    assert len(ours.losses) == len(theirs.losses) == 1
    return float(np.asarray(ours.losses[0])), float(np.asarray(theirs.losses[0]))


@settings(max_examples=5)
@given(l1=st.sampled_from([0.0, 0.01, 0.5]), l2=st.sampled_from([0.0, 0.02, 1.0]),
       x=nst.arrays(nst.shapes(2, 3, 1, 4), kinks=(0.0,)))
def test_activity_regularization(l1, l2, x):
    config = {"l1": l1, "l2": l2}
    check_parity("ActivityRegularization", config, x)
    # The loss of a batch of one (larger batches: test_activity_loss_batch_mean)
    ours, theirs = _losses(config, x[:1])
    np.testing.assert_allclose(ours, theirs, rtol=1e-7)


def test_activity_loss_batch_mean():
    """Found by this suite: an activity loss is divided by the batch size, as Keras 3's
    Layer.__call__ does (nbkeras's was batch_size times Keras's)."""
    x = np.random.default_rng(0).normal(size=(3, 4))
    ours, theirs = _losses({"l1": 0.0, "l2": 0.02}, x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-7)
