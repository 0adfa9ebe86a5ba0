"""onnxruntime 1.29 and later send usage telemetry from every process that imports them (Linux,
macOS) and leave a device id, an event store and a session file behind: parity opts out for
itself and the processes it starts, unless the user has chosen (harness/__init__.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

ROOT = Path(__file__).resolve().parents[1]

# One session created and run, as every onnxruntime leg does, after importing ``first``.
SESSION = """
import {first}
import numpy as np
import onnxruntime
from onnx import TensorProto, helper

graph = helper.make_graph(
    [helper.make_node("Relu", ["x"], ["y"])], "g",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
session = onnxruntime.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
session.run(None, {{"x": np.ones(2, np.float32)}})
import os
print(os.environ.get("ORT_DISABLE_TELEMETRY"))
"""


def left_behind(tmp_path: Path, name: str, first: str, setting: str | None):
    """(what the process printed, the files it left in its home, temporary and working
    folders), each folder empty at the start."""
    home, temporary, working = (tmp_path / name / part for part in ("home", "tmp", "cwd"))
    for folder in (home, temporary, working):
        folder.mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if key != "ORT_DISABLE_TELEMETRY"}
    env |= {"HOME": str(home), "TMPDIR": str(temporary),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))}
    # onnxruntime keeps quiet under a CI service's variables; a user's machine has none
    for variable in ("GITHUB_ACTIONS", "TF_BUILD", "CI"):
        env.pop(variable, None)
    if setting is not None:
        env["ORT_DISABLE_TELEMETRY"] = setting
    done = subprocess.run([sys.executable, "-c", SESSION.format(first=first)], cwd=working,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    files = sorted(str(path.relative_to(tmp_path / name))
                   for folder in (home, temporary, working) for path in folder.rglob("*")
                   if path.is_file())
    return done.stdout.strip(), files


def test_a_process_that_imports_parity_leaves_no_telemetry_behind(tmp_path):
    said, files = left_behind(tmp_path, "parity", "harness", None)
    assert said == "1"
    assert files == []


def test_without_parity_this_onnxruntime_would_have_left_them(tmp_path):
    """What the opt-out spares, on this machine's onnxruntime: the check above means something
    only where onnxruntime writes its telemetry state when nothing opts out."""
    said, files = left_behind(tmp_path, "bare", "sys", None)
    if not files:
        pytest.skip("this onnxruntime writes no telemetry state (before 1.29, or built without)")
    assert said == "None"
    assert any(".onnxruntime" in name for name in files), files


def test_the_user_s_own_setting_is_kept(tmp_path):
    said, _ = left_behind(tmp_path, "user", "harness", "0")
    assert said == "0"
