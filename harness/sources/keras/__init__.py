"""The ``keras`` source: drawn Keras layers and models, built and called in Keras.

The reference is Keras' own output, except where Keras on this CPU is known to be wrong and
a second reading stands in for it: a channels_first convolution is read through its
channels_last twin, and a convolution whose eager output disagrees with XLA's is read with
XLA where TensorFlow's CPU kernels are oneDNN's (see ``harness.sources.keras.model``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.converters import Artifact, ConvertOptions, get
from harness.core.compare import worst_of
from harness.core.free_dims import further_sizes
from harness.core.inputs import make_inputs
from harness.runtimes.keras import (
    cpu_refusal,
    cpu_state_text,
    missing_kernel,
    onednn_enabled,
    run_keras,
    tensorflow_cpu,
    xla_reading,
)
from harness.runtimes.onnx import load_onnx
from harness.sources import SourceError, SourceReading, SourceRefusal
from harness.sources.keras.diagnose import Diagnoser, diagnosable
from harness.sources.keras.model import (
    build_model,
    second_reading,
    twin_reference,
)
from harness.sources.keras.yardstick import keras_reading

TWIN_READING = ("channels_first output differs from the same layer computed channels_last "
                "(the reference)")
KERAS_MODEL = "model.keras"
ONNX_MODEL = "model.onnx"
# The leg whose artifact a golden case stores, so that a replay starts below TensorFlow.
STORED_LEG = "keras>tf2onnx"

# Inputs are bounded by 2 * INPUT_BOUND and weights scaled by their fan-in, so one layer's
# outputs stay far below this; beyond it the source returned memory it never wrote.
PLAUSIBLE_MAGNITUDE = 1e6


class KerasSource:
    name = "keras"
    format = "keras"
    default_paths = ("keras>tf2onnx>onnx2torch", "keras>tf2onnx>ort-optimized")
    kinds_module = "harness.sources.keras.kinds"
    packages = ("tensorflow", "keras", "tf2onnx", "onnx")
    # What its reading depends on (harness.run.stage_cache): not the tf2onnx its golden cases store.
    reading_packages = ("tensorflow", "keras")

    def read(self, spec, *, policy, device: str = "cpu") -> SourceReading:
        """Builds the model (free dimensions declared None) and reads it at the case's
        input shapes and at each of its further sizes (``SourceReading.more``)."""
        inputs = make_inputs(spec)
        try:
            model = build_model(spec)
        except Exception as exc:
            raise SourceError(f"cannot build the Keras source of {spec.describe()}"
                              f"{_free_note(spec)}: {exc}") from exc
        try:
            native, reference, reading = self._reading(spec, model, inputs, policy, device)
        except Exception as exc:
            raise cpu_refused(spec, spec.input_shapes, exc) or SourceError(
                f"cannot build the Keras source of {spec.describe()}: {exc}"
            ) from exc
        check_plausible(spec, reference)
        built64: dict = {}  # the float64 model, built once for every size

        def read_at(at, further):
            native_at, expected, reading_at = self._reading(at, model, further, policy, device)
            check_plausible(at, expected)
            # That size's float64 reference, where the source has one, and Keras' own output
            # where it differs from the reference (harness.run.pipeline.Size): a converter
            # that reproduced the source's graph is judged faithful at every size alike.
            yardstick = keras_reading(at, model, further, built64)
            if reading_at is not None:
                return expected, yardstick, native_at
            return (expected,) if yardstick is None else (expected, yardstick)

        def refusal(shapes, exc):
            return cpu_refused(spec, shapes, exc) or SourceError(
                               f"Keras cannot run the source of {spec.describe()} at input "
                               f"shapes {_shapes(shapes)} (its free dimensions "
                               f"{'+'.join(spec.free_dims)}): {exc}")

        more = further_sizes(spec, read_at, refusal)
        names = [f"input_{i}" for i in range(len(inputs))]
        return SourceReading(Artifact("keras", model, names), inputs, reference,
                             None if reading is None else native, reading, more=more,
                             yardstick=keras_reading(spec, model, inputs, built64))

    def build(self, spec) -> Artifact:
        """The source artifact alone, as ``read`` builds it: the stage cache builds a cached
        reading's model with it where a stage misses (``harness.run.stage_cache``)."""
        names = [f"input_{i}" for i in range(len(spec.input_shapes))]
        return Artifact("keras", build_model(spec), names)

    @staticmethod
    def _reading(spec, model, inputs, policy, device):
        """(Keras' own outputs, the reference, how they differ or None) at one size: a
        channels_first convolution is read through its channels_last twin, a convolution
        whose eager outputs disagree with XLA's through XLA, at every size alike."""
        twin = twin_reference(model, spec, inputs)
        try:
            native = run_keras(model, inputs)
        except Exception as exc:
            if twin is None or cpu_refusal(exc) is None:
                raise
            # TensorFlow on this CPU has no kernel for Keras' own channels_first layer: the
            # twin is the reference, and there is no source output of its own to check.
            return None, twin, None
        reading = None if twin is None else TWIN_READING
        # The stale outputs are oneDNN's: without it (a CPU without AVX-512, or
        # TF_ENABLE_ONEDNN_OPTS=0) eager and XLA both run Eigen's convolutions, and the
        # second reading would only cost a compilation (~90 ms a convolution case), except
        # for the 3-D 'same' windows Eigen offsets (second_reading).
        why = None if twin is not None else second_reading(spec, onednn_enabled())
        if why is not None:
            xla = xla_reading(model, inputs)
            tolerance = policy.for_spec(spec, "keras", device)
            if xla is not None and not worst_of(native, xla, tolerance).passed:
                twin, reading = xla, why
        return native, (native if twin is None else twin), reading

    def diagnoser(self, harness, spec, artifact: Artifact, inputs: list[np.ndarray]):
        """Per-layer diagnosis of a failing multi-layer model (``.diagnose``)."""
        if not diagnosable(artifact.model):
            return None
        return Diagnoser(harness, spec, artifact.model, inputs)

    def store(self, reading: SourceReading, folder: Path,
              options: ConvertOptions | None = None) -> dict[str, Any]:
        """``model.keras`` (loaded with safe_mode) and the tf2onnx artifact as
        ``model.onnx``; a file that cannot be written is left out and the reason kept."""
        notes: dict[str, Any] = {"source_leg": STORED_LEG, "onnx_error": None}
        error = save_keras_model(reading.artifact.model, folder)
        if error is not None:  # e.g. a layer Keras cannot serialise: keep the case
            notes["keras_error"] = error
        try:
            proto = get("tf2onnx").convert(reading.artifact, options or ConvertOptions()).model
        except Exception as exc:  # a converter bug: the case is kept without its ONNX
            notes["onnx_error"] = f"{type(exc).__name__}: {exc}"
        else:
            (folder / ONNX_MODEL).write_bytes(proto.SerializeToString())
        return notes

    def stored(self, folder: Path) -> dict[str, Artifact]:
        if not (folder / ONNX_MODEL).is_file():
            return {}
        model = load_onnx(folder / ONNX_MODEL)
        return {STORED_LEG: Artifact("onnx", model, [i.name for i in model.graph.input])}


