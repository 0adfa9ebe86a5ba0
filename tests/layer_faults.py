"""Converters with a deliberate fault in one named layer, for the diagnostics tests.

Each wraps a real converter and scales the first weight of the first converted node that
sits in the named Keras layer's scope: a stand-in for a wrong epsilon, a dropped bias or a
mis-ordered gate in that layer alone. The fault finds its node by name on its own, without
the mapping under test.

Also a ``--parity-plugins`` module: importing it registers a faulty stage for the first, a
middle and the last layer of tests/test_diagnostics.py's eight-layer stack, in each
direction, as ``tf2onnx-fault-first|middle|last`` and ``onnx2torch-fault-first|middle|last``::

    pytest ... --parity-plugins tests.layer_faults \\
        --parity-paths "keras>tf2onnx-fault-middle>onnx2torch,keras>tf2onnx>onnx2torch-fault-last"
"""

from __future__ import annotations

from harness.converters import Artifact, ConvertOptions, get, register


def in_scope(node_name: str, layer: str) -> bool:
    return any(part == layer or part.rsplit("_", 1)[0] == layer
               for part in node_name.split("/"))


def scale_first_weight(proto, layer: str, factor: float):
    import onnx
    from onnx import numpy_helper

    faulty = onnx.ModelProto()
    faulty.CopyFrom(proto)
    weights = {init.name: init for init in faulty.graph.initializer}
    for node in faulty.graph.node:
        if not in_scope(node.name, layer):
            continue
        for name in node.input:
            init = weights.get(name)
            if init is None:
                continue
            value = numpy_helper.to_array(init)
            if value.dtype.kind == "f" and value.size > 1:
                init.CopyFrom(numpy_helper.from_array((value * factor).astype(value.dtype),
                                                      name))
                return faulty
    raise AssertionError(f"no weight of layer {layer!r} in the ONNX graph to corrupt")


class FaultyTf2Onnx:
    """tf2onnx, with one layer's weight scaled: a Keras→ONNX stage bug."""

    source, target = "keras", "onnx"
    packages = ("tf2onnx", "tensorflow", "onnx")

    def __init__(self, layer: str, factor: float = 1.5, name: str = "tf2onnx-fault"):
        self.layer, self.factor, self.name = layer, factor, name

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        converted = get("tf2onnx").convert(artifact, options)
        converted.model = scale_first_weight(converted.model, self.layer, self.factor)
        return converted


class FaultyOnnx2Torch:
    """onnx2torch, converting one layer with a scaled weight: an ONNX→PyTorch stage bug."""

    source, target = "onnx", "torch"
    packages = ("onnx2torch", "torch", "onnx")

    def __init__(self, layer: str, factor: float = 1.5, name: str = "onnx2torch-fault"):
        self.layer, self.factor, self.name = layer, factor, name

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        faulty = Artifact("onnx", scale_first_weight(artifact.model, self.layer, self.factor),
                          artifact.input_names)
        return get("onnx2torch").convert(faulty, options)



# The layers of tests/test_diagnostics.py's STACK_SPEC the registered faults break.
FAULTY_LAYERS = {"first": "n00_conv2d", "middle": "n03_batch_normalization", "last": "n07_dense"}

for _where, _layer in FAULTY_LAYERS.items():
    register(FaultyTf2Onnx(_layer, name=f"tf2onnx-fault-{_where}"))
    register(FaultyOnnx2Torch(_layer, name=f"onnx2torch-fault-{_where}"))
