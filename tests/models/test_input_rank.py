"""A model adjusts an input's rank by one, as Keras 3 does: a missing trailing axis of size 1
is added, an extra trailing axis of size 1 removed, in Sequential and Functional models, in
fit / evaluate / predict and direct calls. Other mismatches still raise, naming the shapes."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers


def test_the_tutorials_one_weight_network_fits_one_dimensional_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 100_000).astype("float32")
    model = nk.Sequential([layers.Dense(1, use_bias=False, input_shape=(1,))])
    model.set_weights([np.array([[0.5]], "float32")])
    model.compile(loss="mse", optimizer=nk.optimizers.Adam(0.05))
    before = model.evaluate(x, -x, verbose=0)
    history = model.fit(x, -x, epochs=3, batch_size=1000, verbose=0)
    assert history.history["loss"][-1] < 1e-3 < 0.1 < before
    np.testing.assert_allclose(model.get_weights()[0], [[-1.0]], atol=0.03)
    assert model.predict(x[:5], verbose=0).shape == (5, 1)
    assert model.evaluate(x, -x, verbose=0) < 1e-3


def _functional(shape):
    inp = nk.Input(shape)
    return nk.Model(inp, layers.Dense(2)(inp))


@pytest.mark.parametrize("model_kind", ["sequential", "functional"])
@pytest.mark.parametrize("given, expected", [((6,), (None, 1)), ((6, 3), (None, 3, 1)),
                                             ((6, 3, 1), (None, 3)), ((6, 1), (None, 1))])
def test_rank_adjusted_by_one_trailing_axis(model_kind, given, expected):
    shape = expected[1:]
    model = (nk.Sequential([nk.Input(shape), layers.Dense(2)]) if model_kind == "sequential"
             else _functional(shape))
    x = np.random.default_rng(1).standard_normal(given).astype("float32")
    reference = model.predict(x.reshape((given[0], *shape)), verbose=0)
    np.testing.assert_allclose(np.asarray(model(x)), reference, rtol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), reference, rtol=1e-6)
    model.compile(loss="mse", optimizer="sgd")
    model.evaluate(x, reference, verbose=0)
    model.fit(x, reference, epochs=1, verbose=0)


def test_other_rank_mismatches_still_raise_naming_the_shapes():
    model = _functional((3, 2))
    with pytest.raises(ValueError, match=r"\(None, 3, 2\).*\(4, 3\)"):
        model(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\(None, 3, 2\)"):
        model(np.ones((4, 3, 2, 2)))
