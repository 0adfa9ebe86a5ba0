"""``parity hunt``: a planted converter fault is found as one group with a REPRODUCED script,
the budget ends a case that would never end, a second hunt goes on where the first stopped;
and the pieces (the message fingerprint, the draft's TOML, the report's escaping)."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import pytest

from harness.core import known_issues
from harness.core.records import CaseResult, LegResult
from harness.core.spec import LayerSpec
from harness.hunt import drafts, report, search, triage
from harness.hunt import state as hunt_state
from harness.hunt.command import Options, duration, hunt

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FAULT = "onnx2torch-fault-leakyrelu-alpha"  # tests/onnx_faults.py: LeakyRelu's alpha ignored
FAULT_PATH = f"onnx>{FAULT}"


def _leg(message: str, category: str = "runtime_error", verdict: str = "error",
         stage: str = "onnx2torch", blame: str | None = None, leg: str = "onnx>onnx2torch"):
    return LegResult(path=leg, leg=leg, stage=stage, runner="torch", verdict=verdict,
                     category=category, message=message, blame=blame or stage)


# -- the pieces, without frameworks ----------------------------------------------------------

def test_the_fingerprint_ignores_what_varies_between_cases_of_one_bug():
    one = "onnx2torch raised RuntimeError: shape '[1, 4, 2]' is invalid for input of size 12"
    other = "onnx2torch raised RuntimeError: shape '[3, 2]' is invalid for input of size 7"
    assert triage.normalised(one) == triage.normalised(other)
    different = "onnx2torch raised RuntimeError: index 3 is out of bounds for dimension 0"
    assert triage.normalised(one) != triage.normalised(different)
    at_size = "at input shapes (2, 3) (passed at (1, 3)):\n" + one
    assert triage.normalised(at_size) == triage.normalised(one)


def test_findings_group_a_case_by_root_cause_and_leave_out_recognised_and_invalid_legs():
    spec = LayerSpec("Abs", source="onnx", input_shapes=((2,),))
    case = CaseResult(spec, [
        _leg("onnx2torch raised RuntimeError: bad 3"),
        _leg("not close", category="numeric_mismatch", verdict="fail", stage="onnx2pytorch",
             leg="onnx>onnx2pytorch"),
        _leg("known", verdict="xfail", stage="ort-optimized", leg="onnx>ort-optimized"),
        _leg("cannot build", category="source_error", stage="onnx", leg="onnx"),
    ], {})
    found = triage.findings(case)
    assert [(sig["stage"], [leg.leg for leg in legs]) for sig, legs in found] == [
        ("onnx2torch", ["onnx>onnx2torch"]), ("onnx2pytorch", ["onnx>onnx2pytorch"])]
    again = CaseResult(LayerSpec("Abs", source="onnx", input_shapes=((5, 5),)),
                       [_leg("onnx2torch raised RuntimeError: bad 12")], {})
    assert triage.findings(again)[0][0]["key"] == found[0][0]["key"]


def test_a_leg_blamed_on_an_upstream_stage_joins_that_stage_s_group():
    spec = LayerSpec("Dense", attrs={"units": 2}, input_shapes=((1, 2),))
    case = CaseResult(spec, [
        _leg("not close", "numeric_mismatch", "fail", "tf2onnx", leg="keras>tf2onnx"),
        _leg("other words", "numeric_mismatch", "fail", "onnx2torch", blame="tf2onnx",
             leg="keras>tf2onnx>onnx2torch"),
    ], {})
    [(sig, legs)] = triage.findings(case)
    assert sig["stage"] == "tf2onnx" and len(legs) == 2


def test_the_shrink_keeps_a_step_only_while_the_case_stays_in_its_group():
    """A fake run that fails in one group while dimension 0 is at least 2: the shrink takes
    every other step and stops at 2."""
    start = LayerSpec("Abs", source="onnx", input_shapes=((6, 3),), seed=41,
                      input_overrides=(((0, 1.5),),))

    def run(spec):
        broken = spec.input_shapes[0][0] >= 2
        legs = [_leg("onnx2torch raised RuntimeError: bad")] if broken else []
        return CaseResult(spec, legs, {})

    key = triage.findings(run(start))[0][0]["key"]
    minimal, how = triage.shrink(start, key, run, deadline=time.monotonic() + 60)
    assert minimal.input_shapes == ((2, 1),)
    assert minimal.seed == 0 and not minimal.input_overrides
    assert how["finished"] and "seed 0" in how["steps"]


def test_a_draft_is_a_valid_known_issue_entry():
    group = hunt_state.Group(
        key="0a1b2c3d4e", stage="onnx2torch", kind="ReduceMax", source="onnx", category="runtime_error",
        fingerprint="0123456789", place="", message="onnx2torch raised IndexError: axis 3 is "
        "out of range \"x\"", legs=["onnx>onnx2torch"], cases=["a", "b"],
        first_spec=LayerSpec("ReduceMax", source="onnx", attrs={"keepdims": 0},
                             input_shapes=((2, 3),)).to_json())
    spec = LayerSpec.from_json(group.first_spec)
    text = drafts.draft_text(group, spec, {"line": "REPRODUCED"}, ["x"])
    [raw] = tomllib.loads(text)["issue"]
    entry = known_issues._entry(raw)
    assert entry.id == drafts.draft_id(group) == "hunt-onnx2torch-reducemax-runtime-error-0a1b2c"
    assert entry.nature == "refusal" and entry.parties == ("onnx2torch",)
    assert entry.minimals == (spec,)
    assert entry.matches_failure("runtime_error", group.message)
    assert "# upstream search: not searched" in text


def test_the_report_escapes_what_models_and_converters_wrote(tmp_path):
    state = hunt_state.State(seed=0, paths=["onnx>onnx2torch"], sources=["onnx"])
    state.groups["k"] = hunt_state.Group(
        key="k", stage="onnx2torch", kind="Abs", source="onnx", category="runtime_error",
        fingerprint="f", place="", message="<script>alert(1)</script>", legs=["onnx>onnx2torch"],
        cases=["c"], first_spec=LayerSpec("Abs", source="onnx").to_json())
    json_path, html_path = report.write(state, tmp_path, elapsed=1.0, budget=2.0)
    page = html_path.read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
    assert json.loads(json_path.read_text())["groups"][0]["key"] == "k"


def test_a_draft_of_a_converter_installed_apart_runs_where_it_is_importable(tmp_path):
    """onnx2tf lives apart from the pinned stack (``parity install onnx2tf``): a draft's
    script for an onnx2tf leg runs with its folder on PYTHONPATH, as the stage's worker does,
    so it can give a verdict; run as any other stage's, it cannot import onnx2tf."""
    from harness.converters import onnx2tf_install

    if onnx2tf_install.record() is None:
        pytest.skip("onnx2tf is not installed (parity install onnx2tf)")
    script = tmp_path / "repro.py"
    script.write_text("import importlib.util, sys\n"
                      "found = importlib.util.find_spec('onnx2tf') is not None\n"
                      "print('REPRODUCED' if found else 'CANNOT RUN: no onnx2tf')\n"
                      "sys.exit(1 if found else 3)\n", encoding="utf-8")
    assert drafts.run_script(script, 60, "onnx2tf")["verdict"] == "REPRODUCED"
    assert drafts.run_script(script, 60, "onnx2tf-tflite")["verdict"] == "REPRODUCED"
    assert drafts.run_script(script, 60, "onnx2torch")["verdict"] == "CANNOT RUN"


