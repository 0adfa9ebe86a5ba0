"""Adding a Keras kind, an ONNX op, a MATLAB layer or a stage takes one file
(docs/architecture.md, "Where to add what"): the worked example of each page goes into the
one file the page names, in a copy of the package, and a fresh interpreter then checks what
the repository's own tests check of every kind. A second file needed (a central table that
must list the kind, an import list elsewhere) makes that check fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

pytest.importorskip("onnxruntime")


def blocks(page: str) -> list[str]:
    return PYTHON_BLOCK.findall((ROOT / "docs" / page).read_text())


def package_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "harness", tmp_path / "harness",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_to(copy: Path, relative: str, code: str) -> None:
    """The one file: ``code`` appended to (or written as) ``relative`` in the copy."""
    path = copy / relative
    before = path.read_text() if path.exists() else ""
    path.write_text(before + "\n\n" + code)


def changed_files(copy: Path) -> list[str]:
    """The package files the copy differs in from the repository."""
    changed = []
    for path in sorted((copy / "harness").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            original = ROOT / path.relative_to(copy)
            if not original.exists() or original.read_bytes() != path.read_bytes():
                changed.append(path.relative_to(copy).as_posix())
    return changed


def run_check(copy: Path, program: str) -> dict:
    # torch before TensorFlow in one process (docs/architecture.md's framework order)
    program = PRELUDE + program
    env = {**os.environ, "PYTHONPATH": str(copy), "PARITY_CACHE": "none"}
    done = subprocess.run([sys.executable, "-c", program], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("CHECK "))
    return json.loads(line[len("CHECK "):])


# torch before TensorFlow in one process; what every check reports.
PRELUDE = r'''
from harness.core.frameworks import prepare_imports
prepare_imports()
import json
from harness.core.strategies import sample
from harness.run.pipeline import Harness


def legs(specs, harness=None):
    harness = harness or Harness()
    return sorted({(leg.leg, leg.verdict) for spec in specs for leg in harness.run(spec).legs})


def report(**figures):
    print("CHECK " + json.dumps(figures))
'''


def with_example(tmp_path: Path, page: str, marker: str, target: str) -> Path:
    """A copy of the package with the page's example (the block holding ``marker``) in
    ``target``, and no other file changed."""
    copy = package_copy(tmp_path)
    add_to(copy, target, next(b for b in blocks(page) if marker in b))
    assert changed_files(copy) == [target]
    return copy


KERAS_CHECK = r'''
from harness.core import dtypes, free_dims, registry
from harness.core.inputs import make_inputs
from harness.sources.keras.model import build_model, run_keras
from harness.tools.measure_free_dims import measure

kind = registry.get("SpatialDropout2D")
# What the repository's tests require of every Keras kind: Keras builds and computes it in
# each dtype it is admitted in, and each free dimension admitted holds at two sizes.
admitted = dtypes.admitted(kind)
builds_in = []
for dtype in admitted:
    (spec,) = sample("SpatialDropout2D", 1, axis=dtype)
    (output,) = run_keras(build_model(spec), make_inputs(spec))
    if output.dtype.name == ("float16" if dtype == "mixed_float16" else dtype):
        builds_in.append(dtype)
free = list(free_dims.admitted(kind))
held = {name: measure(kind.name, name, 2)[1] for name in free[1:]}
report(family=kind.family, admitted=list(admitted), builds_in=builds_in, free=free, held=held,
       legs=legs(sample("SpatialDropout2D", 2)))
'''


def test_a_keras_kind_is_one_file(tmp_path):
    copy = with_example(tmp_path, "sources-keras.md", "register(LayerKind(",
                        "harness/sources/keras/kinds/core.py")
    found = run_check(copy, KERAS_CHECK)
    assert found["family"] == "core"
    assert found["admitted"] and found["admitted"] == found["builds_in"]
    assert "spatial" in found["free"], "a spatial kind the page declares free spatial"
    assert all(not failures for failures in found["held"].values()), found["held"]
    assert {leg for leg, _ in found["legs"]} >= {"keras>tf2onnx", "keras>tf2onnx>onnx2torch"}
    assert {verdict for _, verdict in found["legs"]} == {"pass"}, found["legs"]


ONNX_CHECK = r'''
from harness.core import registry
from harness.tools.measure_dtypes import declared_onnx, measure_onnx

kind = registry.get("DocShrink", "onnx")
report(family=kind.family, declared=declared_onnx(["DocShrink"]),
       measured=measure_onnx(["DocShrink"]), legs=legs(sample("DocShrink", 3, source="onnx")))
'''


def test_an_onnx_op_is_one_file(tmp_path):
    copy = with_example(tmp_path, "sources-onnx.md", "op_kind(",
                        "harness/sources/onnx/ops/activations.py")
    found = run_check(copy, ONNX_CHECK)
    assert found["family"] == "activations"
    assert found["declared"] == found["measured"]  # what tests/test_dtypes.py requires
    assert {leg for leg, _ in found["legs"]} >= {"onnx>onnx2torch", "onnx>ort-optimized"}
    # onnx2torch has no Shrink converter (an error on that leg, which the harness names)
    assert "pass" in {verdict for _, verdict in found["legs"]}, found["legs"]


MAT_CHECK = r'''
import harness.mat as hm
from harness.core import registry
from harness.sources.mat import kinds
from harness.mat.handlers.params import flat, tensor
import torch
from torch import nn


class PReLU(nn.Module):  # the page's handler, which a user registers (not a package file)
    def __init__(self, alpha):
        super().__init__()
        self.alpha = nn.Parameter(torch.as_tensor(alpha, dtype=torch.float32))

    def forward(self, x):
        shape = [1] * x.dim()
        shape[-1 if x.dim() == 3 else 1] = -1
        return torch.where(x > 0, x, self.alpha.reshape(shape) * x)


hm.register_layer_handler("PReLULayer", lambda layer: PReLU(flat(layer, "Alpha")))
kind = registry.get("prelu", "mat")
report(family=kind.family, formats=list(kinds.get("prelu").formats),
       legs=legs(sample("prelu", 4, source="mat")))
'''


def test_a_matlab_layer_is_one_file(tmp_path):
    copy = package_copy(tmp_path)
    reference, record = (b for b in blocks("sources-mat.md")
                         if "def prelu(" in b or 'name="prelu"' in b)
    add_to(copy, "harness/sources/mat/kinds/activation.py", reference + "\n\n" + record)
    assert changed_files(copy) == ["harness/sources/mat/kinds/activation.py"]
    found = run_check(copy, MAT_CHECK)
    assert found["family"] == "mat-activation" and found["formats"] == ["dlt"]
    assert {leg for leg, _ in found["legs"]} == {"mat>mat2torch"}
    assert {verdict for _, verdict in found["legs"]} == {"pass"}, found["legs"]


STAGE_CHECK = r'''
report(legs=legs(sample("Relu", 2, source="onnx"), Harness("onnx>onnx-opset18>onnx2torch")))
'''


def test_a_stage_is_one_file_and_its_line_in_the_stage_list(tmp_path):
    copy = package_copy(tmp_path)
    stage = next(b for b in blocks("plugins.md") if "class OpsetUpgrade" in b)
    add_to(copy, "harness/converters/onnx_opset18.py", stage)
    stages = copy / "harness/core/stages.py"
    text = stages.read_text()
    line = '    "onnx-opset18": "harness.converters.onnx_opset18:OpsetUpgrade",\n'
    stages.write_text(text.replace("BUILTIN = {\n", "BUILTIN = {\n" + line, 1))
    assert changed_files(copy) == ["harness/converters/onnx_opset18.py",
                                   "harness/core/stages.py"]
    found = run_check(copy, STAGE_CHECK)
    assert {leg for leg, _ in found["legs"]} == {"onnx>onnx-opset18",
                                                 "onnx>onnx-opset18>onnx2torch"}
    assert {verdict for _, verdict in found["legs"]} == {"pass"}, found["legs"]