def cpu_refused(spec, shapes, exc: BaseException) -> SourceRefusal | None:
    """The source's own refusal where TensorFlow on this CPU has no kernel for the case's
    layout, in eager mode or through XLA (``cpu_refusal``), or where its installed release
    has none for the case's dtype (``missing_kernel``: the reference's limit on that
    version, not a converter's failure); None for any other error."""
    limit = missing_kernel(exc)
    if limit is not None:
        return SourceRefusal(
            f"the reference, TensorFlow {limit['version']} (Keras {limit['keras']}), cannot "
            f"run {spec.describe()} at input shapes {_shapes(shapes)}: {limit['message']}",
            environment=limit)
    words = cpu_refusal(exc)
    if words is None:
        return None
    state = tensorflow_cpu()
    return SourceRefusal(
        f"TensorFlow on this machine cannot run {spec.describe()} at input shapes "
        f"{_shapes(shapes)}: {words} ({cpu_state_text(state)}); a CPU with oneDNN runs it "
        f"(TF_ENABLE_ONEDNN_OPTS=1)", environment=state)


def _shapes(shapes) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


def _free_note(spec) -> str:
    if not spec.free_dims:
        return ""
    return f" with its {'+'.join(spec.free_dims)} dimensions free (declared None)"


def save_keras_model(keras_model, folder: Path) -> str | None:
    """Writes ``folder/model.keras``; on failure removes any partial file and returns why."""
    try:
        keras_model.save(folder / KERAS_MODEL)
    except Exception as exc:
        (folder / KERAS_MODEL).unlink(missing_ok=True)
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


def check_plausible(spec, reference: list[np.ndarray]) -> None:
    for i, output in enumerate(reference):
        values = np.asarray(output, dtype=np.float64)
        if values.size == 0:
            continue
        if not np.isfinite(values).all():
            where = np.argwhere(~np.isfinite(values))[0].tolist()
            raise SourceError(f"the Keras source of {spec.describe()} produced a non-finite "
                              f"value in output {i} at {where} from finite, bounded inputs")
        largest = float(np.abs(values).max())
        if largest > PLAUSIBLE_MAGNITUDE:
            where = np.unravel_index(int(np.abs(values).argmax()), values.shape)
            raise SourceError(
                f"the Keras source of {spec.describe()} produced implausible values "
                f"(|y| = {largest:.3g} in output {i} at {list(map(int, where))}) from inputs "
                f"bounded by 8: its output cannot serve as the reference")
