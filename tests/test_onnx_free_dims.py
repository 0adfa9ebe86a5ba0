"""A free batch on the onnx source: which dimension is the batch, the symbolic declaration,
the reading at every size, a stage that bakes the batch in, and the golden store's further
sizes in ONNX's backend-test layout."""

from __future__ import annotations

import numpy as np
import pytest

from harness import converters, golden, sources
from harness.converters import Artifact
from harness.core import axes, free_dims, registry
from harness.core.free_dims import BATCH
from harness.core.spec import LayerSpec
from harness.core.strategies import sample
from harness.core.tolerance import TolerancePolicy
from harness.run.pipeline import Harness
from harness.sources.onnx import axes as onnx_axes
from harness.sources.onnx import data_set, make_inputs
from harness.tools.measure_free_dims import measure_onnx
from tests.fakes import Stage

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

SOURCE = "onnx"
# Flatten(axis=1) → Gemm, as exporters write a classifier head: the batch passes through.
FLATTEN_GEMM = LayerSpec("FlattenGemm", {"opset": 17, "graph_outputs": [1], "nodes": [
    {"kind": "Flatten", "attrs": {"opset": 17, "axis": 1}, "inputs": ["input_0"]},
    {"kind": "Gemm", "attrs": {"opset": 17, "alpha": 1.0, "beta": 1.0, "transB": 1},
     "inputs": [0, {"weight": [3, 4], "role": "kernel"}, {"weight": [3], "role": "bias"}]}]},
    ((1, 2, 2),), seed=5, source=SOURCE)
ADD = LayerSpec("Add", {"opset": 17}, ((1, 3), (3,)), seed=2, source=SOURCE)


def kind(name: str):
    return registry.get(name, SOURCE)


def read(spec):
    from harness.sources import get

    return get(SOURCE).read(spec, policy=TolerancePolicy())


def dims(value) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_the_batch_is_dimension_0_of_the_inputs_shaped_like_the_first():
    assert onnx_axes.onnx_batched([(1, 3), (3,)]) == [True, False]  # a broadcast operand
    assert onnx_axes.onnx_batched([(2, 3), (1, 3)]) == [True, False]
    assert onnx_axes.onnx_batched([(2, 3), (2, 1)]) == [True, True]
    assert onnx_axes.onnx_batched([()]) == [False]
    # A recurrent op in layout 0: X's first dimension only, not its states' directions.
    assert onnx_axes.onnx_batched([(2, 1, 3), (2, 1, 2)], "LSTM", {"layout": 0}) == [True, False]
    free = free_dims.with_free(ADD, (BATCH,))
    assert free.more_shapes == (((2, 3), (3,)),)
    assert free_dims.declared_shape(free, 0) == (None, 3)
    assert free_dims.declared_shape(free, 1) == (3,)


def test_a_drawn_case_declares_its_batch_symbolic():
    spec = next(s for s in sample("Relu", 3, source=SOURCE, axis=axes.FREE) if s.free_dims)
    assert spec.free_dims == (BATCH,) and spec.more_shapes
    model = read(spec).artifact.model
    assert dims(model.graph.input[0]) == ["N", *spec.input_shapes[0][1:]]
    assert dims(model.graph.output[0])[0] == "N"
    plain = read(LayerSpec("Relu", spec.attrs, spec.input_shapes, spec.dtype, spec.seed,
                           source=SOURCE)).artifact.model
    assert dims(plain.graph.input[0]) == list(spec.input_shapes[0])  # fixed as before


