"""torch → torch through ``torch.export.export``: the leg runs the ``ExportedProgram``'s
module, as AOTInductor and ExecuTorch would take it.

``torch-export`` traces strictly (TorchDynamo, the default), ``torch-export-nonstrict`` with
``strict=False`` (the module's Python runs on fake tensors), as PyTorch documents both. A free
dimension of the case is declared as a ``torch.export.Dim`` (harness.converters.torch_tracing),
so a module that baked its size in fails here, where export finds the Dim specialised, rather
than at the second size.
"""

from __future__ import annotations

import functools

from harness.converters import Artifact, ConvertOptions
from harness.converters.torch_tracing import (
    ExportError,
    dynamic_shapes,
    example_inputs,
    failure,
    quiet,
    tensors,
)
from harness.core.stages import stage


def export(module, options: ConvertOptions, *, strict: bool):
    """The ExportedProgram of ``module`` traced at the case's widest inputs, its free axes
    declared; raises ExportError with the diagnosis."""
    import torch

    dynamic = dynamic_shapes(module, options)
    args = tensors(example_inputs(options), options.device)
    try:
        with quiet():
            return torch.export.export(module.to(options.device).eval(), args,
                                       dynamic_shapes=dynamic, strict=strict)
    except Exception as exc:
        raise failure(ExportError, f"torch.export.export(strict={strict}) refused the module",
                      exc, declared_free=dynamic is not None, module=module) from exc


@functools.cache
def _exported_module_class():
    import torch

    class ExportedModule(torch.nn.Module):
        """The ExportedProgram's module as a runner takes it: an exported module refuses
        ``.eval()`` (it has no training mode to switch), so the call stops here."""

        def __init__(self, graph):
            super().__init__()
            self.graph_module = graph
            # An exported program has no training mode; say so to whoever asks (parity
            # check's training-mode pitfall reads the flag of every submodule).
            for module in self.modules():
                module.training = False

        def train(self, mode: bool = True):
            self.training = mode
            return self

        def forward(self, *args):
            return self.graph_module(*args)

    return ExportedModule


def runnable(program):
    return _exported_module_class()(program.module())


@stage("torch-export", "torch", "torch", packages=("torch",))
class TorchExportConverter:
    strict = True

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        program = export(artifact.model, options, strict=self.strict)
        return Artifact("torch", runnable(program), list(artifact.input_names),
                        {"exported_program": program})


class TorchExportNonStrictConverter(TorchExportConverter):
    name = "torch-export-nonstrict"
    strict = False
