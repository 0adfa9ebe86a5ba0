import json

import pytest

from harness import registry
from harness.cli import main
from harness.spec import LayerSpec


def test_layers_json_lists_every_kind_with_its_attribute_domains(capsys):
    assert main(["layers", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["kind"] for entry in listed] == [k.name for k in registry.kinds()]
    conv = next(entry for entry in listed if entry["kind"] == "Conv2D")
    assert conv["attributes"]["padding"] == ["valid", "same"]
    assert "batch" in conv["inputs"] and "batch" not in conv["attributes"]


def test_layers_text_groups_by_family(capsys):
    assert main(["layers"]) == 0
    out = capsys.readouterr().out
    assert "[conv]" in out and "Conv2D" in out
    assert f"{len(registry.names())} layer kinds" in out


def test_repro_of_an_unknown_case_is_a_clear_error(tmp_path, capsys):
    results = tmp_path / "results.jsonl"
    results.write_text('{"record": "run"}\n')
    code = main(["repro", "ffffffffffffffff", "--results", str(results),
                 "--golden", str(tmp_path / "none")])
    assert code == 2
    assert "case ffffffffffffffff is in none of" in capsys.readouterr().err


def test_repro_reruns_a_recorded_case(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    spec = LayerSpec("Dense", {"units": 2, "activation": "relu"}, ((2, 3),), seed=4)
    results = tmp_path / "results.jsonl"
    record = {"record": "result", "case_id": spec.case_id, "spec": spec.to_json(),
              "path": "keras>tf2onnx>onnx2torch"}
    results.write_text("not json " + spec.case_id + "\n" + json.dumps(record) + "\n")
    assert main(["repro", spec.case_id, "--results", str(results)]) == 0
    captured = capsys.readouterr()
    assert "skipping a malformed line" in captured.err
    assert f"case {spec.case_id}: Dense(" in captured.out
    assert "pass  keras>tf2onnx " in captured.out
    assert "pass  keras>tf2onnx>onnx2torch" in captured.out
