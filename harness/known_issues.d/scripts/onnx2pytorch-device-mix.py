# By hand: the bug shows on a CUDA device alone, in ONNX's own node test
# test_nonmaxsuppression_suppress_by_IOU, which no parity source draws: the entry has no minimal
# spec (it is recognised by its message), so there is no case to generate a script from.
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

import sys
import warnings

import numpy as np
import onnx
import onnx2pytorch
import torch
from onnx import numpy_helper
from onnx.backend.test.case.node import collect_testcases
from skeleton.guard import guarded, step
from skeleton.verdict import say

CASE = "test_nonmaxsuppression_suppress_by_IOU"
DEVICE_MIX = "Expected all tensors to be on the same device"


def arrays(values):
    return [numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else np.asarray(v)
            for v in values]


def main():
    print(f"onnx {onnx.__version__}, torch {torch.__version__}, onnx2pytorch "
          f"{getattr(onnx2pytorch, '__version__', '?')}, numpy {np.__version__}")
    step("running on CUDA")
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA device: torch.cuda.is_available() is False; the bug shows "
                           "on CUDA only")
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
            say("REPRODUCED", f"onnx2pytorch's module of {CASE} mixes CPU and CUDA tensors "
                              "inside forward")
        say("DIFFERENT", f"another error on CUDA: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200]}")
    outputs = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
    got = [o.detach().cpu().numpy() for o in outputs]
    if len(got) == len(expected) and all(g.shape == e.shape and np.array_equal(g, e)
                                         for g, e in zip(got, expected)):
        say("FIXED", "the module runs on CUDA and gives ONNX's expected outputs")
    say("DIFFERENT", f"the module runs on CUDA but its outputs {got} differ from ONNX's "
                     f"{expected}")


if __name__ == "__main__":
    sys.exit(guarded(main))
