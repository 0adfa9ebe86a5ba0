"""Covering cases per converter leg (harness.tools.leg_cover): a pair held only by cases a
converter refuses tests nothing of that converter, so the cover adds cases the converter
converts and agrees on."""

import json
from pathlib import Path

import pytest

from harness.core.spec import LayerSpec

ROOT = Path(__file__).resolve().parents[1]
COVER = ROOT / "suites" / "onnx" / "cover.json"
O2P = "onnx>onnx2pytorch"

pytest.importorskip("onnxruntime")


def _case(name: str, pairs: set, exercised_by: set):
    from harness.tools.leg_cover import Case

    return Case("K", "float32", {"name": name}, {("K", attr, "1", "float32") for attr in pairs},
                set(exercised_by))


def test_greedy_takes_only_exercised_cases_and_prefers_one_that_serves_both_legs():
    from harness.tools.leg_cover import greedy

    legs = ("a", "b")
    refused = _case("refused", {"x", "y", "z"}, set())
    only_a = _case("only a", {"x"}, {"a"})
    both = _case("both", {"x", "y"}, {"a", "b"})
    nothing_new = _case("nothing new", {"w"}, {"a", "b"})
    held = {(leg, ("K", "w", "1", "float32")) for leg in legs}
    chosen = greedy([refused, only_a, both, nothing_new], legs, held)
    assert [case.spec["name"] for case, _gained in chosen] == ["both"]
    [(_case_, gained)] = chosen
    assert {leg for leg, _pair in gained} == {"a", "b"} and len(gained) == 4


GRU_REFUSED = {"kind": "GRU", "source": "onnx", "schema": "parity.spec/1", "dtype": "float32",
               "seed": 0, "input_shapes": [[2, 1, 2]],
               "attrs": {"opset": 17, "hidden_size": 2, "direction": "bidirectional",
                         "activations": ["Sigmoid", "Tanh", "Sigmoid", "Tanh"],
                         "operands": ["in", {"role": "kernel", "weight": [2, 6, 2]},
                                      {"role": "kernel", "weight": [2, 6, 2]},
                                      {"role": "bias", "weight": [2, 12]}]}}


@pytest.fixture(scope="module")
def gru_leg_cases():
    """The leg cases of GRU over a corpus of one case onnx2pytorch refuses (it refuses any
    written activations list): the real converter, run."""
    from harness.tools.leg_cover import measure

    return measure({"cases": []}, [{"test": "test_op[GRU]", "spec": GRU_REFUSED}], (O2P,),
                   examples=12, kinds=["GRU"])


def test_a_refused_case_exercises_nothing_and_the_leg_cases_reach_its_pairs(gru_leg_cases):
    figures = gru_leg_cases["leg_figures"][O2P]
    assert figures["exercised_before"] == 0
    assert 0 < figures["exercised_with_leg_cases"] == figures["exercisable_drawn"]
    cases = gru_leg_cases["leg_cases"]
    assert cases and all(case["legs"] == [O2P] and case["pairs"] for case in cases)
    held = {pair for case in cases for pair in case["pairs"]}
    assert "(input 3)=bias (float32)" in held, held  # the refused case's bias, converted


def test_each_leg_case_is_one_its_leg_converts_and_agrees_on(gru_leg_cases):
    from harness.run.pipeline import Harness

    harness = Harness(O2P, known_issues=[], diagnose=False)
    for case in gru_leg_cases["leg_cases"]:
        legs = {leg.leg: leg for leg in harness.run(LayerSpec.from_json(case["spec"])).legs}
        assert legs[O2P].verdict == "pass", (case["spec"], legs[O2P].message)


def _planted_gru_without_its_hidden_bias(monkeypatch):
    """onnx2pytorch's GRU (linear_before_reset 0) planted with its input bias of the new
    gate dropped: ``harness.tools.mutants``' comparison fault that survived the ci gate
    before the leg cases (``ci_kills 12 --tool onnx2pytorch --by file --seed 0``)."""
    from onnx2pytorch.operations import gru

    from tests.planted import plant

    plant(monkeypatch, gru.GRUWrapper, "_forward_linear_before_reset_0",
          "+ (b_in if b_in is not None else 0)", "+ (b_in if b_in is None else 0)")


