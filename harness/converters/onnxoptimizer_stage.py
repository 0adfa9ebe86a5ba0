"""onnx → onnx with onnxoptimizer's fuse-and-elimination passes, read by onnxruntime as
written; a failing leg names the pass that changed the numbers.

``onnxoptimizer.optimize(model, onnxoptimizer.get_fuse_and_elimination_passes())`` is what
users run between an exporter and a converter (``onnx>onnxoptimizer>onnx2torch``), and what
onnx-simplifier runs inside. Its leg is read with onnxruntime's optimisations off, so a
failure there and not upstream is the optimiser's.

onnxoptimizer is C++ and can crash the process (a segmentation fault on some Shape models,
2026-11-24): each ``optimize`` runs in a forked child, so that a crash is this leg's conversion
error, naming the signal, and not the death of the test worker.

The passes are named, so a failing leg is localised as the DiTOX study does (``diagnose``,
which the pipeline calls for a failing leg of a stage that has one): each pass is applied
alone to the received model and run with onnxruntime against the reference; the passes that
alone change the numbers are named. Where no single pass does, the passes are bisected over
their order (the shortest prefix of the list that fails; its last pass completes the fault).
"""

from __future__ import annotations

from typing import Any

from harness.converters import (
    Artifact,
    ConversionError,
    ConvertOptions,
    ScriptRecipe,
    TransientFailure,
    fork_server,
    forked,
)
from harness.converters.onnx_ir import rewritten
from harness.core.compare import worst_of
from harness.core.stages import stage
from harness.runtimes.onnxruntime import OnnxRuntimeRunner


def default_passes() -> list[str]:
    import onnxoptimizer

    return list(onnxoptimizer.get_fuse_and_elimination_passes())


class OptimizerCrash(ConversionError, TransientFailure):
    """onnxoptimizer killed the process that ran it (a signal, not an exception)."""


def optimize(model, passes: list[str]):
    """``onnxoptimizer.optimize(model, passes)`` run in a forked child (``in_child``)."""
    import onnx

    return onnx.load_from_string(in_child(_optimized_bytes, model, passes))


def _optimized_bytes(model, passes: list[str]) -> bytes:
    import onnxoptimizer

    return onnxoptimizer.optimize(model, passes).SerializeToString()


def in_child(make, *args) -> bytes:
    """``make(*args)`` (bytes) computed in a forked child (harness.converters.forked): an
    exception there comes back as a ``ConversionError`` with its one line, a crash as an
    ``OptimizerCrash`` naming the signal. A module-level ``make`` of a model is forked from
    a small server process (``fork_server``), not from this one: forking a worker that holds
    torch and TensorFlow costs tens of ms."""
    if args and hasattr(args[0], "SerializeToString"):
        return fork_server.call(make, *args, what="onnxoptimizer", failed=ConversionError,
                                crashed=OptimizerCrash)
    return forked.in_child(make, *args, what="onnxoptimizer", failed=ConversionError,
                           crashed=OptimizerCrash)


# A standalone script's optimize, as parity's: the same ``in_child``, so that a crash of the
# C++ passes is the conversion's error, naming the signal, and not the script's death.
SCRIPT_OPTIMIZED = forked.script_source() + '''


def optimized(model, passes):
    \"\"\"onnxoptimizer.optimize(model, passes) in a forked child, as parity runs it: a crash
    (a signal) is this conversion's error, not the death of the script.\"\"\"
    return onnx.load_from_string(in_child(
        lambda: onnxoptimizer.optimize(model, passes).SerializeToString(),
        what="onnxoptimizer"))'''


@stage("onnxoptimizer", "onnx", "onnx", packages=("onnxoptimizer", "onnx"))
class OnnxOptimizerConverter:
    # parity repro --script, parity issues export (harness.sources.onnx.repro)
    script = ScriptRecipe(
        imports=("import onnxoptimizer", "import signal"),
        convert="        rewritten = optimized(model, onnxoptimizer.get_fuse_and_elimination_passes())",
        what="Optimises the embedded ONNX model with onnxoptimizer.optimize(model, "
             "onnxoptimizer.get_fuse_and_elimination_passes()) in a forked child, as parity's "
             "onnxoptimizer stage does,",
        packages=("numpy", "onnx", "onnxruntime", "onnxoptimizer"),
        defined=(SCRIPT_OPTIMIZED,),
    )

    def __init__(self, passes: list[str] | None = None):
        self.passes = passes

    def apply(self, model, passes: list[str]):
        """The model with ``passes`` applied (what ``convert`` and the bisection run)."""
        return optimize(model, passes)

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        return rewritten(artifact, self.apply(artifact.model, self.passes or default_passes()))

    def diagnose(self, received: Artifact, inputs, reference, tolerance) -> dict[str, Any]:
        """Which of the passes changes the numbers: ``{"passes": [...], "how": "alone" |
        "prefix" | "none", "summary": ...}``."""
        # A subclass whose apply differs (a planted fault) is diagnosed through its apply.
        each = each_alone if type(self).apply is OnnxOptimizerConverter.apply else None
        return bisect(received, self.passes or default_passes(), inputs, reference, tolerance,
                      self.apply, each=each)


