"""The ``file`` source: a case's reading (its model run by its reference framework), its
diagnoser, and its place in the golden store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harness import sources
from harness.converters import Artifact, ConvertOptions, get
from harness.core.errors import GoldenError
from harness.core.spec import LayerSpec
from harness.runtimes.onnx import load_onnx
from harness.runtimes.onnxruntime import runtime_failure
from harness.sources import SourceReading, SourceRefusal
from harness.sources.file.case import NAME, case_inputs, loaded_for, own_inputs_hint
from harness.sources.file.detector import START, load
from harness.sources.file.errors import FileError, first_line
from harness.sources.file.loaded import KERAS2_START, PLAIN_SAVEDMODEL_START
from harness.sources.file.paths import DEFAULT_PATHS
from harness.sources.file.readings import READERS, float64_reading, mat_artifact
from harness.sources.file.store import ONNX_MODEL, STORED_LEG, copy_model, golden_copy


class FileSource:
    name = NAME
    # Its readings are data, not draws: a NaN in one is the case's (harness.run.pipeline).
    NONFINITE_IS_DATA = True
    format = "file"  # each case's artifact has its file's own format (``start``)
    default_paths: tuple[str, ...] = ()  # see DEFAULT_PATHS, by the format a file reads to
    kinds_module = "harness.sources.file"
    packages = ("tensorflow", "keras", "tf_keras", "tf2onnx", "onnx", "onnxruntime", "torch",
                "onnx2torch", "onnx2pytorch", "scipy", "h5py")

    def start(self, spec: LayerSpec) -> str:
        return spec.attrs.get("start") or START[spec.kind]

    def roots(self, spec: LayerSpec) -> tuple[str, ...]:
        """A Keras SavedModel is also the folder tf2onnx's ``--saved-model`` reads."""
        if spec.kind == "savedmodel" and self.start(spec) == KERAS2_START:
            return (PLAIN_SAVEDMODEL_START,)
        return ()

    def paths_from(self, start: str) -> tuple[str, ...]:
        """The paths a replay of a case that starts at ``start`` takes when none are named:
        ``parity check``'s (DEFAULT_PATHS)."""
        return DEFAULT_PATHS.get(start, ())

    def read(self, spec: LayerSpec, *, policy=None, device: str = "cpu") -> SourceReading:
        loaded = loaded_for(spec)
        inputs = case_inputs(spec)
        try:
            reading = READERS[self.start(spec)](loaded, inputs, device)
        except (FileError, SourceRefusal):  # the file's fault, or this machine's lack
            raise
        except Exception as exc:  # noqa: BLE001  (the model refused these inputs)
            shapes = ", ".join("x".join(map(str, x.shape)) for x in inputs)
            raise FileError(loaded.path, f"the model cannot be run on inputs of shape {shapes} "
                                         f"({type(exc).__name__}: {runtime_failure(exc)})"
                                         + own_inputs_hint(spec, inputs)) from None
        # The golden store's ``store`` is handed the reading alone: it finds the case here.
        reading.artifact.meta["spec"] = spec
        return reading._replace(yardstick=float64_reading(spec, loaded, inputs,
                                                          reading.reference))

    def diagnoser(self, harness, spec, artifact: Artifact, inputs: list[np.ndarray]):
        """A Keras model layer by layer, an ONNX model node by node, as the keras and onnx
        sources diagnose their drawn cases; other formats are not diagnosed."""
        if artifact.format not in ("keras", "onnx"):
            return None
        return sources.get(artifact.format).diagnoser(harness, spec, artifact, inputs)

    def store(self, reading: SourceReading, folder: Path,
              options: ConvertOptions | None = None) -> dict[str, Any]:
        """The model file copied to ``source/``; the ONNX a replay starts from as
        ``model.onnx`` (the file itself for an ONNX file, tf2onnx's conversion for a Keras
        model or a SavedModel); a MATLAB network replays from its copy."""
        spec = reading.artifact.meta["spec"]
        copy_model(spec, folder)
        notes: dict[str, Any] = {"file": spec.attrs["path"], "file_sha256": spec.attrs["sha256"],
                                 "onnx_error": None}
        fmt = reading.artifact.format
        if fmt == "onnx":
            (folder / ONNX_MODEL).write_bytes(reading.artifact.model.SerializeToString())
        elif fmt in STORED_LEG:
            stage = STORED_LEG[fmt].split(">")[1]
            notes["source_leg"] = STORED_LEG[fmt]
            try:
                proto = reading.artifact.meta.get("stored_onnx") or get(stage).convert(
                    reading.artifact, options or ConvertOptions()).model
            except Exception as exc:  # noqa: BLE001  (kept without its ONNX, reason noted)
                notes["onnx_error"] = f"{type(exc).__name__}: {first_line(exc)}"
            else:
                (folder / ONNX_MODEL).write_bytes(proto.SerializeToString())
        return notes

    def stored(self, folder: Path) -> dict[str, Artifact]:
        """What a replay starts from: the stored ONNX under the leg that made it (or under
        ``onnx`` for an ONNX file); a MATLAB network from its copy."""
        try:
            spec = LayerSpec.from_json(json.loads((folder / "spec.json").read_text()))
        except (OSError, ValueError, KeyError) as exc:
            raise GoldenError(f"{folder / 'spec.json'}: {exc}") from None
        start = self.start(spec)
        if start == "mat":
            copy = golden_copy(spec, folder)
            if copy is None:
                return {}
            try:
                loaded = load(copy[0], None, "mat", spec.attrs["sha256"],
                              spec.attrs.get("outputs"))
            except FileError as exc:
                raise GoldenError(str(exc)) from None
            return {"mat": mat_artifact(loaded, spec)}
        if not (folder / ONNX_MODEL).is_file():
            return {}
        model = load_onnx(folder / ONNX_MODEL)
        names = [i.name for i in model.graph.input
                 if i.name not in {init.name for init in model.graph.initializer}]
        leg = "onnx" if start == "onnx" else STORED_LEG[start]
        return {leg: Artifact("onnx", model, names)}
