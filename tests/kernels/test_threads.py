"""The multi-threaded kernels on two Numba threads, with inputs large enough that the work
splits, give what one thread gives: forward and backward of every op with a parallel pass
(chunked partial sums in the conv backward and batch-norm moments, pooling, normalization,
softmax, cross-entropy, resize, optimizer updates)."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import ops
from nbkeras.kernels.cpu import conv as conv_kernels
from nbkeras.kernels.cpu import normalization as normalization_kernels
from nbkeras.kernels.cpu.parallel import PARALLEL_MIN_ELEMENTS


def _on_threads(threads: int, fn):
    before = nk.config.get_num_threads()
    nk.config.set_num_threads(threads)
    try:
        return fn()
    finally:
        nk.config.set_num_threads(before)


def _value_and_gradients(op, *arrays):
    """op's output and the gradients of <output, r> for every input, in float64."""
    tensors = [nk.Tensor(a) for a in arrays]
    with nk.GradientTape() as tape:
        tape.watch(tensors)
        y = op(*tensors)
        r = np.random.default_rng(9).standard_normal(y.shape)
        loss = ops.sum(ops.multiply(y, r))
    return [np.asarray(y)] + [np.asarray(g) for g in tape.gradient(loss, tensors)]


RNG = np.random.default_rng(0)
CASES = {   # name: (op, inputs) with at least PARALLEL_MIN_ELEMENTS cells of work
    "conv2d_relu": (lambda x, w, b: ops.conv(x, w, padding="same", bias=b, activation="relu"),
                    [RNG.standard_normal((8, 12, 12, 8)), RNG.standard_normal((3, 3, 8, 16)),
                     RNG.standard_normal(16)]),
    "conv1d_one_channel": (lambda x, w: ops.conv(x, w, strides=2),
                           [RNG.standard_normal((8, 4000, 1)), RNG.standard_normal((5, 1, 4))]),
    "max_pool": (lambda x: ops.max_pool(x, 3, 2, "same"),
                 [RNG.permutation(8 * 16 * 16 * 32).reshape(8, 16, 16, 32) / 1000.0]),
    "average_pool": (lambda x: ops.average_pool(x, 2, 1, "same"),
                     [RNG.standard_normal((8, 16, 16, 32))]),
    "batch_normalization_training": (
        lambda x, g, b: ops.batch_normalization_training(x, -1, g, b, 1e-3)[0],
        [RNG.normal(2.0, 3.0, (64, 8, 8, 16)), RNG.standard_normal(16),
         RNG.standard_normal(16)]),
    "layer_normalization": (lambda x, g, b: ops.layer_normalization(x, g, b, -1, 1e-3),
                            [RNG.standard_normal((512, 96)), RNG.standard_normal(96),
                             RNG.standard_normal(96)]),
    "softmax": (lambda x: ops.softmax(x), [RNG.standard_normal((512, 80))]),
    "categorical_crossentropy": (
        lambda y, x: ops.categorical_crossentropy(y, x, from_logits=True),
        [np.eye(80)[RNG.integers(0, 80, 512)], RNG.standard_normal((512, 80))]),
    "resize_bilinear": (lambda x: ops.resize(x, (24, 24)), [RNG.standard_normal((8, 12, 12, 32))]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_two_threads_compute_what_one_thread_computes(name):
    op, arrays = CASES[name]
    assert max(a.size for a in arrays) >= PARALLEL_MIN_ELEMENTS or name.startswith("conv")
    one = _on_threads(1, lambda: _value_and_gradients(op, *arrays))
    two = _on_threads(2, lambda: _value_and_gradients(op, *arrays))
    for a, b in zip(one, two):
        np.testing.assert_allclose(b, a, rtol=1e-11, atol=1e-12)


def test_the_split_paths_are_taken_on_two_threads():
    """The chunk counts the kernels choose: two chunks on two threads for a large batch,
    one on one thread (the partial-sum code paths the test above compares)."""
    def chunks():
        return (conv_kernels._chunks(8, 8 * 12 * 12 * 16 * 72),
                normalization_kernels._row_chunks(4096, 4096 * 16))
    assert _on_threads(2, chunks) == (2, 2)
    assert _on_threads(1, chunks) == (1, 1)


def test_optimizer_updates_on_two_threads():
    rng = np.random.default_rng(2)
    start = rng.standard_normal(PARALLEL_MIN_ELEMENTS * 2)
    grads = [rng.standard_normal(start.shape) for _ in range(3)]

    def train(optimizer_name):
        variable = nk.Variable(start.copy())
        optimizer = nk.optimizers.get(optimizer_name)
        for g in grads:
            optimizer.apply([g], [variable])
        return variable.numpy()
    for name in ("adam", "rmsprop", "sgd", "nadam", "adagrad", "adadelta", "adamax", "lion"):
        np.testing.assert_array_equal(_on_threads(2, lambda: train(name)),
                                      _on_threads(1, lambda: train(name)), err_msg=name)
