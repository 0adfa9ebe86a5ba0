"""Breaking an ONNX → PyTorch converter breaks the ONNX suite: a converter that misreads one
attribute of a normalisation op, of an activation or of a shape op (tests/onnx_faults.py)
fails drawn graph cases and the golden replay, and the per-node diagnosis names the node
whose attribute it misread."""

from __future__ import annotations

import pytest

from harness import golden, sources
from harness.converters import parse_paths
from harness.core.strategies import sample
from harness.golden import update as golden_update
from harness.run.pipeline import Harness
from tests.onnx_faults import FAULTS, FAULTY_OPS

pytest.importorskip("onnx2torch")
pytest.importorskip("onnxruntime")

# The newest opset at which onnx2torch converts every op of the kind (it has no Reshape-19:
# a known issue of its own), so that the faults are shown on graphs it converts unbroken.
NEWEST_CONVERTED = {"ConvBnRelu": 21, "PixelShuffle": 18}
def landing_node(spec, fault: str) -> str | None:
    """The first node of the fault's op whose output the fault changes, where it changes
    the model's output too; found without the diagnosis under test: onnxruntime runs the
    model as written and as the fault rewrites it, every node of that op type tapped."""
    import numpy as np
    import onnxruntime as ort
    from onnx import helper

    reading = Harness(known_issues=[]).read_source(spec)
    model = reading.artifact.model
    op, _ = FAULTY_OPS[fault]
    taps = [node.output[0] for node in model.graph.node if node.op_type == op]
    taps += [o.name for o in model.graph.output if o.name not in taps]

    def run(proto):
        tapped = helper.make_model(proto.graph, opset_imports=proto.opset_import)
        tapped.ir_version = proto.ir_version
        tapped.graph.output.extend(helper.make_empty_tensor_value_info(t) for t in taps)
        session = ort.InferenceSession(tapped.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        return session.run(taps, dict(zip(names, reading.inputs)))

    def differ(right, wrong) -> bool:
        return right.shape != wrong.shape or not np.allclose(right, wrong, rtol=0, atol=1e-4)

    faulty, _ = FAULTS[fault].rewrite(model)
    right, wrong = run(model), run(faulty)
    if not differ(right[-1], wrong[-1]):
        return None
    nodes = [n for n in model.graph.node if n.op_type == op]
    return next((node.name for node, a, b in zip(nodes, right, wrong) if differ(a, b)), None)


def cases_for(fault: str, count: int = 2):
    """The first drawn specs of the fault's graph kind whose output the fault changes."""
    _, kind = FAULTY_OPS[fault]
    found = []
    for spec in sample(kind, 80, source="onnx"):
        # onnx2torch reads Conv weights from initializers only (known issue
        # onnx2torch-conv-weights-not-initializers): the forms it converts
        converted = spec.attrs.get("form_operands") not in ("constant", "fed")
        if spec.attrs["opset"] <= NEWEST_CONVERTED[kind] and converted \
                and landing_node(spec, fault):
            found.append(spec)
            if len(found) == count:
                return found
    raise AssertionError(f"too few drawn {kind} specs that {fault} breaks")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_fails_drawn_cases_and_the_diagnosis_names_its_node(fault):
    harness = Harness(f"onnx>onnx2torch,onnx>{fault}", known_issues=[])
    for spec in cases_for(fault):
        case = harness.run(spec)
        legs = {leg.leg: leg for leg in case.legs}
        assert legs["onnx>onnx2torch"].verdict == "pass", spec.describe()
        broken = legs[f"onnx>{fault}"]
        assert broken.verdict == "fail", spec.describe()
        first = broken.diagnosis["first_divergence"]
        assert first["layer"] == landing_node(spec, fault), broken.diagnosis["summary"]
        assert first["kind"] == FAULTY_OPS[fault][0]
        assert broken.diagnosis["stage"] == fault
        assert broken.diagnosis["isolated"]["passed"] is False  # wrong alone, too
        message = case.failure_message()
        assert f"per layer: onnx>{fault} first diverges at node" in message
        assert landing_node(spec, fault) in message


def test_golden_replay_catches_every_fault_at_its_node(tmp_path):
    chosen = {fault: cases_for(fault, 1)[0] for fault in sorted(FAULTS)}
    root = tmp_path / "golden"
    summary = golden_update.update(root, list(chosen.values()), scope={"onnx"})
    assert summary.written and not summary.skipped, summary.lines()
    store = golden.read_manifest(root)
    for fault, spec in chosen.items():
        stored_case = golden.load_case(store, spec.case_id)
        stored = stored_case.stored_artifacts()
        assert set(stored) == {"onnx"}  # the replay starts from model.onnx alone
        harness = Harness(f"onnx>onnx2torch,onnx>{fault}", known_issues=[])
        result = harness.replay(stored_case.spec, stored_case.inputs, stored_case.expected,
                                stored, stored_case.native)
        legs = {leg.leg: leg for leg in result.legs}
        assert legs["onnx>onnx2torch"].verdict == "pass"
        assert legs[f"onnx>{fault}"].verdict == "fail"
        # The diagnosis needs nothing but the stored model and inputs.
        path = parse_paths(f"onnx>{fault}")[0]
        diagnoser = sources.get("onnx").diagnoser(harness, stored_case.spec, stored["onnx"],
                                                  stored_case.inputs)
        diagnosis = diagnoser.diagnose(path, f"onnx>{fault}", stored)
        assert diagnosis["first_divergence"]["layer"] == landing_node(spec, fault), diagnosis
