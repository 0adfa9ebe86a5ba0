"""The ``onnx`` source: ONNX ops and graphs drawn directly, as every exporter writes them.

A spec of this source names an ONNX kind (``harness.sources.onnx.kinds``: one op, or a drawn
graph) with its node attributes under their ONNX names and its opset. The source builds the
model with ``onnx.helper`` (checked in full, outputs typed by shape inference), draws the
inputs from the spec's seed, and reads the model twice: onnxruntime with every graph
optimisation off, and ``onnx.reference.ReferenceEvaluator`` (the spec's semantics in NumPy).
When the two agree, onnxruntime's reading is the reference. When they disagree, the
reference evaluator's reading is the reference and onnxruntime's becomes the ``onnx`` leg,
which fails (a known issue pins which implementation is off); a converter that reproduces
onnxruntime's numbers then passes with a note, as for Keras' second readings.

Golden cases are stored in ONNX's backend-test layout (``model.onnx``,
``test_data_set_0/input_0.pb``, ``output_0.pb``) so that other tools can replay them.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np

from harness.converters import Artifact
from harness.core import registry
from harness.core.compare import worst_of
from harness.core.free_dims import declared_shape, further_sizes
from harness.core.registry import family_of
from harness.runtimes.onnx import load_onnx
from harness.runtimes.onnx_evaluated import evaluator_model
from harness.runtimes.onnxruntime import OnnxRuntimeRunner, missing_kernel
from harness.sources import SourceError, SourceReading, SourceRefusal
from harness.sources.onnx import forms
from harness.sources.onnx.build import (
    BATCH_PARAM,
    INPUT_DTYPES,
    INT_INPUTS,
    VALUE_RANGE,
    declare_outputs_as_read,
    fill_weights,
    redeclare_inputs,
)
from harness.sources.onnx.diagnose import NodeDiagnoser, diagnosable
from harness.sources.onnx.yardstick import Float64Model

EVALUATOR_READING = ("onnxruntime (optimisations off) differs from onnx's reference evaluator "
                     "(the reference)")
MODEL = "model.onnx"
DATA_SET = "test_data_set_0"  # the case's own shapes; test_data_set_<j>: further sizes
INTEGER_BOUND = 8  # integer inputs are uniform in [-8, 8]


class OnnxSource:
    name = "onnx"
    format = "onnx"
    default_paths = ("onnx>onnx2torch", "onnx>onnx2pytorch", "onnx>ort-optimized")
    kinds_module = "harness.sources.onnx.kinds"
    packages = ("onnx", "onnxruntime")

    def read(self, spec, *, policy, device: str = "cpu") -> SourceReading:
        """Builds the model (a free batch declared symbolic) and reads it at the case's input
        shapes and at each of its further sizes (``SourceReading.more``)."""
        kind = registry.get(spec.kind, self.name)
        try:
            model = kind.build_model(dict(spec.attrs), [tuple(s) for s in spec.input_shapes],
                                     spec.dtype)
            fill_weights(model, _rng(spec, "weights"))
            if kind.after_weights is not None:
                kind.after_weights(model, spec)
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(f"cannot build the ONNX model of {spec.describe()}: "
                              f"{type(exc).__name__}: {exc}") from exc
        built = model
        model, operands = forms.write(model, spec.attrs, free=bool(spec.free_dims))
        if spec.free_dims:
            model = declare_free(model, spec)

        def inputs_for(at) -> list[np.ndarray]:
            return [*make_inputs(at), *operands]  # the operands fed at run time come last

        inputs = inputs_for(spec)
        names = forms.runtime_inputs(model)
        reference, native, reading = self._reading(model, inputs, spec, policy, device)
        data = len(spec.input_shapes)  # the inputs before the fed operands
        wide = Float64Model(spec, kind, built, declare_free)

        def read_at(at, further):
            expected, own, _ = self._reading(model, further, at, policy, device)
            # That size's float64 reading fourth; where onnxruntime differs from the
            # reference evaluator there too, its reading is that size's second reading, fifth,
            # as ``native`` is at the first size.
            return (expected, wide.reading(further[:data], expected, first=False), own)

        def refusal(shapes, exc):
            return SourceError(f"at input shapes {_shapes(shapes)} (its free "
                               f"{'+'.join(spec.free_dims)}, declared {BATCH_PARAM!r}): {exc}")

        more = further_sizes(spec, read_at, refusal, catch=(SourceError,), inputs_for=inputs_for)
        if native is None and all(entry[4] is None for entry in more):
            # Both readings agree at every size: the outputs are declared as they read.
            model = declare_outputs_as_read(model, [reference, *(entry[2] for entry in more)])
        return SourceReading(Artifact("onnx", model, names), inputs, reference, native, reading,
                             more=more, yardstick=wide.reading(inputs[:data], reference))

    def _reading(self, model, inputs, spec, policy, device):
        """(the reference, onnxruntime's reading where it is not the reference, how they
        differ) at one size: onnxruntime's reading, or the reference evaluator's where the
        two disagree."""
        runtime = read_onnxruntime(model, inputs, spec)
        evaluator = read_evaluator(model, inputs)
        if evaluator is not None:
            tolerance = policy.for_spec(spec, self.name, device)
            if not worst_of(runtime, evaluator, tolerance).passed:
                return evaluator, runtime, EVALUATOR_READING
        return runtime, None, None

    def family(self, spec) -> str:
        """The report's family of a case, ``onnx-<op family>``: ONNX's op families share
        names with Keras' layer families (activations, pooling) but not their rows."""
        return f"onnx-{family_of(spec.kind, self.name) or 'model'}"

    def diagnoser(self, harness, spec, artifact: Artifact, inputs: list[np.ndarray]):
        if not diagnosable(artifact.model):
            return None
        return NodeDiagnoser(harness, spec, artifact.model, inputs)

    def store(self, reading: SourceReading, folder: Path, options=None) -> dict[str, Any]:
        """The model and its data sets in ONNX's backend-test layout: ``test_data_set_0``
        at the case's own shapes, ``test_data_set_<j>`` at its j-th further size (a free
        batch; the replay reads them from ``size_<j>/``, as for every source)."""
        model = reading.artifact.model
        (folder / MODEL).write_bytes(model.SerializeToString())
        sizes = [(reading.inputs, reading.reference),
                 *((entry[1], entry[2]) for entry in reading.more)]
        for j, (inputs, outputs) in enumerate(sizes):
            write_data_set(folder / data_set(j), model, inputs, outputs)
        return {}

    def stored(self, folder: Path) -> dict[str, Artifact]:
        model = load_onnx(folder / MODEL)
        return {self.name: Artifact("onnx", model, forms.runtime_inputs(model))}


