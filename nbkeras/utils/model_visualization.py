"""`plot_model` and `model_to_dot`: a model's layer graph drawn with pydot and graphviz, as in
`keras.utils`. One graph node per layer (a shared layer is one node with several edges); a
nested model is one node, or a dashed cluster of its own layers with `expand_nested=True`."""
from __future__ import annotations

import html
import os
import shutil
import warnings

from ..core.node import Node
from ..layers.layer import Layer

PYDOT_MESSAGE = "You must install pydot (`pip install pydot`) for `{}` to work."
GRAPHVIZ_MESSAGE = ("You must install pydot (`pip install pydot`) and install graphviz (see "
                    "instructions at https://graphviz.gitlab.io/download/, e.g. `apt-get install "
                    "graphviz` or `conda install graphviz`) for `plot_model` to work.")


def _import_pydot(who: str):
    """The pydot module, or ImportError with the install hint."""
    try:
        import pydot
    except ImportError as error:
        raise ImportError(PYDOT_MESSAGE.format(who)) from error
    return pydot


def _has_graphviz() -> bool:
    """Whether graphviz's `dot` program (which pydot runs to render) is on the PATH."""
    return shutil.which("dot") is not None


def _layer_nodes(model) -> list:
    """The graph nodes of `model`'s layer calls, its input layers' nodes first."""
    if hasattr(model, "_nodes"):
        return [t.node for t in model._model_inputs] + list(model._nodes)
    input_layer = getattr(model, "_input_layer", None)
    first = [input_layer.output.node] if input_layer is not None else []
    return first + [layer._inbound_nodes[-1] for layer in model.layers if layer._inbound_nodes]


def _item(node: Node):
    """What one graph node is drawn as: its layer, or the node itself for an op (ops such as
    `a + b` share one instance between calls, so each call is its own box)."""
    return node.operation if isinstance(node.operation, Layer) else node


def _graph_layers(model) -> list:
    """The items drawn for `model`: its input layers, then its layers and op calls (a
    subclassed model, whose graph is its Python `call`, is one item, as in Keras)."""
    if not _is_model(model):
        return [model]
    items = [_item(node) for node in _layer_nodes(model)] + list(model.layers)
    return list({id(item): item for item in items}.values())


def _edges(model) -> list[tuple]:
    """(producer layer, consumer layer) pairs, without repeats, in graph order."""
    if hasattr(model, "_nodes"):
        pairs = [(_item(t.node), _item(node)) for node in model._nodes
                 for t in node.input_tensors if t.node is not None]
    else:
        layers = _graph_layers(model)
        pairs = list(zip(layers, layers[1:]))
    return list({(id(a), id(b)): (a, b) for a, b in pairs}.values())


def _is_model(layer) -> bool:
    """Whether `layer` is a Functional or Sequential model (a graph of layers)."""
    return hasattr(layer, "_nodes") or hasattr(layer, "_input_layer")


def _entries(layer, expand_nested: bool) -> list:
    """The drawn layers an edge into `layer` points at: a nested model's input layers."""
    if not (expand_nested and _is_model(layer)):
        return [layer]
    if hasattr(layer, "_nodes"):
        heads = [t.node.operation for t in layer._model_inputs]
    else:
        heads = _graph_layers(layer)[:1]
    return [e for head in heads for e in _entries(head, expand_nested)]


def _exits(layer, expand_nested: bool) -> list:
    """The drawn layers an edge out of `layer` starts at: a nested model's output layers."""
    if not (expand_nested and _is_model(layer)):
        return [layer]
    if hasattr(layer, "_nodes"):
        tails = [t.node.operation for t in layer._model_outputs]
    else:
        tails = _graph_layers(layer)[-1:]
    return [e for tail in tails for e in _exits(tail, expand_nested)]


def _shape_text(tensors) -> str:
    shapes = [str(tuple(t.shape)) for t in tensors]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]" if shapes else "?"


def _activation_name(layer) -> str | None:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", None)
    return None if name in (None, "linear") else name