def each_alone(model, passes: list[str]) -> list:
    """``optimize(model, [name])`` for each of ``passes``: the model, or the exception that
    call raises. All in one forked child (a fork of a process holding torch and TensorFlow
    costs tens of ms); where a pass crashes that child, each pass in a child of its own."""
    import onnx

    try:
        payload = in_child(_each_alone_bytes, model, passes)
    except OptimizerCrash:
        found = []
        for name in passes:
            try:
                found.append(optimize(model, [name]))
            except Exception as exc:  # noqa: BLE001  (the pass' own finding)
                found.append(exc)
        return found
    found, at = [], 0
    for _ in passes:
        failed, size = payload[at], int.from_bytes(payload[at + 1:at + 9], "little")
        data, at = payload[at + 9:at + 9 + size], at + 9 + size
        if failed:  # as in_child raises a failed call: its first line
            text = data.decode(errors="replace")
            found.append(ConversionError(text.splitlines()[0] if text else "onnxoptimizer failed"))
        else:
            found.append(onnx.load_from_string(data))
    return found


def _each_alone_bytes(model, passes: list[str]) -> bytes:
    """Per pass: a failure flag, the length and the optimised model's bytes or the error."""
    out = bytearray()
    for name in passes:
        try:
            data, failed = _optimized_bytes(model, [name]), 0
        except Exception as exc:  # noqa: BLE001  (carried to the parent as text)
            data, failed = f"{type(exc).__name__}: {exc}".encode(), 1
        out += bytes([failed]) + len(data).to_bytes(8, "little") + data
    return bytes(out)


def bisect(received: Artifact, passes: list[str], inputs, reference, tolerance,
           apply=optimize, each=None) -> dict[str, Any]:
    """The passes of ``passes`` that change the received model's outputs beyond
    ``tolerance``: each alone, else the shortest failing prefix of the list. ``each(model,
    passes)``, where given, applies each pass alone at once (``each_alone``): what ``apply``
    would give or raise, pass by pass."""
    runner = OnnxRuntimeRunner()

    def fails(chosen: list[str], made=None) -> str | None:
        """Why the received model with ``chosen`` applied (``made``: that model, or what
        applying raised) fails, or None if it passes."""
        try:
            model = apply(received.model, chosen) if made is None else made
            if isinstance(model, Exception):
                raise model
            outputs = runner.run(rewritten(received, model), inputs)
        except Exception as exc:  # noqa: BLE001  (a pass that breaks the model is a finding)
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        worst = worst_of(outputs, reference, tolerance)
        return None if worst.passed else f"max_abs {worst.metrics.get('max_abs', float('nan')):.3g}"

    made = each(received.model, passes) if each is not None else [None] * len(passes)
    alone = {name: why for name, one in zip(passes, made)
             if (why := fails([name], one)) is not None}
    if alone:
        names = ", ".join(f"{name} ({why})" for name, why in alone.items())
        return {"passes": list(alone), "how": "alone",
                "summary": f"onnxoptimizer pass alone changes the outputs: {names}"}
    if fails(passes) is None:
        return {"passes": [], "how": "none",
                "summary": "no onnxoptimizer pass reproduces the failure on the received model"}
    low, high = 1, len(passes)  # the shortest failing prefix: passes[:high] fails
    while low < high:
        middle = (low + high) // 2
        if fails(passes[:middle]) is None:
            low = middle + 1
        else:
            high = middle
    culprit = passes[high - 1]
    return {"passes": [culprit], "how": "prefix", "prefix": passes[:high],
            "summary": f"onnxoptimizer passes fail together: the first {high} of the list, "
                       f"completed by {culprit}"}


fork_server.serve_module(__name__)
