"""A ``--parity-plugins`` module for the hunt's budget test: importing it registers
``onnx2torch-hang-on-abs``, onnx2torch that never returns on a model holding an Abs node
(a converter stuck in a loop), so that only the hunt's budget can end the case."""

import time

from harness import converters
from tests.fakes import Fake


def _hang_on_abs(artifact):
    if any(node.op_type == "Abs" for node in artifact.model.graph.node):
        while True:
            time.sleep(1)


converters.register(Fake("hang-on-abs", "onnx2torch", before=_hang_on_abs))
