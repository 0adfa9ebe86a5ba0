"""onnx2pytorch makes a tensor on the CPU inside forward: its module, moved to CUDA, cannot run.

Standalone: needs numpy, onnx, torch (a CUDA build, and a CUDA device) and onnx2pytorch. It
generates ONNX's own backend node test case test_nonmaxsuppression_suppress_by_IOU with the
installed onnx (onnx.backend.test.case.node.collect_testcases), converts its model with
onnx2pytorch's ConvertModel, moves the module and the inputs to CUDA, as a user running on a
GPU does, and runs it. onnx2pytorch's NonMaxSuppression builds a tensor without a device inside
forward (MelWeightMatrix likewise), so torch refuses: "Expected all tensors to be on the same
device". On the CPU the same module gives ONNX's expected outputs: the bug is CUDA's alone.
The last line says REPRODUCED (exit 1: the device mix), FIXED (exit 0: ONNX's expected outputs
on CUDA), DIFFERENT (exit 2: another error or other outputs) or CANNOT RUN (exit 3: this machine
cannot run it: no CUDA device, or a framework does not import).
"""

import os
import re
import sys
import traceback
import warnings

CANNOT_RUN = 3  # exit code: this machine cannot run the case (no verdict); 1 is REPRODUCED only


def cannot_run(what: str, exc: BaseException) -> int:
    """The one line of a case this machine cannot run, after the traceback (on stderr)."""
    traceback.print_exception(type(exc), exc, exc.__traceback__)
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    first = next((line for line in lines if line), "")
    print(f"CANNOT RUN: {what} ({type(exc).__name__}: {first[:240]}) (exit {CANNOT_RUN})",
          flush=True)
    return CANNOT_RUN


def _uncaught(kind, exc, tb):  # an exception outside main(): an import, most often
    if not issubclass(kind, Exception):
        return sys.__excepthook__(kind, exc, tb)
    cannot_run("importing the frameworks", exc)
    sys.stderr.flush()
    os._exit(CANNOT_RUN)


sys.excepthook = _uncaught  # Python exits 1 on an uncaught exception, and 1 says REPRODUCED


import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import numpy_helper  # noqa: E402

KNOWN_ISSUE = "onnx2pytorch-device-mix"
CASE = "test_nonmaxsuppression_suppress_by_IOU"
DEVICE_MIX = "Expected all tensors to be on the same device"


def arrays(values):
    return [numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else np.asarray(v)
            for v in values]


def main() -> int:
    import onnx2pytorch
    from onnx.backend.test.case.node import collect_testcases

    print(f"{KNOWN_ISSUE}: onnx {onnx.__version__}, torch {torch.__version__}, onnx2pytorch "
          f"{getattr(onnx2pytorch, '__version__', '?')}, numpy {np.__version__}")
    if not torch.cuda.is_available():
        return cannot_run("running on CUDA", RuntimeError(
            "no CUDA device: torch.cuda.is_available() is False; the bug shows on CUDA only"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case = {c.name: c for c in collect_testcases("NonMaxSuppression")}[CASE]
    given, wanted = case.data_sets[0]
    inputs, expected = arrays(given), arrays(wanted)
    module = onnx2pytorch.ConvertModel(case.model).eval().to("cuda")
    tensors = [torch.from_numpy(np.array(x)).to("cuda") for x in inputs]
    try:
        with torch.inference_mode():
            outputs = module(*tensors)
    except RuntimeError as exc:
        if DEVICE_MIX in str(exc):
            print(f"torch raised: {str(exc).splitlines()[0]}")
            print(f"REPRODUCED: {KNOWN_ISSUE}: onnx2pytorch's module of {CASE} mixes CPU and "
                  f"CUDA tensors inside forward (exit 1)")
            return 1
        print(f"DIFFERENT: {KNOWN_ISSUE}: another error on CUDA: {type(exc).__name__}: "
              f"{str(exc).splitlines()[0][:200]} (exit 2)")
        return 2
    outputs = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
    got = [o.detach().cpu().numpy() for o in outputs]
    if len(got) == len(expected) and all(g.shape == e.shape and np.array_equal(g, e)
                                         for g, e in zip(got, expected)):
        print(f"FIXED: {KNOWN_ISSUE}: the module runs on CUDA and gives ONNX's expected "
              f"outputs (exit 0)")
        return 0
    print(f"DIFFERENT: {KNOWN_ISSUE}: the module runs on CUDA but its outputs {got} differ from "
          f"ONNX's {expected} (exit 2)")
    return 2


if __name__ == "__main__":
    sys.exit(main())
