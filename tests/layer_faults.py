"""A ``--parity-plugins`` module for the diagnostics tests: importing it registers a stage with
a deliberate fault in one named layer (tests/fakes.py's ``FaultyTf2Onnx`` and
``FaultyOnnx2Torch``) for the first, a middle and the last layer of tests/test_diagnostics.py's
eight-layer stack, in each direction, as ``tf2onnx-fault-first|middle|last`` and
``onnx2torch-fault-first|middle|last``::

    pytest ... --parity-plugins tests.layer_faults \\
        --parity-paths "keras>tf2onnx-fault-middle>onnx2torch,keras>tf2onnx>onnx2torch-fault-last"
"""

from __future__ import annotations

from harness.converters import register
from tests.fakes import FaultyOnnx2Torch, FaultyTf2Onnx

__all__ = ["FAULTY_LAYERS", "FaultyOnnx2Torch", "FaultyTf2Onnx"]

# The layers of tests/test_diagnostics.py's STACK_SPEC the registered faults break.
FAULTY_LAYERS = {"first": "n00_conv2d", "middle": "n03_batch_normalization", "last": "n07_dense"}

for _where, _layer in FAULTY_LAYERS.items():
    register(FaultyTf2Onnx(_layer, name=f"tf2onnx-fault-{_where}"))
    register(FaultyOnnx2Torch(_layer, name=f"onnx2torch-fault-{_where}"))
