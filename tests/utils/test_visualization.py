"""plot_model / model_to_dot (DOT text always; rendering only where graphviz is installed) and
plot_history."""
import builtins
import importlib.util
import re
import shutil

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers
from nbkeras.callbacks import History

needs_pydot = pytest.mark.skipif(importlib.util.find_spec("pydot") is None,
                                 reason="pydot is not installed")
needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None,
                                    reason="graphviz's `dot` program is not installed")


def cnn():
    return nk.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(4, 3, activation="relu", name="conv"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Flatten(name="flat"),
        layers.Dense(10, activation="softmax", name="out"),
    ], name="cnn")


def two_towers():
    """Two inputs through one shared Dense, an add op, two outputs."""
    a, b = nk.Input((4,), name="a"), nk.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    ha, hb = shared(a), shared(b)
    return nk.Model([a, b], [layers.Dense(2, name="head1")(ha),
                             layers.Dense(1, name="head2")(ha + hb)], name="towers")


def nested():
    inner_in = nk.Input((3,), name="inner_in")
    inner = nk.Model(inner_in, layers.Dense(2, name="inner_dense")(inner_in), name="inner")
    x = nk.Input((5,), name="x")
    return nk.Model(x, layers.Dense(1, name="top")(inner(layers.Dense(3, name="pre")(x))),
                    name="outer")


def node_ids(dot_text: str) -> dict[str, str]:
    """Layer name -> DOT node id, read from the labels."""
    return {name: node for node, name in re.findall(r"^(\d+) \[label=<.*?<b>(\w+)</b>", dot_text,
                                                   re.M)}


def edges(dot_text: str) -> set[tuple[str, str]]:
    ids = {v: k for k, v in node_ids(dot_text).items()}
    return {(ids[a], ids[b]) for a, b in re.findall(r"^(\d+) -> (\d+);", dot_text, re.M)}


@needs_pydot
def test_sequential_cnn_dot_nodes_edges_and_options():
    dot = nk.utils.model_to_dot(cnn(), show_shapes=True, show_dtype=True, show_trainable=True,
                                show_layer_activations=True, rankdir="LR", dpi=72)
    text = dot.to_string()
    assert type(dot).__name__ == "Dot"
    assert "rankdir=LR" in text and "dpi=72" in text
    for name, cls in [("conv", "Conv2D"), ("pool", "MaxPooling2D"), ("flat", "Flatten"),
                      ("out", "Dense")]:
        assert f"<b>{name}</b> ({cls})" in text
    assert "(InputLayer)" in text
    input_name = next(n for n in node_ids(text) if n not in ("conv", "pool", "flat", "out"))
    assert edges(text) == {(input_name, "conv"), ("conv", "pool"), ("pool", "flat"),
                           ("flat", "out")}
    assert "Input shape: (None, 8, 8, 1) | Output shape: (None, 6, 6, 4)" in text
    assert "Output shape: (None, 10)" in text
    assert "Output dtype: float32" in text
    assert "Activation: relu" in text and "Activation: softmax" in text
    assert text.count("<td>Trainable</td>") == 5


@needs_pydot
def test_defaults_hide_shapes_and_names_can_be_hidden():
    text = nk.utils.model_to_dot(cnn()).to_string()
    assert "rankdir=TB" in text and "Output shape" not in text and "dtype" not in text
    text = nk.utils.model_to_dot(cnn(), show_layer_names=False).to_string()
    assert "<b>Conv2D</b>" in text and "conv" not in text.replace("Conv2D", "")


@needs_pydot
def test_non_trainable_layer_is_marked():
    model = cnn()
    model.get_layer("conv").trainable = False
    text = nk.utils.model_to_dot(model, show_trainable=True).to_string()
    assert text.count("Non-trainable") == 1


@needs_pydot
def test_functional_multi_input_output_with_shared_layer():
    text = nk.utils.model_to_dot(two_towers(), show_shapes=True).to_string()
    ids = node_ids(text)
    assert list(ids).count("shared") == 1                  # one box for the shared layer
    assert {"a", "b", "shared", "head1", "head2", "add"} <= set(ids)
    assert edges(text) == {("a", "shared"), ("b", "shared"), ("shared", "head1"),
                           ("shared", "add"), ("add", "head2")}
    assert "Input shape: [(None, 4), (None, 4)] | Output shape: [(None, 3), (None, 3)]" in text


