"""mat → torch: parity's own importer of MATLAB ``.mat`` networks (``harness.mat``).

Reads a MatConvNet SimpleNN or DagNN network or a ``parity.dlt/1`` export, from a ``-v7`` or
``-v7.3`` file, and builds a ``torch.fx.GraphModule`` (eval mode) that takes and returns
PyTorch layouts. ``artifact.meta["outputs"]`` may name the network outputs to import (the
layers nothing else needs are dropped)."""

from __future__ import annotations

from harness.converters import Artifact, ConvertOptions, torch_artifact
from harness.core.stages import stage


@stage("mat2torch", "mat", "torch", packages=("scipy", "h5py", "torch"))
class MatToTorchConverter:
    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        # The importer imports torch: not at this module's import, which every stage's
        # check of what is installed does (left_out_stages, in pytest-xdist's controller too).
        from harness.mat import to_torch

        module = to_torch(artifact.model, outputs=artifact.meta.get("outputs"))
        return torch_artifact(module, artifact.input_names)