def data_set(j: int) -> str:
    """The backend-test data set of a case's j-th size (0: its own shapes)."""
    return f"test_data_set_{j}"


def write_data_set(data: Path, model, inputs, outputs) -> None:
    """``input_<i>.pb`` and ``output_<i>.pb``: TensorProtos named after the graph's inputs and
    outputs."""
    from onnx import numpy_helper

    data.mkdir(exist_ok=True)
    for prefix, values, arrays in (("input", model.graph.input, inputs),
                                   ("output", model.graph.output, outputs)):
        for i, (value, x) in enumerate(zip(values, arrays)):
            tensor = numpy_helper.from_array(np.asarray(x), value.name)
            (data / f"{prefix}_{i}.pb").write_bytes(tensor.SerializeToString())


def declare_free(model, spec):
    """The model with the spec's free dimensions declared symbolic (its batch:
    ``dim_param`` ``N``, in each batched input, ``harness.core.free_dims.onnx_batched``) and its
    outputs typed again by shape inference."""
    declared = [[BATCH_PARAM if d is None else d for d in declared_shape(spec, i)]
                for i in range(len(spec.input_shapes))]
    try:
        return redeclare_inputs(model, declared)
    except SourceError as exc:
        raise SourceError(f"cannot declare the {'+'.join(spec.free_dims)} of "
                          f"{spec.describe()} free: {exc}") from exc


def _shapes(shapes) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


def _rng(spec, stream: str) -> np.random.Generator:
    return np.random.default_rng([spec.seed, zlib.crc32(f"onnx/{stream}".encode())])


def _per_input(attrs: dict[str, Any], key: str, count: int) -> list[Any]:
    values = list(attrs.get(key) or [])
    return values + [None] * (count - len(values))


