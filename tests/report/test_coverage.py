from __future__ import annotations

from collections import Counter

from harness.report import compute_coverage
from harness.report.coverage import DTYPE, RANK, canonical

from .synthetic import KINDS, domains, make_records


def results_of(records: list[dict]) -> list[dict]:
    return [r for r in records if r["record"] == "result"]


def test_values_are_counted_per_case_not_per_leg(records: list[dict]) -> None:
    coverage = {c.kind: c for c in compute_coverage(results_of(records))}
    cases = {r["case_id"]: r["spec"] for r in results_of(records)}
    for kind, kc in coverage.items():
        specs = [s for s in cases.values() if s["kind"] == kind]
        assert kc.cases == len(specs)
        for name in KINDS[kind][1]:
            expected = Counter(canonical(s["attrs"][name]) for s in specs)
            assert kc.attributes[name].drawn == expected
        assert kc.attributes[DTYPE].drawn == Counter({'"float32"': len(specs)})
        assert kc.attributes[RANK].drawn == Counter({"4": len(specs)})


def test_never_drawn_and_undocumented(records: list[dict]) -> None:
    documented = domains()
    documented["Softmax"]["axis"] = [1]  # -1 is drawn but now undocumented
    coverage = {c.kind: c for c in compute_coverage(results_of(records), documented)}
    conv = coverage["Conv2D"]
    assert conv.attributes["dilation_rate"].never_drawn == ["[1,1]", "[2,2]"]
    assert "1024" in coverage["Dense"].attributes["units"].never_drawn
    assert coverage["Softmax"].attributes["axis"].undocumented == ["-1"]
    assert coverage["Dense"].attributes[DTYPE].documented is None


def test_canonical_values() -> None:
    assert canonical((1, 2)) == canonical([1, 2]) == "[1,2]"
    assert canonical({"b": 1, "a": (2,)}) == '{"a":[2],"b":1}'
    assert canonical("same") == '"same"'
    assert canonical(True) == "true" and canonical(None) == "null"
    assert canonical(float("nan")) == '"nan"'
    assert canonical(1e-05) == "1e-05"


def test_domain_of_a_kind_never_run_lists_every_value() -> None:
    coverage = compute_coverage([], {"Conv3D": {"padding": ("valid", "same"), "units": "1..8"}})
    (kind,) = coverage
    assert kind.cases == 0
    assert kind.attributes["padding"].never_drawn == ['"valid"', '"same"']
    assert kind.attributes["units"].documented is None
    assert kind.never_drawn == 2


def test_malformed_specs_are_tolerated() -> None:
    results = [
        {"case_id": "a", "kind": "X", "spec": None},
        {"case_id": "b", "kind": "X", "spec": {"attrs": [1, 2], "input_shapes": "?"}},
        {"case_id": "c", "kind": "X", "spec": {"attrs": {"k": {"nested": [1, (2,)]}}}},
    ]
    (kind,) = compute_coverage(results)
    assert kind.cases == 3
    assert kind.attributes["k"].drawn == Counter({'{"nested":[1,[2]]}': 1})


def test_synthetic_domains_cover_every_kind() -> None:
    records = make_records(cases=24, seed=5)
    coverage = compute_coverage(results_of(records), domains())
    assert {c.kind for c in coverage} == set(KINDS)


def test_per_dimension_domains_match_list_values() -> None:
    results = [
        {"case_id": "a", "kind": "Conv1D", "spec": {"attrs": {"kernel_size": [3], "strides": [1]}}},
        {"case_id": "b", "kind": "Conv1D", "spec": {"attrs": {"kernel_size": [1], "strides": [4]}}},
    ]
    documented = {"Conv1D": {"kernel_size": [1, 2, 3], "strides": [1, 2]}}
    (kind,) = compute_coverage(results, documented)
    assert kind.attributes["kernel_size"].never_drawn == ["2"]
    assert kind.attributes["kernel_size"].undocumented == []
    assert kind.attributes["strides"].never_drawn == ["2"]
    assert kind.attributes["strides"].undocumented == ["[4]"]
