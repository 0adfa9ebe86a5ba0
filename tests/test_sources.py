"""Sources as plugins: a spec names its source, kinds are keyed by source, a source written
outside parity goes down the shared pipeline, known issues stay with their source, and the
golden store writes and replays a case through its source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness import golden, sources
from harness import runtimes as runners
from harness.converters import Artifact
from harness.core import registry
from harness.core.known_issues import KnownIssue
from harness.core.registry import LayerKind
from harness.core.spec import LayerSpec
from harness.sources import SourceError, SourceReading

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx2torch")

DENSE = LayerSpec("Dense", {"units": 2}, ((1, 3),), seed=4)


def test_a_keras_spec_leaves_its_source_out_of_its_json_and_keeps_its_id():
    assert "source" not in DENSE.to_json()
    assert LayerSpec.from_json(DENSE.to_json()) == DENSE
    # The id every Keras case had before sources existed (golden/ is keyed by it).
    assert DENSE.case_id == LayerSpec.from_json(
        {"kind": "Dense", "attrs": {"units": 2}, "input_shapes": [[1, 3]], "seed": 4}).case_id


def test_a_spec_of_another_source_says_so_and_has_its_own_id():
    onnx_dense = LayerSpec("Dense", {"units": 2}, ((1, 3),), seed=4, source="toy")
    assert onnx_dense.to_json()["source"] == "toy"
    assert LayerSpec.from_json(json.loads(json.dumps(onnx_dense.to_json()))) == onnx_dense
    assert onnx_dense.case_id != DENSE.case_id
    assert onnx_dense.describe().startswith("toy:Dense(")


def test_kinds_of_two_sources_may_share_a_name():
    keras_softmax = registry.get("Softmax")
    onnx_softmax = registry.get("Softmax", "onnx")
    assert keras_softmax.source == "keras" and onnx_softmax.source == "onnx"
    assert keras_softmax is not onnx_softmax
    assert "Softmax" in registry.names(source="onnx")
    assert all(k.source == "keras" for k in registry.kinds())


def test_an_unknown_kind_or_source_is_a_clear_error():
    with pytest.raises(registry.UnknownLayerKind, match="unknown onnx kind 'Conv2D'"):
        registry.get("Conv2D", "onnx")
    with pytest.raises(sources.UnknownSource, match="unknown source 'nope'; available: .*keras"):
        sources.get("nope")


def test_a_runner_is_found_by_format_and_a_missing_one_is_named():
    assert runners.runner_for("onnx").name == "onnxruntime"
    with pytest.raises(runners.RunError, match="no runner for artifacts of format 'toy-format'"):
        runners.runner_for("toy-format")


# -- a source written outside parity ---------------------------------------------------------

class ToySource:
    """A one-node ONNX Relu whose reference is NumPy's: everything a plugin source needs."""

    name = "toy"
    format = "onnx"
    default_paths = ("toy>onnx2torch",)
    kinds_module = "tests.test_sources"
    wrong_reference = False

    def read(self, spec, *, policy, device="cpu") -> SourceReading:
        if spec.attrs.get("broken"):
            raise SourceError(f"cannot build {spec.describe()}: broken on purpose")
        rng = np.random.default_rng(spec.seed)
        x = rng.standard_normal(spec.input_shapes[0]).astype(np.float32)
        model = _relu_model(spec.input_shapes[0])
        reference = np.maximum(x, 0) + (1.0 if self.wrong_reference else 0.0)
        return SourceReading(Artifact("onnx", model, ["input_0"]), [x], [reference], None, None)

    def store(self, reading, folder: Path, options=None) -> dict:
        (folder / "nested").mkdir()
        (folder / "nested" / "model.onnx").write_bytes(reading.artifact.model.SerializeToString())
        return {"toy_note": "stored in a sub-folder"}

    def stored(self, folder: Path) -> dict:
        return {self.name: Artifact("onnx", golden.load_onnx(folder / "nested" / "model.onnx"),
                                    ["input_0"])}


