"""EinsumDense and the attention layers: forward against plain float64 numpy (einsum
projections, masked softmax, weighted sums), float64 finite differences for inputs and every
weight, masks from the inputs (Embedding mask_zero), attention masks, causal and sliding
window masks, returned scores, shapes against compute_output_shape and symbolic calls,
configs, named errors, and Keras's numbers from its weights where Keras is installed."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads, layer_test

EINSUM_CASES = [("ab,bc->ac", 4, "c", (3, 5)),
                ("abc,cde->abde", (None, 2, 3), "de", (2, 4, 5)),
                ("...b,bc->...c", 4, None, (2, 3, 5)),
                ("abc,cd->abd", (None, 4), "d", (2, 3, 5)),
                ("ab...,bc->ac...", 4, "c", (2, 5, 3))]


@pytest.mark.parametrize("equation, output_shape, bias_axes, input_shape", EINSUM_CASES)
def test_einsum_dense(equation, output_shape, bias_axes, input_shape):
    x = np.random.default_rng(0).standard_normal(input_shape)
    config = dict(equation=equation, output_shape=output_shape, bias_axes=bias_axes,
                  activation="tanh")
    layer_test(layers.EinsumDense, config, input_data=x)
    layer = layers.EinsumDense(**config, dtype="float64")
    y = np.asarray(layer(x))
    weights = layer.get_weights()
    want = np.einsum(equation, x, weights[0]) + (weights[1] if bias_axes else 0)
    np.testing.assert_allclose(y, np.tanh(want), rtol=1e-12, atol=1e-12)


def test_einsum_dense_errors_and_kernel_fans():
    with pytest.raises(ValueError, match="EinsumDense.*equation"):
        layers.EinsumDense("ab->b", 3)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="EinsumDense.*bias axis 'z'"):
        layers.EinsumDense("ab,bc->ac", 3, bias_axes="z")(np.ones((2, 3)))
    with pytest.raises(ValueError, match="EinsumDense.*shared axis"):
        layers.EinsumDense("abc,cd->abd", (7, 4))(np.ones((2, 3, 5)))
    layer = layers.EinsumDense("ab,bcd->acd", (30, 40), kernel_initializer="glorot_uniform")
    layer.build((None, 300))                # fans 300 and 30 * 40, as Keras's input/output axes
    assert np.abs(layer.get_weights()[0]).max() <= np.sqrt(6 / 1500)


def _project(x, kernel, bias):
    return np.einsum("btd,dnk->btnk", x, kernel) + (0 if bias is None else bias)


def _reference_mha(layer, q, v, mask=None, fused=True):
    """Plain float64 multi-head attention with the layer's weights; mask (B, T, S). Masked
    logits are -0.7 * max (a fully masked row attends uniformly) on the fused path, and the
    masked scores are zero on the einsum path (Keras's Softmax)."""
    w = layer.get_weights()
    use_bias = layer.use_bias
    take = iter(w)
    parts = []
    for _ in range(3):
        kernel = next(take)
        parts.append((kernel, next(take) if use_bias else None))
    out_kernel = next(take)
    out_bias = next(take) if use_bias else 0
    query, key, value = (_project(x, *p) for x, p in zip((q, v, v), parts))
    logits = np.einsum("btnk,bsnk->bnts", query, key) / np.sqrt(layer.key_dim)
    keep = np.ones(logits.shape, bool) if mask is None else np.broadcast_to(
        mask[:, None], logits.shape)
    logits = np.where(keep, logits, -0.7 * np.finfo(np.float64).max)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    scores = e / e.sum(-1, keepdims=True)
    if not fused:
        scores = np.where(keep, scores, 0)
    out = np.einsum("bnts,bsnv->btnv", scores, value)
    return np.einsum("btnv,nvo->bto", out, out_kernel) + out_bias, scores


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), heads=st.integers(1, 3), key_dim=st.integers(1, 3),
       t_len=st.integers(1, 4), s_len=st.integers(1, 4), use_bias=st.booleans(),
       masked=st.booleans(), scores=st.booleans())
def test_multi_head_attention_matches_numpy_and_finite_differences(
        seed, heads, key_dim, t_len, s_len, use_bias, masked, scores):
    rng = np.random.default_rng(seed)
    q, v = rng.standard_normal((2, t_len, 4)), rng.standard_normal((2, s_len, 3))
    mask = rng.random((2, t_len, s_len)) < 0.7 if masked else None
    layer = layers.MultiHeadAttention(heads, key_dim, use_bias=use_bias, dtype="float64")
    got = layer(q, v, attention_mask=mask, return_attention_scores=scores)
    want, want_scores = _reference_mha(layer, q, v, mask, fused=not scores)
    np.testing.assert_allclose(np.asarray(got[0] if scores else got), want, rtol=1e-10,
                               atol=1e-12)
    if scores:
        np.testing.assert_allclose(np.asarray(got[1]), want_scores, rtol=1e-10, atol=1e-12)
    check_grads(layer, [q, v], call_kwargs={"attention_mask": mask}, mode="projection")
    assert layer.compute_output_shape(q.shape, v.shape) == q.shape


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), heads=st.integers(1, 3), key_dim=st.integers(1, 3),
       t_len=st.integers(1, 4), use_bias=st.booleans(), causal=st.booleans())
def test_self_attention_on_one_tensor_projects_once_with_the_same_numbers(
        seed, heads, key_dim, t_len, use_bias, causal):
    """layer(x, x) on one tensor (as a functional model passes it) runs the three input
    projections as one product: the numbers and gradients of the three sublayers."""
    packed = []
    project = layers.MultiHeadAttention._packed_projections
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(layers.MultiHeadAttention, "_packed_projections",
                      lambda self, x: packed.append(x) or project(self, x))
        _check_self_attention(seed, heads, key_dim, t_len, use_bias, causal)
    assert packed