def test_the_cover_s_gru_leg_cases_catch_the_fault_the_ci_gate_missed(monkeypatch):
    from harness.run.pipeline import Harness

    cases = [LayerSpec.from_json(entry["spec"])
             for entry in json.loads(COVER.read_text(encoding="utf-8")).get("leg_cases", [])
             if entry["kind"] == "GRU" and O2P in entry["legs"]]
    assert cases, "the cover holds no GRU case onnx2pytorch exercises"
    harness = Harness(O2P, diagnose=False)

    def failing() -> list[str]:
        return [spec.case_id for spec in cases
                if any(leg.leg == O2P and leg.verdict != "pass"
                       for leg in harness.run(spec).legs)]

    assert failing() == []
    _planted_gru_without_its_hidden_bias(monkeypatch)
    assert failing(), "no GRU leg case shows onnx2pytorch's dropped hidden bias"


def test_the_suite_runs_the_leg_cases():
    from harness.cover_corpus import cases_by_kind

    data = json.loads(COVER.read_text(encoding="utf-8"))
    ids = {spec.case_id for specs in cases_by_kind(COVER, ci_only=True).values()
           for spec in specs}
    leg_ids = {LayerSpec.from_json(entry["spec"]).case_id for entry in data["leg_cases"]}
    assert leg_ids and leg_ids <= ids


def test_a_leg_case_goes_down_only_the_paths_from_its_legs():
    """The suite's ci profile extends a case's default paths with the side paths and the
    torch end; a leg case keeps only those that go on from the legs it was chosen for."""
    from harness.run import side_paths, torch_end
    from harness.run.pipeline import Harness

    extension = side_paths.combine(torch_end.parse("torch-onnx-ts"),
                                   side_paths.parse("onnx>onnxsim"))
    harness = Harness(None, known_issues=[], diagnose=False, extension=extension)
    spec = LayerSpec("Relu", {"opset": 17}, ((1, 3),), source="onnx")
    every = {leg.leg for leg in harness.run(spec).legs}
    assert {"onnx>onnx2torch>torch-onnx-ts", "onnx>onnxsim", "onnx>ort-optimized"} <= every

    legs = {leg.leg for leg in harness.run(spec, (O2P,)).legs}
    assert legs - {"onnx"} == {O2P, f"{O2P}>torch-onnx-ts"}
    legs = {leg.leg for leg in harness.run(spec, ("onnx>onnx2torch",)).legs}
    assert legs - {"onnx"} == {"onnx>onnx2torch", "onnx>onnx2torch>torch-onnx-ts"}
    assert harness.run(spec, ("onnx>no-such-converter",)).legs == []


def test_the_suite_runs_each_leg_case_for_its_legs_and_a_cover_case_for_every_path(tmp_path):
    from harness.cover_corpus import legs_by_case

    spec = {"kind": "Relu", "source": "onnx", "schema": "parity.spec/1", "dtype": "float32",
            "seed": 0, "input_shapes": [[1, 3]], "attrs": {"opset": 17}}
    other = {**spec, "input_shapes": [[2, 3]]}
    cover = tmp_path / "cover.json"
    cover.write_text(json.dumps({
        "cases": [{"kind": "Relu", "spec": spec}],
        "leg_cases": [{"kind": "Relu", "spec": spec, "legs": [O2P]},
                      {"kind": "Relu", "spec": other, "legs": [O2P, "onnx>onnx2torch"]}]}))
    assert legs_by_case(cover) == {LayerSpec.from_json(other).case_id: (O2P, "onnx>onnx2torch")}
    data = json.loads(COVER.read_text(encoding="utf-8"))
    assert set(legs_by_case(COVER).values()) <= {
        tuple(entry["legs"]) for entry in data["leg_cases"]}


