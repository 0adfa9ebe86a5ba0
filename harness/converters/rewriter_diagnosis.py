"""Which pass of onnxsim or onnxslim broke a failing leg: each pass of its pipeline left out
in turn (onnxslim's fusion patterns by their registry names and its graph-wide steps;
onnxsim's optimizer passes and its constant folding), and the ones whose absence makes the
model agree with the reference again are named. onnxoptimizer's passes apply one at a time,
so its stage applies each alone instead (``onnxoptimizer_stage.bisect``).

A diagnosis runs only for a failing leg, so its cost (one rewrite a pass) is paid once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.converters import Artifact
from harness.converters.onnx_ir import rewritten
from harness.core.compare import worst_of
from harness.runtimes.onnxruntime import OnnxRuntimeRunner

Apply = Callable[[Any, str | None], Any]  # (model, the pass left out or None) -> model


def leave_one_out(tool: str, received: Artifact, passes: list[str], apply: Apply, inputs,
                  reference, tolerance) -> dict[str, Any]:
    """``{"passes": [...], "how": "left out" | "none", "summary": ...}``: the passes without
    which the rewritten model passes."""
    runner = OnnxRuntimeRunner()

    def fails(left_out: str | None) -> str | None:
        try:
            outputs = runner.run(rewritten(received, apply(received.model, left_out)), inputs)
        except Exception as exc:  # noqa: BLE001  (a rewrite that breaks the model is a finding)
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        worst = worst_of(outputs, reference, tolerance)
        return None if worst.passed else f"max_abs {worst.metrics.get('max_abs', float('nan')):.3g}"

    if fails(None) is None:
        return {"passes": [], "how": "none",
                "summary": f"{tool} with every pass does not reproduce the failure"}
    named = [name for name in passes if fails(name) is None]
    if not named:
        return {"passes": [], "how": "none",
                "summary": f"no single {tool} pass left out makes the model pass"}
    return {"passes": named, "how": "left out",
            "summary": f"{tool} pass whose absence makes the model pass: {', '.join(named)}"}


def onnxslim_passes() -> list[str]:
    """onnxslim's fusion and elimination patterns (its registry's names) and its graph-wide
    steps but graph fusion itself (``OptimizationSettings.keys()``)."""
    from onnxslim.core.optimization import OptimizationSettings
    from onnxslim.core.pattern.registry import DEFAULT_FUSION_PATTERNS

    keys = OptimizationSettings.keys()  # a class method, not a dict's
    steps = [key for key in keys if key != "graph_fusion"]
    return [*DEFAULT_FUSION_PATTERNS, *steps]


def slim_without(model, left_out: str | None):
    import onnxslim
    from onnxslim.core.optimization import OptimizationSettings

    if left_out is None:
        return onnxslim.slim(model)
    steps = OptimizationSettings.keys()  # a class method, not a dict's
    if left_out in steps:
        return onnxslim.slim(model, skip_optimizations=[left_out])
    return onnxslim.slim(model, skip_fusion_patterns=[left_out])


CONSTANT_FOLDING = "constant_folding"
# onnxsim/onnxsim.cpp (0.8.1): the passes its core always disables, and the one it adds.
ONNXSIM_DISABLED = ("eliminate_shape_gather", "extract_constant_to_initializer")
ONNXSIM_ADDED = ("fuse_matmul_add_bias_into_gemm_batched",)


def onnxsim_passes() -> list[str]:
    """onnxsim's optimizer passes as its core builds the list, and its constant folding."""
    from onnxsim import onnxsim_cpp2py_export as core

    listed = [p for p in core._list_optimizers() if p not in ONNXSIM_DISABLED]
    return [*listed, *ONNXSIM_ADDED, CONSTANT_FOLDING]


def simplify_without(model, left_out: str | None):
    import onnxsim

    if left_out == CONSTANT_FOLDING:
        out, _ = onnxsim.simplify(model, skip_constant_folding=True)
    else:
        out, _ = onnxsim.simplify(model, skipped_optimizers=[left_out] if left_out else None)
    return out
