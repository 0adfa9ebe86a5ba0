"""The worked example of docs/sources-onnx.md ("Adding an op kind") does what the page says:
run in a fresh interpreter, its kind is registered with the page's domains, every drawn spec
builds a checked model that the source reads, the harness takes it down every leg of the
ONNX source's default paths, and what it admits along the axes (its declared dtypes, a free
batch) is what its draws give, with no file but the family file touched."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "sources-onnx.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

CHECK = r'''
from harness.core import registry
from harness import sources
from harness.core import axes
from harness.sources.onnx.op import OP_TYPES
from harness.tools.measure_dtypes import declared_onnx, measure_onnx

kind = registry.get("DocShrink", "onnx")
paths = [p.name for p in harness.paths_for("onnx")]
legs = sorted({leg.leg for spec in sample("DocShrink", 3, source="onnx")
               for leg in harness.run(spec).legs})
print("CHECK " + json.dumps({
    "family": kind.family, "op_type": OP_TYPES["DocShrink"][0],
    "domains": {k: list(v) for k, v in kind.domains.items()
                if k != "opset" and not k.startswith("form_")},
    "forms": sorted(k for k in kind.domains if k.startswith("form_")),
    "paths": paths, "legs": legs, "dtypes": list(axes.admitted(kind).dtypes),
    "refused": {"declared": declared_onnx(["DocShrink"]), "measured": measure_onnx(["DocShrink"])}}))
'''


def example_blocks() -> list[str]:
    return PYTHON_BLOCK.findall(PAGE.read_text())


def test_the_page_has_the_worked_example():
    blocks = example_blocks()
    assert len(blocks) == 2
    assert 'op_kind("Shrink"' in blocks[0] and 'sample("DocShrink"' in blocks[1]


def test_the_worked_example_registers_a_kind_the_harness_runs(tmp_path):
    program = "\n".join(["import json", *example_blocks(), CHECK])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("CHECK "))
    found = json.loads(line.removeprefix("CHECK "))
    assert found["family"] == "activations" and found["op_type"] == "Shrink"
    assert found["domains"] == {"lambd": [0.5, 0.0, 1.5], "bias": [0.0, 0.5]}
    # drawn in the forms exporters write (harness.sources.onnx.forms): one input, no operands
    assert found["forms"] == ["form_attrs", "form_opset"]
    # every leg of every default path ran (verdicts are the converters' business)
    assert found["legs"] == sorted(found["paths"])
    assert "DocShrink(" in done.stdout  # the example printed its cases
    # the family file's dtype declaration is all the dtype axes need: it is what the draws give
    assert found["dtypes"] == []
    assert found["refused"]["declared"] == found["refused"]["measured"]
