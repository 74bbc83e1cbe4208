"""Attention, AdditiveAttention and GroupedQueryAttention: forward against plain float64 numpy
(scores, masks with fully masked rows, causal masks, returned scores), float64 finite
differences for inputs and every weight, masks from the inputs (Embedding mask_zero),
symbolic shapes against eager ones, functional models, configs, build by hand then
set_weights, named errors, and Keras's numbers from its weights where Keras is installed."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ---- Attention and AdditiveAttention --------------------------------------------------------
SCORE_KINDS = {"dot": (layers.Attention, {}),
               "dot_scaled": (layers.Attention, {"use_scale": True}),
               "concat": (layers.Attention, {"score_mode": "concat"}),
               "concat_scaled": (layers.Attention, {"score_mode": "concat", "use_scale": True}),
               "additive": (layers.AdditiveAttention, {}),
               "additive_unscaled": (layers.AdditiveAttention, {"use_scale": False})}


def _reference_attention(layer, q, v, k=None, q_mask=None, v_mask=None, causal=False):
    """(output, weights) in float64: Keras's scores, 1e9 subtracted from masked scores,
    softmax, weighted sum, zero outputs at masked queries."""
    k = v if k is None else k
    weights = {w.name: np.asarray(w.numpy(), np.float64) for w in layer.weights}
    scale = weights.get("scale", 1.0)
    if isinstance(layer, layers.AdditiveAttention):
        scores = (scale * np.tanh(q[:, :, None] + k[:, None])).sum(-1)
    elif layer.score_mode == "dot":
        scores = np.einsum("btd,bsd->bts", q, k) * scale
    else:
        scores = weights["concat_score_weight"] * np.tanh(
            scale * (q[:, :, None] + k[:, None])).sum(-1)
    keep = np.ones(scores.shape, bool)
    if v_mask is not None:
        keep &= v_mask[:, None, :]
    if causal:
        keep &= np.tril(np.ones(scores.shape[1:], bool))
    probabilities = _softmax(np.where(keep, scores, scores - 1e9))
    output = np.einsum("bts,bsd->btd", probabilities, v)
    if q_mask is not None:
        output = np.where(q_mask[..., None], output, 0.0)
    return output, probabilities


class _OnList:
    """check_grads calls fn(*inputs): call the layer on the list of them, and show its
    weights."""

    def __init__(self, layer):
        self.layer, self.name = layer, layer.name

    def __call__(self, *inputs, **kwargs):
        return self.layer(list(inputs), **kwargs)

    @property
    def trainable_weights(self):
        return self.layer.trainable_weights


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(sorted(SCORE_KINDS)),
       t_len=st.integers(1, 4), s_len=st.integers(1, 4), with_key=st.booleans(),
       masked=st.booleans(), causal=st.booleans(), scores=st.booleans())
def test_attention_matches_numpy_and_finite_differences(seed, kind, t_len, s_len, with_key,
                                                        masked, causal, scores):
    rng = np.random.default_rng(seed)
    cls, config = SCORE_KINDS[kind]
    q, v, k = (rng.standard_normal((2, n, d)) for n, d in ((t_len, 3), (s_len, 3), (s_len, 3)))
    if kind.startswith("dot") and with_key:
        v = rng.standard_normal((2, s_len, 2))          # value size may differ from query's
    inputs = [q, v, k] if with_key else [q, v]
    mask = None
    if masked:                                            # value position 0 always kept: no
        q_mask = rng.random((2, t_len)) < 0.7             # fully masked row (its 1e9 shift
        v_mask = rng.random((2, s_len)) < 0.7             # rounds, see the test below)
        v_mask[:, 0] = True
        mask = [q_mask, v_mask]
    layer = cls(**config, dtype="float64")
    call = {"mask": mask, "use_causal_mask": causal, "return_attention_scores": scores}
    got = layer(inputs, **call)
    want = _reference_attention(layer, q, v, k if with_key else None,
                                *(mask or [None, None]), causal)
    for g, w in zip(got if scores else [got], want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-10, atol=1e-12)
    out = got[0] if scores else got
    if masked:
        np.testing.assert_array_equal(np.asarray(out._keras_mask), mask[0])
    if layer.weights:                                     # weights away from 0 for the
        layer.set_weights([w + 0.5 for w in layer.get_weights()])   # unscaled cases' kinks
    call.pop("return_attention_scores")
    check_grads(_OnList(layer), inputs, call_kwargs=call, mode="projection")
    assert layer.compute_output_shape([x.shape for x in inputs]) == out.shape


def test_attention_fully_masked_rows_input_masks_and_dropout():
    rng = np.random.default_rng(1)
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    q_mask = np.array([[True, False, True], [False, False, False]])
    v_mask = np.array([[True, True, False, False, True], [False] * 5])   # batch 1: all masked
    for cls in (layers.Attention, layers.AdditiveAttention):
        layer = cls(dtype="float64")
        out, scores = layer([q, v], mask=[q_mask, v_mask], return_attention_scores=True)
        want, want_scores = _reference_attention(layer, q, v, None, q_mask, v_mask)
        # a fully masked row is softmax(scores - 1e9): its 1e9 shift rounds to 1.2e-7
        np.testing.assert_allclose(np.asarray(scores), want_scores, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(np.asarray(out), want, rtol=1e-6, atol=1e-9)
        assert np.all(np.asarray(out)[~q_mask] == 0)
        np.testing.assert_array_equal(np.asarray(out._keras_mask), q_mask)
    ids_q, ids_v = np.array([[1, 2, 0], [3, 0, 0]]), np.array([[1, 2, 3, 0, 0], [4, 4, 1, 2, 0]])
    embed = layers.Embedding(6, 4, mask_zero=True, dtype="float64")
    eq, ev = embed(ids_q), embed(ids_v)
    layer = layers.Attention(use_scale=True, dtype="float64")
    out = layer([eq, ev])                                  # masks read from the inputs
    np.testing.assert_allclose(np.asarray(out), _reference_attention(
        layer, np.asarray(eq), np.asarray(ev), None, ids_q != 0, ids_v != 0)[0],
        rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), ids_q != 0)
    dropped = layers.Attention(dropout=0.5, seed=3, dtype="float64")
    _, w_eval = dropped([q, v], return_attention_scores=True)
    _, w_train = dropped([q, v], return_attention_scores=True, training=True)
    np.testing.assert_allclose(np.asarray(w_eval), _softmax(np.einsum("btd,bsd->bts", q, v)),
                               rtol=1e-10)
    kept = np.asarray(w_train) != 0                        # kept weights are scaled by 2
    np.testing.assert_allclose(np.asarray(w_train)[kept], 2 * np.asarray(w_eval)[kept],
                               rtol=1e-10)
    assert 0 < kept.mean() < 1


def test_attention_symbolic_functional_config_and_errors():
    query, value = nk.Input((5, 4)), nk.Input((3, 6))
    rng = np.random.default_rng(2)
    q, v = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 3, 6))
    for layer, key_size in [(layers.Attention(use_scale=True), 4),
                            (layers.AdditiveAttention(), 4)]:
        key = nk.Input((3, key_size))
        out, scores = layer([query, value, key], return_attention_scores=True)
        assert out.shape == (None, 5, 6) and scores.shape == (None, 5, 3)
        k = rng.standard_normal((2, 3, key_size))
        eager, eager_scores = layer([q, v, k], return_attention_scores=True)
        assert eager.shape == (2, 5, 6) and eager_scores.shape == (2, 5, 3)
        model = nk.Model([query, value, key], out)
        np.testing.assert_allclose(model.predict([q, v, k], verbose=0), np.asarray(eager),
                                   rtol=1e-6)
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
        clone.build([(None, 5, 4), (None, 3, 6), (None, 3, key_size)])
        clone.set_weights(layer.get_weights())
        np.testing.assert_allclose(np.asarray(clone([q, v, k])), np.asarray(eager), rtol=1e-6)
    assert "score_mode" not in layers.AdditiveAttention().get_config()
    assert layers.AdditiveAttention(False, 0.25).dropout == 0.25        # Keras's positions
    with pytest.raises(ValueError, match="Attention.*score_mode"):
        layers.Attention(score_mode="add")
    with pytest.raises(ValueError, match="Attention.*dropout"):
        layers.Attention(dropout=1.5)
    with pytest.raises(ValueError, match="Attention.*inputs"):
        layers.Attention()(q)
    with pytest.raises(ValueError, match="AdditiveAttention.*inputs"):
        layers.AdditiveAttention()([q, v, v, v])
    with pytest.raises(ValueError, match="Attention.*mask"):
        layers.Attention()([q, v], mask=np.ones((2, 5), bool))


@pytest.mark.parametrize("kind", sorted(SCORE_KINDS))
def test_attention_matches_keras(kind):
    keras = pytest.importorskip("keras")
    cls, config = SCORE_KINDS[kind]
    rng = np.random.default_rng(4)
    q = rng.standard_normal((2, 4, 3)).astype("float32")
    v = rng.standard_normal((2, 6, 3)).astype("float32")
    k = rng.standard_normal((2, 6, 3)).astype("float32")
    q_mask, v_mask = rng.random((2, 4)) < 0.7, rng.random((2, 6)) < 0.7
    v_mask[1] = False                                      # a fully masked row
    theirs = getattr(keras.layers, cls.__name__)(**config)
    ours = cls(**config)
    for inputs, call in [([q, v], {}), ([q, v, k], {"use_causal_mask": True}),
                         ([q, v], {"mask": [q_mask, v_mask], "return_attention_scores": True})]:
        want = theirs(inputs, **call)
        if not ours.built:
            ours.build([x.shape for x in inputs])
            weights = [np.asarray(w) + 0.3 for w in theirs.get_weights()]
            theirs.set_weights(weights)
            ours.set_weights(weights)
            want = theirs(inputs, **call)
        got = ours(inputs, **call)
        for g, w in zip(got if isinstance(got, tuple) else [got],
                        want if isinstance(want, tuple) else [want]):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-5, atol=2e-6)
    assert theirs.get_config().keys() - {"dtype"} <= ours.get_config().keys()
    for name, value in theirs.get_config().items():
        if name not in ("dtype", "name"):
            assert ours.get_config()[name] == value, name


# ---- GroupedQueryAttention ----------------------------------------------------------------
def _reference_gqa(layer, q, v, mask=None, fused=True):
    """Plain float64 grouped-query attention with the layer's weights, key and value heads
    repeated; mask (B, T, S). A fully masked row attends uniformly on the fused path and has
    zero scores on the einsum path (Keras's Softmax)."""
    take = iter(layer.get_weights())

    def projection():
        kernel = next(take)
        return kernel, (next(take) if layer.use_bias else 0)

    (qk, qb), (kk, kb) = projection(), projection()
    gate = projection() if layer.use_gate else None
    (vk, vb), (ok, ob) = projection(), projection()
    query = np.einsum("btd,dnh->btnh", q, qk) + qb
    key = np.repeat(np.einsum("bsd,dkh->bskh", v, kk) + kb, layer.num_repeats, axis=2)
    value = np.repeat(np.einsum("bsd,dkh->bskh", v, vk) + vb, layer.num_repeats, axis=2)
    logits = np.einsum("btnh,bsnh->bnts", query, key) / np.sqrt(layer.head_dim)
    keep = np.ones(logits.shape, bool) if mask is None else np.broadcast_to(
        mask[:, None], logits.shape)
    scores = _softmax(np.where(keep, logits, -0.7 * np.finfo(np.float64).max))
    if not fused:
        scores = np.where(keep, scores, 0.0)
    out = np.einsum("bnts,bsnh->btnh", scores, value)
    if gate is not None:
        out = out / (1 + np.exp(-(np.einsum("btd,dnh->btnh", q, gate[0]) + gate[1])))
    return np.einsum("btnh,nhd->btd", out, ok) + ob, scores


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kv_heads=st.integers(1, 2), groups=st.integers(1, 3),
       head_dim=st.integers(1, 3), t_len=st.integers(1, 4), s_len=st.integers(1, 4),
       use_bias=st.booleans(), masked=st.booleans(), scores=st.booleans())
