"""The scale a float input is fed on, where the model says it: a ``Normalization`` layer in
front of a Keras model (adapted to the training data, as the structured-data and regression
tutorials build one), a standardising ``Sub`` then ``Div`` (or ``Mul``) by constants at an
ONNX graph's input, or ``ai.onnx.ml``'s ``Scaler`` (scikit-learn's ``StandardScaler`` as
skl2onnx writes it). A case draws such an input ``mean + std × N(0, 1)``, feature by
feature: drawn N(0, 1), a feature of mean 3,000 and deviation 800 reaches the model as about
-3.75 in every row, a constant far from anything it was trained on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.sources.file.domains import (
    PASS_THROUGH,
    PIXEL_BOUND,
    PIXEL_INVERSE_SCALES,
    Domain,
    first_reading,
)

# Beyond this many values per input, a spread is left out (it travels in the case's JSON).
MAX_SPREAD_VALUES = 1024
# Keras' Normalization divides by max(sqrt(variance), epsilon); so does the draw.
KERAS_EPSILON = 1e-7
# Layers between the input and its Normalization that keep its shape and values.
VALUE_PASS_THROUGH = PASS_THROUGH - {"Masking", "Reshape", "Flatten", "Permute"}


@dataclass(frozen=True)
class Spread:
    """A float input's mean and standard deviation, broadcastable to it as the model holds
    them (a Keras Normalization's are (1, features)), and the layer or node that says so."""

    mean: list
    std: list
    consumer: str

    def note(self, name: str) -> str:
        return (f"{name}: drawn on the scale {self.consumer} standardises: its mean + its "
                f"standard deviation × N(0, 1), per feature (means {_span(self.mean)}, "
                f"deviations {_span(self.std)})")

    def attr(self) -> dict:
        return {"mean": self.mean, "std": self.std}


def spread(mean, std, consumer: str) -> Spread | None:
    """A Spread of these values, or None where they are not a usable one (not finite, not
    broadcastable together, or more than MAX_SPREAD_VALUES)."""
    try:
        mean, std = np.broadcast_arrays(np.asarray(mean, np.float64), np.asarray(std, np.float64))
    except ValueError:
        return None
    if mean.size > MAX_SPREAD_VALUES or not (np.isfinite(mean).all() and np.isfinite(std).all()):
        return None
    return Spread(mean.tolist(), np.abs(std).tolist(), consumer)


def spread_draw(x: np.ndarray, found: dict) -> np.ndarray:
    """``x`` (drawn N(0, 1)) on the scale ``found`` (a Spread's attr) gives; ``x`` itself
    where the two do not broadcast (a file given other shapes than it declares)."""
    mean, std = np.asarray(found["mean"]), np.asarray(found["std"])
    try:
        return np.broadcast_to(mean + std * x, x.shape).astype(x.dtype)
    except ValueError:
        return x


def _span(values: list) -> str:
    flat = np.asarray(values, np.float64).reshape(-1)
    low, high = float(flat.min()), float(flat.max())
    return f"{low:.4g}" if low == high else f"{low:.4g} to {high:.4g}"


# -- Keras (Keras 3 and tf_keras) -------------------------------------------------------------

def keras_spreads(model) -> list[Spread | None]:
    """Per input of a Keras model, the scale a Normalization reading it holds, or None."""
    return [first_reading(tensor, _normalization, VALUE_PASS_THROUGH) for tensor in model.inputs]


def _normalization(layer) -> Spread | None:
    # An inverting Normalization reads standardised values: N(0, 1) is their scale already.
    if type(layer).__name__ != "Normalization" or getattr(layer, "invert", False):
        return None
    try:
        mean = np.asarray(layer.mean, np.float64)
        variance = np.asarray(layer.variance, np.float64)
    except Exception:  # noqa: BLE001  (a layer never built or adapted holds no scale)
        return None
    std = np.maximum(np.sqrt(np.maximum(variance, 0.0)), KERAS_EPSILON)
    return spread(mean, std, f"Normalization {getattr(layer, 'name', '')!r}")


# -- graphs: ONNX, TFLite -------------------------------------------------------------------

@dataclass(frozen=True)
class GraphNode:
    """A node of a graph other than ONNX's, as ``graph_spreads`` reads it: its op in ONNX's
    spelling (a TFLite SUB is Sub), its tensors by name, and ``name`` as the file names it."""

    op_type: str
    input: tuple[str, ...]
    output: tuple[str, ...]
    name: str
    domain: str = ""


def graph_readers(nodes: list[GraphNode]) -> dict[str, list[GraphNode]]:
    """The nodes reading each tensor, in the graph's order."""
    readers: dict[str, list[GraphNode]] = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def graph_spreads(names: list[str], dtypes: list[str], values: dict,
                  readers: dict) -> list[Spread | None]:
    """Per input of a graph (an ONNX graph's nodes, or GraphNodes), the scale the graph
    standardises it from, or None: ``values`` its constants and ``readers`` the nodes
    reading each tensor (``harness.core.structure.models``)."""
    return [_graph_spread(name, values, readers) if np.dtype(dtype).kind == "f" else None
            for name, dtype in zip(names, dtypes)]


def _graph_spread(name: str, values: dict, readers: dict) -> Spread | None:
    for node in readers.get(name, []):
        if node.op_type == "Scaler" and node.domain == "ai.onnx.ml":
            found = _scaler(node)
        elif node.op_type == "Sub" and list(node.input[:1]) == [name] and node.input[1] in values:
            found = _sub_then_scale(node, values, readers)
        else:
            continue
        if found is not None:
            return found
    return None


def _scaler(node) -> Spread | None:
    """``ai.onnx.ml``'s Scaler: (x - offset) * scale."""
    floats = {a.name: np.asarray(a.floats, np.float64) for a in node.attribute}
    offset, scale = floats.get("offset"), floats.get("scale")
    if offset is None or scale is None or not scale.size or (scale == 0).any():
        return None
    return spread(offset, 1.0 / scale, _label(node))


def _sub_then_scale(sub, values: dict, readers: dict) -> Spread | None:
    """A Sub of a constant followed by a Div by one (torch's ``(x - mean) / std``) or a Mul
    by one (TensorFlow's Normalization after constant folding: ``* (1 / std)``)."""
    mean = values[sub.input[1]]
    for node in readers.get(sub.output[0], []):
        if (node.op_type not in ("Div", "Mul") or list(node.input[:1]) != [sub.output[0]]
                or len(node.input) < 2 or node.input[1] not in values):
            continue
        by = np.asarray(values[node.input[1]], np.float64)
        if by.size == 0 or (by == 0).any() or np.asarray(mean).dtype.kind != "f":
            return None
        return spread(mean, by if node.op_type == "Div" else 1.0 / by,
                      f"{_label(sub)} then {_label(node)}")
    return None


# Nodes between an image input and its rescaling that keep its values (a layout change).
GRAPH_VALUE_PASS_THROUGH = frozenset({"Transpose", "Cast", "Reshape", "Identity"})


def graph_pixels(names: list[str], dtypes: list[str], values: dict,
                 readers: dict) -> list[Domain | None]:
    """Per float input of a graph, raw 8-bit pixels where the graph first scales it by about
    1/255 (a Mul by a constant 1/255, 1/127.5 or 1/256, or a Div by 255: a Keras
    ``Rescaling`` as tf2onnx and the TFLite converter write it), else None."""
    return [_graph_pixels(name, values, readers, 0) if np.dtype(dtype).kind == "f" else None
            for name, dtype in zip(names, dtypes)]


def _graph_pixels(name: str, values: dict, readers: dict, depth: int) -> Domain | None:
    for node in readers.get(name, []):
        if node.op_type in GRAPH_VALUE_PASS_THROUGH and list(node.input[:1]) == [name] \
                and node.output and depth < 4:
            found = _graph_pixels(node.output[0], values, readers, depth + 1)
        elif node.op_type in ("Mul", "Div") and len(node.input) == 2:
            found = _rescaling(node, name, values)
        else:
            continue
        if found is not None:
            return found
    return None


def _rescaling(node, name: str, values: dict) -> Domain | None:
    others = [i for i in node.input if i != name]
    if len(others) != 1 or others[0] not in values or (node.op_type == "Div"
                                                       and node.input[0] != name):
        return None
    if np.asarray(values[others[0]]).dtype.kind != "f":
        return None
    by = np.asarray(values[others[0]], np.float64)
    if by.size != 1 or not np.isfinite(by).all() or by.item() == 0:
        return None
    inverse = by.item() if node.op_type == "Div" else 1.0 / by.item()
    if not PIXEL_INVERSE_SCALES[0] <= inverse <= PIXEL_INVERSE_SCALES[1]:
        return None
    return Domain(PIXEL_BOUND, "raw pixels", f"{_label(node)}, scale 1/{inverse:g}")


def _label(node) -> str:
    return f"{node.op_type} {node.name or (node.output[0] if node.output else '')!r}"
