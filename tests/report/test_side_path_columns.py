"""The side paths' legs in the report (docs/rewriters.md): the ONNX rewriters (`onnx>onnxsim`,
`onnx>onnxslim`, `onnx>onnxoptimizer`, and after a converter, `keras>tf2onnx>onnxsim`) and
the TFLite routes (`keras>tflite`, `keras>savedmodel>tflite-savedmodel`) are each a column of
their own in the tables of every path, beside the default path's; a run asked for them alone
(tox's conv-rewriters and conv-tflite) gets its scorecard from them, each column labelled by
the stage it ends in and titled by the whole leg."""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

from harness.report import load_results, render_html
from harness.report.scorecard import stage_label, summarise_sources

from .synthetic import make_records, run_record, write_jsonl

KERAS_SIDE = {"keras>tflite": "litert", "keras>savedmodel>tflite-savedmodel": "litert",
              "keras>tf2onnx>onnxsim": "onnxruntime"}  # the path and its last leg's runner
ONNX_SIDE = ("onnx>onnxsim", "onnx>onnxslim", "onnx>onnxoptimizer")


def leg_record(base: dict, path: str, leg: str, stage: str, runner: str, **extra) -> dict:
    record = copy.deepcopy(base)
    record.update({"path": path, "leg": leg, "stage": stage, "runner": runner,
                   "verdict": "pass", "failure": None, "known_issue": None, **extra})
    return record


def side_records(asked: list[str] | None = None) -> list[dict]:
    """A small Keras run (the default paths), its cases also down the TFLite routes and a
    rewriter after tf2onnx, and ONNX cases down onnx2torch and the three rewriters."""
    records = make_records(cases=12, seed=3)
    if asked is not None:
        for record in records:
            if record["record"] == "run":
                record["paths"] = asked
    results = [r for r in records if r["record"] == "result"]
    firsts = {r["case_id"]: r for r in reversed(results)}
    more = []
    for number, base in enumerate(firsts.values()):
        for path, runner in KERAS_SIDE.items():
            legs = path.split(">")
            for depth in range(2, len(legs) + 1):
                leg = ">".join(legs[:depth])
                if path == "keras>tf2onnx>onnxsim" and depth == 2:
                    continue  # the tf2onnx leg is the default path's
                more.append(leg_record(base, path, leg, legs[depth - 1],
                                       runner if depth == len(legs) else "keras"))
        onnx = copy.deepcopy(base)
        onnx.update(source="onnx", family="math", kind="Relu", case_id=f"onnx{number}")
        more.append(leg_record(onnx, "onnx>onnx2torch", "onnx>onnx2torch", "onnx2torch",
                               "torch"))
        for path in ONNX_SIDE:
            more.append(leg_record(onnx, path, path, stage_label(path), "onnxruntime",
                                   **({"verdict": "xfail"} if path.endswith("slim") else {})))
    return records + more


def page(tmp_path: Path, records: list[dict]) -> str:
    return render_html(load_results([write_jsonl(tmp_path / "r.jsonl", records)]))


def section(text: str, name: str) -> str:
    start = text.index(f'<section id="{name}"')
    return text[start:text.index("</section>", start)]


def column_titles(part: str, source: str) -> list[str]:
    """The legs (column titles) of the source's table in a section of the page."""
    start = part.index(f'data-source="{source}"')
    table = part[start:part.index("</thead>", start)]
    return [html.unescape(title) for title in re.findall(r'<th title="([^"]*)"', table)]


def column_heads(part: str, source: str) -> list[str]:
    start = part.index(f'data-source="{source}"')
    table = part[start:part.index("</thead>", start)]
    return [re.sub(r"<[^>]+>", "", html.unescape(head))
            for head in re.findall(r'<th title="[^"]*"[^>]*>(.*?)</th>', table)]


def test_every_side_leg_is_a_column_of_its_own_in_the_tables_of_every_path(tmp_path):
    every = section(page(tmp_path, side_records()), "paths")
    keras = column_titles(every, "keras")
    assert keras[:2] == ["keras>tf2onnx", "keras>tf2onnx>onnx2torch"]  # the default first
    for leg in ("keras>tflite", "keras>savedmodel", "keras>savedmodel>tflite-savedmodel",
                "keras>tf2onnx>onnxsim"):
        assert keras.count(leg) == 1, keras
    onnx = column_titles(every, "onnx")
    assert onnx == ["onnx>onnx2torch", *sorted(ONNX_SIDE)]
    # a column head breaks after each stage, the whole leg readable
    heads = column_heads(every, "keras")
    assert "keras>savedmodel>tflite-savedmodel" in heads