def test_grouped_query_attention_matches_numpy_and_finite_differences(
        seed, kv_heads, groups, head_dim, t_len, s_len, use_bias, masked, scores):
    rng = np.random.default_rng(seed)
    q, v = rng.standard_normal((2, t_len, 4)), rng.standard_normal((2, s_len, 3))
    mask = rng.random((2, t_len, s_len)) < 0.7 if masked else None
    layer = layers.GroupedQueryAttention(head_dim, kv_heads * groups, kv_heads,
                                         use_bias=use_bias, dtype="float64")
    got = layer(q, v, attention_mask=mask, return_attention_scores=scores)
    want, want_scores = _reference_gqa(layer, q, v, mask, fused=not scores)
    np.testing.assert_allclose(np.asarray(got[0] if scores else got), want, rtol=1e-10,
                               atol=1e-12)
    if scores:
        np.testing.assert_allclose(np.asarray(got[1]), want_scores, rtol=1e-10, atol=1e-12)
    check_grads(layer, [q, v], call_kwargs={"attention_mask": mask,
                                            "return_attention_scores": False}, mode="projection")
    if scores:                                             # the einsum path's gradients
        dropless = layers.GroupedQueryAttention(head_dim, kv_heads * groups, kv_heads,
                                                use_bias=use_bias, dropout=0.5,
                                                dtype="float64")
        check_grads(dropless, [q, v], call_kwargs={"attention_mask": mask, "training": False},
                    mode="projection")
        np.testing.assert_allclose(np.asarray(dropless(q, v, attention_mask=mask)), _reference_gqa(
            dropless, q, v, mask, fused=False)[0], rtol=1e-10, atol=1e-12)


