"""onnxruntime's graph optimiser as an axis of the Keras paths (#16).

An ONNX leg reads the model as written (optimisations off); ``ort-optimized`` after it reads
the same model with every optimisation on, so a failure there and not upstream is the
optimiser's. Real onnxruntime throughout; the blame case is a hand-written ONNX graph that
onnxruntime's optimiser breaks, replayed as a golden case's stored tf2onnx artifact is.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

from harness.converters import DEFAULT_PATHS, Artifact, ConvertOptions, get, parse_paths  # noqa: E402
from harness.core import known_issues  # noqa: E402
from harness.run.pipeline import Harness  # noqa: E402
from harness.runtimes import RunError  # noqa: E402
from harness.runtimes.onnxruntime import OnnxRuntimeRunner, optimization_of  # noqa: E402

OPTIMISER_ISSUE = "onnxruntime-cubic-resize-downscale-nhwc"
STORED_LEG = "keras>tf2onnx"
OPTIMISED_LEG = "keras>tf2onnx>ort-optimized"


def cubic_downscale_nhwc(shape: list[int]) -> onnx.ModelProto:
    """What tf2onnx writes for the issue's minimal case, a bicubic Resizing(1, 1) with
    pad_to_aspect_ratio of a (1, 1, 3, 2) image: the image padded to 3x3, transposed to
    NCHW, a cubic Resize to sizes computed at run time (1x1), transposed back. Right as
    written; onnxruntime's extended optimisations move the Resize to NHWC, where its CPU
    cubic kernel refuses to shrink."""
    nodes = [
        helper.make_node("Pad", ["input_0", "pads"], ["square"]),
        helper.make_node("Transpose", ["square"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Shape", ["nchw"], ["shape"]),
        helper.make_node("Slice", ["shape", "zero", "two"], ["batch_channels"]),
        helper.make_node("Concat", ["batch_channels", "height_width"], ["sizes"], axis=0),
        helper.make_node("Resize", ["nchw", "", "", "sizes"], ["resized"], mode="cubic",
                         coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.5),
        helper.make_node("Transpose", ["resized"], ["output_0"], perm=[0, 2, 3, 1]),
    ]
    graph = helper.make_graph(
        nodes, "cubic_downscale_nhwc",
        [helper.make_tensor_value_info("input_0", TensorProto.FLOAT, [None, *shape[1:]])],
        [helper.make_tensor_value_info("output_0", TensorProto.FLOAT, [None] * 4)],
        [helper.make_tensor("pads", TensorProto.INT64, [8], [0, 1, 0, 0, 0, 1, 0, 0]),
         helper.make_tensor("zero", TensorProto.INT64, [1], [0]),
         helper.make_tensor("two", TensorProto.INT64, [1], [2]),
         helper.make_tensor("height_width", TensorProto.INT64, [2], [1, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def level(artifact: Artifact) -> ort.GraphOptimizationLevel:
    session = OnnxRuntimeRunner().session(artifact.model, optimization_of(artifact))
    return session.get_session_options().graph_optimization_level


@pytest.fixture(scope="module")
def issue():
    return next(i for i in known_issues.load() if i.id == OPTIMISER_ISSUE)


@pytest.fixture(scope="module")
def stored(issue):
    """The known issue's minimal spec with the ONNX model a golden case would store for it,
    its inputs, and the expected outputs from onnx's reference evaluator (not onnxruntime)."""
    from onnx.reference import ReferenceEvaluator

    spec = issue.minimal
    model = cubic_downscale_nhwc(spec.input_shapes[0])
    inputs = [np.random.default_rng(0).uniform(-8, 8, spec.input_shapes[0]).astype(np.float32)]
    expected = ReferenceEvaluator(model).run(None, {"input_0": inputs[0]})
    return spec, Artifact("onnx", model, ["input_0"]), inputs, expected


def test_an_onnx_leg_reads_the_model_as_written_and_ort_optimized_with_every_optimisation(
        stored):
    _, artifact, _, _ = stored
    optimised = get("ort-optimized").convert(artifact, ConvertOptions())
    assert level(artifact) == ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    assert level(optimised) == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert optimised.model is artifact.model  # the same graph: only the reading differs


def test_an_unknown_optimisation_level_is_named(stored):
    _, artifact, inputs, _ = stored
    wrong = Artifact("onnx", artifact.model, ["input_0"], {"ort_optimization": "most"})
    with pytest.raises(RunError, match="unknown onnxruntime optimisation level 'most'"):
        OnnxRuntimeRunner().run(wrong, inputs)


def test_the_default_keras_paths_take_the_optimiser_after_tf2onnx():
    names = [path.name for path in parse_paths(None)]
    assert names == list(DEFAULT_PATHS)
    assert OPTIMISED_LEG in names and "keras>tf2onnx>onnx2torch" in names


def test_a_replayed_tf2onnx_artifact_blames_the_optimiser(stored):
    spec, artifact, inputs, expected = stored
    result = Harness(f"{OPTIMISED_LEG}", known_issues=[], diagnose=False).replay(
        spec, inputs, expected, {STORED_LEG: artifact})
    legs = {leg.leg: leg for leg in result.legs}
    assert legs[STORED_LEG].verdict == "pass", legs[STORED_LEG].message
    optimised = legs[OPTIMISED_LEG]
    assert (optimised.verdict, optimised.category, optimised.blame) == \
        ("error", "runtime_error", "ort-optimized")
    assert "'Cubic' mode only supports" in optimised.message


def test_the_optimiser_issue_is_recognised_on_the_optimised_leg_only(stored, issue):
    spec, artifact, inputs, expected = stored
    result = Harness(",".join(DEFAULT_PATHS), diagnose=False).replay(
        spec, inputs, expected, {STORED_LEG: artifact})
    verdicts = {leg.leg: (leg.verdict, (leg.known_issue or {}).get("id")) for leg in result.legs}
    assert verdicts[STORED_LEG] == ("pass", None)
    assert verdicts[OPTIMISED_LEG] == ("xfail", OPTIMISER_ISSUE)
    assert not issue.covers_leg(STORED_LEG)


def test_a_keras_case_goes_down_tf2onnx_as_written_and_optimised():
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    from harness.core.frameworks import prepare_imports
    from harness.core.spec import LayerSpec

    prepare_imports()
    artifacts = {}
    dense = LayerSpec("Dense", {"units": 3, "activation": "relu", "use_bias": True},
                      ((2, 4),), "float32", 0)
    harness = Harness(",".join(DEFAULT_PATHS), diagnose=False,
                      on_paths=lambda case, found, *rest: artifacts.update(found=found))
    result = harness.run(dense)
    assert {leg.leg: leg.verdict for leg in result.legs} == {
        STORED_LEG: "pass", "keras>tf2onnx>onnx2torch": "pass", OPTIMISED_LEG: "pass"}
    found = artifacts["found"]
    assert optimization_of(found[STORED_LEG]) == "disable"
    assert optimization_of(found[OPTIMISED_LEG]) == "all"
    assert found[OPTIMISED_LEG].model is found[STORED_LEG].model