def test_the_default_scorecard_keeps_to_the_default_path(tmp_path):
    """The first screen's scorecard shows the default path's legs; the side legs, sampled
    beside it, are in the tables of every path."""
    cards = section(page(tmp_path, side_records()), "scorecards")
    assert column_titles(cards, "keras") == ["keras>tf2onnx", "keras>tf2onnx>onnx2torch"]
    assert column_titles(cards, "onnx") == ["onnx>onnx2torch"]


def test_a_run_asked_for_the_side_paths_alone_gets_their_scorecard(tmp_path):
    """tox conv-tflite and conv-rewriters: --parity-paths names the side paths only."""
    asked = ["keras>savedmodel>tflite-savedmodel", "keras>tflite", *ONNX_SIDE]
    records = [r for r in side_records(asked)
               if r["record"] == "run" or r["path"] in asked]
    text = page(tmp_path, records)
    cards = section(text, "scorecards")
    assert column_titles(cards, "keras") == ["keras>savedmodel",
                                             "keras>savedmodel>tflite-savedmodel"]
    assert column_heads(cards, "keras") == ["savedmodel", "tflite-savedmodel"]
    assert column_titles(cards, "onnx") == ["onnx>onnxsim"]
    assert column_heads(cards, "onnx") == ["onnxsim"]
    every = section(text, "paths")
    assert column_titles(every, "keras") == ["keras>savedmodel",
                                             "keras>savedmodel>tflite-savedmodel",
                                             "keras>tflite"]
    assert column_titles(every, "onnx") == list(ONNX_SIDE)  # in the order asked


def test_the_side_legs_count_per_leg(tmp_path):
    records = side_records()
    results = [r for r in records if r["record"] == "result"]
    sources = {s.source: s for s in summarise_sources(results, [run_record()])}
    table = sources["onnx"].scorecard(several_devices=False)
    totals = {column.leg: dict(counts) for column, counts in table.column_totals.items()}
    cases = len({r["case_id"] for r in results if r.get("source") == "onnx"})
    assert totals["onnx>onnxsim"] == {"pass": cases}
    assert totals["onnx>onnxslim"] == {"xfail": cases}
    assert {stage_label(leg) for leg in totals} == {"onnx2torch", "onnxsim", "onnxslim",
                                                     "onnxoptimizer"}


def test_onnx2tf_s_two_legs_are_columns_labelled_by_their_stage(tmp_path):
    """onnx2tf's SavedModel (run by TensorFlow) and TFLite file (run by LiteRT) read one
    conversion: each its own column in the tables of every path; asked alone (tox's
    conv-onnx2tf), the first asked is the scorecard's, as for any run."""
    onnx2tf = {"onnx>onnx2tf": "tensorflow", "onnx>onnx2tf-tflite": "litert"}
    records = side_records()
    bases = {r["case_id"]: r for r in records
             if r["record"] == "result" and r.get("source") == "onnx"}
    records += [leg_record(base, path, path, stage_label(path), runner,
                           **({"verdict": "xfail"} if path.endswith("tflite") else {}))
                for base in bases.values() for path, runner in onnx2tf.items()]
    every = section(page(tmp_path, records), "paths")
    assert column_titles(every, "onnx") == ["onnx>onnx2torch", *sorted([*ONNX_SIDE, *onnx2tf])]
    asked = [r for r in records if r["record"] == "result" and r["path"] in onnx2tf]
    alone = page(tmp_path, [{**r, "paths": list(onnx2tf)} for r in records
                            if r["record"] == "run"] + asked)
    cards = section(alone, "scorecards")
    assert column_titles(cards, "onnx") == ["onnx>onnx2tf"]
    assert column_heads(cards, "onnx") == ["onnx2tf"]
    assert column_titles(section(alone, "paths"), "onnx") == list(onnx2tf)