def test_grouped_query_attention_input_masks_causal_window_gate_and_dropout():
    rng = np.random.default_rng(5)
    ids_q = np.array([[1, 2, 3, 0], [4, 1, 0, 0]])
    ids_v = np.array([[2, 0, 0], [1, 3, 2]])
    embed = layers.Embedding(6, 4, mask_zero=True, dtype="float64")
    q, v = embed(ids_q), embed(ids_v)
    layer = layers.GroupedQueryAttention(3, 4, 2, dtype="float64")
    keep = (ids_q != 0)[:, :, None] & (ids_v != 0)[:, None, :]   # rows fully masked
    for scores in (False, True):
        got = layer(q, v, return_attention_scores=scores)
        want = _reference_gqa(layer, np.asarray(q), np.asarray(v), keep, fused=not scores)
        for g, w in zip(got if scores else [got], want):
            np.testing.assert_allclose(np.asarray(g), w, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(got[0]._keras_mask), ids_q != 0)
    x = rng.standard_normal((2, 5, 4))
    window = np.tril(np.ones((5, 5), bool)) & (np.abs(np.subtract.outer(range(5), range(5))) < 2)
    causal = layers.GroupedQueryAttention(2, 2, 1, sliding_window=2, dtype="float64")
    np.testing.assert_allclose(np.asarray(causal(x, x, use_causal_mask=True)), _reference_gqa(
        causal, x, x, np.broadcast_to(window, (2, 5, 5)))[0], rtol=1e-10, atol=1e-12)
    plain = layers.GroupedQueryAttention(2, 4, 2, dtype="float64")      # is_causal path
    lower = np.broadcast_to(np.tril(np.ones((5, 5), bool)), (2, 5, 5))
    for scores in (False, True):
        got = plain(x, x, use_causal_mask=True, return_attention_scores=scores)
        np.testing.assert_allclose(np.asarray(got[0] if scores else got), _reference_gqa(
            plain, x, x, lower, fused=not scores)[0], rtol=1e-10, atol=1e-12)
    gated = layers.GroupedQueryAttention(2, 4, 2, use_gate=True, dtype="float64")
    k = rng.standard_normal((2, 5, 3))
    y = gated(x, x, key=k)
    assert y.shape == (2, 5, 4) and len(gated.get_weights()) == 10
    check_grads(gated, [x, x, k], mode="projection")
    dropped = layers.GroupedQueryAttention(2, 4, 2, dropout=0.5, seed=1, dtype="float64")
    y_eval, s_eval = dropped(x, x, return_attention_scores=True)
    y_train, s_train = dropped(x, x, return_attention_scores=True, training=True)
    np.testing.assert_allclose(np.asarray(s_train), np.asarray(s_eval), rtol=1e-12)  # before
    assert not np.allclose(np.asarray(y_train), np.asarray(y_eval))     # dropout, as Keras