def test_the_source_reads_every_size_from_one_model():
    spec = free_dims.with_free(FLATTEN_GEMM, (BATCH,), batch=3)
    reading = read(spec)
    ((shapes, inputs, expected, *_),) = reading.more
    assert shapes == ((3, 2, 2),)
    np.testing.assert_array_equal(inputs[0], make_inputs(spec.at_shapes(shapes))[0])
    assert reading.reference[0].shape == (1, 3) and expected[0].shape == (3, 3)
    # The same weights at both sizes: a sample's output does not depend on the batch.
    again = read(spec.at_shapes(((1, 2, 2),)))
    np.testing.assert_array_equal(again.reference[0], reading.reference[0])
    alone = read(LayerSpec(**{**_fields(spec.at_shapes(shapes)), "free_dims": ()}))
    np.testing.assert_allclose(expected[0], alone.reference[0], rtol=1e-6, atol=1e-6)


def _fields(spec: LayerSpec) -> dict:
    from dataclasses import fields

    return {f.name: getattr(spec, f.name) for f in fields(spec)}


BAKED = "onnx-baked-batch"


def baked_batch(artifact: Artifact) -> Artifact:
    """Every symbolic dimension of the graph's inputs frozen at 1, as a converter that traced
    the model at batch 1 writes it."""
    model = onnx.ModelProto()
    model.CopyFrom(artifact.model)
    for value in model.graph.input:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_value = 1
    return Artifact("onnx", model, list(artifact.input_names))


@pytest.fixture
def baked():
    converters.register(Stage(BAKED, "onnx", "onnx", baked_batch, packages=("onnx",)))
    yield BAKED
    converters.unregister(BAKED)


def test_a_stage_that_bakes_the_batch_fails_at_the_size_that_broke_it(baked):
    spec = free_dims.with_free(FLATTEN_GEMM, (BATCH,), batch=2)
    legs = {leg.leg: leg for leg in Harness(f"onnx>{baked},onnx>ort-optimized",
                                            known_issues=[]).run(spec).legs}
    assert legs["onnx>ort-optimized"].verdict == "pass"
    broken = legs[f"onnx>{baked}"]
    assert broken.verdict == "error", broken.message
    assert broken.metrics["at_shapes"] == [[2, 2, 2]]
    assert broken.message.startswith("at input shapes (2, 2, 2) (passed at (1, 2, 2))")
    # The same case with its batch fixed never meets the further size.
    fixed = Harness(f"onnx>{baked}", known_issues=[]).run(FLATTEN_GEMM)
    assert [leg.verdict for leg in fixed.legs] == ["pass"]


def store(tmp_path, spec):
    reading = read(spec)
    entry = golden.write_case(tmp_path, reading, spec, {"source": SOURCE})
    golden.write_manifest(tmp_path, {spec.case_id: entry})
    return reading, entry


def test_the_golden_store_round_trips_a_further_size(tmp_path):
    from onnx import numpy_helper

    spec = free_dims.with_free(FLATTEN_GEMM, (BATCH,), batch=2)
    reading, entry = store(tmp_path, spec)
    assert {"test_data_set_1/input_0.pb", "test_data_set_1/output_0.pb",
            "size_1/inputs.npz", "size_1/expected.npz"} <= set(entry)
    folder = tmp_path / golden.CASES / spec.case_id
    stored = onnx.TensorProto()
    stored.ParseFromString((folder / data_set(1) / "output_0.pb").read_bytes())
    np.testing.assert_array_equal(numpy_helper.to_array(stored), reading.more[0][2][0])
    case = golden.load_case(golden.read_manifest(tmp_path), spec.case_id)
    ((shapes, inputs, expected, *_),) = case.more
    assert shapes == spec.more_shapes[0] and inputs[0].shape == (2, 2, 2)
    harness = Harness("onnx>ort-optimized", known_issues=[])
    assert [leg.verdict for leg in case.replay(harness).legs] == ["pass"]
    case.more = ((shapes, inputs, [expected[0] + 1.0]),)  # the replay compares there too
    (leg,) = case.replay(harness).legs
    assert leg.verdict == "fail" and leg.metrics["at_shapes"] == [[2, 2, 2]]


