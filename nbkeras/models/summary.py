"""`model.summary()`: the Keras 3 table of layers, output shapes and parameter counts."""
from __future__ import annotations

from ..core.keras_tensor import KerasTensor
from ..core.node import Node
from ..layers.layer import Layer
from ..serialization import snake_case


def print_summary(model, line_length=None, positions=None, print_fn=None,
                  expand_nested=False, show_trainable=False) -> None:
    print_fn = print_fn or print
    connected = _has_branches(model)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    if show_trainable:
        headers.append("Trainable")
    line_length = line_length or (108 if connected else 80)
    positions = positions or ([0.3, 0.55, 0.67, 1.0] if connected else [0.45, 0.8, 1.0])
    if show_trainable:
        positions = [p * 0.9 for p in positions] + [1.0]
    stops = [int((line_length - 1) * p) if p <= 1 else int(p) for p in positions]
    widths = [b - a - 3 for a, b in zip([0] + stops[:-1], stops)]
    right_aligned = {2}

    def row(cells, left, mid, right, fill=" "):
        parts = [f"{fill}{_fit(c, w, i in right_aligned)}{fill}" for i, (c, w) in
                 enumerate(zip(cells, widths))]
        return left + mid.join(parts) + right

    print_fn(f'Model: "{model.name}"')
    print_fn(row(["━" * w for w in widths], "┏", "┳", "┓", "━"))
    print_fn(row(headers, "┃", "┃", "┃"))
    print_fn(row(["━" * w for w in widths], "┡", "╇", "┩", "━"))
    rows = list(_layer_rows(model, expand_nested, connected, show_trainable))
    for i, cells in enumerate(rows):
        lines = [c.split("\n") for c in cells]
        for j in range(max(len(parts) for parts in lines)):
            print_fn(row([parts[j] if j < len(parts) else "" for parts in lines], "│", "│", "│"))
        if i < len(rows) - 1:
            print_fn(row(["─" * w for w in widths], "├", "┼", "┤", "─"))
    print_fn(row(["─" * w for w in widths], "└", "┴", "┘", "─"))
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    total = (trainable[0] + non_trainable[0], trainable[1] + non_trainable[1])
    for label, (count, size) in (("Total", total), ("Trainable", trainable),
                                 ("Non-trainable", non_trainable)):
        print_fn(f" {label} params: {count:,} ({_readable_bytes(size)})")


def _fit(text: str, width: int, right: bool) -> str:
    text = text if len(text) <= width else text[:max(width - 1, 0)] + "…"
    return text.rjust(width) if right else text.ljust(width)


def _count(weights) -> tuple[int, int]:
    return (sum(w.size for w in weights), sum(w.data.nbytes for w in weights))


def _readable_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024


def _nodes_of(model) -> list:
    """The model's graph nodes: the recorded graph of a functional model, else each layer's
    latest call."""
    if hasattr(model, "_nodes"):
        return [t.node for t in model._model_inputs] + model._nodes
    return [layer._inbound_nodes[-1] for layer in model.layers if layer._inbound_nodes]


def _has_branches(model) -> bool:
    nodes = getattr(model, "_nodes", None)
    if nodes is None:
        return False
    return len(model._model_inputs) > 1 or any(len(n.input_tensors) > 1 for n in nodes) or \
        len(set(map(id, [t.node for n in nodes for t in n.input_tensors]))) < len(nodes)


def _layer_rows(model, expand_nested, connected, show_trainable, prefix=""):
    """A row per layer, and per op called on symbolic tensors in a functional graph (a mask's
    NotEqual among them), in Keras's order; "-" as Trainable where there are no weights."""
    nodes = _nodes_of(model)
    for operation in getattr(model, "_operations", model.layers):
        if isinstance(operation, Node):
            cells = [f"{prefix}{_op_name(operation)} ({_op_name(operation, 0)})",
                     "\n".join(str(t.shape) for t in operation.outputs), "0"]
            cells += [_sources(operation)] if connected else []
            yield cells + (["-"] if show_trainable else [])
            continue
        layer = operation
        layer_nodes = [n for n in nodes if n.operation is layer]
        shapes = [str(t.shape) for n in layer_nodes for t in n.outputs] or ["?"]
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        cells = [f"{prefix}{layer.name} ({type(layer).__name__})", "\n".join(shapes), params]
        if connected:
            cells.append("\n".join(_sources(n) for n in layer_nodes) or "-")
        if show_trainable:
            cells.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        yield cells
        if expand_nested and hasattr(layer, "layers"):
            yield from _layer_rows(layer, expand_nested, connected, show_trainable, prefix + " └ ")


def _op_name(node: Node, part: int = 1) -> str:
    """The name (part 1) or Keras class (part 0) of an op call: as Keras names it where it
    has one (ops/op.py `symbolic_node`), else the op's class."""
    named = getattr(node, "op_name", None)
    if named is not None:
        return named[part]
    kind = type(node.operation).__name__
    return snake_case(kind) if part else kind


def _sources(node) -> str:
    parts = []
    for t in node.input_tensors:
        if isinstance(t, KerasTensor) and t.node is not None:
            producer = t.node.operation
            calls = getattr(producer, "_inbound_nodes", [t.node])
            call_index = next((i for i, node in enumerate(calls) if node is t.node), 0)
            name = getattr(producer, "name", None) if isinstance(producer, Layer) else None
            parts.append(f"{name or _op_name(t.node)}[{call_index}][{t.index}]")
    return ", ".join(parts) or "-"