def test_grouped_query_attention_symbolic_build_by_hand_config_and_errors():
    query, value = nk.Input((5, 4)), nk.Input((3, 4))
    layer = layers.GroupedQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2)
    out, scores = layer(query, value, return_attention_scores=True)
    assert out.shape == (None, 5, 4) and scores.shape == (None, 4, 5, 3)
    rng = np.random.default_rng(6)
    q, v = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 3, 4))
    eager, eager_scores = layer(q, v, return_attention_scores=True)
    assert eager.shape == (2, 5, 4) and eager_scores.shape == (2, 4, 5, 3)
    assert layer.compute_output_shape(q.shape, v.shape) == q.shape
    model = nk.Model([query, value], out)
    np.testing.assert_allclose(model.predict([q, v], verbose=0), np.asarray(eager), rtol=1e-5,
                               atol=1e-6)
    assert [w.shape for w in layer.weights] == [(4, 4, 3), (4, 3), (4, 2, 3), (2, 3),
                                                (4, 2, 3), (2, 3), (4, 3, 4), (4,)]
    clone = layers.GroupedQueryAttention.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() and "flash_attention" not in clone.get_config()
    clone.build((None, 5, 4), (None, 3, 4))                # by hand, then set_weights
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(q, v)), np.asarray(layer(q, v)), rtol=1e-6)
    assert layers.GroupQueryAttention is layers.GroupedQueryAttention
    assert layers.GroupedQueryAttention(2, 2, 1, flash_attention=True)(q, v).shape == q.shape
    for bad, name in [(dict(head_dim=0, num_query_heads=2, num_key_value_heads=1), "head_dim"),
                      (dict(head_dim=2, num_query_heads=3, num_key_value_heads=2),
                       "num_query_heads"),
                      (dict(head_dim=2, num_query_heads=2, num_key_value_heads=0),
                       "num_key_value_heads"),
                      (dict(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                            dropout=1.0), "dropout"),
                      (dict(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                            sliding_window=0), "sliding_window"),
                      (dict(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                            flash_attention=True, dropout=0.1), "dropout")]:
        with pytest.raises(ValueError, match=f"GroupedQueryAttention.*{name}"):
            layers.GroupedQueryAttention(**bad)
    with pytest.raises(ValueError, match="GroupedQueryAttention.*value and key"):
        layers.GroupedQueryAttention(2, 2, 1)(q, v, key=rng.standard_normal((2, 4, 4)))
    with pytest.raises(ValueError, match="GroupedQueryAttention.*query and value"):
        layers.GroupedQueryAttention(2, 2, 1)(query, nk.Input((3, 6)))
    with pytest.raises(ValueError, match="GroupedQueryAttention.*scores"):
        layers.GroupedQueryAttention(2, 2, 1, flash_attention=True)(
            q, v, return_attention_scores=True)


