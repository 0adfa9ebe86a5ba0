"""torch → torch through ``torch.compile``: the leg runs the compiled module.

``torch-compile`` takes the default backend (Inductor; on the device the legs run on, so CUDA
where ``--parity-device cuda``); ``torch-compile-eager`` only captures the graph with Dynamo and
runs it eagerly (``backend="eager"``); ``torch-compile-aot-eager`` adds AOTAutograd's tracing
without Inductor (``backend="aot_eager"``). A failure on ``torch-compile`` alone is then
Inductor's; on all three, Dynamo's. The module is compiled at the case's first size during the
stage (compilation is lazy: the first call compiles), so the stage's time is the compile time
and its failure a compile error; a later size may recompile it with dynamic shapes.
"""

from __future__ import annotations

from harness.converters import Artifact, ConvertOptions
from harness.converters.torch_tracing import CompileError, failure, needs_inputs, quiet, tensors
from harness.core.stages import stage


@stage("torch-compile", "torch", "torch", packages=("torch",))
class TorchCompileConverter:
    backend = "inductor"

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import torch

        module = artifact.model.to(options.device).eval()
        compiled = torch.compile(module, backend=self.backend)
        args = tensors(needs_inputs(self.name, options), options.device)
        try:
            with quiet(), torch.inference_mode():  # as the runner calls it: no recompile
                compiled(*args)
        except Exception as exc:
            raise failure(CompileError, f"torch.compile(backend={self.backend!r}) failed",
                          exc, module=module) from exc
        return Artifact("torch", compiled, list(artifact.input_names))


class TorchCompileEagerConverter(TorchCompileConverter):
    name = "torch-compile-eager"
    backend = "eager"


class TorchCompileAotEagerConverter(TorchCompileConverter):
    name = "torch-compile-aot-eager"
    backend = "aot_eager"
