"""The ONNX source's float64 yardstick: a drawn case's model built again in float64 (same
nodes, the float32 model's weights and inputs widened exactly), read by onnx's reference
evaluator, with its error model: the same read with every weight and input moved by float32's
unit roundoff (``harness.core.yardstick``, docs/tolerances.md).

The error model is what matters for one op: a GroupNormalization of a group of equal values
divides by sqrt(0 + epsilon), so storing its inputs in float32 alone moves the output by
about 1e-4, and a correct converter whose kernel is as well conditioned as the op (torch's
fused group_norm) sits that far from onnxruntime. Without the model the tolerance alone
called that a wrong conversion."""

from __future__ import annotations

import numpy as np

from harness.core.yardstick import checked, model_rng, note_missing, perturbed, with_model
from harness.sources.onnx import forms
from harness.sources.onnx.build import WEIGHT_PREFIX, WEIGHT_ROLES

WIDE = "float64"
# Attributes that name the precision of a computation inside the op: the float64 build
# computes them in float64 (GroupNormalization's stash_type 1 casts to float32 and back).
STASH_TYPE = "stash_type"
DOUBLE = 11  # onnx.TensorProto.DOUBLE


def onnx_reading(spec, kind, built, inputs: list[np.ndarray], reference: list[np.ndarray],
                 read) -> list[np.ndarray] | None:
    """The float64 outputs and the error model's of the case whose model ``built`` is (the
    float32 model with its weights, before the operand forms are written), on the case's own
    ``inputs`` (its data, without the fed operands); ``read(model, inputs)`` is onnx's
    reference evaluator (None where it cannot run the model). None where there is none, and
    ``harness.core.yardstick.missing_reason`` says why."""
    if spec.dtype != "float32":
        note_missing(spec, f"the case's dtype is {spec.dtype}: the ONNX source makes a float64 "
                           f"yardstick for float32 cases only")
        return None
    exact = sorted({str(y.dtype) for y in reference if y.dtype.kind not in "fc"})
    if exact:  # an index, a mask: compared exactly, and built in float64 for nothing
        note_missing(spec, f"the ONNX model has outputs that are not floats "
                           f"({', '.join(exact)}), which a float64 reading does not widen")
        return None
    try:
        model64, fed = _widened(spec, kind, built)
    except Exception as exc:  # a kind that does not build in float64, or builds otherwise
        note_missing(spec, f"no float64 reading: the ONNX model does not build again in "
                           f"float64 ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
        return None
    data = _wide_inputs(model64, inputs)
    outputs = _read(spec, model64, [*data, *fed], read)
    if outputs is None:
        return None
    rng = model_rng(spec)
    moved = _moved_weights(model64, rng)
    rounded = _read(spec, moved, [*perturbed(data, "float32", rng), *fed], read)
    return None if rounded is None else with_model(outputs, rounded)


def _widened(spec, kind, built):
    """The case's model built in float64, its float initializers the float32 model's
    (widened, so exactly the same numbers), written in the case's forms; and the operands
    those forms feed."""
    attrs = dict(spec.attrs)
    if STASH_TYPE in attrs:
        attrs[STASH_TYPE] = DOUBLE
    model64 = kind.build_model(attrs, [tuple(s) for s in spec.input_shapes], WIDE)
    _copy_weights(built, model64)
    model64, fed = forms.write(model64, attrs, free=bool(spec.free_dims))
    if spec.free_dims:
        from harness.sources.onnx import declare_free

        model64 = declare_free(model64, spec)
    return model64, fed


def _copy_weights(source, target) -> None:
    from onnx import numpy_helper

    from harness.core.structure.models import graphs

    for graph32, graph64 in zip(graphs(source.graph), graphs(target.graph), strict=True):
        values = {t.name: numpy_helper.to_array(t) for t in graph32.initializer}
        for i, tensor in enumerate(graph64.initializer):
            wide = numpy_helper.to_array(tensor)
            value = values.get(tensor.name)
            if value is None or value.shape != wide.shape:
                raise ValueError(f"initializer {tensor.name!r} differs between the builds")
            if value.dtype == np.float32 and wide.dtype == np.float64:
                value = value.astype(np.float64)
            graph64.initializer[i].CopyFrom(numpy_helper.from_array(value, tensor.name))


def _wide_inputs(model64, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The case's inputs, each float32 one widened where the float64 model reads float64."""
    from onnx import TensorProto

    declared = [i.type.tensor_type.elem_type for i in model64.graph.input]
    return [x.astype(np.float64) if x.dtype == np.float32 and kind == TensorProto.DOUBLE
            else x for x, kind in zip(inputs, declared)]


def _moved_weights(model64, rng: np.random.Generator):
    """A copy of the float64 model whose weights (the initializers a role names) are moved
    by float32's unit roundoff; constants of the op (axes, a Pow's exponent, a Resize's
    scales) are the case's, not rounded data."""
    import onnx
    from onnx import numpy_helper

    from harness.core.structure.models import graphs

    moved = onnx.ModelProto()
    moved.CopyFrom(model64)
    for graph in graphs(moved.graph):
        for i, tensor in enumerate(graph.initializer):
            if not _is_weight(tensor.name):
                continue
            value = numpy_helper.to_array(tensor)
            if value.dtype.kind == "f":
                (value,) = perturbed([value], "float32", rng)
                graph.initializer[i].CopyFrom(numpy_helper.from_array(value, tensor.name))
    return moved


def _is_weight(name: str) -> bool:
    return (name.startswith(WEIGHT_PREFIX) and "_" in name
            and name.rsplit("_", 1)[1] in WEIGHT_ROLES)


def _read(spec, model64, inputs, read) -> list[np.ndarray] | None:
    try:
        outputs = read(model64, inputs)
    except Exception as exc:
        note_missing(spec, f"no float64 reading: {type(exc).__name__}: {exc}")
        return None
    if outputs is None:
        note_missing(spec, "no float64 reading: onnx's reference evaluator cannot run the "
                           "model in float64")
        return None
    try:
        return checked(outputs, "the ONNX model")
    except ValueError as exc:
        note_missing(spec, str(exc))
        return None