def test_a_leg_is_exercised_where_a_leg_after_it_passes():
    """onnxruntime has no float64 Conv, so tf2onnx's leg of a float64 Keras convolution fails
    at load; the onnx2torch leg after it runs tf2onnx's model and shows its faults."""
    from types import SimpleNamespace

    from harness.tools.leg_cover import exercise

    tf2onnx, after = "keras>tf2onnx", "keras>tf2onnx>onnx2torch"

    class Ran:
        def __init__(self, verdicts):
            self.verdicts = verdicts

        def run(self, spec):
            return SimpleNamespace(legs=[SimpleNamespace(leg=leg, verdict=verdict)
                                         for leg, verdict in self.verdicts.items()])

    spec = LayerSpec("Conv1D", {"filters": 1, "kernel_size": [1]}, ((1, 2, 1),)).to_json()
    case = _case("float64 conv", {"x"}, set())
    case.spec = spec
    exercise([case], Ran({"keras": "pass", tf2onnx: "error", after: "pass"}), (tf2onnx, after))
    assert case.exercised_by == {tf2onnx, after}
    exercise([case], Ran({tf2onnx: "pass", after: "fail"}), (tf2onnx, after))
    assert case.exercised_by == {tf2onnx}
    exercise([case], Ran({tf2onnx: "fail", after: "fail"}), (tf2onnx, after))
    assert case.exercised_by == set()


def _figures(pairs: int, before: int) -> dict[str, int]:
    return {"pairs_in_ci_cases": pairs, "exercised_before": before,
            "exercised_with_leg_cases": pairs, "exercisable_drawn": pairs,
            "leg_cases_bringing": 1}


def _result(kind: str, pairs: int, before: int) -> dict:
    return {"leg_examples_per_axis": 8,
            "leg_figures": {"a": _figures(pairs, before)},
            "leg_figures_by_kind": {kind: {"a": _figures(pairs, before)}},
            "leg_cases": [{"kind": kind, "legs": ["a"], "spec": {"kind": kind}}]}


def test_leg_cases_chosen_kind_by_kind_add_up_and_replace_only_their_kind():
    from harness.tools.leg_cover import merged

    cover = merged({"cases": []}, _result("Conv1D", 10, 4), ["Conv1D"], ("a",))
    cover = merged(cover, _result("Conv3D", 5, 1), ["Conv3D"], ("a",))
    assert cover["leg_kinds"] == ["Conv1D", "Conv3D"]
    assert [case["kind"] for case in cover["leg_cases"]] == ["Conv1D", "Conv3D"]
    assert cover["leg_figures"]["a"]["pairs_in_ci_cases"] == 15
    assert cover["leg_figures"]["a"]["exercised_before"] == 5
    # Conv1D again: its cases and figures replace its own, Conv3D's stay
    cover = merged(cover, _result("Conv1D", 12, 6), ["Conv1D"], ("a",))
    assert [case["kind"] for case in cover["leg_cases"]] == ["Conv1D", "Conv3D"]
    assert cover["leg_figures"]["a"]["pairs_in_ci_cases"] == 17
    assert cover["leg_figures"]["a"]["leg_cases_bringing"] == 2
    # every kind at once: the cover's leg cases are every kind's, leg_kinds goes
    every = merged(cover, _result("Dense", 3, 3), None, ("a",))
    assert "leg_kinds" not in every and len(every["leg_cases"]) == 1
    assert "cases" in every


def test_a_cover_whose_figures_are_not_per_kind_is_refused_for_one_kind():
    from harness.tools.leg_cover import CoverError, merged

    old = {"cases": [], "leg_cases": [], "leg_figures": {"a": _figures(3, 3)},
           "leg_examples_per_axis": 8}
    with pytest.raises(CoverError, match="not per kind"):
        merged(old, _result("Conv1D", 10, 4), ["Conv1D"], ("a",))
    with pytest.raises(CoverError, match="drawn at 8 examples an axis"):
        merged(merged({"cases": []}, _result("Conv1D", 1, 1), ["Conv1D"], ("a",)),
               {**_result("Conv3D", 1, 1), "leg_examples_per_axis": 40}, ["Conv3D"], ("a",))
