"""keras → tflite and savedmodel → tflite with ``tf.lite.TFLiteConverter``, float32 (no
quantisation, no optimisation flags), run by the LiteRT interpreter (``harness.runtimes.litert``).

``tflite``            ``TFLiteConverter.from_keras_model(model)``: how most Keras models reach
                      phones (``keras>tflite``).
``tflite-savedmodel`` ``TFLiteConverter.from_saved_model(dir)`` on the SavedModel Keras 3's
                      ``model.export(dir)`` wrote (``keras>savedmodel>tflite-savedmodel``).

Both keep the signature the converter writes (``serving_default``) and map it to the case by
names the converter records, never by shapes: its inputs are the Keras inputs' names (for a
SavedModel, the names of the exported ``serve`` function's input signature, in its order)
and its outputs ``output_0``, ``output_1``, ... in the model's output order. A signature that
names them otherwise is refused as a conversion error.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from pathlib import Path

from harness.converters import (
    Artifact,
    ConversionError,
    ConvertOptions,
    NotApplicable,
    ScriptRecipe,
)
from harness.converters.savedmodel_signature import SIGNATURE_META, SignatureError, choose
from harness.core.stages import stage
from harness.runtimes.keras import named_outputs
from harness.runtimes.litert import interpreter

SIGNATURE = "serving_default"


class TfliteError(ConversionError):
    """TFLiteConverter refused the model; the message is its first error line."""


def first_error(exc: BaseException) -> str:
    """The converter's own first error line (its messages carry MLIR dumps and locations)."""
    text = str(exc)
    for line in text.splitlines():
        if "error:" in line:
            found = line.rsplit("error:", 1)[1].strip()
            # "loc(callsite(fused[...] at ...)): what failed": the location dropped
            return found.rsplit(")): ", 1)[-1] if found.startswith("loc(") else found
    return text.splitlines()[0] if text else type(exc).__name__


