"""The sequence and attention layers on "cuda" (a GPU, or Numba's simulator): Embedding,
SimpleRNN, LSTM, GRU (both reset_after variants), Bidirectional, MultiHeadAttention and
Attention give the CPU's outputs and the CPU's gradients for their inputs and every weight,
with the same weights, masks, initial states, seeded dropout and stateful calls; an
Embedding(mask_zero) + Bidirectional(LSTM) classifier trains step for step as on the CPU.
Shapes are tiny: the simulator runs one Python thread per CUDA thread."""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers, ops
from nbkeras.tree import flatten

RNG = np.random.default_rng(2024)
X = RNG.standard_normal((2, 4, 3))                       # (batch, steps, features)
MASK = np.array([[True, True, False, True], [True, False, False, False]])
IDS = np.array([[3, 1, 0, 0], [6, 2, 5, 0]])             # right-padded with zeros
QUERY, VALUE = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 4, 4))
VALUE_MASK = np.array([[True, True, True, False], [True, False, True, True]])


def _two_calls_from_zero_states(layer, x):
    """A stateful layer's outputs over x, then over x reversed from where x left it."""
    layer.reset_states()
    return [layer(x), layer(x[:, ::-1])]


@dataclass
class Case:
    """A layer made by `make`, called as `call(layer, *tensors)` on `inputs` (float inputs
    are differentiated, integer ones held fixed)."""
    make: Callable
    inputs: tuple
    call: Callable = field(default=lambda layer, *tensors: layer(*tensors))


CASES = {
    "embedding": Case(lambda: layers.Embedding(7, 3, mask_zero=True, dtype="float64"), (IDS,)),
    "simple_rnn": Case(lambda: layers.SimpleRNN(3, return_sequences=True, go_backwards=True,
                                                dtype="float64"),
                       (X,), lambda layer, x: layer(x, mask=MASK)),
    "lstm": Case(lambda: layers.LSTM(3, return_sequences=True, return_state=True,
                                     dtype="float64"),
                 (X, X[:, 0], X[:, 1]),
                 lambda layer, x, h, c: layer(x, initial_state=[h, c], mask=MASK)),
    "lstm_dropout": Case(lambda: layers.LSTM(3, dropout=0.25, recurrent_dropout=0.25, seed=3,
                                             return_sequences=True, dtype="float64"),
                         (X,), lambda layer, x: layer(x, mask=MASK, training=True)),
    "gru_stateful": Case(lambda: layers.GRU(3, stateful=True, dtype="float64"), (X,),
                         lambda layer, x: _two_calls_from_zero_states(layer, x)),
    "gru_reset_after": Case(lambda: layers.GRU(3, return_state=True, dtype="float64"),
                            (X, X[:, 2]), lambda layer, x, h: layer(x, initial_state=h,
                                                                    mask=MASK)),
    "gru_reset_before": Case(lambda: layers.GRU(3, reset_after=False, return_sequences=True,
                                                dtype="float64"),
                             (X,), lambda layer, x: layer(x, mask=MASK)),
    "bidirectional": Case(lambda: layers.Bidirectional(
        layers.LSTM(2, return_sequences=True, dtype="float64"), merge_mode="concat",
        dtype="float64"), (X,), lambda layer, x: layer(x, mask=MASK)),
    "multi_head_attention": Case(
        lambda: layers.MultiHeadAttention(2, 3, value_dim=2, dtype="float64"),
        (QUERY, VALUE, VALUE[:, ::-1]),
        lambda layer, q, v, k: layer(q, v, k, value_mask=VALUE_MASK, use_causal_mask=True,
                                     return_attention_scores=True)),
    "multi_head_attention_dropout": Case(
        lambda: layers.MultiHeadAttention(2, 2, dropout=0.5, seed=5, dtype="float64"),
        (QUERY, VALUE), lambda layer, q, v: layer(q, v, training=True)),
    "attention_dot": Case(lambda: layers.Attention(use_scale=True, dtype="float64"),
                          (QUERY, VALUE),
                          lambda layer, q, v: layer([q, v], mask=[None, VALUE_MASK],
                                                    return_attention_scores=True)),
    "attention_concat": Case(lambda: layers.Attention(score_mode="concat", dtype="float64"),
                             (QUERY, VALUE),
                             lambda layer, q, v: layer([q, v], mask=[None, VALUE_MASK],
                                                       use_causal_mask=True)),
}


def _outputs_and_gradients(case: Case, device: str, weights: list | None):
    """(outputs, gradients for the float inputs then the trainable weights, the weights used)
    on `device`; the weights are `weights`, or fresh seeded draws when None (biases and
    scales too, so none of them sits at its zero or one start)."""
    with nk.device(device):
        layer = case.make()
        tensors = [ops.convert_to_tensor(a) for a in case.inputs]
        case.call(layer, *tensors)                                    # builds the weights
        if weights is None:
            rng = np.random.default_rng(7)
            weights = [rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()]
        layer.set_weights(weights)
        floats = [t for t, a in zip(tensors, case.inputs) if a.dtype.kind == "f"]
        with nk.GradientTape() as tape:
            tape.watch(floats)
            outputs = flatten(case.call(layer, *tensors))
            directions = np.random.default_rng(11)
            loss = sum(ops.sum(ops.multiply(y, directions.standard_normal(y.shape)))
                       for y in outputs)
        gradients = tape.gradient(loss, floats + list(layer.trainable_weights))
        placed = {t.device for t in outputs + gradients + list(layer.weights)}
        assert placed == {"cpu" if device == "cpu" else "cuda:0"}
        masks = [y._keras_mask for y in outputs if getattr(y, "_keras_mask", None) is not None]
        return ([np.asarray(y) for y in outputs + masks], [np.asarray(g) for g in gradients],
                weights)


@pytest.mark.parametrize("name", CASES)
def test_forward_and_gradients_on_cuda_equal_the_cpu(name):
    outputs, gradients, weights = _outputs_and_gradients(CASES[name], "cpu", None)
    cuda_outputs, cuda_gradients, _ = _outputs_and_gradients(CASES[name], "cuda", weights)
    assert len(cuda_outputs) == len(outputs) and len(cuda_gradients) == len(gradients)
    for got, want in zip(cuda_outputs + cuda_gradients, outputs + gradients):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _classifier(device: str) -> nk.Sequential:
    nk.config.set_random_seed(4)
    with nk.device(device):
        model = nk.Sequential([layers.Input((4,), dtype="int32"),
                               layers.Embedding(7, 3, mask_zero=True),
                               layers.Bidirectional(layers.LSTM(2)),
                               layers.Dense(2, activation="softmax")])
        model.compile(optimizer=nk.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    return model


def test_an_embedding_bidirectional_lstm_classifier_trains_on_cuda_as_on_the_cpu():
    labels = np.array([0, 1])
    cpu, cuda = _classifier("cpu"), _classifier("cuda")
    losses = {name: [model.train_on_batch(IDS, labels) for _ in range(2)]
              for name, model in (("cpu", cpu), ("cuda", cuda))}
    assert {w.device for w in cuda.weights} == {"cuda:0"}
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-5)
    for a, b in zip(cuda.get_weights(), cpu.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
