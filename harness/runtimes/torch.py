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

    # np.ascontiguousarray would make a 0-d input 1-d; np.array keeps its rank.
    tensors = [torch.from_numpy(np.array(x, order="C")).to(device) for x in inputs]
    with torch.inference_mode():
        outputs = module(**dict(zip(names, tensors))) if names else module(*tensors)
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    elif isinstance(outputs, dict):
        outputs = list(outputs.values())
    return [o.detach().cpu().numpy() for o in outputs]


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
