"""torch: running a module on NumPy inputs, and the runners of torch artifacts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def run_module(module, inputs: list[np.ndarray], device: str = "cpu",
               names: Sequence[str] | None = None) -> list[np.ndarray]:
    """``module`` called on ``inputs`` (moved to ``device``) under ``torch.inference_mode``,
    its outputs as NumPy arrays on the CPU: a tensor, or a tuple, list or dict of tensors
    (a dict's values in their order). Called positionally, or with ``names`` by keyword,
    ``module(**{name: tensor})``. The module's train/eval mode is the caller's."""
    import torch

    # np.ascontiguousarray would make a 0-d input 1-d; np.array keeps its rank (and copies:
    # the case's arrays are never the module's to write).
    tensors = [torch.from_numpy(np.array(x, order="C")).to(device) for x in inputs]
    with torch.inference_mode():
        outputs = module(**dict(zip(names, tensors))) if names else module(*tensors)
    written = inputs_written(inputs, tensors, names)
    if written:
        raise InputWritten(written)
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    elif isinstance(outputs, dict):
        outputs = list(outputs.values())
    return [_as_output(o, f"output [{n}]") for n, o in enumerate(outputs)]


def _as_output(value, where: str):
    """A tensor as an array; a list or tuple inside the outputs as a list of them, as
    onnxruntime hands over an ONNX sequence (a converted SplitToSequence)."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)):
        return [_as_output(item, f"{where}[{n}]") for n, item in enumerate(value)]
    raise ModuleOutputError(f"the module returned a {type(value).__name__} as its {where}, "
                            f"where a model's output is a tensor or a sequence of tensors")


class ModuleOutputError(TypeError):
    """A module returned something no model output is (None, a number, a string)."""


class InputWritten(RuntimeError):
    """The module wrote into a tensor it was called with: its caller's input changed."""


def inputs_written(inputs: Sequence[np.ndarray], tensors, names: Sequence[str] | None = None
                   ) -> str:
    """What a call changed in the tensors it was given, compared byte for byte with the
    arrays they were made from (NaN and -0.0 as they were), or "" where it changed nothing.
    An ONNX graph never writes its inputs, so a module that does has a caller's tensor
    changed under it: a second call on it, or any other reader of it, sees other values."""
    found = []
    for index, (given, tensor) in enumerate(zip(inputs, tensors)):
        before = np.array(given, order="C")
        after = tensor.detach().cpu().numpy()
        label = f"input {index}" + (f" ({names[index]!r})" if names else "")
        if after.shape != before.shape:
            found.append(f"{label} resized from {before.shape} to {after.shape}")
            continue
        changed = _changed_elements(before, after)
        if changed.any():
            first = tuple(int(i) for i in np.unravel_index(int(np.argmax(changed)),
                                                            before.shape))
            where = f" at {list(first)}" if first else ""
            found.append(f"{label}: {int(changed.sum())} of {changed.size} values changed, "
                         f"the first{where} from {before[first]!s} to {after[first]!s}")
    if not found:
        return ""
    return ("the module wrote into the tensors it was called with, in place: "
            + "; ".join(found) + " (an ONNX graph never writes its inputs; the caller's "
            "tensors now hold other values)")


def _changed_elements(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per element, whether its bytes differ (any dtype, 0-d included)."""
    width = max(before.dtype.itemsize, 1)
    old = np.frombuffer(before.tobytes(), np.uint8).reshape(-1, width)
    new = np.frombuffer(after.astype(before.dtype, copy=False).tobytes(),
                        np.uint8).reshape(-1, width)
    return (old != new).any(axis=1).reshape(before.shape)


def call_by_name_text(names: Sequence[str]) -> str:
    """How a user calls a module by the model's input names: ``module(**{'x': ...})``."""
    return "module(**{" + ", ".join(f"{name!r}: ..." for name in names) + "})"


class TorchRunner:
    name = "torch"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device

    def run(self, artifact, inputs):
        return run_module(artifact.model.to(self.device).eval(), inputs, self.device)


class TorchByNameRunner:
    """Runs a torch artifact called by its input names (``Artifact.input_names``), as a user
    of a converter that documents that call does (``CALLED_BY_NAME``)."""

    name = "torch-by-name"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device

    def run(self, artifact, inputs):
        return run_module(artifact.model.to(self.device).eval(), inputs, self.device,
                          names=artifact.input_names)