def test_a_truncated_or_missing_further_size_file_names_the_case_and_file(tmp_path):
    spec = free_dims.with_free(FLATTEN_GEMM, (BATCH,), batch=2)
    store(tmp_path, spec)
    folder = tmp_path / golden.CASES / spec.case_id
    pb = folder / data_set(1) / "input_0.pb"
    pb.write_bytes(pb.read_bytes()[:10])
    _, problems = golden.verify(tmp_path, deep=False)
    assert [str(p) for p in problems] == [
        f"case {spec.case_id}: {golden.CASES}/{spec.case_id}/test_data_set_1/input_0.pb: "
        "checksum mismatch" + str(problems[0]).split("checksum mismatch", 1)[1]]
    (folder / "size_1" / "expected.npz").unlink()
    with pytest.raises(golden.GoldenError, match=f"{spec.case_id}/size_1/expected.npz: missing"):
        golden.load_case(golden.read_manifest(tmp_path), spec.case_id, verify=False)


def test_a_configuration_that_cannot_have_a_free_batch_is_drawn_with_none():
    # Over the batch: a Concat along axis 0, a Softmax over it, a Reshape to a constant
    # shape that holds it, a reduction of it.
    assert free_dims.applicable(kind("Concat"), {"opset": 17, "axis": 0},
                                [(1, 2), (1, 2)]) == ()
    assert free_dims.applicable(kind("Concat"), {"opset": 17, "axis": 1},
                                [(1, 2), (1, 2)]) == (BATCH,)
    assert free_dims.applicable(kind("Softmax"), {"opset": 17, "axis": 0}, [(2, 3)]) == ()
    constant = {"opset": 17, "allowzero": 0,
                "operands": ["in", {"const": [1, 6], "dtype": "int64"}]}
    assert free_dims.applicable(kind("Reshape"), constant, [(1, 2, 3)]) == ()
    copied = {**constant, "operands": ["in", {"const": [0, 6], "dtype": "int64"}]}
    assert free_dims.applicable(kind("Reshape"), copied, [(1, 2, 3)]) == (BATCH,)
    reduce = {"opset": 17, "keepdims": 1, "operands": ["in", {"const": [0], "dtype": "int64"}]}
    assert free_dims.applicable(kind("ReduceSum"), reduce, [(1, 3)]) == ()
    # The simplest Gemm of two inputs, (1, 1) x (1, 1), cannot have it free (its K would
    # follow the batch): drawn along the free axis, another configuration is drawn instead.
    gemm_attrs = {"opset": 17, "operands": ["in", "in"]}
    assert free_dims.applicable(kind("Gemm"), gemm_attrs, [(1, 1), (1, 1)]) == ()
    for gemm in sample("Gemm", 3, source=SOURCE, axis=axes.FREE):
        assert gemm.free_dims == (BATCH,) and gemm.more_shapes
        assert free_dims.applicable(kind("Gemm"), gemm.attrs, gemm.input_shapes) == (BATCH,)
    assert axes.FREE not in axes.admitted(kind("Shape")).names


def test_admission_matches_measurement():
    for name in ("Relu", "Concat", "FlattenGemm"):
        assert BATCH in free_dims.admitted(kind(name))
        tried, failures = measure_onnx(name, 3)
        assert tried and not failures, failures
    # measured: ScatterND's constant indices pin the batch, which shape inference misses
    assert free_dims.admitted(kind("ScatterND")) == ()
    assert measure_onnx("ScatterND", 3)[1]


