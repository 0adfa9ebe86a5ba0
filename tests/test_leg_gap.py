"""What a run's records hold per converter leg (harness.tools.leg_gap): a pair held only by
cases a leg did not pass tests nothing of that leg."""

import json

from harness.core.spec import LayerSpec


def _records(case_id: str, spec: LayerSpec, verdicts: dict[str, str], test: str):
    return [{"record": "result", "case_id": case_id, "source": "keras", "kind": spec.kind,
             "spec": spec.to_json(), "test": test, "leg": leg, "verdict": verdict}
            for leg, verdict in verdicts.items()]


RELU = LayerSpec("Dense", {"units": 1, "activation": "relu", "use_bias": True}, ((1, 2),))
TANH = LayerSpec("Dense", {"units": 3, "activation": "tanh", "use_bias": False}, ((1, 2),))
TF2ONNX, O2T = "keras>tf2onnx", "keras>tf2onnx>onnx2torch"


def test_a_leg_is_exercised_where_it_or_a_leg_after_it_passes():
    from harness.tools.leg_gap import gaps, pairs_of

    # onnxruntime refuses tf2onnx's model of the first (an xfail), onnx2torch runs it: a fault
    # of tf2onnx would show there. The second fails onnx2torch only.
    records = [*_records("a", RELU, {"keras": "pass", TF2ONNX: "xfail", O2T: "pass"},
                         "test_layer[Dense]"),
               *_records("b", TANH, {TF2ONNX: "pass", O2T: "xfail"},
                         "test_layer_axis[Dense-float16]")]
    figures = gaps(records, axes={})
    relu = pairs_of({"spec": RELU.to_json(), "source": "keras", "kind": "Dense"}, "float32")
    tanh = pairs_of({"spec": TANH.to_json(), "source": "keras", "kind": "Dense"}, "float16")
    assert set(figures) == {TF2ONNX, O2T}  # not the source's own reading
    assert figures[TF2ONNX]["pairs"] == figures[TF2ONNX]["passed"] == len(relu | tanh)
    assert figures[O2T]["passed"] == len(relu)
    assert figures[O2T]["gap_by_kind"] == {"Dense": len(tanh - relu)} and tanh - relu
    assert figures[O2T]["verdicts"] == {"pass": 1, "xfail": 1}
    assert gaps(records, axes={}, source="onnx") == {}


def test_the_command_reads_a_results_file_and_names_a_bad_one(tmp_path, capsys):
    from harness.tools.leg_gap import main

    results = tmp_path / "results.jsonl"
    results.write_text("\n".join(json.dumps(r) for r in _records(
        "b", TANH, {TF2ONNX: "pass", O2T: "fail"}, "test_layer[Dense]")) + "\n")
    assert main([str(results), "--json", str(tmp_path / "gap.json")]) == 0
    said = capsys.readouterr().out
    assert f"{O2T}: 0 of 3 pairs passed (0.0%); held only where it did not pass: Dense 3" in said
    assert json.loads((tmp_path / "gap.json").read_text())[TF2ONNX]["passed"] == 3

    results.write_text('{"record": "result"\n')
    assert main([str(results)]) == 2
    assert "is not a results file" in capsys.readouterr().err
    assert main([str(tmp_path / "absent.jsonl")]) == 2
    assert "no such results file" in capsys.readouterr().err
