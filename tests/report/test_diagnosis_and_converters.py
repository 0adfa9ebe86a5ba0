"""The per-layer diagnosis block, its growth chart, and the converters-side-by-side table."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report.fragments import diagnosis_block as _diagnosis
from harness.report.summary import converter_table
from harness.report.svg import growth_svg

SVG = "{http://www.w3.org/2000/svg}"

GROWTH = [
    {"layer": "n00_conv2d", "kind": "Conv2D", "mapped": True, "passed": True, "max_abs": 1e-7},
    {"layer": "n01_relu", "kind": "ReLU", "mapped": False, "note": "fused into a neighbour"},
    {"layer": "n02_dense", "kind": "Dense", "mapped": True, "passed": False, "max_abs": 0.5},
    {"layer": "n03_dense", "kind": "Dense", "mapped": True, "passed": False, "max_abs": 2.0},
]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def test_growth_chart_has_a_bar_per_mapped_layer_red_past_tolerance():
    svg = parse(growth_svg(GROWTH))
    paths = {p.get("class"): p.get("d") for p in svg.iter(f"{SVG}path")}
    assert paths["b"].count("z") == 1
    assert paths["bo"].count("z") == 2
    title = svg.find(f"{SVG}title").text
    assert "n01_relu: not mapped" in title and "n03_dense: 2" in title


def test_growth_chart_ignores_junk():
    assert growth_svg(None) == "" and growth_svg([]) == ""
    assert "<svg" in growth_svg([{"mapped": True, "max_abs": "NaN"}, "junk"])


def test_diagnosis_block_names_layer_stage_and_escapes_model_strings():
    hostile = "<script>alert(1)</script>"
    block = _diagnosis({
        "layers": 4, "mapped": 3, "growth": [*GROWTH, {"layer": hostile, "mapped": False}],
        "first_divergence": GROWTH[2], "stage": "onnx2torch",
        "isolated": {"passed": False, "max_abs": 0.5},
        "summary": f"first diverges at layer 3/4 n02_dense {hostile}",
    })
    assert "n02_dense" in block and "onnx2torch" in block and "diverges, max_abs 0.5" in block
    assert "<script>" not in block and "&lt;script&gt;" in block
    assert "unavailable: boom" in _diagnosis({"error": "boom"})
    assert _diagnosis({}) == ""


def test_converter_table_counts_verdicts_per_family_and_last_stage():
    def record(leg, family, verdict):
        return {"leg": leg, "stage": leg.rsplit(">", 1)[-1], "family": family,
                "verdict": verdict}

    table = converter_table([
        record("keras>tf2onnx", "conv", "pass"),
        record("keras>tf2onnx>onnx2torch", "conv", "xfail"),
        record("keras>tf2onnx>onnx2pytorch", "conv", "fail"),
        record("keras>tf2onnx>onnx2pytorch", "conv", "error"),
        record("keras>tf2onnx", "core", "pass"),
        {"leg": "keras", "stage": "keras", "family": "conv", "verdict": "fail"},
    ])
    assert table.converters == ["onnx2pytorch", "onnx2torch", "tf2onnx"]
    assert table.cell("conv", "onnx2pytorch") == "0 / 0 / 2"
    assert table.cell("conv", "onnx2torch") == "0 / 1 / 0"
    assert table.cell("core", "onnx2torch") == "-"
    assert table.markdown().splitlines()[2] == "| conv | 0 / 0 / 2 | 0 / 1 / 0 | 1 / 0 / 0 |"