@needs_pydot
def test_nested_model_collapsed_or_expanded_as_a_cluster():
    collapsed = nk.utils.model_to_dot(nested()).to_string()
    assert "cluster" not in collapsed and "inner_dense" not in collapsed
    assert ("pre", "inner") in edges(collapsed) and ("inner", "top") in edges(collapsed)

    expanded = nk.utils.model_to_dot(nested(), expand_nested=True).to_string()
    cluster = re.search(r"subgraph cluster_inner \{(.*?)\}", expanded, re.S)
    assert cluster and "style=dashed" in cluster.group(1)
    assert "<b>inner_dense</b>" in cluster.group(1) and "<b>inner_in</b>" in cluster.group(1)
    assert {("pre", "inner_in"), ("inner_in", "inner_dense"), ("inner_dense", "top")} \
        <= edges(expanded)


@needs_pydot
def test_bad_rankdir_names_the_argument():
    with pytest.raises(ValueError, match="rankdir"):
        nk.utils.model_to_dot(cnn(), rankdir="up")


@pytest.fixture
def no_pydot(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pydot":
            raise ImportError("No module named 'pydot'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_missing_pydot_gives_the_install_hint(no_pydot, tmp_path):
    with pytest.raises(ImportError, match=r"pip install pydot"):
        nk.utils.model_to_dot(cnn())
    with pytest.warns(UserWarning, match=r"pip install pydot.*plot_model"):
        assert nk.utils.plot_model(cnn(), to_file=str(tmp_path / "m.png")) is None
    assert not (tmp_path / "m.png").exists()


@needs_pydot
def test_missing_graphviz_warns_and_returns_none(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.warns(UserWarning, match="install graphviz"):
        assert nk.utils.plot_model(cnn(), to_file=str(tmp_path / "m.png")) is None
    assert not (tmp_path / "m.png").exists()


@needs_graphviz
@needs_pydot
def test_plot_model_writes_png_and_svg(tmp_path):
    png = tmp_path / "model.png"
    shown = nk.utils.plot_model(nested(), to_file=str(png), show_shapes=True,
                                expand_nested=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "model.svg"
    shown_svg = nk.utils.plot_model(two_towers(), to_file=str(svg))
    assert "<svg" in svg.read_text()
    if importlib.util.find_spec("IPython") is not None:
        assert type(shown).__name__ == "Image" and type(shown_svg).__name__ == "SVG"


def fake_history() -> History:
    history = History()
    for epoch, (loss, acc) in enumerate([(1.0, 0.5), (0.6, 0.7), (0.4, 0.8)]):
        history.on_epoch_end(epoch, {"loss": loss, "accuracy": acc, "val_loss": loss + 0.1,
                                     "val_accuracy": acc - 0.1})
    return history


def test_plot_history_axes_lines_and_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "history.png"
    figure = nk.utils.plot_history(fake_history(), to_file=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    for ax, values in zip(axes, ([1.0, 0.6, 0.4], [0.5, 0.7, 0.8])):
        train, val = ax.get_lines()
        assert [line.get_label() for line in (train, val)] == ["train", "validation"]
        np.testing.assert_allclose(train.get_ydata(), values)
        np.testing.assert_allclose(train.get_xdata(), [1, 2, 3])


def test_plot_history_dict_and_metric_selection():
    pytest.importorskip("matplotlib")
    figure = nk.utils.plot_history({"loss": [3.0, 2.0], "accuracy": [0.1, 0.2]}, metrics="loss")
    (ax,) = figure.axes
    assert [line.get_label() for line in ax.get_lines()] == ["train"]


def test_plot_history_unknown_metric_is_named():
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=r"unknown metrics \['mae'\].*'loss', 'accuracy'"):
        nk.utils.plot_history(fake_history(), metrics=["loss", "mae"])
    with pytest.raises(ValueError, match="History"):
        nk.utils.plot_history({})


@needs_pydot
def test_subclassed_model_is_one_box():
    class Tiny(nk.Model):
        def __init__(self):
            super().__init__(name="tiny")
            self.dense = layers.Dense(2, name="d")

        def call(self, x, training=False):
            return self.dense(x)

    model = Tiny()
    model(np.ones((1, 3), np.float32))
    text = nk.utils.model_to_dot(model, expand_nested=True).to_string()
    assert list(node_ids(text)) == ["tiny"] and "->" not in text
