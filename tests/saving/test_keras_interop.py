"""nbkeras and Keras 3.15 agree on functional graphs and open each other's `.keras` files.

The committed fixtures (tests/saving/fixtures, made by make_keras_fixtures.py with Keras)
load into nbkeras without Keras; the other direction imports Keras (importorskip)."""
import numpy as np
import pytest

import nbkeras as nk


def _graphs(lib) -> dict:
    """Functional graphs whose layer order Keras fixes by depth (the same code for Keras
    and nbkeras: `lib` is either module)."""
    layers, graphs = lib.layers, {}
    a, b = lib.Input((4,), name="a"), lib.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    merged = layers.Concatenate(name="cat")([shared(a), shared(layers.Dense(4, name="pre_b")(b))])
    graphs["two inputs, shared layer"] = lib.Model([a, b], merged)

    a, b = lib.Input((4,), name="a"), lib.Input((4,), name="b")
    x = a
    for name in ("d1", "d2", "d3"):
        x = layers.Dense(4, name=name)(x)
    graphs["deep and shallow inputs"] = lib.Model([a, b], layers.Add(name="add")([x, b]))

    a = lib.Input((4,), name="a")
    s = layers.Dense(4, name="s")
    y = s(a)
    w = s(layers.Dense(4, name="mid")(y))
    graphs["shared at two depths"] = lib.Model(a, [layers.Dense(2, name="h1")(w),
                                                   layers.Dense(2, name="h2")(y)])

    inner_input = lib.Input((4,), name="ii")
    inner = lib.Model(inner_input, layers.Dense(3, name="inner_d")(inner_input), name="inner")
    a, b, unused = lib.Input((4,), name="a"), lib.Input((3,), name="b"), lib.Input((2,), name="u")
    h = inner(a)
    graphs["nested, dict outputs, unused input"] = lib.Model(
        {"a": a, "b": b, "u": unused},
        {"y1": layers.Dense(2, name="o1")(layers.Concatenate(name="c")([h, b])),
         "y2": layers.Dense(1, name="o2")(h)})
    return graphs


def test_functional_layer_order_names_and_weight_paths_match_keras():
    keras = pytest.importorskip("keras")
    ours, theirs = _graphs(nk), _graphs(keras)
    for title, model in ours.items():
        reference = theirs[title]
        assert [layer.name for layer in model.layers] == \
            [layer.name for layer in reference.layers], title
        assert [w.path for w in model.weights] == [w.path for w in reference.weights], title
        assert [layer["name"] for layer in model.get_config()["layers"]] == \
            [layer["name"] for layer in reference.get_config()["layers"]], title
