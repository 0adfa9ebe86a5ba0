"""The quick gate kills a fault planted in a fusion the patterns source draws, and names the
stage and the pass (issue 49): onnxslim's Conv + Add fusion with the Add's constant taken
from the Conv's bias instead of added to it, planted in the installed onnxslim by a pytest
plugin in the gate's own process (a fault in the converter, not a mock of it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnxslim")

ROOT = Path(__file__).resolve().parents[1]
PLANT = '''\
"""Plants a one-line fault in onnxslim's Conv + Add fusion (FusionConvAdd)."""
import inspect
import textwrap

from onnxslim.core.pattern.fusion import convadd

source = textwrap.dedent(inspect.getsource(convadd.ConvAddMatcher.rewrite))
faulty = source.replace("conv_node.inputs[2].values + node.inputs[1]",
                        "conv_node.inputs[2].values - node.inputs[1]")
assert faulty != source, "onnxslim's Conv + Add fusion changed: plant the fault anew"
namespace = {}
exec(compile(faulty, convadd.__file__, "exec"), vars(convadd), namespace)
convadd.ConvAddMatcher.rewrite = namespace["rewrite"]
'''


def _gate(folder: Path, plugins: Path, *pytest_args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "PARITY_GOLDEN"}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(plugins), *filter(None, [environment.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "gate", "--converter", "onnxslim", "--suites",
         "onnx", "--", "-k", "test_op and ConvConst", "-p", "no:xdist", *pytest_args],
        cwd=folder, env=environment, capture_output=True, text=True, timeout=600)


def test_a_fault_planted_in_a_fusion_fails_the_gate_naming_stage_and_pass(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "plant_convadd.py").write_text(PLANT)
    # A folder each: the stage cache keys onnxslim's output by its installed files, which a
    # fault planted at run time leaves as they were.
    clean_folder, planted_folder = tmp_path / "clean", tmp_path / "planted"
    clean_folder.mkdir()
    planted_folder.mkdir()
    clean = _gate(clean_folder, plugins)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    planted = _gate(planted_folder, plugins, "-p", "plant_convadd")
    assert planted.returncode == 1, planted.stdout[-3000:] + planted.stderr[-3000:]
    assert "leg onnx>onnxslim (stage onnxslim" in planted.stdout
    assert "onnxslim pass whose absence makes the model pass: FusionConvAdd" in planted.stdout
