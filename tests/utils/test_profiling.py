"""nk.utils.profile: one row per layer call with positive times, FLOPs by hand formula, the
model unchanged afterwards."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers
from nbkeras.utils.profiling import layer_flops


def cnn():
    model = nk.Sequential([
        layers.Input((8, 8, 2)),
        layers.Conv2D(4, 3, padding="same", activation="relu", name="conv"),
        layers.BatchNormalization(name="bn"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Flatten(name="flat"),
        layers.Dense(5, activation="softmax", name="dense"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def data(n=16):
    rng = np.random.default_rng(1)
    return rng.random((n, 8, 8, 2), dtype=np.float32), rng.integers(0, 5, n)


def test_rows_times_shares_and_flops_of_a_sequential_cnn():
    model = cnn()
    x, y = data()
    before = [w.copy() for w in model.get_weights()]
    lines = []
    rows = nk.utils.profile(model, x, y, batch_size=8, repeats=2,
                            print_fn=lines.append)
    names = [row["layer"] for row in rows]
    assert names == ["conv", "bn", "pool", "flat", "dense", "loss", "optimizer"]
    assert all(row["forward_s"] > 0 for row in rows)
    assert all(row["backward_s"] > 0 for row in rows[:6])
    assert rows[-1]["backward_s"] is None and rows[-1]["type"] == "Adam"
    assert sum(row["share"] for row in rows) == pytest.approx(1.0)
    by_name = {row["layer"]: row for row in rows}
    assert by_name["conv"]["flops"] == 2 * (8 * 8 * 8 * 4) * (3 * 3 * 2)   # 2 * out * k*k*C
    assert by_name["dense"]["flops"] == 2 * 8 * 64 * 5                    # 2 * N * in * units
    assert by_name["pool"]["flops"] == 8 * 4 * 4 * 4 * (2 * 2)
    assert by_name["flat"]["flops"] is None and by_name["flat"]["gflops_per_s"] is None
    assert by_name["conv"]["gflops_per_s"] > 0
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert "conv (Conv2D)" in "\n".join(lines) and lines[-1].startswith("Total")


def test_functional_shared_layer_rows_and_uncompiled_model():
    a, b = nk.Input((4,), name="a"), nk.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    ha, hb = shared(a), shared(b)
    model = nk.Model([a, b], [layers.Dense(2, name="head1")(ha),
                              layers.Dense(1, name="head2")(ha + hb)])
    x = [np.ones((6, 4), np.float32), np.zeros((6, 4), np.float32)]
    rows = nk.utils.profile(model, x, repeats=1, print_fn=None)
    assert sorted(row["layer"] for row in rows) == ["add", "head1", "head2", "shared", "shared"]
    assert all(row["forward_s"] > 0 and row["backward_s"] > 0 for row in rows)
    assert [row["flops"] for row in rows if row["layer"] == "shared"] == [2 * 6 * 4 * 3] * 2


@pytest.mark.parametrize("layer, x_shape, expected", [
    (layers.Conv2D(6, (3, 2), strides=2, groups=2), (2, 9, 8, 4),
     2 * (2 * 4 * 4 * 6) * (3 * 2 * 2)),
    (layers.Conv1D(3, 5), (2, 10, 2), 2 * (2 * 6 * 3) * (5 * 2)),
    (layers.DepthwiseConv2D(3, depth_multiplier=2), (1, 5, 5, 3), 2 * (3 * 3 * 6) * 9),
    (layers.Conv2DTranspose(5, 3), (1, 4, 4, 2), 2 * (4 * 4 * 2) * (3 * 3 * 5)),
    (layers.SeparableConv2D(4, 3), (1, 5, 5, 3), 2 * 9 * 3 * (9 + 4)),
    (layers.GlobalAveragePooling2D(), (2, 4, 4, 3), 2 * 4 * 4 * 3),
])
def test_flops_hand_formulas(layer, x_shape, expected):
    x = np.zeros(x_shape, np.float32)
    assert layer_flops(layer, [x], [np.asarray(layer(x))]) == expected


def test_bad_arguments_are_named():
    model = cnn()
    x, y = data(4)
    with pytest.raises(ValueError, match="repeats"):
        nk.utils.profile(model, x, y, repeats=0)
    with pytest.raises(ValueError, match="batch_size"):
        nk.utils.profile(model, x, y, batch_size=0)