def _label(item, nodes: list, show_shapes: bool, show_dtype: bool, show_layer_names: bool,
           show_layer_activations: bool, show_trainable: bool) -> str:
    """An HTML-like graphviz label for a layer (or an op's Node): a title row
    ("name (Class)"), then one row per option."""
    calls = [item] if isinstance(item, Node) else [n for n in nodes if n.operation is item]
    layer = item.operation if isinstance(item, Node) else item
    class_name = html.escape(type(layer).__name__)
    name = getattr(layer, "name", None) or type(layer).__name__.lower()   # an Op has no name
    title = (f"<b>{html.escape(name)}</b> ({class_name})" if show_layer_names
             else f"<b>{class_name}</b>")
    rows = [title]
    outputs = [t for n in calls for t in n.outputs]
    if show_layer_activations and _activation_name(layer):
        rows.append(f"Activation: {html.escape(_activation_name(layer))}")
    if show_dtype:
        dtypes = sorted({str(t.dtype) for t in outputs}) or ["?"]
        rows.append(f"Output dtype: {', '.join(dtypes)}")
    if show_shapes:
        inputs = [t for n in calls for t in n.input_tensors]
        shapes = (f"Output shape: {_shape_text(outputs)}" if not inputs else
                  f"Input shape: {_shape_text(inputs)} | Output shape: {_shape_text(outputs)}")
        rows.append(html.escape(shapes))
    if show_trainable and hasattr(layer, "trainable"):
        rows.append("Trainable" if layer.trainable else "Non-trainable")
    cells = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
    return f'<<table border="0" cellborder="1" cellspacing="0">{cells}</table>>'


def model_to_dot(model, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False,
                 dpi: int = 200, subgraph: bool = False, show_layer_activations: bool = False,
                 show_trainable: bool = False):
    """The layer graph of a Functional or Sequential `model` as a `pydot.Dot` (a dashed
    `pydot.Cluster` when `subgraph`). `rankdir`: "TB" (vertical) or "LR" (horizontal).
    Raises ImportError when pydot is missing."""
    pydot = _import_pydot("model_to_dot")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"model_to_dot: rankdir must be 'TB', 'LR', 'BT' or 'RL'; received "
                         f"rankdir={rankdir!r}")
    if not model.built:
        raise ValueError(f"model_to_dot: model '{model.name}' is not built yet; give it an Input "
                         "or call it on data first")
    if subgraph:
        dot = pydot.Cluster(graph_name=model.name, style="dashed", label=model.name)
    else:
        dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, concentrate=True, dpi=dpi)
    dot.set_node_defaults(shape="plaintext")
    options = (show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
    nodes = _layer_nodes(model)
    for layer in _graph_layers(model):
        if expand_nested and _is_model(layer):
            dot.add_subgraph(model_to_dot(layer, show_shapes, show_dtype, show_layer_names,
                                          rankdir, expand_nested, dpi, True,
                                          show_layer_activations, show_trainable))
        else:
            dot.add_node(pydot.Node(str(id(layer)), label=_label(layer, nodes, *options)))
    for producer, consumer in _edges(model):
        for a in _exits(producer, expand_nested):
            for b in _entries(consumer, expand_nested):
                dot.add_edge(pydot.Edge(str(id(a)), str(id(b))))
    return dot


def plot_model(model, to_file: str = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False):
    """Draw `model`'s layer graph into `to_file` (format from its extension: .png, .svg, .pdf,
    .dot, ...). Returns an `IPython.display.Image` (or `SVG`) to show inline when IPython is
    importable, else None. Without pydot or graphviz it warns how to install them and
    returns None."""
    try:
        _import_pydot("plot_model")
    except ImportError as error:
        warnings.warn(str(error), stacklevel=2)
        return None
    if not _has_graphviz():
        warnings.warn(GRAPHVIZ_MESSAGE, stacklevel=2)
        return None
    dot = model_to_dot(model, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                       dpi, False, show_layer_activations, show_trainable)
    extension = os.path.splitext(str(to_file))[1].lower()
    dot.write(str(to_file), format=extension[1:] or "png")
    if extension in (".pdf", ".dot", ".gv"):
        return None
    try:
        from IPython import display
    except ImportError:
        return None
    return display.SVG(filename=str(to_file)) if extension == ".svg" \
        else display.Image(filename=str(to_file))

