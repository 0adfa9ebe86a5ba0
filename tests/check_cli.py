"""What the `parity check` tests share: the command's JSON by leg, and the reference an ONNX
file is judged by, computed by hand."""

from __future__ import annotations

import json

import numpy as np

from harness.cli import main


def check(capsys, *args) -> dict:
    """``parity check ARGS --json``: the legs by name (the exit code is the payload's)."""
    code = main(["check", *map(str, args), "--json", "-q", "--report", "none"])
    payload = json.loads(capsys.readouterr().out)
    assert payload["exit_code"] == code
    return {leg["leg"]: leg for leg in payload["legs"]}


def onnx_reference(path, x: np.ndarray) -> np.ndarray:
    """onnxruntime with its graph optimisations off: parity's reference for an ONNX file."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]