def make_inputs(spec) -> list[np.ndarray]:
    """Seeded data per graph input in its dtype and range, then the spec's overrides.

    Floats are standard normal clipped to ±4, mapped into the input's ``value_range``
    (``positive``: |x| + 0.1; ``unit``: inside (-1, 1); ``nonzero``: |x| ≥ 0.1 keeping the
    sign; ``[lo, hi]``: affinely); integers are uniform in [-8, 8] (``nonzero``: 0 is 1),
    index inputs (``int_inputs``) uniform in [0, bound); booleans fair coins.
    """
    count = len(spec.input_shapes)
    dtypes = [d or spec.dtype for d in _per_input(spec.attrs, INPUT_DTYPES, count)]
    bounds = _per_input(spec.attrs, INT_INPUTS, count)
    ranges = _per_input(spec.attrs, VALUE_RANGE, count)
    rng = _rng(spec, "inputs")
    arrays = []
    for i, shape in enumerate(spec.input_shapes):
        dtype, bound, value_range = np.dtype(dtypes[i]), bounds[i], ranges[i]
        overrides = spec.input_overrides[i] if i < len(spec.input_overrides) else ()
        if bound is not None:
            x = rng.integers(0, int(bound), shape)
            flat = x.reshape(-1)
            for index, value in overrides:
                flat[index % max(flat.size, 1)] = int(value) % int(bound)
        elif dtype == np.bool_:
            x = rng.random(shape) < 0.5
            flat = x.reshape(-1)
            for index, value in overrides:
                flat[index % max(flat.size, 1)] = value > 0
        elif dtype.kind in "iu":
            low = 0 if dtype.kind == "u" else -INTEGER_BOUND
            x = rng.integers(low, INTEGER_BOUND + 1, shape)
            flat = x.reshape(-1)
            for index, value in overrides:
                flat[index % max(flat.size, 1)] = int(np.clip(round(value), low, INTEGER_BOUND))
            if value_range == "nonzero":
                x[x == 0] = 1
        else:
            x = np.clip(rng.standard_normal(shape), -4.0, 4.0)
            flat = x.reshape(-1)
            for index, value in overrides:
                flat[index % max(flat.size, 1)] = value
            x = _into_range(x, value_range)
        with np.errstate(over="ignore"):  # a huge override becomes ±inf on purpose (IsInf)
            arrays.append(np.array(x, dtype=dtype, order="C"))  # 0-d inputs stay 0-d
    return arrays


def _into_range(x: np.ndarray, value_range: Any) -> np.ndarray:
    if value_range is None:
        return x
    if value_range == "positive":
        return np.abs(x) + 0.1
    if value_range == "unit":
        return np.tanh(x) * 0.95
    if value_range == "nonzero":
        return np.where(x < 0, np.minimum(x, -0.1), np.maximum(x, 0.1))
    low, high = value_range
    return low + (np.tanh(x) + 1.0) / 2.0 * (high - low)


def read_onnxruntime(model, inputs: list[np.ndarray], spec) -> list[np.ndarray]:
    """onnxruntime on the CPU with every graph optimisation off: the model as written."""
    runner = OnnxRuntimeRunner("cpu")
    try:
        session = runner.session(model, "disable")
        names = [i.name for i in session.get_inputs()]
        return [np.asarray(o) for o in session.run(None, dict(zip(names, inputs)))]
    except Exception as exc:
        limit = missing_kernel(exc)
        if limit is not None:  # the reference's own release cannot run it: not a failure
            raise SourceRefusal(
                f"the reference, {limit['runtime']} {limit['version']} (optimisations off), "
                f"cannot run {spec.describe()}: {limit['message']}", environment=limit) from exc
        raise SourceError(f"onnxruntime (optimisations off) cannot run the ONNX model of "
                          f"{spec.describe()}: {type(exc).__name__}: {str(exc)[:600]}") from exc


def read_evaluator(model, inputs: list[np.ndarray]) -> list[np.ndarray] | None:
    """onnx's reference evaluator, given the model in the spelling it reads right
    (``evaluated.evaluator_model``); None when it does not implement an op of the model (it
    is then no second reading)."""
    from onnx.reference import ReferenceEvaluator

    try:
        evaluator = ReferenceEvaluator(evaluator_model(model))
        names = [i.name for i in model.graph.input]
        outputs = evaluator.run(None, dict(zip(names, inputs)))
    except Exception:
        return None
    return [np.asarray(o) for o in outputs]
