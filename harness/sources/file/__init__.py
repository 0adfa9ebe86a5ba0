"""The ``file`` source: a model file a user holds (``parity check MODEL``).

A case of this source names the file, not a drawn configuration::

    LayerSpec(source="file", kind="keras",
              attrs={"path": "/abs/model.keras", "sha256": "...", "input_names": [...], ...},
              input_shapes=((4, 224, 224, 3),), seed=0)

``kind`` is the file's format, recognised from its content (zip members, the HDF5 signature
and its attributes, the MATLAB header, an ONNX protobuf), not from its suffix; a Keras file
is then read by the Keras that wrote it (``writer``: an HDF5 file's ``keras_version``
attribute, a SavedModel's tf_keras metadata):

============  ==============================================  ===========================
kind          what the file is                                read with (starts paths at)
============  ==============================================  ===========================
keras         a Keras 3 ``.keras`` archive                    Keras 3, safe_mode (keras)
h5            an HDF5 file holding a whole Keras model:       tf_keras (tf_keras) /
              ``keras_version`` 2.x (or none) or 3.x          Keras 3, safe_mode (keras)
keras-json    a Keras-2 architecture JSON + ``weights`` .h5   tf_keras (tf_keras)
savedmodel    a TF SavedModel folder; with tf_keras'          tf_keras (tf_keras, and
              metadata it is a Keras-2 model, else a graph    savedmodel) /
                                                              tf.saved_model (savedmodel)
onnx          an ONNX model from any exporter                 onnxruntime, no optimisation
                                                              (onnx)
mat           a MATLAB network (MatConvNet, parity.dlt/1)     parity's importer (mat)
============  ==============================================  ===========================

``start(spec)`` is the format the file reads to, so a user's ``.keras`` goes down the same
``keras>tf2onnx>onnx2torch`` legs as a drawn case: known issues, tolerance rules and the
report apply unchanged. A Keras-2 file starts where its users start: the model tf_keras
reads (the reference), ``tf_keras>tf2onnx-keras2>...`` (tf2onnx's ``from_keras`` on it); a
Keras SavedModel's folder is a second root (``roots``), ``savedmodel>tf2onnx-savedmodel>...``
(``python -m tf2onnx.convert --saved-model DIR``). Its paths through Keras 3
(``tf_keras>keras3>...``, ``harness.converters.keras2``) ask "and if you move to Keras 3?".

A ``.mat`` network's reference is parity's importer run in float64: no MATLAB is at hand to
read the file, and the importer's layers are each checked against the NumPy model of
MATLAB's semantics by ``suites/mat``; the leg (the importer in float32, as users run it) then
shows what float32 and the module's own arithmetic cost on this network.

The package: ``detector`` recognises a file and hands it to its format's loader (one module
per format: ``keras``, ``h5``, ``keras_json``, ``savedmodel``, ``onnx``, ``mat``; Keras'
shared reading in ``keras_files``); ``safety`` bounds and scans what a file may make parity
read; ``case`` makes a file's specs and reads them back; ``readings`` runs the model by its
reference framework; ``store`` keeps a case's copy in the golden store; ``source`` is the
source itself. Adding a format is one module and one line in ``detector.DETECTED``.

Files are data: Keras files load with ``safe_mode`` (and tf_keras' loads in its safe-mode
scope, after the configuration is scanned: no Lambda, no class parity cannot name), no
pickle (``allow_pickle=False``), ONNX external data only from inside the model's folder,
sizes bounded. Anything wrong with a file raises ``FileError`` whose message is one line
that names the file.
"""

from __future__ import annotations

from harness.sources.file.case import (
    DEFAULT_FREE_SIZES,
    FREE_BATCH,
    FREE_SIZES,
    NAME,
    case_inputs,
    concrete_sizes,
    file_specs,
    loaded_for,
    second_spec,
)
from harness.sources.file.detector import (
    DETECTED,
    FORMATS,
    MODEL_SUFFIXES,
    OUTPUTS_ELSEWHERE,
    START,
    add_format,
    detect,
    load,
    picks_outputs,
    takes_weights,
)
from harness.sources.file.errors import FileError, UnsupportedFile
from harness.sources.file.fingerprint import digest
from harness.sources.file.inputs import load_inputs
from harness.sources.file.loaded import (
    DEFAULT_INT_BOUND,
    KERAS2_START,
    KERAS_STARTS,
    PLAIN_SAVEDMODEL_START,
    LoadedModel,
)
from harness.sources.file.paths import DEFAULT_PATHS
from harness.sources.file.readings import NO_YARDSTICK, ONNX_REFUSED_HINT, float64_reading
from harness.sources.file.safety import (
    MAX_CONFIG_BYTES,
    MAX_EXTERNAL_FILES,
    MAX_INPUT_BYTES,
    MAX_MODEL_BYTES,
    MB,
    check_size,
    scan_keras2_config,
    scan_keras3_config,
    size_of,
)
from harness.sources.file.source import FileSource
from harness.sources.file.store import COPY_FOLDER, COPY_WEIGHTS, ONNX_MODEL, STORED_LEG, copy_model
from harness.sources.file.writers import Writer, h5_writer, json_writer, savedmodel_writer

__all__ = [
    "COPY_FOLDER", "COPY_WEIGHTS", "DEFAULT_FREE_SIZES", "DEFAULT_INT_BOUND", "DEFAULT_PATHS",
    "DETECTED", "FORMATS", "FREE_BATCH", "FREE_SIZES", "KERAS2_START", "KERAS_STARTS", "MAX_CONFIG_BYTES",
    "MAX_EXTERNAL_FILES", "MAX_INPUT_BYTES", "MAX_MODEL_BYTES", "MB", "MODEL_SUFFIXES", "NAME",
    "NO_YARDSTICK", "ONNX_MODEL", "ONNX_REFUSED_HINT", "OUTPUTS_ELSEWHERE",
    "PLAIN_SAVEDMODEL_START", "START", "STORED_LEG", "FileError", "FileSource", "LoadedModel",
    "UnsupportedFile", "Writer", "add_format", "case_inputs", "check_size", "concrete_sizes", "copy_model",
    "detect", "digest", "file_specs", "float64_reading", "h5_writer", "json_writer", "load",
    "picks_outputs", "takes_weights",
    "load_inputs", "loaded_for", "savedmodel_writer", "scan_keras2_config",
    "scan_keras3_config", "second_spec", "size_of",
]

