"""Reading a file's case: its model run on the case's inputs by the framework that is its
reference, by the format the file reads to, and its float64 yardstick where one can be
computed."""

from __future__ import annotations

import re

import numpy as np

from harness.converters import Artifact
from harness.converters.keras2 import run_tf_keras
from harness.converters.saved_formats import SavedFiles, run_savedmodel
from harness.converters.savedmodel_signature import SIGNATURE_META
from harness.core import yardstick
from harness.core.spec import LayerSpec
from harness.runtimes import LoadError, MachineLacks, RunError
from harness.runtimes.keras import keras_model_reading, tf_keras_model_reading
from harness.runtimes.litert import LiteRtRunner
from harness.runtimes.onnxruntime import OnnxRuntimeRunner, runtime_failure
from harness.sources import SourceReading, SourceRefusal
from harness.sources.file import mat
from harness.sources.file.errors import UnsupportedFile
from harness.sources.file.loaded import (
    KERAS2_START,
    KERAS_STARTS,
    PLAIN_SAVEDMODEL_START,
    LoadedModel,
)
from harness.sources.file.onnx_evaluator import evaluator_reading
from harness.sources.file.onnx_float64 import onnx_file_reading
from harness.sources.file.state import run_from_reset

# Why a file read to this format has no float64 yardstick (harness.core.yardstick).
NO_YARDSTICK = {
    PLAIN_SAVEDMODEL_START: "a SavedModel without Keras metadata: its functions are traced "
                            "in their dtypes, with no configuration to rebuild in float64",
    "mat": "a MATLAB network: the reference is parity's importer run in float64 already",
    "tflite": "a TFLite file: its graph's element types are fixed in the flatbuffer",
}


def float64_reading(spec: LayerSpec, loaded: LoadedModel, inputs: list[np.ndarray],
                    reference: list[np.ndarray]) -> list[np.ndarray] | None:
    """The file's model recomputed in float64 by the framework that is its reference (a
    Keras 3 file by Keras 3, a Keras-2 file by tf_keras, an ONNX file by onnxruntime or onnx's
    reference evaluator), where that can be done; else None, and
    ``yardstick.missing_reason(spec)`` says why."""
    if loaded.start == "onnx":
        return onnx_file_reading(spec, loaded.model, inputs, reference)
    if loaded.start not in KERAS_STARTS:
        yardstick.note_missing(spec, NO_YARDSTICK[loaded.start])
        return None
    if loaded.legacy is not None:
        return tf_keras_model_reading(spec, loaded.legacy, inputs, reference)
    return keras_model_reading(spec, loaded.model, inputs, reference)


def _input_names(inputs: list[np.ndarray]) -> list[str]:
    return [f"input_{i}" for i in range(len(inputs))]


def read_keras(loaded: LoadedModel, inputs: list[np.ndarray], device: str) -> SourceReading:
    reference = run_from_reset(loaded, inputs)
    artifact = Artifact("keras", loaded.model, _input_names(inputs), {"file": str(loaded.path)})
    return SourceReading(artifact, inputs, reference, None, None)


def read_tf_keras(loaded: LoadedModel, inputs: list[np.ndarray],
                  device: str) -> SourceReading:
    """A Keras-2 file: tf_keras calls the model it read (the reference); a Keras SavedModel's
    folder is a second root, as ``tf2onnx --saved-model`` reads it."""
    reference = run_tf_keras(loaded.legacy, inputs)
    artifact = Artifact(KERAS2_START, loaded.legacy, _input_names(inputs),
                        {"file": str(loaded.path)})
    roots = ()
    if loaded.kind == "savedmodel":
        roots = ((PLAIN_SAVEDMODEL_START,
                  Artifact(PLAIN_SAVEDMODEL_START, SavedFiles(loaded.path),
                           list(loaded.input_names),
                           {"file": str(loaded.path),
                            # the reference's order, by the signature's output keys
                            "output_names": list(loaded.legacy.output_names)})),)
    return SourceReading(artifact, inputs, reference, None, None, roots=roots)


def read_savedmodel(loaded: LoadedModel, inputs: list[np.ndarray],
                    device: str) -> SourceReading:
    """A plain SavedModel: its chosen signature called (the reference), and the name of that
    signature carried to every leg, which then use the same one."""
    chosen = loaded.signature
    reference = run_savedmodel(loaded.model, inputs, chosen.name)
    artifact = Artifact("savedmodel", SavedFiles(loaded.path), list(loaded.input_names),
                        {"file": str(loaded.path), SIGNATURE_META: chosen.name,
                         "output_names": list(chosen.outputs)})
    return SourceReading(artifact, inputs, reference, None, None)


