"""A plugin stage that bakes a size in (a ``--parity-plugins`` module; importing it registers
the stage): tf2onnx's conversion with every graph input's batch fixed at 1, as a converter
that traces at one size writes it. A case with a free batch passes at batch 1 and fails at
its further size; tests/test_repro_script.py scripts that failure in a fresh process."""

from __future__ import annotations

import copy

from harness import converters
from harness.converters import Artifact

NAME = "tf2onnx-baked-batch"


class BakedBatchTf2Onnx:
    name = NAME
    source = "keras"
    target = "onnx"
    packages = ("tensorflow", "tf2onnx", "onnx")

    def convert(self, artifact, options):
        converted = converters.get("tf2onnx").convert(artifact, options)
        model = copy.deepcopy(converted.model)
        for graph_input in model.graph.input:
            graph_input.type.tensor_type.shape.dim[0].dim_value = 1
        return Artifact("onnx", model, list(converted.input_names), dict(converted.meta))


if NAME not in converters.available():
    converters.register(BakedBatchTf2Onnx())
