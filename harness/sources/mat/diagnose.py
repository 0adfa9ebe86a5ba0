"""Per-layer diagnosis of a failing MATLAB case: where the imported module first leaves the
NumPy model of MATLAB's semantics.

The imported ``fx.GraphModule`` has one submodule per MATLAB layer (``matlab_layers`` maps
each to its MATLAB name); running it node by node captures every layer's output, which is
moved to MATLAB's layout and compared with the reference's output of the same layer. The
first diverging layer is then run alone, on the reference's input to it: a layer that
diverges alone is imported wrongly; one that matches alone only passes on an error from
upstream.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.converters import Artifact
from harness.core.compare import compare
from harness.core.diagnose import divergence, summary
from harness.sources.mat.case import INPUT_NAME, MatCase, MatSpecError
from harness.sources.mat.layer import to_matlab, to_torch


class MatDiagnoser:
    def __init__(self, harness, case: MatCase, inputs: list[np.ndarray]):
        self.harness = harness
        self.case = case
        self.inputs = inputs
        self.reference = case.trace(to_matlab(inputs[0], case.input_size.layout))
        self.reads = {node.name: [self._name_of(i) for i in node.inputs] for node in case.nodes}

    @classmethod
    def for_case(cls, harness, spec, inputs) -> MatDiagnoser | None:
        """A diagnoser for a network of two layers or more; None otherwise."""
        try:
            case = MatCase(spec)
        except MatSpecError:
            return None
        return cls(harness, case, inputs) if len(case.nodes) > 1 else None

    def _name_of(self, index: int) -> str:
        return INPUT_NAME if index == 0 else self.case.nodes[index - 1].name

    def _layers(self) -> list[tuple[str, str]]:
        """(MATLAB name, kind) of every compared layer, in network order."""
        first = [(INPUT_NAME, "input")] if self.case.input_attrs else []
        return first + [(node.name, node.kind.name) for node in self.case.nodes]

    def capture(self, module) -> dict[str, np.ndarray]:
        """Every MATLAB layer's output from the module, in MATLAB's layout."""
        import torch
        from torch import fx

        names = getattr(module, "matlab_layers", {})
        captured: dict[str, Any] = {}

        class Capture(fx.Interpreter):
            def call_module(self, target, args, kwargs):
                result = super().call_module(target, args, kwargs)
                if target in names and isinstance(result, torch.Tensor):
                    captured[names[target][0]] = result.detach().cpu().numpy()
                return result

        device = next((p.device for p in module.parameters()), torch.device("cpu"))
        tensors = [torch.from_numpy(np.ascontiguousarray(x)).to(device) for x in self.inputs]
        with torch.no_grad():
            Capture(module).run(*tensors)
        return {name: to_matlab(value, self.case.layout_of(name))
                for name, value in captured.items()}

    def diagnose(self, path, leg_name: str, artifacts: dict[str, Any]) -> dict[str, Any]:
        artifact = artifacts.get(leg_name)
        if not isinstance(artifact, Artifact) or artifact.format != "torch":
            return {"error": f"{leg_name} has no PyTorch module to capture layers from"}
        try:
            values = self.capture(artifact.model)
        except Exception as exc:  # noqa: BLE001  (a diagnosis must not hide the failure)
            return {"error": f"per-layer capture failed: {type(exc).__name__}: {exc}"}
        tolerance = self.harness.policy.for_spec(self.case.spec, leg_name, self.harness.device)
        growth = []
        for name, kind in self._layers():
            if name not in values:
                growth.append({"layer": name, "kind": kind, "mapped": False,
                               "note": "no submodule of its own in the imported module"})
                continue
            result = compare(values[name].astype(np.float32),
                             self.reference[name].astype(np.float32), tolerance)
            growth.append({"layer": name, "kind": kind, "mapped": True,
                           "passed": result.passed, "category": result.category,
                           "max_abs": result.metrics.get("max_abs"),
                           "max_rel": result.metrics.get("max_rel"),
                           "mismatch_fraction": result.metrics.get("mismatch_fraction")})
        diagnosis = divergence(growth, len(growth))
        first = diagnosis["first_divergence"]
        if first is None:
            diagnosis["summary"] = ("no layer output exceeds its tolerance before the network "
                                    "output: the divergence is in a tensor the taps miss")
            return diagnosis
        diagnosis["stage"] = path.stages[path.legs().index(leg_name)]
        diagnosis["isolated"] = self.isolate(artifact.model, first["layer"], tolerance)
        diagnosis["summary"] = _summary(leg_name, diagnosis)
        return diagnosis

    def isolate(self, module, layer: str, tolerance) -> dict[str, Any]:
        """The layer's submodule alone, on the reference's input to it."""
        import torch

        names = {matlab: target for target, (matlab, _) in
                 getattr(module, "matlab_layers", {}).items()}
        reads = self.reads.get(layer, [])  # the input layer reads the network input
        try:
            submodule = module.get_submodule(names[layer])
            device = next((p.device for p in module.parameters()), torch.device("cpu"))
            if reads:
                fed = [torch.from_numpy(to_torch(self.reference[r], self.case.layout_of(r))
                                        .astype(np.float32)).to(device) for r in reads]
            else:
                fed = [torch.from_numpy(np.ascontiguousarray(self.inputs[0])).to(device)]
            with torch.no_grad():
                out = submodule(fed if len(fed) > 1 else fed[0])
            value = to_matlab(out.detach().cpu().numpy(), self.case.layout_of(layer))
        except Exception as exc:  # noqa: BLE001
            return {"error": f"{type(exc).__name__}: {exc}"}
        result = compare(value.astype(np.float32), self.reference[layer].astype(np.float32),
                         tolerance)
        return {"passed": result.passed, "category": result.category,
                "max_abs": result.metrics.get("max_abs"),
                "max_rel": result.metrics.get("max_rel")}


def _summary(leg: str, diagnosis: dict[str, Any]) -> str:
    return summary(leg, diagnosis, reference=" from MATLAB's semantics",
                   alone=", on the reference's input,", wrong="this layer is imported wrongly")
