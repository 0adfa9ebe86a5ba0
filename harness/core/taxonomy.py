"""The failure taxonomy: every failing leg gets one category, named for what an engineer does
next, and, where a converter or runtime named it, the operation it could not handle.

=====================  ====================================================================
category               meaning
=====================  ====================================================================
unsupported_op         a converter or runtime has no implementation for an operation
conversion_error       the converter raised for another reason
load_error             the runtime refused the converted model (invalid graph, bad types)
runtime_error          the model loaded, and running it raised
shape_mismatch         an output's shape (or the number of outputs) differs
dtype_mismatch         an output's dtype differs
nonfinite_mismatch     NaN/Inf where the source has none, or the other way round
numeric_mismatch       finite values differ beyond the tolerance (numbers compared exactly:
                       integers and booleans)
value_mismatch         values compared exactly differ: strings, a map's keys (ONNX ai.onnx.ml)
crash                  the process died (signal) while converting or running; isolation only
timeout                the case ran past its time limit; isolation only
upstream_error         not run: an earlier stage of the path failed
source_error           the source framework itself could not build or run the case
source_refusal         the source framework cannot run the case on this machine (a skip, with
                       the reason and the machine's state: TensorFlow without oneDNN)
not_applicable         the stage cannot apply to the model, by what the model is (a SavedModel
                       without a signature its converter reads): a skip that says why
nonfinite_reference    a drawn case's source reading holds NaN or Inf: a leg that reproduces
                       them is a skip that says so, never a pass proving agreement
test_failure           a pytest test failed outside any case's record (a fixture, the harness,
                       a test's own assertion): the record names the test
export_error           torch.export or torch.onnx.export refused the converted module
compile_error          torch.compile (Dynamo or its backend) failed on the converted module
=====================  ====================================================================

The last two belong to the stages after a converted PyTorch module (docs/torch-end.md); their
message says whose failure it is (harness.runtimes.torch_diagnosis).
"""

from __future__ import annotations

import re

CATEGORIES = (
    "unsupported_op", "conversion_error", "load_error", "runtime_error", "shape_mismatch",
    "dtype_mismatch", "nonfinite_mismatch", "numeric_mismatch", "value_mismatch", "crash",
    "timeout", "upstream_error", "source_error", "source_refusal", "nonfinite_reference", "not_applicable", "test_failure", "export_error", "compile_error",
)

# The verdicts of a leg that fails a run (an xpass fails it too, but is no failure of the leg).
FAILING = ("fail", "error")

# The stages after a PyTorch module raise these (harness.converters.torch_tracing); a compiled
# module that recompiles at a later size fails in the runner with Dynamo's or Inductor's own.
TRACING = (
    ("export_error", re.compile(r"raised ExportError: ")),
    ("compile_error", re.compile(r"raised CompileError: |\b(InternalTorchDynamoError|"
                                 r"BackendCompilerFailed|InductorError)\b|torch\._dynamo\.exc\.")),
)

# How converters and runtimes say that they lack an operation; group 1 names it.
UNSUPPORTED_OP = (
    # onnx2torch
    re.compile(r"Converter is not implemented \(OperationDescription\([^)]*"
               r"operation_type='(\w+)'"),
    # onnx2pytorch
    re.compile(r"Conversion not implemented for op_type=(\w+)"),
    # onnxruntime, an op unknown to the ONNX domain (a TensorFlow op left by tf2onnx)
    re.compile(r"No Op registered for (\w+)"),
    # onnxruntime, a known op without a kernel for these types or this opset
    re.compile(r"Could not find an implementation for (\w+)\("),
    # tf2onnx
    re.compile(r"Unsupported ops: Counter\(\{'(\w+)'"),
)


def unsupported_op(message: str) -> str | None:
    """The operation a converter or runtime says it cannot handle, if the message says so."""
    for pattern in UNSUPPORTED_OP:
        found = pattern.search(message or "")
        if found:
            return found.group(1)
    return None


def classify_exception(step: str, message: str) -> tuple[str, str | None]:
    """The category of an exception raised while converting (``convert``), loading the
    converted model into its runtime (``load``) or running it (``run``), and the
    unsupported operation it names, if any."""
    for category, pattern in TRACING:
        if pattern.search(message or ""):
            return category, None
    op = unsupported_op(message)
    if op is not None:
        return "unsupported_op", op
    return {"convert": "conversion_error", "load": "load_error"}.get(step, "runtime_error"), None