def _check_self_attention(seed, heads, key_dim, t_len, use_bias, causal):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, t_len, 5))
    layer = layers.MultiHeadAttention(heads, key_dim, use_bias=use_bias,
                                      bias_initializer="random_normal", dtype="float64")
    inputs = nk.Input((t_len, 5), dtype="float64")
    model = nk.Model(inputs, layer(inputs, inputs, use_causal_mask=causal))
    mask = np.broadcast_to(np.tril(np.ones((t_len, t_len), bool)) if causal
                           else np.ones((t_len, t_len), bool), (2, t_len, t_len))
    np.testing.assert_allclose(np.asarray(model(x)), _reference_mha(layer, x, x, mask)[0],
                               rtol=1e-10, atol=1e-12)
    check_grads(model, [x], mode="projection")


def test_multi_head_attention_input_masks_causal_window_and_gate():
    rng = np.random.default_rng(1)
    ids_q = np.array([[1, 2, 3, 0], [4, 1, 0, 0]])
    ids_v = np.array([[2, 0, 0], [1, 3, 2]])
    embed = layers.Embedding(6, 4, mask_zero=True, dtype="float64")
    q, v = embed(ids_q), embed(ids_v)
    layer = layers.MultiHeadAttention(2, 3, dtype="float64")
    out = layer(q, v)
    keep = (ids_q != 0)[:, :, None] & (ids_v != 0)[:, None, :]
    np.testing.assert_allclose(np.asarray(out), _reference_mha(
        layer, np.asarray(q), np.asarray(v), keep)[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), ids_q != 0)
    x = rng.standard_normal((2, 5, 4))
    causal = layers.MultiHeadAttention(2, 3, sliding_window=2, dtype="float64")
    window = np.tril(np.ones((5, 5), bool)) & (np.abs(np.subtract.outer(range(5), range(5))) < 2)
    np.testing.assert_allclose(np.asarray(causal(x, x, use_causal_mask=True)), _reference_mha(
        causal, x, x, np.broadcast_to(window, (2, 5, 5)))[0], rtol=1e-10, atol=1e-12)
    gated = layers.MultiHeadAttention(2, 3, use_gate=True, value_dim=2, output_shape=(3, 2),
                                      dtype="float64")
    y = gated(x, x)
    assert y.shape == (2, 5, 3, 2) and len(gated.get_weights()) == 10
    check_grads(gated, [x, x], mode="projection")


def test_multi_head_attention_symbolic_build_by_hand_config_and_errors():
    query, value = nk.Input((5, 4)), nk.Input((3, 6))
    layer = layers.MultiHeadAttention(2, 3, value_dim=4, output_shape=7)
    out, scores = layer(query, value, return_attention_scores=True)
    assert out.shape == (None, 5, 7) and scores.shape == (None, 2, 5, 3)
    model = nk.Model([query, value], out)
    rng = np.random.default_rng(2)
    q, v = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 3, 6))
    assert model.predict([q, v], verbose=0).shape == (2, 5, 7)
    clone = layers.MultiHeadAttention.from_config(layer.get_config())
    clone.build((None, 5, 4), (None, 3, 6))
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(q, v)), np.asarray(layer(q, v)), rtol=1e-6)
    for bad, name in [(dict(num_heads=0, key_dim=2), "num_heads"),
                      (dict(num_heads=2, key_dim=-1), "key_dim"),
                      (dict(num_heads=2, key_dim=2, sliding_window=0), "sliding_window")]:
        with pytest.raises(ValueError, match=f"MultiHeadAttention.*{name}"):
            layers.MultiHeadAttention(**bad)
    with pytest.raises(ValueError, match="MultiHeadAttention.*value and key"):
        layers.MultiHeadAttention(2, 2)(q, v, key=rng.standard_normal((2, 4, 6)))


def test_multi_head_attention_matches_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(3)
    q = rng.standard_normal((2, 5, 8)).astype("float32")
    v = rng.standard_normal((2, 7, 6)).astype("float32")
    mask = rng.random((2, 5, 7)) < 0.8
    for options, call in [({}, {}), ({"use_gate": True}, {}),
                          ({"value_dim": 3, "output_shape": 4}, {}),
                          ({}, {"use_causal_mask": True}), ({"sliding_window": 2}, {}),
                          ({}, {"attention_mask": mask, "return_attention_scores": True})]:
        theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, **options)
        want = theirs(q, v, **call)
        ours = layers.MultiHeadAttention(num_heads=2, key_dim=3, **options)
        ours.build(q.shape, v.shape)
        ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
        got = ours(q, v, **call)
        for g, w in zip(got if isinstance(got, tuple) else [got],
                        want if isinstance(want, tuple) else [want]):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-5, atol=2e-6)
    assert set(theirs.get_config()) <= set(ours.get_config())


def test_a_call_may_name_its_first_argument_as_keras_allows():
    """`mha(query=q, value=v)`, eagerly and symbolically, is `mha(q, v)`; a call without its
    first argument names the layer and the argument."""
    rng = np.random.default_rng(11)
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    layer = layers.MultiHeadAttention(2, 2)
    expected = np.asarray(layer(q, v))
    np.testing.assert_allclose(np.asarray(layer(query=q, value=v)), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layer(value=v, query=q, key=v)), expected, rtol=1e-6)
    symbolic = layer(query=nk.Input((3, 4)), value=nk.Input((5, 4)))
    assert symbolic.shape == (None, 3, 4)
    np.testing.assert_allclose(np.asarray(layers.Add()(inputs=[q, v[:, :3]])), q + v[:, :3],
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(TypeError, match=f"MultiHeadAttention '{layer.name}'.*'query'"):
        layer(value=v)
