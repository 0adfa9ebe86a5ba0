"""torch.onnx.export's TorchScript exporter (dynamo=False) on a converter's module."""

import io

import onnx
from skeleton.verdict import KNOWN_ISSUE, say


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


def onnx2pytorch_module(source, arrays, expected):
    """onnx2pytorch's module of the source model, after checking that it agrees with the
    expected output in eager mode (otherwise the module itself is wrong: DIFFERENT)."""
    import numpy as np
    import torch
    from onnx2pytorch import ConvertModel

    module = ConvertModel(source).eval()
    eager = module(*(torch.from_numpy(array) for array in arrays)).numpy()
    print(f"  onnx2pytorch module, eager:                 {eager.ravel()}")
    if not np.allclose(eager, expected, rtol=1e-6):
        say("DIFFERENT", f"the module itself is wrong, not known issue {KNOWN_ISSUE}")
    return module
