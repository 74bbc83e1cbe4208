"""predict's activation buffers (models/executor.py, fusion.py): inside `reused_buffers()` a
plan's convolution blocks write their outputs into one buffer each, kept from batch to batch,
where only nbkeras's own layers read the block's output and it is no model output; what a
plan returns never shares memory with a buffer; buffers are never shared between threads and
are dropped on leaving (a model holds none after predict); outside, every call makes new
arrays."""
import threading

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.models.fusion import FusedStep, reused_buffers


def _through_layers(model, x):
    """The model's layers called one by one (never fused, never into a buffer)."""
    for layer in model.layers:
        x = layer(x)
    return np.asarray(x)


def _fused_steps(model) -> list:
    return [step for step in model._plan.steps if isinstance(step, FusedStep)]


@st.composite
def _cnns(draw):
    """A Sequential CNN of 1-3 convolution blocks (relu or linear, with or without a valid
    max pooling) on channels_last images, ending in the last block, a Flatten or a Flatten
    and a Dense; and its dtype."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    rank = draw(st.integers(1, 2))
    model_layers, size = [nk.Input((9,) * rank + (draw(st.integers(1, 3)),), dtype=dtype)], 9
    for _ in range(draw(st.integers(1, 3))):
        kernel = draw(st.integers(1, min(3, size)))
        conv = (layers.Conv1D, layers.Conv2D)[rank - 1]
        model_layers.append(conv(draw(st.integers(1, 4)), kernel, dtype=dtype,
                                 activation=draw(st.sampled_from(["relu", None]))))
        size -= kernel - 1
        if size >= 2 and draw(st.booleans()):
            model_layers.append((layers.MaxPooling1D, layers.MaxPooling2D)[rank - 1](
                2, dtype=dtype))
            size //= 2
    ending = draw(st.sampled_from(["block", "flatten", "dense"]))
    if ending != "block":
        model_layers.append(layers.Flatten(dtype=dtype))
    if ending == "dense":
        model_layers.append(layers.Dense(3, dtype=dtype))
    return nk.Sequential(model_layers), dtype


@settings(max_examples=25, deadline=None)
@given(case=_cnns(), samples=st.integers(5, 23), batch_size=st.integers(2, 6),
       seed=st.integers(0, 2**31 - 1))
def test_predict_with_reused_buffers_equals_the_layers_batch_by_batch(case, samples,
                                                                     batch_size, seed):
    model, dtype = case
    x = np.random.default_rng(seed).standard_normal(
        (samples, *model.input_shape[1:])).astype(dtype)
    expected = np.concatenate([_through_layers(model, x[i:i + batch_size])
                               for i in range(0, samples, batch_size)])
    got = model.predict(x, batch_size=batch_size, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-5 if dtype == "float32" else 1e-12)


def _convnet(ending=(), middle=()):
    """Two conv + pool blocks, `middle` layers between them, `ending` after them."""
    return nk.Sequential([nk.Input((12, 12, 2)), layers.Conv2D(4, 3, activation="relu"),
                          layers.MaxPooling2D(2), *middle, layers.Conv2D(3, 3),
                          layers.MaxPooling2D(2), *ending])


def test_buffers_are_kept_across_calls_and_never_returned():
    """The first block (read by the second) keeps one buffer; the second, the model's
    output, keeps none; a result stays as it was after the next call."""
    model = _convnet()
    rng = np.random.default_rng(0)
    x1, x2 = (rng.standard_normal((4, 12, 12, 2)).astype("float32") for _ in range(2))
    first, last = _fused_steps(model)
    assert first.reusable and not last.reusable
    with reused_buffers():
        results = [model(x) for x in (x1, x1, x2, x1)]        # the first calls check
        buffer = first.buffer()
        kept = np.asarray(results[-1]).copy()
        with reused_buffers():                                 # nested: the same buffers
            again = model(x2)
        assert first.buffer() is buffer is not None
    assert first.buffer() is None
    for result, x in zip(results + [again], (x1, x1, x2, x1, x2)):
        np.testing.assert_allclose(np.asarray(result), _through_layers(model, x), rtol=1e-5,
                                   atol=1e-5)
        assert not np.may_share_memory(np.asarray(result), buffer)
    np.testing.assert_array_equal(np.asarray(results[-1]), kept)


def test_an_output_viewing_a_buffer_is_returned_copied():
    """Conv + pool, then Flatten as the output: the Flatten's result views the block's
    buffer; the plan returns a copy."""
    model = nk.Sequential([nk.Input((8, 8, 1)), layers.Conv2D(2, 3, activation="relu"),
                           layers.MaxPooling2D(2), layers.Flatten()])
    (block,) = _fused_steps(model)
    assert block.reusable
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((3, 8, 8, 1)).astype("float32") for _ in range(4)]
    with reused_buffers():
        results = [np.asarray(model(x)) for x in xs]
        buffer = block.buffer()
    assert buffer is not None
    for result, x in zip(results, xs):
        assert not np.may_share_memory(result, buffer)
        np.testing.assert_allclose(result, _through_layers(model, x), rtol=1e-5, atol=1e-5)


def test_no_buffer_outside_predict_or_where_user_code_may_read_the_block():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 12, 12, 2)).astype("float32")
    model = _convnet()
    for _ in range(3):
        model(x)
        model.predict_on_batch(x)
    assert all(step.buffer() is None for step in _fused_steps(model))
    model.predict(np.concatenate([x] * 3), batch_size=4, verbose=0)
    assert all(step._held is None for step in _fused_steps(model))      # dropped after
    seen = []
    for reader in (layers.Lambda(lambda t: seen.append(t) or t),       # user code, or a
                   layers.TimeDistributed(layers.Dense(4))):           # layer holding layers
        user = _convnet(middle=[reader])
        with reused_buffers():
            for _ in range(3):
                user(x)
            assert not any(step.reusable for step in _fused_steps(user))
            assert all(step.buffer() is None for step in _fused_steps(user))


def test_threads_never_share_a_buffer():
    """Two threads predicting on one model at once, each on its own inputs, get the numbers
    of the layers called one by one; only the first thread to keep a buffer reuses one."""
    model = _convnet([layers.Flatten(), layers.Dense(2)])
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal((16, 12, 12, 2)).astype("float32") for _ in range(2)]
    expected = [_through_layers(model, x) for x in inputs]
    results, errors = [None, None], []

    def predict(i):
        try:
            results[i] = [model.predict(inputs[i], batch_size=4, verbose=0) for _ in range(5)]
        except Exception as exc:      # reported on the main thread
            errors.append(exc)

    threads = [threading.Thread(target=predict, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for got, want in zip(results, expected):
        for result in got:
            np.testing.assert_allclose(result, want, rtol=1e-5, atol=1e-5)
