"""The model as onnx's reference evaluator is given it: the same graph, with what the evaluator
misreads written in an equivalent spelling that it reads right.

onnx's ReferenceEvaluator is the ONNX source's second reading, the one that decides where
onnxruntime disagrees with it. Where it cannot read a valid model at all, onnxruntime's reading
stands alone and a bug of onnxruntime there becomes the reference every converter is compared
with. So where the evaluator's failure is in the spelling, not in the semantics, it is given
the spelling it reads:

- Resize with negative ``axes`` (opset 18 on; the spec allows [-r, r-1]): the evaluator's Resize
  (onnx/reference/ops/op_resize.py) lists the axes not in ``axes`` by comparing non-negative
  dims with the attribute as written, so a negative axis is listed twice and ``np.transpose``
  raises "axes don't match array". Written non-negative, it reads the node as the spec says.
  Known issue ``onnx-reference-resize-negative-axes``.
- A linear Resize of opset 10 (``X, scales``; x_original = x_resized / scale): the evaluator's
  one Resize reads opset 11's operands (``X, roi, scales, sizes``), takes the scales for roi
  and raises. Written as opset 11 writes the same resize (``X, "", scales`` with
  ``coordinate_transformation_mode="asymmetric"``), it reads the node as opset 10 defines it.
  A nearest Resize-10 is left as written: opset 10 does not say how it rounds, so there is no
  spelling to give it.
- OneHot with indices of a non-integer type: the spec casts them to int64 before use
  (truncating, as Cast does), so 1.5 selects class 1; the evaluator's OneHot
  (onnx/reference/ops/op_one_hot.py) compares them with the classes as they are, and a
  non-integer index selects none. Given a ``Cast`` to int64 in front of the node, it reads the
  node as the spec says. Known issue ``onnx-reference-onehot-float-indices-uncast``.

``evaluator_model`` is self-contained (its imports inside), as a reproducer embeds its source
(harness.sources.onnx.repro) to read a model as parity does.
"""

from __future__ import annotations


def evaluator_model(model):
    """``model``, or a copy of it with each Resize's negative axes made non-negative where its
    input's rank is known (from shape inference), each linear Resize of opset 10 written
    with the operands and coordinate mode of opset 11, and each OneHot's non-integer indices
    cast to int64 in front of it; ``model`` itself where nothing is rewritten."""
    import onnx
    from onnx import helper

    def every_graph(graph):
        found = [graph]
        for node in graph.node:
            for attribute in node.attribute:
                subs = [attribute.g] if attribute.HasField("g") else list(attribute.graphs)
                for sub in subs:
                    found += every_graph(sub)
        return found

    def negative_axes(node):
        for attribute in node.attribute:
            if attribute.name == "axes" and any(axis < 0 for axis in attribute.ints):
                return attribute
        return None

    def linear_resize_10(node):
        mode = next((a.s for a in node.attribute if a.name == "mode"), b"nearest")
        return len(node.input) == 2 and mode == b"linear"

    def resizes(graph):
        return [node for node in graph.node
                if node.op_type == "Resize" and node.domain in ("", "ai.onnx")]

    def one_hot(node):
        return node.op_type == "OneHot" and node.domain in ("", "ai.onnx")

    integer_types = {onnx.TensorProto.INT8, onnx.TensorProto.INT16, onnx.TensorProto.INT32,
                     onnx.TensorProto.INT64, onnx.TensorProto.UINT8, onnx.TensorProto.UINT16,
                     onnx.TensorProto.UINT32, onnx.TensorProto.UINT64}
    typed_inputs = {}

    def float_indices(node, graph):
        """Whether the OneHot's indices are of a type it must cast (a graph input or an
        initializer of a non-integer type; a computed tensor's type is inferred once)."""
        name = node.input[0]
        for value in graph.input:
            if value.name == name:
                return value.type.tensor_type.elem_type not in integer_types
        for tensor in graph.initializer:
            if tensor.name == name:
                return tensor.data_type not in integer_types
        if not typed_inputs:
            try:
                typed = onnx.shape_inference.infer_shapes(model)
            except Exception:  # noqa: BLE001 (an untypable model is left as written)
                typed = model
            typed_inputs.update({value.name: value.type.tensor_type.elem_type
                                 for g in every_graph(typed.graph)
                                 for value in [*g.input, *g.value_info, *g.output]})
        elem_type = typed_inputs.get(name)
        return elem_type not in (None, onnx.TensorProto.UNDEFINED, *integer_types)

    opset = next((entry.version for entry in model.opset_import
                  if entry.domain in ("", "ai.onnx")), None)
    early = opset == 10 and any(linear_resize_10(node) for graph in every_graph(model.graph)
                                for node in resizes(graph))
    negative = any(negative_axes(node) is not None for graph in every_graph(model.graph)
                   for node in resizes(graph))
    uncast = any(one_hot(node) and float_indices(node, graph)
                 for graph in every_graph(model.graph) for node in graph.node)
    if not (early or negative or uncast):
        return model
    ranks = {}
    if negative:
        try:
            typed = onnx.shape_inference.infer_shapes(model)
        except Exception:  # noqa: BLE001 (an untypable model is left as written)
            typed = None
        for graph in every_graph(typed.graph) if typed is not None else ():
            for value in [*graph.input, *graph.value_info, *graph.output]:
                tensor = value.type.tensor_type
                if value.type.HasField("tensor_type") and tensor.HasField("shape"):
                    ranks[value.name] = len(tensor.shape.dim)
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for graph in every_graph(copy.graph):
        for node in resizes(graph):
            if early and linear_resize_10(node):
                # Resize-10 (X, scales) maps x_resized to x_resized / scale: opset 11's
                # asymmetric mode. The evaluator reads the second operand as roi.
                node.input[:] = [node.input[0], "", node.input[1]]
                node.attribute.append(helper.make_attribute("coordinate_transformation_mode",
                                                            "asymmetric"))
                continue
            attribute = negative_axes(node)
            rank = ranks.get(node.input[0]) if attribute is not None else None
            if rank is None:
                continue
            written = [axis + rank if axis < 0 else axis for axis in attribute.ints]
            attribute.CopyFrom(helper.make_attribute("axes", written))
        if uncast:
            nodes = []
            for node in graph.node:
                if one_hot(node) and float_indices(node, graph):
                    cast = f"{node.input[0]}_as_int64_{len(nodes)}"
                    nodes.append(helper.make_node("Cast", [node.input[0]], [cast],
                                                  to=onnx.TensorProto.INT64))
                    node.input[0] = cast
                nodes.append(node)
            if len(nodes) > len(graph.node):
                kept = [onnx.NodeProto() for _ in nodes]
                for new, node in zip(kept, nodes):
                    new.CopyFrom(node)
                del graph.node[:]
                graph.node.extend(kept)
    return copy
