# By hand: no entry's script but the tool docs/onnx-node-tests.md names: it rebuilds every entry
# of onnx-node-tests.toml outside parity, on every runtime at once.
"""The known issues of harness/known_issues.d/onnx-node-tests.toml rebuilt by hand, outside parity.

Generates ONNX's backend node test cases with onnx itself (collect_testcases), and runs each
case named on the command line (default: every case an entry of that file pins) through
onnxruntime with graph optimisations off and on, onnx2torch and onnx2pytorch, each compared
with onnx's expected outputs as onnx's backend test runner compares a runtime (numpy.allclose at
the case's rtol and atol). Imports no parity: onnx, numpy, onnxruntime, torch, onnx2torch and
onnx2pytorch only. Prints the versions, then one line per case and reader: "ok", "DIFFERS" with
the largest difference and where, or "RAISES" with the exception.

    python harness/known_issues.d/scripts/onnx-node-tests-by-hand.py [CASE ...]
"""

import importlib.metadata
import re
import sys
import warnings
from pathlib import Path

import numpy as np

warnings.simplefilter("ignore")
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402  (torch before anything that may import TensorFlow)
from onnx import numpy_helper  # noqa: E402
from onnx.backend.test.case.node import collect_testcases  # noqa: E402

PACKAGES = ("onnx", "onnxruntime", "torch", "onnx2torch", "onnx2pytorch", "numpy")
ENTRIES = Path(__file__).resolve().parents[1] / "onnx-node-tests.toml"


def pinned_cases() -> list[str]:
    """Every node test case a minimal spec of onnx-node-tests.toml names."""
    return sorted(set(re.findall(r'kind = "(test_\w+)", source = "onnx-node"',
                                 ENTRIES.read_text(encoding="utf-8"))))


def arrays(values):
    return [numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else np.asarray(v)
            for v in values]


def verdict(outputs, expected, rtol, atol) -> str:
    if len(outputs) != len(expected):
        return f"DIFFERS: {len(outputs)} outputs, onnx expects {len(expected)}"
    for n, (got, want) in enumerate(zip(outputs, expected)):
        got = np.asarray(got)
        if got.shape != want.shape:
            return f"DIFFERS: output {n} has shape {got.shape}, onnx expects {want.shape}"
        wide_got, wide_want = got.astype(np.float64), want.astype(np.float64)
        if not np.allclose(wide_got, wide_want, rtol=rtol, atol=atol, equal_nan=True):
            with np.errstate(invalid="ignore"):
                gap = np.abs(wide_got - wide_want)
            where = np.unravel_index(int(np.nanargmax(np.where(np.isnan(gap), np.inf, gap))),
                                     gap.shape) if gap.size else ()
            return (f"DIFFERS: output {n} at {tuple(int(i) for i in where)}: {got[where]!r}, "
                    f"onnx expects {want[where]!r}")
    return "ok"


def run_ort(model, inputs, level):
    options = ort.SessionOptions()
    options.graph_optimization_level = level
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs)))


def run_torch(module, inputs):
    with torch.inference_mode():
        outputs = module(*[torch.from_numpy(np.array(x)) for x in inputs])
    outputs = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
    return [o.numpy() for o in outputs]


def readers():
    from onnx2pytorch import ConvertModel
    from onnx2torch import convert

    return {
        "onnxruntime (optimisations off)": lambda m, x: run_ort(
            m, x, ort.GraphOptimizationLevel.ORT_DISABLE_ALL),
        "onnxruntime (optimisations on)": lambda m, x: run_ort(
            m, x, ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
        "onnx2torch": lambda m, x: run_torch(convert(m).eval(), x),
        "onnx2pytorch": lambda m, x: run_torch(ConvertModel(m).eval(), x),
    }


def main(names: list[str]) -> int:
    print(", ".join(f"{p} {importlib.metadata.version(p)}" for p in PACKAGES))
    cases = {case.name: case for case in collect_testcases()}
    for name in names or pinned_cases():
        case = cases[name]
        given, wanted = case.data_sets[0]
        inputs, expected = arrays(given), arrays(wanted)
        for reader, read in readers().items():
            try:
                found = verdict(read(case.model, inputs), expected, case.rtol, case.atol)
            except Exception as exc:  # noqa: BLE001  (what the reader raised is the finding)
                found = f"RAISES {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            print(f"{name} | {reader} | {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
