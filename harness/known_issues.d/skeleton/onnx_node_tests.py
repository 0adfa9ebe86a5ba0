"""ONNX's own backend node test cases, read by onnxruntime (optimisations off) and compared
with onnx's expected outputs as onnx's backend test runner compares a runtime."""

import warnings

import numpy as np
import onnx
from onnx import numpy_helper
from skeleton.verdict import KNOWN_ISSUE


def arrays(values):
    return [numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else np.asarray(v)
            for v in values]


def node_tests_verdict(op_type, case_names) -> int:
    """REPRODUCED (1) where onnxruntime differs from onnx on a case named, DIFFERENT (2)
    where it refuses one, FIXED (0) where it meets every one."""
    import onnxruntime as ort
    from onnx.backend.test.case.node import collect_testcases

    print(f"{KNOWN_ISSUE}: onnx {onnx.__version__}, onnxruntime {ort.__version__}, "
          f"numpy {np.__version__}")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = {case.name: case for case in collect_testcases(op_type)}
    differs = refused = 0
    for name in case_names:
        case = cases[name]
        given, wanted = case.data_sets[0]
        inputs, expected = arrays(given), arrays(wanted)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            session = ort.InferenceSession(case.model.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
            names = [i.name for i in session.get_inputs()]
            actual = session.run(None, dict(zip(names, inputs)))
        except Exception as exc:  # noqa: BLE001 - a refusal is another bug than this one
            print(f"{name}: onnxruntime refuses it: {type(exc).__name__}: {exc}")
            refused += 1
            continue
        for number, (got, want) in enumerate(zip(actual, expected)):
            if np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=case.rtol,
                           atol=case.atol, equal_nan=True):
                continue
            wide = want.astype(np.float64)
            with np.errstate(invalid="ignore"):
                excess = np.abs(got.astype(np.float64) - wide) - (case.atol + case.rtol * abs(wide))
            excess = np.where(np.isnan(excess), np.inf, excess)
            where = np.unravel_index(int(np.argmax(excess)), excess.shape)
            print(f"{name}: output {number} is furthest outside the tolerance at "
                  f"{tuple(int(i) for i in where)}: onnxruntime {got[where]!r}, onnx expects "
                  f"{want[where]!r}")
            differs += 1
            break
        else:
            print(f"{name}: onnxruntime meets onnx's expected outputs")
    if differs:
        print(f"REPRODUCED: known issue {KNOWN_ISSUE}: numeric_mismatch (exit 1)")
        return 1
    if refused:
        print(f"DIFFERENT: onnxruntime refuses the model, not known issue {KNOWN_ISSUE} (exit 2)")
        return 2
    print(f"FIXED: known issue {KNOWN_ISSUE} does not reproduce (exit 0)")
    return 0
