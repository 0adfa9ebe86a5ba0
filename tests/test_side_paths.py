"""The sampled side paths (harness.run.side_paths): which cases go down the ONNX rewriters
and TFLite in a suite run, on the real stages."""

from __future__ import annotations

import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness.converters import PathError, parse_paths
from harness.core.strategies import sample
from harness.run import side_paths, torch_end
from harness.run.pipeline import Harness


def test_a_sampled_case_gains_the_side_paths_of_its_own_source():
    extension = side_paths.SidePaths(side_paths.ALL)
    onnx = parse_paths("onnx>onnx2torch,onnx>ort-optimized")
    names = [p.name for p in extension.extend(onnx, "any")]
    assert names == ["onnx>onnx2torch", "onnx>ort-optimized", *side_paths.ONNX]
    keras = [p.name for p in extension.extend(parse_paths("keras>tf2onnx>onnx2torch"), "any")]
    assert keras == ["keras>tf2onnx>onnx2torch", *side_paths.KERAS]
    assert [p.name for p in extension.extend(parse_paths("mat>mat2torch"), "x")] == [
        "mat>mat2torch"]


def test_the_ci_sample_is_small_deterministic_and_apart_from_the_torch_ends():
    onnx, keras, onnx2tf, _patterns = side_paths.PROFILES["ci"]
    assert onnx2tf.paths == side_paths.ONNX2TF
    ids = [f"{i:016x}" for i in range(20000)]
    taken = [i for i in ids if onnx.applies(i)]
    assert 20000 / 128 * 0.8 < len(taken) < 20000 / 128 * 1.2
    assert taken == [i for i in ids if onnx.applies(i)]
    assert 20000 / 256 * 0.7 < sum(keras.applies(i) for i in ids) < 20000 / 256 * 1.3
    # onnx2tf (about 8 s a conversion) samples more sparsely, and apart from the rewriters
    converted = [i for i in ids if onnx2tf.applies(i)]
    assert 20000 / 1024 * 0.6 < len(converted) < 20000 / 1024 * 1.4
    assert len(set(converted) & set(taken)) < len(converted) / 4
    ends = torch_end.PROFILES["ci"]
    both = sum(ends.applies(i) for i in taken)
    assert both < len(taken) / 4  # a multiple of 16 unsalted would take every one of them
    nightly = side_paths.PROFILES["nightly"]
    assert all(part.applies(i) for part in nightly for i in ids[:50])


def test_every_pattern_case_goes_down_the_rewriters_in_ci_and_no_other_is_added():
    patterns = side_paths.PROFILES["ci"][-1]
    onnx_path = parse_paths("onnx>onnx2torch")
    ids = [f"{i:016x}" for i in range(300)]
    for case_id in ids:
        added = patterns.extend(onnx_path, case_id, "patterns")
        assert [p.name for p in added[1:]] == list(side_paths.ONNX)
        assert patterns.extend(onnx_path, case_id, "graphs") == onnx_path
        assert patterns.extend(onnx_path, case_id) == onnx_path
    # the isolated worker gets the same rule
    assert side_paths.from_json(patterns.to_json()) == patterns


def test_extensions_travel_to_the_isolated_worker_and_back():
    chained = side_paths.parse("auto", "ci")
    chained = side_paths.combine(torch_end.PROFILES["ci"], chained)
    again = side_paths.from_json(side_paths.to_json(chained))
    assert again == chained
    assert side_paths.parse("none") is None and side_paths.parse("auto", "unknown") is None
    with pytest.raises(PathError):
        side_paths.parse("onnx>tflite")  # tflite takes Keras models


def test_every_side_stage_runs_on_a_drawn_case():
    spec = sample("Relu", 1, source="onnx")[0]
    harness = Harness(extension=side_paths.parse("all"))
    verdicts = {leg.leg: leg.verdict for leg in harness.run(spec).legs}
    assert {leg: verdicts.get(leg) for leg in side_paths.ONNX} == dict.fromkeys(
        side_paths.ONNX, "pass")


def test_parity_stages_lists_the_new_stages(capsys):
    import json

    from harness.cli import main

    assert main(["stages", "--json"]) == 0
    rows = {row["stage"]: row for row in json.loads(capsys.readouterr().out)}
    assert {name: (rows[name]["takes"], rows[name]["makes"]) for name in (
        "onnxsim", "onnxslim", "onnxoptimizer", "tflite", "tflite-savedmodel")} == {
        "onnxsim": ("onnx", "onnx"), "onnxslim": ("onnx", "onnx"),
        "onnxoptimizer": ("onnx", "onnx"), "tflite": ("keras", "tflite"),
        "tflite-savedmodel": ("savedmodel", "tflite")}
    assert "ai-edge-litert" in rows["tflite"]["packages"]
    assert main(["stages"]) == 0
    assert "onnxoptimizer" in capsys.readouterr().out