def test_budgets_read_as_durations():
    assert [duration(t) for t in ("90", "90s", "10m", "1.5h")] == [90, 90, 600, 5400]


def test_a_hunt_names_its_paths_from_the_converter():
    paths, sources = search.plan_paths("onnx2torch", None, ("onnx", "keras"))
    assert paths == ["onnx>onnx2torch", "keras>tf2onnx>onnx2torch"]
    assert sources == ["onnx", "keras"]
    with pytest.raises(search.HuntError, match="mat2torch"):
        search.plan_paths("mat2torch", None, ("onnx",))


def test_fresh_draws_differ_by_seed_and_repeat_with_it():
    one = search.draw_fresh("ReduceMax", "onnx", None, 6, 1)
    assert [s.case_id for s in one] == [s.case_id for s in
                                        search.draw_fresh("ReduceMax", "onnx", None, 6, 1)]
    other = search.draw_fresh("ReduceMax", "onnx", None, 6, 2)
    assert {s.case_id for s in one} != {s.case_id for s in other}


# -- whole hunts, with real workers ----------------------------------------------------------

needs_frameworks = pytest.mark.skipif(
    not all(__import__("importlib").util.find_spec(m) for m in ("onnx2torch", "onnxruntime")),
    reason="the hunt's cases run onnxruntime and onnx2torch")


@needs_frameworks
def test_a_planted_fault_is_found_as_one_group_and_a_second_hunt_goes_on_where_it_stopped(
        tmp_path):
    """One state folder, two hunts: the first finds the planted fault as one group with a
    REPRODUCED script (about 80 s of its 120), the second grows that group with cases the first
    never ran. One test, not two, so that the suite hunts three times rather than four."""
    options = Options(budget=120, paths=FAULT_PATH, plugins=["tests.onnx_faults"],
                      kinds=("LeakyRelu",), jobs=1, state=tmp_path, seed=3)
    first = hunt(options)
    [group] = first["groups"]
    assert (group["stage"], group["kind"], group["category"]) == (
        FAULT, "LeakyRelu", "numeric_mismatch")
    assert group["cases"] > 1 and group["shrunk"]
    assert group["script_verdict"] == "REPRODUCED", group["script_line"]
    minimal = LayerSpec.from_json(group["minimal_spec"])
    assert minimal.attrs.get("alpha") not in (None, 0.01)  # the attribute the fault drops
    [raw] = tomllib.loads(Path(group["draft"]).read_text())["issue"]
    assert known_issues._entry(raw).minimals == (minimal,)
    assert (tmp_path / report.HTML_FILE).is_file()

    second = hunt(dataclasses.replace(options, budget=40))
    saved = json.loads((tmp_path / hunt_state.STATE_FILE).read_text())
    assert saved["runs"] == 2
    assert second["batches"] > first["batches"] and second["cases_seen"] > first["cases_seen"]
    assert len(saved["seen"]) == len(set(saved["seen"]))  # no case run twice
    [grown] = second["groups"]  # the first hunt's group, grown
    assert grown["key"] == group["key"] and grown["cases"] > group["cases"]
    with pytest.raises(hunt_state.StateError, match="another --state folder"):
        hunt(dataclasses.replace(options, budget=10, seed=6))


