"""A plugin stage whose module writes into the tensors it is called with (a
``--parity-plugins`` module; importing it registers the stage): onnx2torch's module wrapped so
that it computes from copies of its inputs, then zeroes its first input. Its outputs are
onnx2torch's; tests/test_inputs_written.py fails its leg on the write, in parity and in a
reproducer run in a fresh process."""

from __future__ import annotations

import torch

from harness import converters
from harness.converters import Artifact

NAME = "onnx2torch-zeroes-its-input"


class ZeroesItsFirstInput(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, *inputs):
        outputs = self.inner(*(x.clone() for x in inputs))
        inputs[0].zero_()
        return outputs


class ZeroingOnnx2Torch:
    name = NAME
    source = "onnx"
    target = "torch"
    packages = ("onnx2torch", "torch", "onnx")

    def convert(self, artifact, options):
        converted = converters.get("onnx2torch").convert(artifact, options)
        return Artifact("torch", ZeroesItsFirstInput(converted.model),
                        list(converted.input_names), dict(converted.meta))


if NAME not in converters.available():
    converters.register(ZeroingOnnx2Torch())
