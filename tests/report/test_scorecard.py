"""Sources, default paths, leg order and the tables counted per group and leg."""

from __future__ import annotations

from collections import Counter

from harness.report.scorecard import (
    KNOWN_DEFAULT_PATHS,
    Column,
    prefixes,
    source_of,
    summarise_sources,
)

from .synthetic import CI_DEFAULT_PATHS


def record(leg: str, path: str, verdict: str = "pass", **extra) -> dict:
    base = {"case_id": f"{leg}{path}{verdict}{sorted(extra.items())}", "kind": "Dense",
            "family": "core", "leg": leg, "path": path, "verdict": verdict}
    return base | extra


def test_records_without_a_source_are_keras() -> None:
    assert source_of({"kind": "Dense"}) == "keras"
    assert source_of({"source": None}) == "keras"
    assert source_of({"source": "mat"}) == "mat"


def test_prefixes() -> None:
    assert prefixes("keras>tf2onnx>onnx2torch") == [
        "keras", "keras>tf2onnx", "keras>tf2onnx>onnx2torch"]


def test_sources_come_in_a_fixed_order_each_with_its_default_path(ci_run) -> None:
    results = [r for r in ci_run if r["record"] == "result"]
    runs = [r for r in ci_run if r["record"] == "run"]
    sources = summarise_sources(results, runs)
    assert [s.source for s in sources] == ["keras", "mat", "onnx", "file"]
    assert [s.label for s in sources] == ["Keras", "MATLAB", "ONNX", "Users' files"]
    assert [s.group_label for s in sources] == ["family", "layer group", "op group", "model"]
    keras, mat, onnx, _ = sources
    assert keras.default_path == CI_DEFAULT_PATHS["keras"]
    assert keras.default_legs == ["keras>tf2onnx", "keras>tf2onnx>onnx2torch"]
    # The default path's legs lead; the saved-format legs, alphabetically first, do not.
    assert keras.legs[:2] == keras.default_legs
    assert keras.legs.index("keras>h5") > keras.legs.index("keras>tf2onnx>onnx2pytorch")
    assert mat.default_legs == ["mat>mat2torch"]
    assert onnx.default_path == "onnx>onnx2torch"
    assert sum(s.cases for s in sources) == len({r["case_id"] for r in results})


def test_the_run_records_name_the_default_path() -> None:
    records = [record("keras>tf2onnx", "keras>tf2onnx>onnx2torch"),
               record("keras>tf2onnx>onnx2torch", "keras>tf2onnx>onnx2torch"),
               record("keras>tf2onnx>myconv", "keras>tf2onnx>myconv")]
    asked = [{"paths": ["keras>tf2onnx>myconv", "keras>tf2onnx>onnx2torch"]}]
    (keras,) = summarise_sources(records, asked)
    assert keras.default_path == "keras>tf2onnx>myconv"
    assert keras.default_legs == ["keras>tf2onnx", "keras>tf2onnx>myconv"]
    (keras,) = summarise_sources(records, [])
    assert keras.default_path == "keras>tf2onnx>onnx2torch"  # the project's default
    (keras,) = summarise_sources(records, [], {"keras": "keras>tf2onnx>myconv"})
    assert keras.default_path == "keras>tf2onnx>myconv"


def test_without_a_known_path_the_most_common_one_is_taken() -> None:
    records = [record("mat>a", "mat>a", source="mat"), record("mat>b", "mat>b", source="mat"),
               record("mat>b", "mat>b", "fail", source="mat")]
    (mat,) = summarise_sources(records, [])
    assert mat.default_path == "mat>b"
    assert mat.legs == ["mat>b", "mat>a"]


def test_scorecard_counts_per_family_and_leg_failing_families_first() -> None:
    records = [
        record("keras>tf2onnx", "keras>tf2onnx>onnx2torch", family="conv"),
        record("keras>tf2onnx>onnx2torch", "keras>tf2onnx>onnx2torch", "xfail", family="conv"),
        record("keras>tf2onnx", "keras>tf2onnx>onnx2torch", family="activations"),
        record("keras>tf2onnx>onnx2torch", "keras>tf2onnx>onnx2torch", "fail",
               family="recurrent"),
        record("keras>h5", "keras>h5>tf2onnx", "error", family="conv"),
    ]
    (keras,) = summarise_sources(records, [])
    card = keras.scorecard(several_devices=False, default_only=True)
    assert [c.leg for c in card.columns] == ["keras>tf2onnx", "keras>tf2onnx>onnx2torch"]
    assert card.rows == ["recurrent", "activations", "conv"]  # the h5 error is not in it
    assert card.cells["conv", Column("keras>tf2onnx>onnx2torch")] == Counter(xfail=1)
    every = keras.scorecard(several_devices=False)
    assert [c.leg for c in every.columns][-1] == "keras>h5"
    assert every.rows[:2] == ["conv", "recurrent"]
    assert every.total == Counter({"pass": 2, "xfail": 1, "fail": 1, "error": 1})


def test_devices_get_their_own_columns() -> None:
    records = [record("keras>tf2onnx", "keras>tf2onnx", device="cpu"),
               record("keras>tf2onnx", "keras>tf2onnx", "fail", device="cuda")]
    (keras,) = summarise_sources(records, [])
    table = keras.matrix(several_devices=True)
    assert [c.label for c in table.columns] == ["keras>tf2onnx [cpu]", "keras>tf2onnx [cuda]"]


def test_a_source_whose_paths_the_run_records_do_not_name_takes_its_built_in_default() -> None:
    records = [record(leg, leg, source="onnx", case_id=f"{leg}{i}")
               for i in range(2) for leg in ("onnx>onnx2pytorch", "onnx>onnx2torch",
                                             "onnx>ort-optimized")]
    asked = [{"paths": ["keras>tf2onnx>onnx2torch"]}]
    (onnx,) = summarise_sources(records, asked)
    assert onnx.default_path == "onnx>onnx2torch"
    assert onnx.legs == ["onnx>onnx2torch", "onnx>onnx2pytorch", "onnx>ort-optimized"]


def test_the_built_in_defaults_are_the_sources_own() -> None:
    import harness.sources

    for name in ("keras", "onnx", "mat"):
        assert harness.sources.get(name).default_paths[0] in KNOWN_DEFAULT_PATHS, name