def test_grouped_query_attention_matches_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(7)
    q = rng.standard_normal((2, 5, 8)).astype("float32")
    v = rng.standard_normal((2, 7, 8)).astype("float32")
    mask = rng.random((2, 5, 7)) < 0.8
    q_mask, v_mask = rng.random((2, 5)) < 0.8, rng.random((2, 7)) < 0.8
    q_mask[0, 1] = False                                   # a fully masked row
    for options, call in [({}, {}), ({"use_gate": True}, {}), ({"use_bias": False}, {}),
                          ({}, {"use_causal_mask": True}), ({"sliding_window": 2}, {}),
                          ({}, {"attention_mask": mask, "return_attention_scores": True}),
                          ({}, {"query_mask": q_mask, "value_mask": v_mask}),
                          ({}, {"query_mask": q_mask, "value_mask": v_mask,
                                "return_attention_scores": True}),
                          ({}, {"use_causal_mask": True, "return_attention_scores": True})]:
        theirs = keras.layers.GroupQueryAttention(head_dim=3, num_query_heads=4,
                                                  num_key_value_heads=2, **options)
        want = theirs(q, v, **call)
        ours = layers.GroupedQueryAttention(head_dim=3, num_query_heads=4,
                                            num_key_value_heads=2, **options)
        ours.build(q.shape, v.shape)
        ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
        got = ours(q, v, **call)
        for g, w in zip(got if isinstance(got, tuple) else [got],
                        want if isinstance(want, tuple) else [want]):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-5, atol=2e-6)
    assert theirs.get_config().keys() - {"dtype"} <= ours.get_config().keys()


def test_masks_flow_through_a_functional_model():
    ids_q, ids_v = nk.Input((3,), dtype="int32"), nk.Input((5,), dtype="int32")
    embed = layers.Embedding(6, 4, mask_zero=True)
    query, value = embed(ids_q), embed(ids_v)
    attention = layers.Attention(use_scale=True)
    grouped = layers.GroupedQueryAttention(2, 2, 1)
    attended = attention([query, value])
    pooled = layers.GlobalAveragePooling1D()(attended)    # averages the unmasked queries
    model = nk.Model([ids_q, ids_v], [attended, grouped(query, value), pooled])
    iq, iv = np.array([[1, 2, 0], [3, 0, 0]]), np.array([[1, 2, 3, 0, 0], [4, 4, 1, 2, 0]])
    out, grouped_out, pooled_out = model.predict([iq, iv], verbose=0)
    eq, ev = embed(iq), embed(iv)
    want = np.asarray(attention([eq, ev]))
    np.testing.assert_allclose(out, want, rtol=1e-6)
    np.testing.assert_allclose(grouped_out, np.asarray(grouped(eq, ev)), rtol=1e-6)
    np.testing.assert_allclose(pooled_out, want.sum(1) / (iq != 0).sum(1, keepdims=True),
                               rtol=1e-5, atol=1e-7)
