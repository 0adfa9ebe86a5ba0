"""ONNX → PyTorch converters that mis-convert one attribute of one op, for the fault tests.

Each wraps onnx2torch and reads one attribute of every node of its op type wrongly before
converting, as a converter bug in that op's converter would:

- ``onnx2torch-fault-bn-epsilon``: BatchNormalization's ``epsilon`` ignored (the default
  1e-5 used), a normalisation op;
- ``onnx2torch-fault-leakyrelu-alpha``: LeakyRelu's ``alpha`` ignored (the default 0.01),
  an activation;
- ``onnx2torch-fault-transpose-perm``: Transpose's ``perm`` with its last two axes
  swapped, a shape op.

The faults find their nodes by op type on their own, without the diagnosis under test.
Also a ``--parity-plugins`` module: importing it registers the three stages::

    pytest suites/onnx --parity-plugins tests.onnx_faults \\
        --parity-paths "onnx>onnx2torch-fault-bn-epsilon"
"""

from __future__ import annotations

from collections.abc import Callable

from harness.converters import Artifact, ConvertOptions, get, register


def _rewrite(proto, op_type: str, change: Callable[[object], bool]):
    """A copy of ``proto`` with ``change(node)`` applied to every ``op_type`` node; how many
    it changed."""
    import onnx

    faulty = onnx.ModelProto()
    faulty.CopyFrom(proto)
    changed = sum(1 for node in faulty.graph.node if node.op_type == op_type and change(node))
    return faulty, changed


def _drop_attribute(name: str) -> Callable[[object], bool]:
    def change(node) -> bool:
        kept = [a for a in node.attribute if a.name != name]
        if len(kept) == len(node.attribute):
            return False
        del node.attribute[:]
        node.attribute.extend(kept)
        return True

    return change


def _swap_last_perm_axes(node) -> bool:
    for attribute in node.attribute:
        if attribute.name == "perm" and len(attribute.ints) >= 2:
            perm = list(attribute.ints)
            perm[-2], perm[-1] = perm[-1], perm[-2]
            attribute.ints[:] = perm
            return True
    return False


class MisreadAttribute:
    """onnx2torch, reading one attribute of ``op_type`` wrongly: an ONNX→PyTorch bug."""

    source, target = "onnx", "torch"
    packages = ("onnx2torch", "torch", "onnx")

    def __init__(self, name: str, op_type: str, change: Callable[[object], bool]):
        self.name, self.op_type, self.change = name, op_type, change

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        faulty, _ = self.rewrite(artifact.model)
        return get("onnx2torch").convert(Artifact("onnx", faulty, artifact.input_names), options)

    def rewrite(self, proto):
        """The model as this converter misreads it, and how many nodes it misread."""
        return _rewrite(proto, self.op_type, self.change)


FAULTS = {
    "onnx2torch-fault-bn-epsilon": MisreadAttribute(
        "onnx2torch-fault-bn-epsilon", "BatchNormalization", _drop_attribute("epsilon")),
    "onnx2torch-fault-leakyrelu-alpha": MisreadAttribute(
        "onnx2torch-fault-leakyrelu-alpha", "LeakyRelu", _drop_attribute("alpha")),
    "onnx2torch-fault-transpose-perm": MisreadAttribute(
        "onnx2torch-fault-transpose-perm", "Transpose", _swap_last_perm_axes),
}
# The op each fault breaks, and the graph kind that draws it.
FAULTY_OPS = {"onnx2torch-fault-bn-epsilon": ("BatchNormalization", "ConvBnRelu"),
              "onnx2torch-fault-leakyrelu-alpha": ("LeakyRelu", "ConvBnRelu"),
              "onnx2torch-fault-transpose-perm": ("Transpose", "PixelShuffle")}

for _fault in FAULTS.values():
    register(_fault)
