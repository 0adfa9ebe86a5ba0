"""The results writer: a line per record, non-finite floats as the strings JSON can hold,
whether or not a record holds any (the writer skips the walk where none is)."""

import json
import math

import numpy as np

from harness.results import ResultWriter, jsonable


class Opaque:
    def __str__(self):
        return "opaque"


def test_records_with_and_without_non_finite_floats_are_written_as_jsonable_makes_them(
        tmp_path):
    records = [
        {"metrics": {"max_abs": 0.5, "index": (1, 2)}, "note": None, "object": Opaque()},
        {"metrics": {"required_rtol": math.inf, "low": -math.inf, "max_rel": math.nan}},
        {"metrics": {"max_abs": np.float64("inf"), "shape": [np.int64(2)]}},
        {"nested": [{"value": float("nan")}], "float32": np.float32("nan")},
    ]
    writer = ResultWriter(tmp_path / "results.jsonl")
    writer.write_all(records)
    writer.close()
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert lines == [json.dumps(jsonable(r), allow_nan=False, default=str) for r in records]
    assert json.loads(lines[1])["metrics"] == {"required_rtol": "inf", "low": "-inf",
                                               "max_rel": "nan"}
    assert json.loads(lines[2])["metrics"]["max_abs"] == "inf"
    assert json.loads(lines[0])["object"] == "opaque"