def _relu_model(shape):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["input_0"], ["output_0"])], "toy",
        [helper.make_tensor_value_info("input_0", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("output_0", TensorProto.FLOAT, list(shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def toy_source(source_class):
    """A toy source's one kind (Relu) registered now, and a fixture named after the source
    that registers a ``source_class()`` for a test and unregisters it after."""
    registry.register(LayerKind(name="Relu", family="toys", domains={},
                                draw=lambda pick: ({}, []), source=source_class.name))

    @pytest.fixture(name=source_class.name)
    def registered():
        yield sources.register(source_class())
        sources.unregister(source_class.name)

    return registered


toy = toy_source(ToySource)


def _harness():
    from harness.run.pipeline import Harness

    return Harness(known_issues=[])


def test_a_plugin_source_goes_down_its_default_paths(toy):
    case = _harness().run(LayerSpec("Relu", {}, ((2, 3),), source="toy"))
    assert [(leg.leg, leg.verdict) for leg in case.legs] == [("toy>onnx2torch", "pass")]
    assert registry.family_of("Relu", "toy") == "toys"


def test_a_wrong_reference_fails_the_leg_of_a_plugin_source(toy):
    toy.wrong_reference = True
    case = _harness().run(LayerSpec("Relu", {}, ((2, 3),), source="toy"))
    assert [(leg.leg, leg.verdict, leg.category) for leg in case.legs] == [
        ("toy>onnx2torch", "fail", "numeric_mismatch")]


def test_a_source_that_cannot_build_is_an_error_record_unless_a_known_issue_of_it_matches(toy):
    broken = LayerSpec("Relu", {"broken": True}, ((2, 3),), source="toy")
    (leg,) = _harness().run(broken).legs
    assert (leg.leg, leg.verdict, leg.category, leg.blame) == ("toy", "error", "source_error", "toy")
    assert "broken on purpose" in leg.message
    issue = KnownIssue(id="toy-broken", url="https://example.invalid/1", reason="on purpose",
                       legs="toy", kind="Relu", category="source_error", source="toy")
    from harness.run.pipeline import Harness

    case = Harness(known_issues=[issue]).run(broken)
    assert [(leg.leg, leg.verdict) for leg in case.legs] == [("toy", "xfail")]


def test_a_known_issue_of_one_source_never_matches_a_case_of_another():
    issue = KnownIssue(id="onnx-softmax", url="u", reason="r", legs="*", kind="Softmax",
                       source="onnx")
    keras_case = LayerSpec("Softmax", {}, ((1, 2),))
    onnx_case = LayerSpec("Softmax", {"opset": 17}, ((1, 2),), source="onnx")
    assert not issue.matches_case(keras_case, "keras>tf2onnx")
    assert issue.matches_case(onnx_case, "onnx>onnx2torch")


def test_the_golden_store_writes_and_replays_a_case_through_its_source(toy, tmp_path):
    from harness.run.pipeline import Harness

    spec = LayerSpec("Relu", {}, ((2, 3),), seed=1, source="toy")
    root = tmp_path / "golden"
    (root / golden.CASES).mkdir(parents=True)
    reading = toy.read(spec, policy=None)
    files = golden.write_case(root, reading, spec, {"source": "toy"})
    assert "nested/model.onnx" in files
    golden.write_manifest(root, {spec.case_id: files})
    store, problems = golden.verify(root)
    assert problems == []
    case = golden.load_case(store, spec.case_id)
    assert json.loads((case.folder / "provenance.json").read_text())["toy_note"]
    replayed = Harness(known_issues=[]).replay(case.spec, case.inputs, case.expected,
                                               case.stored_artifacts())
    assert [(leg.leg, leg.verdict) for leg in replayed.legs] == [("toy>onnx2torch", "pass")]
    (case.folder / "nested" / "stray.bin").write_bytes(b"x")
    _, problems = golden.verify(root)
    assert [p.file for p in problems] == [f"cases/{spec.case_id}/nested/stray.bin"]


def test_report_families_never_merge_sources_that_share_a_family_name():
    from harness.results import family

    assert family(LayerSpec("Softmax", {}, ((1, 2),))) == "activations"
    assert family(LayerSpec("Relu", {"opset": 17}, ((1, 2),), source="onnx")) == \
        "onnx-activations"


def test_a_known_issue_reaches_a_users_file_by_the_format_it_reads_to():
    """A .keras file checked with parity check goes down keras>... paths and meets the Keras
    paths' bugs; an ONNX entry stays away from it."""
    keras_issue = KnownIssue(id="k", url="u", reason="r", legs="keras>tf2onnx", source="keras")
    onnx_issue = KnownIssue(id="o", url="u", reason="r", legs="*", source="onnx")
    users_file = LayerSpec("keras", {"path": "/tmp/model.keras"}, ((1, 3),), source="file")
    assert keras_issue.matches_case(users_file, "keras>tf2onnx")
    assert not onnx_issue.matches_case(users_file, "keras>tf2onnx")