@needs_frameworks
def test_the_budget_ends_a_case_that_never_ends_and_keeps_it_for_the_next_hunt(tmp_path):
    budget = 45.0
    started = time.monotonic()
    found = hunt(Options(budget=budget, paths="onnx>hang-on-abs", plugins=["tests.hunt_stages"],
                         kinds=("Abs",), jobs=1, state=tmp_path, case_timeout=600))
    elapsed = time.monotonic() - started
    assert elapsed < budget + 15, elapsed  # stopping the worker and writing the report
    assert found["groups"] == []  # a case cut by the budget is no finding (no "timeout")
    saved = json.loads((tmp_path / hunt_state.STATE_FILE).read_text())
    assert saved["pending"] and saved["pending"][0]["kind"] == "Abs"
    assert LayerSpec.from_json(saved["pending"][0]).case_id not in saved["seen"]


@pytest.mark.parametrize(("argv", "said"), [
    (["--budget", "10m", "--converter", "no-such-stage"], "no-such-stage"),
    (["--budget", "10m", "--converter", "mat2torch", "--sources", "onnx"], "no path from onnx"),
    (["--budget", "10m", "--converter", "onnx2torch", "--kinds", "NoSuchKind"], "NoSuchKind"),
    (["--budget", "ten minutes", "--converter", "onnx2torch"], "not a duration"),
])
def test_a_user_s_mistake_is_one_line_and_exit_2(argv, said, tmp_path, capsys):
    from harness.cli import main

    try:
        code = main(["hunt", *argv, "--state", str(tmp_path)])
    except SystemExit as exc:  # argparse's own refusal
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and said in err and "Traceback" not in err, err
    assert not (tmp_path / hunt_state.STATE_FILE).exists()


def test_a_state_folder_of_another_hunt_is_refused_in_one_line(tmp_path, capsys):
    from harness.cli import main

    hunt_state.save(hunt_state.State(seed=1, paths=["onnx>onnx2torch"], sources=["onnx"]),
                    tmp_path)
    code = main(["hunt", "--budget", "5s", "--paths", "onnx>onnx2torch", "--seed", "2",
                 "--state", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "another --state folder" in err and "Traceback" not in err


def test_a_group_a_known_issue_added_since_recognises_is_no_longer_new(tmp_path):
    """onnx2pytorch-gather-negative-axis holds for int32 data (an exact comparison); a group
    the hunt found before that was known is reported under now_known, not as new."""
    spec = LayerSpec("Gather", source="onnx", dtype="int32", input_shapes=((3, 1, 1, 3), (3,)),
                     attrs={"axis": -1, "opset": 17, "int_inputs": [3, 3],
                            "input_dtypes": ["int32", "int32"]})
    message = "Values differ (compared exact (int32)): 6 / 9 elements (66.7%)"
    assert triage.recognised_by(spec, "onnx>onnx2pytorch", "numeric_mismatch", message,
                                known_issues.load()) == "onnx2pytorch-gather-negative-axis"
    assert triage.recognised_by(spec, "onnx>onnx2torch", "numeric_mismatch", message,
                                known_issues.load()) is None
    state = hunt_state.State(seed=0, paths=["onnx>onnx2pytorch"], sources=["onnx"])
    state.groups["g"] = hunt_state.Group(
        key="g", stage="onnx2pytorch", kind="Gather", source="onnx", category="numeric_mismatch",
        fingerprint="f", place="", message=message, legs=["onnx>onnx2pytorch"], cases=["c"],
        first_spec=spec.to_json(), known="onnx2pytorch-gather-negative-axis")
    found = report.to_json(state, tmp_path, elapsed=1.0, budget=1.0)
    assert found["groups"] == []
    assert found["now_known"][0]["known_issue"] == "onnx2pytorch-gather-negative-axis"


def test_an_exception_s_pattern_is_the_framework_s_own_words_not_parity_s_wrapper():
    group = hunt_state.Group(
        key="k", stage="onnxoptimizer", kind="MultiHeadAttention", source="keras",
        category="conversion_error", fingerprint="f", place="",
        message="onnxoptimizer raised ConversionError: RuntimeError: /project/ir.h:669: "
                "insertAfter: Assertion failed.")
    assert drafts.own_exception(group.message).group(1) == "RuntimeError"
    assert drafts.message_pattern(group).startswith("RuntimeError: ")
