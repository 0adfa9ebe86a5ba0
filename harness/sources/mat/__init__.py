"""The ``mat`` source: drawn MATLAB networks written as ``.mat`` files, read with the NumPy
model of MATLAB's semantics.

A case of kind ``conv`` is a small network exercising MATLAB's convolution
(``harness.sources.mat.case`` says what its spec holds), in one of three file formats
(MatConvNet SimpleNN, MatConvNet DagNN, ``parity.dlt/1``) and two MATLAB file versions
(``-v7``, ``-v7.3``). ``read`` writes the file into a temporary folder and computes the
reference from ``harness.sources.mat.reference`` (MATLAB's layouts, float64, returned in PyTorch's
layout as float32); the importer, ``mat2torch``, is the stage of its path
``mat>mat2torch``. A golden case stores the file itself as ``model.mat``, so that a replay
needs scipy, h5py and torch only.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from harness.converters import Artifact
from harness.core.errors import GoldenError
from harness.core.registry import family_of
from harness.sources import SourceError, SourceReading
from harness.sources.mat.case import MatCase, MatSpecError
from harness.sources.mat.diagnose import MatDiagnoser

MAT_MODEL = "model.mat"
# The .mat importer, named and loaded when a replay reads a stored file: it is torch's
# (harness.mat imports torch), and loading this source must not load torch.
IMPORTER = "harness.mat"
INPUT_NAMES = ["input"]


class MatSource:
    name = "mat"
    format = "mat"
    default_paths = ("mat>mat2torch",)
    kinds_module = "harness.sources.mat.kinds"
    packages = ("scipy", "h5py", "numpy")

    def read(self, spec, *, policy=None, device: str = "cpu") -> SourceReading:
        try:
            case = MatCase(spec)
            inputs = case.inputs()
            reference = case.reference(inputs)
            workdir = tempfile.TemporaryDirectory(prefix="parity-mat-")
            path = case.write(Path(workdir.name) / MAT_MODEL)
        except (MatSpecError, ValueError, KeyError, TypeError, OSError) as exc:
            raise SourceError(f"cannot build the MATLAB network of {spec.describe()}: "
                              f"{type(exc).__name__}: {exc}") from exc
        check_finite(spec, reference)
        # The folder lives as long as the artifact that names the file in it.
        artifact = Artifact(self.format, path, list(INPUT_NAMES),
                            meta={"workdir": workdir, "mat_format": case.format,
                                  "mat_version": case.version})
        return SourceReading(artifact, inputs, reference, None, None)

    def model_bytes(self, artifact: Artifact) -> tuple[bytes, dict[str, Any]]:
        """The ``.mat`` file's bytes and the metadata that JSON keeps (its format and
        version; not its temporary folder): what the stage cache keeps of a reading."""
        meta = {key: value for key, value in artifact.meta.items() if key != "workdir"}
        return Path(artifact.model).read_bytes(), meta

    def model_from_bytes(self, data: bytes, meta: dict[str, Any]) -> Artifact:
        """The artifact ``model_bytes`` kept: the file written again, in a folder of its own
        that lives as long as the artifact."""
        workdir = tempfile.TemporaryDirectory(prefix="parity-mat-")
        path = Path(workdir.name) / MAT_MODEL
        path.write_bytes(data)
        return Artifact(self.format, path, list(INPUT_NAMES), meta={**meta, "workdir": workdir})

    def family(self, spec) -> str:
        """The report's family of a case: the kind's MATLAB layer group and the file
        format, ``mat-convolution/dagnn``."""
        group = family_of(spec.kind, self.name) or "mat-model"
        return f"{group}/{spec.attrs.get('format', '?')}"

    def diagnoser(self, harness, spec, artifact: Artifact, inputs: list[np.ndarray]):
        """Per-layer comparison of the imported module with the NumPy reference."""
        return MatDiagnoser.for_case(harness, spec, inputs)

    def store(self, reading: SourceReading, folder: Path, options=None) -> dict[str, Any]:
        """The ``.mat`` file itself, as ``model.mat``."""
        shutil.copyfile(reading.artifact.model, folder / MAT_MODEL)
        meta = reading.artifact.meta
        return {"mat_format": meta.get("mat_format"), "mat_version": meta.get("mat_version")}

    def stored(self, folder: Path) -> dict[str, Artifact]:
        """``model.mat``, checked to be a MATLAB network the importer can parse."""
        path = folder / MAT_MODEL
        if not path.is_file():
            return {}
        importer = importlib.import_module(IMPORTER)
        try:
            importer.load_network(path)
        except importer.MatImportError as exc:
            raise GoldenError(f"{path}: {exc}") from None
        return {self.name: Artifact(self.format, path, list(INPUT_NAMES))}


def check_finite(spec, reference: list[np.ndarray]) -> None:
    for i, output in enumerate(reference):
        if not np.isfinite(output).all():
            where = np.argwhere(~np.isfinite(output))[0].tolist()
            raise SourceError(f"the MATLAB reference of {spec.describe()} is not finite in "
                              f"output {i} at {where}")
