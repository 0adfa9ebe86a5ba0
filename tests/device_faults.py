"""A ``--parity-plugins`` module for the device-containment tests: a planted CUDA fault.

Importing it registers a device context labelled "CUDA" (``harness.runtimes.device``) and a
stage, ``planted-assert`` (onnx2torch otherwise), whose module, on an input whose last
dimension is 3, does what a device-side assert does to a real CUDA context: the kernel's
assertion goes to the process' stderr, the call raises torch's text, and from then on the
context is unusable: every later call of any such module in the process raises the same
error (a victim), and the context's probe fails. The worker finds it with the same probe it
uses for a real CUDA context, so the planted fault takes the real one's path to the record.
"""

import sys

from harness import converters
from harness.runtimes import device
from tests.fakes import Fake, with_forward

CUDA_ERROR = ("CUDA error: device-side assert triggered\nCUDA kernel errors might be "
              "asynchronously reported at some other API call, so the stacktrace below might "
              "be incorrect.\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1")
KERNEL_LINE = ("/planted/aten/src/ATen/native/cuda/PlantedIndexKernel.cu:111: operator(): "
               "block: [0,0,0], thread: [{t},0,0] Assertion `-sizes[i] <= index && index < "
               "sizes[i] && \"index out of bounds\"` failed.")
TRIGGER = 3  # the last input dimension that trips the planted kernel


class PlantedContext:
    label = "CUDA"

    def __init__(self):
        self.poisoned = False

    def active(self) -> bool:
        return True

    def probe(self):
        return f"AcceleratorError: {CUDA_ERROR}" if self.poisoned else None


CONTEXT = device.register(PlantedContext())


def _forward(module, *xs):
    if CONTEXT.poisoned:  # every call after the fault, in any case: the victims
        raise RuntimeError(CUDA_ERROR)
    if xs[0].shape[-1] == TRIGGER:
        for thread in range(4):  # the device prints one line per failing thread
            print(KERNEL_LINE.format(t=thread), file=sys.stderr, flush=True)
        CONTEXT.poisoned = True
        raise RuntimeError(CUDA_ERROR)
    return module(*xs)


converters.register(Fake("planted-assert", "onnx2torch",
                         after=lambda converted: with_forward(converted, _forward)))
