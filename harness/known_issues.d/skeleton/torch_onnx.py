"""torch.onnx.export's TorchScript exporter (dynamo=False) on a converter's module."""

import io

import onnx
from skeleton.verdict import say


def exported_ts(module, args, opset):
    """The model the TorchScript exporter writes (IR version 8, what onnxruntime reads); an
    export that fails is another bug than the entry's: DIFFERENT."""
    import torch

    buffer = io.BytesIO()
    try:
        torch.onnx.export(module, args, buffer, dynamo=False, opset_version=opset)
    except Exception as exc:  # noqa: BLE001 - any export failure is another bug
        say("DIFFERENT", f"torch.onnx.export failed: {type(exc).__name__}: {exc}")
    exported = onnx.load_model_from_string(buffer.getvalue())
    exported.ir_version = 8
    return exported