def test_an_einsum_batch_is_the_subscript_the_output_starts_with():
    """'ij,jk->ik' on (3, 2), (3, 1): the second operand's first dimension is j, tied to the
    first's second, not the batch (shape inference does not check it; onnxruntime refuses
    the further size)."""
    assert onnx_axes.onnx_batched([(3, 2), (3, 1)], "Einsum", {"equation": "ij,jk->ik"}) == [
        True, False]
    assert onnx_axes.onnx_batched([(2, 3, 4), (2, 4, 5)], "Einsum",
                                  {"equation": "bij,bjk->bik"}) == [True, True]
    assert onnx_axes.onnx_batched([(2, 3)], "Einsum", {"equation": "ij->ji"}) == [False]
    assert onnx_axes.onnx_batched([(2, 2)], "Einsum", {"equation": "ii->i"}) == [False]
    for spec in sample("Einsum", 6, source=SOURCE, axis=axes.FREE):
        assert spec.free_dims == (BATCH,)
        read = sources.get(SOURCE).read(spec, policy=TolerancePolicy())
        assert [x.shape for x in read.more[0][1]] == [tuple(s) for s in spec.more_shapes[0]]


def test_a_pad_over_the_batch_keeps_it_fixed():
    """Padding or cropping dimension 0 shifts samples along the batch: no free batch there."""
    import harness.sources.onnx.kinds  # noqa: F401  (registers the ONNX ops)

    def pad(pads):
        return {"opset": 17, "mode": "edge",
                "operands": ["in", {"const": pads, "dtype": "int64"}]}

    assert onnx_axes.onnx_mixes_batch("Pad", pad([1, 0, 0, 0, -1, 0, 0, 0]), [(2, 1, 1, 1)])
    assert not onnx_axes.onnx_mixes_batch("Pad", pad([0, 1, 0, 0, 0, 1, 0, 0]), [(2, 1, 1, 1)])


def test_a_gather_nd_without_batch_dims_indexes_the_batch():
    """GatherND(batch_dims=0) index tuples start at dimension 0: indices drawn valid for one
    batch are out of range at a smaller one (dev seed 8025: onnxruntime refused the source at
    batch 1, "invalid index found"). With batch_dims 1 the batch follows."""
    fed = {"opset": 17, "batch_dims": 0, "input_dtypes": [None, "int64"],
           "int_inputs": [None, 3]}
    assert onnx_axes.onnx_mixes_batch("GatherND", fed, [(3, 1, 1), (3, 1, 1)])
    assert free_dims.applicable(kind("GatherND"), fed, [(3, 1, 1), (3, 1, 1)]) == ()
    batched = {**fed, "batch_dims": 1, "int_inputs": [None, 2]}
    assert free_dims.applicable(kind("GatherND"), batched, [(3, 2, 2), (3, 1, 1)]) == (BATCH,)
    for spec in sample("GatherND", 6, source=SOURCE, axis=axes.FREE):
        assert spec.attrs.get("batch_dims")
        read = sources.get(SOURCE).read(spec, policy=TolerancePolicy())
        assert [x.shape for x in read.more[0][1]] == [tuple(s) for s in spec.more_shapes[0]]


def test_an_output_inference_cannot_shape_keeps_its_rank_so_the_model_is_valid():
    """A Split whose sizes are fed at run time: shape inference cannot shape its output at a
    free batch, and a main graph's output must still declare a shape (onnx.checker; the ONNX
    simplifier refuses the model otherwise), so it keeps its rank with unknown dimensions."""
    spec = LayerSpec.from_json({
        "schema": "parity.spec/1", "kind": "Split", "source": SOURCE, "dtype": "int32",
        "attrs": {"axis": -2, "form_operands": "fed", "form_opset": "drawn", "opset": 15,
                  "operands": ["in", {"const": [1], "dtype": "int64"}]},
        "input_shapes": [[2, 1, 3]], "seed": 3641, "free_dims": ["batch"],
        "more_shapes": [[[3, 1, 3]]]})
    model = read(spec).artifact.model
    onnx.checker.check_model(model, full_check=True)
    (output,) = model.graph.output
    assert dims(output) == [0, 0, 0]  # three dimensions, none known
    assert not any(d.HasField("dim_value") or d.HasField("dim_param")
                   for d in output.type.tensor_type.shape.dim)
