"""nk.utils.warmup: compiles a model's kernels ahead of time and changes nothing the user has."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers


def _model():
    model = nk.Sequential([
        nk.Input((8, 8, 1)),
        layers.Conv2D(4, 3, activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _state(model):
    """Everything warmup must leave as it was: weights (with the batch-norm statistics), the
    optimizer's variables and the dropout layer's random stream."""
    dropout = model.get_layer(index=4)
    return ([w.copy() for w in model.get_weights()],
            [np.array(v.numpy()) for v in model.optimizer.variables],
            dropout.seed_generator.counter)


def test_warmup_changes_nothing_and_later_training_is_unaffected():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, 16)
    nk.config.set_random_seed(1)
    warmed = _model()
    nk.config.set_random_seed(1)
    plain = _model()
    for model in (warmed, plain):
        model.train_on_batch(x, y)            # an optimizer with state, moved BN statistics
    before = _state(warmed)
    assert nk.utils.warmup(warmed) > 0
    assert nk.utils.warmup(warmed, x[:2], y[:2], training=True) > 0
    after = _state(warmed)
    for a, b in zip(before[0] + before[1], after[0] + after[1]):
        np.testing.assert_array_equal(a, b)
    assert before[2] == after[2]
    np.testing.assert_array_equal(warmed.train_on_batch(x, y), plain.train_on_batch(x, y))
    for a, b in zip(warmed.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_warmup_of_a_subclassed_model_needs_a_sample_batch():
    class Tiny(nk.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(2)

        def call(self, x, training=False):
            return self.dense(x)

    model = Tiny()
    with pytest.raises(ValueError, match="warmup.*pass a sample batch"):
        nk.utils.warmup(model)
    assert nk.utils.warmup(model, np.ones((2, 5), "float32")) > 0
    assert model.built and model.dense.kernel.shape == (5, 2)


def test_warmup_rejects_a_bad_batch_size():
    with pytest.raises(ValueError, match="warmup: batch_size must be a positive integer"):
        nk.utils.warmup(_model(), batch_size=0)


def test_the_dry_run_sizes_the_arrays_as_the_real_batches(monkeypatch):
    """Host code that picks a kernel by array size sees the dry run's arrays as large as
    those of batches up to LARGEST_BATCH samples (warmup), or of fit's real batch where it is
    larger: the dry run finds the kernels those batches call and not the ones only far
    larger arrays would."""
    from nbkeras.kernels.cpu import concurrent_compile
    from nbkeras.utils.warmup import LARGEST_BATCH
    scales = []

    def record(run, workers=None, size_scale=None):
        scales.append(size_scale)
        return {}

    monkeypatch.setattr(concurrent_compile, "compile_concurrently", record)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 8, 1)).astype(np.float32)
    nk.utils.warmup(_model(), x, rng.integers(0, 3, 4))
    assert scales == [LARGEST_BATCH / 4]
    for batch in (16, 2048):
        scales.clear()
        x = rng.standard_normal((batch, 8, 8, 1)).astype(np.float32)
        _model().fit(x, rng.integers(0, 3, batch), batch_size=batch, epochs=1, verbose=0)
        assert scales == [max(batch, LARGEST_BATCH) / 2]     # fit's dry run takes 2 samples