ONNX_REFUSED_HINT = {
    "consumed_inputs": "attributes of opset 6 and older (consumed_inputs) that onnxruntime "
                       "no longer accepts: re-export the model with opset 7 or newer, or "
                       "upgrade it with onnx.version_converter",
    "broadcast": "attributes of opset 6 and older (broadcast) that onnxruntime no longer "
                 "accepts: re-export the model with opset 7 or newer, or upgrade it with "
                 "onnx.version_converter",
}


NEWER_IR = re.compile(r"Unsupported model IR version: (\d+), max supported IR version: (\d+)")


def newer_ir_hint(text: str) -> str | None:
    """What to do with a file whose IR version is newer than the installed onnxruntime
    reads (onnx 1.23 writes IR 14 by default, onnxruntime 1.31 reads up to 13)."""
    found = NEWER_IR.search(text)
    if found is None:
        return None
    import onnxruntime

    written, most = found.groups()
    return (f"the file is ONNX IR version {written}, and onnxruntime "
            f"{onnxruntime.__version__} reads IR versions up to {most}: upgrade onnxruntime, "
            f"or save the model at IR {most}: m = onnx.load(PATH); m.ir_version = {most}; "
            f"onnx.save(m, PATH) (a model that uses nothing IR {written} added then loads)")


def read_onnx(loaded: LoadedModel, inputs: list[np.ndarray], device: str) -> SourceReading:
    artifact = Artifact("onnx", loaded.model, list(loaded.input_names),
                        {"file": str(loaded.path)})
    reference_artifact = Artifact("onnx", loaded.model, list(loaded.input_names),
                                  {"ort_optimization": "disable"})
    try:
        reference = OnnxRuntimeRunner(device).run(reference_artifact, inputs)
    except LoadError as exc:
        text = str(exc)
        if isinstance(exc, MachineLacks):  # this machine's lack, not the file's
            raise SourceRefusal(f"{loaded.path}: onnxruntime cannot run it here: {text}") \
                from None
        hint = next((why for word, why in ONNX_REFUSED_HINT.items() if word in text),
                    None) or newer_ir_hint(text)
        raise UnsupportedFile(loaded.path, "onnxruntime refuses the model: "
                              + (hint or text.split("cannot load the model: ", 1)[-1][:400])
                              ) from None
    except RunError:
        raise
    except Exception as exc:  # noqa: BLE001 (loaded, then refused at run time)
        reference = evaluator_reading(loaded.model, list(loaded.input_names), inputs)
        if reference is None:
            raise
        said = (f"onnxruntime cannot run the model on these inputs ({runtime_failure(exc)}), "
                f"and onnx's reference evaluator can: its outputs are the reference, and the "
                f"legs that run onnxruntime show the refusal",)
        return SourceReading(artifact, inputs, reference, None, None, notes=said)
    return SourceReading(artifact, inputs, reference, None, None)


def mat_artifact(loaded: LoadedModel, spec: LayerSpec) -> Artifact:
    return Artifact("mat", loaded.model, list(loaded.input_names),
                    {"file": str(loaded.path), "spec": spec})


def read_mat(loaded: LoadedModel, inputs: list[np.ndarray], device: str) -> SourceReading:
    import torch

    importer = mat.importer()
    try:
        module = importer.to_torch(loaded.model, check=False)
    except importer.MatImportError as exc:
        raise UnsupportedFile(loaded.path, str(exc).removeprefix(f"{loaded.path}: ")) from None
    module = module.double().eval()
    with torch.inference_mode():
        outputs = module(*[torch.from_numpy(np.asarray(x, dtype=np.float64)) for x in inputs])
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    reference = [o.numpy().astype(np.float32) for o in outputs]
    artifact = Artifact("mat", loaded.model, list(loaded.input_names), {"file": str(loaded.path)})
    return SourceReading(artifact, inputs, reference, None, None)


def read_tflite(loaded: LoadedModel, inputs: list[np.ndarray],
                device: str) -> SourceReading:
    """A .tflite file run by LiteRT through its chosen signature runner (the reference)."""
    flat = loaded.model
    artifact = Artifact("tflite", flat.flat, list(loaded.input_names),
                        {"file": str(loaded.path), **flat.meta()})
    reference = LiteRtRunner(device).run(artifact, inputs)
    return SourceReading(artifact, inputs, reference, None, None)


# The reference of a file, by the artifact format it reads to (LoadedModel.start).
READERS = {"keras": read_keras, KERAS2_START: read_tf_keras, "onnx": read_onnx,
           "mat": read_mat, PLAIN_SAVEDMODEL_START: read_savedmodel, "tflite": read_tflite}
