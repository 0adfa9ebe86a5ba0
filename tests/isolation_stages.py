"""Converters that break their process, for the isolation tests."""

import ctypes
import os
import time

from harness import converters
from harness.converters import Artifact


def _units(model) -> int:
    """The last output dimension of the ONNX model: Dense(units=n) gives n."""
    return model.graph.output[0].type.tensor_type.shape.dim[-1].dim_value


class SegfaultingConverter:
    """onnx2torch, except that it segfaults its process on a Dense layer with 3 units."""

    name = "segfaulting"
    source = "onnx"
    target = "torch"
    packages = ("onnx2torch",)

    def convert(self, artifact, options):
        if _units(artifact.model) == 3:
            ctypes.string_at(0)
        return converters.get("onnx2torch").convert(artifact, options)


class HangingConverter:
    """onnx2torch, except that it never returns on a Dense layer with 2 units."""

    name = "hanging"
    source = "onnx"
    target = "torch"
    packages = ("onnx2torch",)

    def convert(self, artifact, options):
        if _units(artifact.model) == 2:
            while True:
                time.sleep(1)
        return converters.get("onnx2torch").convert(artifact, options)


class AbortingAtRunConverter:
    """onnx2torch, but the module it returns aborts the process when run on 3 units."""

    name = "aborting-at-run"
    source = "onnx"
    target = "torch"
    packages = ("onnx2torch",)

    def convert(self, artifact, options):
        import torch

        inner = converters.get("onnx2torch").convert(artifact, options).model
        units = _units(artifact.model)

        class Aborting(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = inner

            def forward(self, *xs):
                if units == 3:
                    os.abort()
                return self.inner(*xs)

        return Artifact("torch", Aborting(), artifact.input_names)


for _converter in (SegfaultingConverter(), HangingConverter(), AbortingAtRunConverter()):
    converters.register(_converter)
