"""The ONNX → ONNX stages (onnxsim, onnxslim, onnxoptimizer) on the real packages: each
keeps a drawn case's numbers, composes in front of onnx2torch, and onnxoptimizer's failing
leg names the pass that changed the numbers (a planted fault, and a real pass judged at zero
tolerance)."""

from __future__ import annotations

import numpy as np
import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness import converters
from harness.converters import Artifact, ConversionPath
from harness.converters.onnxoptimizer_stage import OnnxOptimizerConverter, bisect, optimize
from harness.core.compare import Tolerance
from harness.core.strategies import sample
from harness.run.pipeline import Harness
from harness.runtimes import runner_for

pytest.importorskip("onnxsim")
pytest.importorskip("onnxslim")
pytest.importorskip("onnxoptimizer")

STAGES = ("onnxsim", "onnxslim", "onnxoptimizer")


def conv_bn_model():
    """Conv then BatchNormalization: onnxoptimizer's fuse_bn_into_conv folds the second into
    the first, which rounds differently."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(a.astype(np.float32), name) for name, a in (
        ("w", rng.standard_normal((4, 3, 3, 3))), ("b", rng.standard_normal(4)),
        ("scale", rng.uniform(0.5, 2, 4)), ("bias", rng.standard_normal(4)),
        ("mean", rng.standard_normal(4)), ("var", rng.uniform(0.5, 2, 4)))]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["y"])],
        "conv_bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("stage", STAGES)
def test_stage_keeps_a_drawn_case_and_composes_before_onnx2torch(stage):
    spec = sample("Relu", 1, source="onnx")[0]
    result = Harness(f"onnx>{stage}>onnx2torch").run(spec)
    verdicts = {leg.leg: leg.verdict for leg in result.legs}
    assert verdicts == {f"onnx>{stage}": "pass", f"onnx>{stage}>onnx2torch": "pass"}
    assert ConversionPath.parse(f"onnx>{stage}>onnx2pytorch").stages[0] == stage


def test_each_stage_rewrites_conv_bn_and_keeps_its_numbers():
    model = conv_bn_model()
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
    runner = runner_for("onnx")
    expected = runner.run(Artifact("onnx", model, ["x"]), [x])
    for stage in STAGES:
        out = converters.get(stage).convert(Artifact("onnx", model, ["x"]),
                                            converters.ConvertOptions())
        assert out.format == "onnx" and out.input_names == ["x"]
        ops = [n.op_type for n in out.model.graph.node]
        # BN folded into the Conv (onnxoptimizer computes the folded weights in the graph)
        assert "BatchNormalization" not in ops and ops[-1] == "Conv", (stage, ops)
        np.testing.assert_allclose(runner.run(out, [x])[0], expected[0], atol=1e-4, rtol=1e-4)


def test_bisect_names_the_pass_at_zero_tolerance():
    model = conv_bn_model()
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
    received = Artifact("onnx", model, ["x"])
    reference = runner_for("onnx").run(received, [x])
    found = bisect(received, ["eliminate_identity", "fuse_bn_into_conv", "eliminate_nop_pad"],
                   [x], reference, Tolerance(0.0, 0.0))
    assert found["how"] == "alone" and found["passes"] == ["fuse_bn_into_conv"], found
    passed = bisect(received, ["eliminate_identity", "eliminate_nop_pad"], [x], reference,
                    Tolerance(0.0, 0.0))
    assert passed["how"] == "none" and passed["passes"] == []


class PlantedPass(OnnxOptimizerConverter):
    """onnxoptimizer whose eliminate_nop_transpose also adds 0.5 to the output: a planted
    fault in one named pass."""

    name = "onnxoptimizer-planted"

    def apply(self, model, passes):
        from onnx import helper, numpy_helper

        model = optimize(model, passes)
        if "eliminate_nop_transpose" in passes:
            out = model.graph.output[0].name
            for node in model.graph.node:
                node.output[:] = [o + "_pre" if o == out else o for o in node.output]
            model.graph.initializer.append(
                numpy_helper.from_array(np.array(0.5, np.float32), "planted_shift"))
            model.graph.node.append(helper.make_node("Add", [out + "_pre", "planted_shift"],
                                                     [out]))
        return model


def test_a_failing_leg_names_the_planted_pass():
    converters.register(PlantedPass())
    try:
        spec = sample("Relu", 1, source="onnx")[0]
        result = Harness("onnx>onnxoptimizer-planted").run(spec)
    finally:
        converters.unregister("onnxoptimizer-planted")
    (leg,) = result.legs
    assert leg.verdict == "fail", leg.message
    assert leg.diagnosis["passes"] == ["eliminate_nop_transpose"], leg.diagnosis
    assert leg.diagnosis["how"] == "alone", leg.diagnosis  # through the planted apply
    assert "eliminate_nop_transpose" in leg.diagnosis["summary"]


def test_each_pass_alone_in_one_child_is_each_pass_in_its_own(monkeypatch):
    from harness.converters import onnxoptimizer_stage as stage

    model = conv_bn_model()
    passes = ["eliminate_identity", "fuse_bn_into_conv", "no_such_pass"]
    one_by_one = []
    for name in passes:
        try:
            one_by_one.append(optimize(model, [name]).SerializeToString())
        except Exception as exc:  # noqa: BLE001
            one_by_one.append(f"{type(exc).__name__}: {exc}")
    at_once = [m.SerializeToString() if not isinstance(m, Exception)
               else f"{type(m).__name__}: {m}" for m in stage.each_alone(model, passes)]
    assert at_once == one_by_one and isinstance(at_once[2], str)

    real = stage._optimized_bytes

    def crashing(model, chosen):  # a pass that kills the process that runs it
        if chosen == ["fuse_bn_into_conv"]:
            import faulthandler
            import os
            import signal

            faulthandler.disable()  # planted: its report would read as the run's own crash
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(model, chosen)

    monkeypatch.setattr(stage, "_optimized_bytes", crashing)
    found = stage.each_alone(model, passes)
    assert isinstance(found[1], stage.OptimizerCrash), found[1]
    assert found[0].SerializeToString() == one_by_one[0]


def test_the_stage_cache_keeps_each_rewriters_model(tmp_path):
    from harness.core.spec import LayerSpec
    from tests.cache_runs import run_cached

    spec = LayerSpec("Add", {}, ((2, 3), (2, 3)), seed=1, source="onnx")
    paths = ",".join(f"onnx>{stage}" for stage in STAGES)
    cold, cold_artifacts, cold_cache = run_cached(tmp_path, spec, paths)
    warm, warm_artifacts, warm_cache = run_cached(tmp_path, spec, paths)
    assert cold_cache.hits == 0 and warm_cache.misses == 0 and warm_cache.hits == cold_cache.misses
    for stage in STAGES:
        leg = f"onnx>{stage}"
        assert warm_artifacts[leg].model.SerializeToString() == \
            cold_artifacts[leg].model.SerializeToString()
    assert [leg.verdict for leg in warm.legs] == [leg.verdict for leg in cold.legs] == [
        "pass"] * 3


def test_an_isolated_worker_runs_the_side_paths_it_is_given():
    from harness.run import side_paths
    from harness.run.isolation import IsolatedHarness

    spec = sample("Relu", 1, source="onnx")[0]
    harness = IsolatedHarness("onnx>onnx2torch", timeout=120,
                              extension=side_paths.parse("onnx>onnxoptimizer"))
    try:
        legs = {leg.leg: leg.verdict for leg in harness.run(spec).legs}
    finally:
        harness.close()
    assert legs == {"onnx>onnx2torch": "pass", "onnx>onnxoptimizer": "pass"}


def test_a_crash_in_the_optimizer_is_the_legs_conversion_error():
    import faulthandler
    import os
    import signal

    from harness.converters.onnxoptimizer_stage import OptimizerCrash, in_child

    def crash():
        faulthandler.disable()  # planted: its report would read as the run's own crash
        os.kill(os.getpid(), signal.SIGSEGV)

    with pytest.raises(OptimizerCrash, match="signal 11: SIGSEGV"):
        in_child(crash)
    with pytest.raises(converters.ConversionError, match="ValueError: planted"):
        in_child(lambda: (_ for _ in ()).throw(ValueError("planted")))
    assert in_child(lambda: b"made") == b"made"

    from harness.core import known_issues

    entry = next(issue for issue in known_issues.load()
                 if issue.id == "onnxoptimizer-eliminate-shape-op-empty-slice-crash")
    (leg,) = Harness("onnx>onnxoptimizer").run(entry.minimal).legs  # the worker survives it
    assert leg.verdict == "xfail" and leg.category == "conversion_error", leg.message
    assert leg.message.splitlines()[0] == ("onnxoptimizer raised OptimizerCrash: onnxoptimizer "
                                           "crashed the process (signal 11: SIGSEGV)")