def convert_with(make) -> bytes:
    """Runs the TFLite converter ``make()`` returns, float32, quietly; its refusal as one
    line."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            return make().convert()
    except Exception as exc:
        raise TfliteError(f"TFLiteConverter refused the model ({type(exc).__name__}: "
                          f"{first_error(exc)})") from exc


def tflite_artifact(flat: bytes, inputs: list[str], n_outputs: int,
                    case_names: list[str], *, outputs: list[str] | None = None,
                    signature: str = SIGNATURE) -> Artifact:
    """The ``tflite`` artifact with its signature mapped by name: ``inputs`` are the names the
    case's inputs carry in the signature, in the case's order; ``outputs`` its output names
    in the reference's order (``output_0``, ... where not given). The meta also names each
    one's tensor, which tf2onnx's ``--tflite`` names the ONNX model's inputs and outputs by
    (harness.converters.tf2onnx_tflite puts them in the case's order)."""
    reader = interpreter(flat)
    signatures = reader.get_signature_list()
    if signature not in signatures:
        raise TfliteError(f"the flatbuffer has no {signature!r} signature "
                          f"({', '.join(signatures) or 'none'})")
    found = signatures[signature]
    if sorted(found["inputs"]) != sorted(inputs):
        raise TfliteError(f"the signature's inputs {found['inputs']} are not the model's "
                          f"{inputs}: they cannot be mapped by name")
    outputs = list(outputs) if outputs is not None else [f"output_{i}"
                                                         for i in range(n_outputs)]
    if sorted(found["outputs"]) != sorted(outputs):
        raise TfliteError(f"the signature's outputs {found['outputs']} are not "
                          f"{outputs}: they cannot be mapped by name")
    runner = reader.get_signature_runner(signature)
    tensors_in, tensors_out = runner.get_input_details(), runner.get_output_details()
    return Artifact("tflite", flat, list(case_names),
                    {"signature": signature, "tflite_inputs": list(inputs),
                     "tflite_outputs": outputs,
                     "input_tensors": [tensors_in[key]["name"] for key in inputs],
                     "output_tensors": [tensors_out[key]["name"] for key in outputs]})


def signature_name(name: str) -> str:
    """A tensor name as a signature key: TensorFlow drops a ``:0`` suffix."""
    return re.sub(r":\d+$", "", name)


def _tflite_recipe(convert: str, converts: str) -> ScriptRecipe:
    """The script of a Keras -> TFLite stage: the Keras model rebuilt and converted as
    ``converts`` says (``convert``, its statements), the flatbuffer run as parity runs it."""
    return ScriptRecipe(
        imports=("import keras", "import numpy as np", "import tensorflow as tf",
                 "from ai_edge_litert.interpreter import Interpreter"),
        convert=convert,
        what=textwrap.fill(
            f"Rebuilds the Keras model from its JSON config and the embedded weights, "
            f"{converts}, runs the flatbuffer with the LiteRT interpreter through its "
            f"serving_default signature runner, inputs and outputs mapped by the signature's "
            f"names, and compares it with Keras' own output for the embedded inputs.", 88),
        packages=("numpy", "tensorflow", "keras", "ai-edge-litert"),
    )


@stage("tflite", "keras", "tflite", packages=("tensorflow", "ai-edge-litert"))
class TfliteConverter:
    # parity repro --script, parity issues export (harness.repro_script's TFLite template)
    script = _tflite_recipe(
        '''\
        flat = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        signature_inputs = [re.sub(r":\\d+$", "", t.name) for t in model.inputs]''',
        "converts it with tf.lite.TFLiteConverter.from_keras_model(model), float32, as parity "
        "does")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import tensorflow as tf

        model = artifact.model
        flat = convert_with(lambda: tf.lite.TFLiteConverter.from_keras_model(model))
        return tflite_artifact(flat, [signature_name(t.name) for t in model.inputs],
                               len(model.outputs), artifact.input_names,
                               outputs=named_outputs(model))


@stage("tflite-savedmodel", "savedmodel", "tflite", packages=("tensorflow", "ai-edge-litert"))
class TfliteSavedModelConverter:
    # parity repro --script, parity issues export: from the Keras model, exported as parity's
    # savedmodel stage exports it (harness.repro_script's TFLite template binds ``folder``)
    script = _tflite_recipe(
        '''\
        loaded = tf.saved_model.load(folder)
        signature_inputs = [re.sub(r":\\d+$", "", spec.name)
                            for spec in tf.nest.flatten(loaded.serve.input_signature)]
        flat = tf.lite.TFLiteConverter.from_saved_model(folder).convert()''',
        "exports it with Keras' model.export(dir) as parity's savedmodel stage does, converts "
        "the SavedModel with tf.lite.TFLiteConverter.from_saved_model(dir), float32")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import tensorflow as tf

        path = str(Path(artifact.model))
        loaded = tf.saved_model.load(path)
        wanted = artifact.meta.get(SIGNATURE_META)
        if wanted is not None or not hasattr(loaded, "serve"):
            return self._by_signature(loaded, path, wanted, artifact)
        specs = tf.nest.flatten(loaded.serve.input_signature)
        keys = list(loaded.signatures[SIGNATURE].structured_outputs)
        flat = convert_with(lambda: tf.lite.TFLiteConverter.from_saved_model(path))
        # Keras' export names a list's outputs output_0, ...; a dict's by its keys, which
        # the reading takes in sorted order
        numbered = sorted(keys) == sorted(f"output_{i}" for i in range(len(keys)))
        return tflite_artifact(flat, [signature_name(s.name) for s in specs], len(keys),
                               artifact.input_names, outputs=None if numbered else sorted(keys))

    @staticmethod
    def _by_signature(loaded, path: str, wanted: str | None, artifact: Artifact) -> Artifact:
        """A SavedModel that Keras 3's ``model.export`` did not write (tf.keras' ``model.save``,
        ``tf.saved_model.save``), as ``TFLiteConverter.from_saved_model(dir)`` converts it: by
        the signature every SavedModel leg uses, mapped to the case by its keys."""
        import tensorflow as tf

        try:
            chosen = choose(loaded, wanted)
        except SignatureError as exc:
            raise NotApplicable(str(exc)) from None
        keys = [key for key, _ in chosen.inputs]
        case_names = list(artifact.input_names)
        if sorted(case_names) == keys:
            inputs = case_names
        elif len(keys) == len(case_names) == 1:
            inputs = keys
        else:
            raise TfliteError(f"the signature {chosen.name!r} takes {keys}, the case feeds "
                              f"{case_names}: they cannot be mapped by name")
        named = artifact.meta.get("output_names")
        outputs = list(named) if named and sorted(named) == sorted(chosen.outputs) \
            else chosen.outputs
        flat = convert_with(lambda: tf.lite.TFLiteConverter.from_saved_model(
            path, signature_keys=[chosen.name]))
        return tflite_artifact(flat, inputs, len(outputs), case_names, outputs=outputs,
                               signature=chosen.name)
