"""What the `parity check` tests share: the command's JSON, by leg or whole, and the reference
an ONNX file is judged by, computed by hand. (The stages of ``PLUGIN`` come registered by the
``check_plugin`` fixture of tests/conftest.py.)"""

from __future__ import annotations

import json

import numpy as np

from harness.cli import main

PLUGIN = "tests.test_check_plugin"  # a --plugins module of stages with deliberate faults


def check_json(capsys, *args) -> tuple[int, dict]:
    """``parity check ARGS --json``: its exit code and its JSON. No report is written unless
    ``ARGS`` names a ``--report`` folder."""
    code = main(["check", "--report", "none", *map(str, args), "--json", "-q"])
    captured = capsys.readouterr()
    assert captured.out, captured.err
    return code, json.loads(captured.out)


def check(capsys, *args) -> dict:
    """``parity check ARGS --json``: the legs by name (the exit code is the payload's)."""
    code, payload = check_json(capsys, *args)
    assert payload["exit_code"] == code
    return {leg["leg"]: leg for leg in payload["legs"]}


def onnx_reference(path, x: np.ndarray) -> np.ndarray:
    """onnxruntime with its graph optimisations off: parity's reference for an ONNX file."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]
