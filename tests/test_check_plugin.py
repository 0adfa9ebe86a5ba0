"""Stages with a deliberate fault, for ``parity check``'s tests; also a ``--plugins`` module.

Importing it registers:

- ``onnx2torch-check-fault``: onnx2torch on a copy of the model whose ``/conv2/Conv`` weight is
  scaled by 1.5 (a converter that gets one node wrong);
- ``onnx2torch-check-no-eval``: onnx2torch's module as ``onnx2torch.convert`` returns it, in
  training mode (a converter that forgets ``.eval()``);
- ``onnx-check-fixed-batch``: the ONNX model with every input's first dimension fixed to 4 (a
  converter that bakes a free dimension in);
- ``tf2onnx-check-fault``: tf2onnx with the first weight of the Keras layer ``conv_b`` scaled;
- ``mat2torch-check-fault``: parity's importer with the first convolution's weight scaled.

    parity check model.onnx --plugins tests.test_check_plugin --paths "onnx>onnx2torch-check-fault"
"""

from __future__ import annotations

import onnx
from onnx import numpy_helper

from harness.converters import Artifact, ConvertOptions, get, register
from tests.fakes import FaultyTf2Onnx, onnx_rewrite

FAULTY_NODE = "/conv2/Conv"
FIXED_BATCH = 4


def scale_node_weight(proto, node_name: str, factor: float = 1.5):
    faulty = onnx.ModelProto()
    faulty.CopyFrom(proto)
    weights = {init.name: init for init in faulty.graph.initializer}
    node = next(n for n in faulty.graph.node if n.name == node_name)
    init = weights[node.input[1]]
    value = numpy_helper.to_array(init)
    init.CopyFrom(numpy_helper.from_array((value * factor).astype(value.dtype), init.name))
    return faulty


class FaultyOnnx2Torch:
    name = "onnx2torch-check-fault"
    source, target = "onnx", "torch"
    packages = ("onnx2torch", "torch")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        faulty = Artifact("onnx", scale_node_weight(artifact.model, FAULTY_NODE),
                          list(artifact.input_names))
        return get("onnx2torch").convert(faulty, options)


class Onnx2TorchWithoutEval:
    name = "onnx2torch-check-no-eval"
    source, target = "onnx", "torch"
    packages = ("onnx2torch", "torch")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import onnx2torch

        return Artifact("torch", onnx2torch.convert(artifact.model),
                        list(artifact.input_names))


def fixed_batch(model) -> None:
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].Clear()
            dims[0].dim_value = FIXED_BATCH


class FaultyMat2Torch:
    name = "mat2torch-check-fault"
    source, target = "mat", "torch"
    packages = ("torch",)

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import torch

        converted = get("mat2torch").convert(artifact, options)
        conv = next(m for m in converted.model.modules()
                    if any(isinstance(p, torch.nn.Parameter) and p.ndim == 4
                           for p in m.parameters(recurse=False)))
        with torch.no_grad():
            next(p for p in conv.parameters(recurse=False) if p.ndim == 4).mul_(1.5)
        return converted


FAULTS = [FaultyOnnx2Torch(), Onnx2TorchWithoutEval(), onnx_rewrite("onnx-check-fixed-batch", fixed_batch), FaultyMat2Torch(),
          FaultyTf2Onnx("conv_b", name="tf2onnx-check-fault")]


def register_all() -> None:
    for converter in FAULTS:
        register(converter)


register_all()
