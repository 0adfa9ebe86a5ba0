"""The ONNX source's float64 yardstick: a drawn case's model built again in float64 (same
nodes, the float32 model's weights and inputs widened exactly), read by onnx's reference
evaluator, with its error model: the same read with every weight and input moved by float32's
unit roundoff (``harness.core.yardstick``, docs/tolerances.md).

The error model is what matters for one op: a GroupNormalization of a group of equal values
divides by sqrt(0 + epsilon), so storing its inputs in float32 alone moves the output by
about 2e-5, and a correct converter whose kernel is as well conditioned as the op (torch's
fused group_norm) sits that far from onnxruntime. Without the model the tolerance alone
called that a wrong conversion."""

from __future__ import annotations

import numpy as np

from harness.core.structure.models import graphs
from harness.core.yardstick import (
    AGREEMENT,
    NotFloat64,
    checked,
    distance,
    model_rng,
    note_missing,
    perturbed,
    with_model,
)
from harness.runtimes.onnx_evaluated import evaluator_model
from harness.sources.onnx import forms
from harness.sources.onnx.build import weight_role

WIDE = "float64"
# Attributes that name the precision of a computation inside the op: the float64 build
# computes them in float64 (GroupNormalization's stash_type 1 casts to float32 and back).
STASH_TYPE = "stash_type"
DOUBLE = 11  # onnx.TensorProto.DOUBLE


class Float64Model:
    """The case's model built once in float64 (``_widened``) and read by onnx's reference
    evaluator at each of the case's sizes; where it cannot be, ``missing`` says why."""

    def __init__(self, spec, kind, built, declare_free):
        """``built``: the float32 model with its weights, before the operand forms are
        written; ``declare_free(model, spec)``: the model with the case's free dimensions
        declared, as the source declares them."""
        self.spec, self.evaluator, self.fed, self.missing = spec, None, [], None
        if spec.dtype != "float32":
            self.missing = (f"the case's dtype is {spec.dtype}: the ONNX source makes a "
                            f"float64 yardstick for float32 cases only")
            return
        try:
            model64, self.fed = _widened(spec, kind, built, declare_free)
            self.weights = _weights(model64)
            self.declared = _declared(model64)
            self.evaluator = _evaluator(model64)
        except Exception as exc:  # a kind that does not build in float64, or builds otherwise
            self.missing = (f"no float64 reading: the ONNX model does not build again in "
                            f"float64 ({type(exc).__name__}: "
                            f"{(str(exc).splitlines() or [''])[0][:200]})")

    def reading(self, inputs: list[np.ndarray], reference: list[np.ndarray],
                first: bool = True) -> list[np.ndarray] | None:
        """The float64 outputs and the error model's on the case's ``inputs`` at one size (its
        data, without the fed operands); None where there is none, and for the case's
        ``first`` size ``harness.core.yardstick.missing_reason`` says why."""
        why = self.missing or _not_floats(reference)
        if why is None:
            try:
                return self._read(inputs, reference)
            except NotFloat64 as exc:
                why = str(exc)
            except Exception as exc:  # noqa: BLE001 (onnx's evaluator fails as it fails)
                why = (f"no float64 reading: onnx's reference evaluator cannot run the model "
                       f"in float64 ({type(exc).__name__}: "
                       f"{(str(exc).splitlines() or [''])[0][:200]})")
        if first:
            note_missing(self.spec, why)
        return None

    def _read(self, inputs: list[np.ndarray], reference: list[np.ndarray]) -> list[np.ndarray]:
        data = [x.astype(np.float64) if x.dtype == np.float32 and declared == DOUBLE else x
                for x, declared in zip(inputs, self.declared)]
        outputs = checked(self._run(data, {}), "the ONNX model")
        apart = distance(outputs, reference)
        if apart > AGREEMENT:
            raise NotFloat64(f"no float64 reading: in float64 the evaluator lands {apart:.3g} of "
                             f"the outputs' scale from the reference, beyond float32 rounding: "
                             f"not the same computation")
        rng = model_rng(self.spec)
        # Feeds take the place of the main graph's initializers of the same names.
        moved = dict(zip(self.weights, perturbed(list(self.weights.values()), "float32", rng)))
        rounded = self._run(perturbed(data, "float32", rng), moved)
        return with_model(outputs, checked(rounded, "the error model"))

    def _run(self, data, weights) -> list[np.ndarray]:
        feeds = dict(zip(self.evaluator.input_names, [*data, *self.fed]))
        return [np.asarray(y) for y in self.evaluator.run(None, {**feeds, **weights})]


def _not_floats(reference) -> str | None:
    exact = sorted({str(y.dtype) for y in reference if y.dtype.kind not in "fc"})
    if exact:  # an index, a mask: compared exactly, and built in float64 for nothing
        return (f"the ONNX model has outputs that are not floats ({', '.join(exact)}), which "
                f"a float64 reading does not widen")
    return None


def _evaluator(model64):
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(evaluator_model(model64))


def _declared(model64) -> list[int]:
    return [i.type.tensor_type.elem_type for i in model64.graph.input]


def _weights(model64) -> dict[str, np.ndarray]:
    """The main graph's float weights (the initializers a weight role names), which the error
    model moves; constants of the op (axes, a Pow's exponent, a Resize's scales) are the
    case's, not rounded data."""
    from onnx import numpy_helper

    found = {}
    for tensor in model64.graph.initializer:
        if weight_role(tensor.name) is not None:
            value = numpy_helper.to_array(tensor)
            if value.dtype.kind == "f":
                found[tensor.name] = value
    return found


def _widened(spec, kind, built, declare_free):
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
        model64 = declare_free(model64, spec)
    return model64, fed


def _copy_weights(source, target) -> None:
    from onnx import numpy_helper

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

