"""Known converter pitfalls, named when they bite.

- **A module left in training mode.** ``onnx2torch.convert`` returns its module in training
  mode; run as returned, batch norm normalises with the batch's own statistics and dropout
  drops. parity's stages call ``.eval()`` and record which submodules their converter
  returned in training mode (``Artifact.meta[RETURNED_TRAINING]``), so the leg's verdict is
  the converter's numbers; where a stage returned a module in training mode, a copy of it is
  run once more as returned at the case's first size, and when that changes its outputs beyond the leg's
  tolerance the pitfall is named with what it costs against the reference (max_abs, top-1,
  PSNR). A module whose training mode changes nothing is not named, and is not run again
  where none of the parts returned in training mode reads its training flag (a ResNet whose
  batch norm the exporter folded into its convolutions; onnx2pytorch's module, whose batch
  norm it returns in eval mode).
- **A free dimension baked in.** A leg that agrees at the case's first sizes and fails at
  the second ones fixed a dimension the model leaves free: named with both sizes, and with
  the dimensions an ONNX artifact on the leg's path declares fixed.
- **A layer without a counterpart** is the ``unsupported`` verdict (``harness.check.verdicts``).
"""

from __future__ import annotations

import copy
import functools
import math
import types

import numpy as np

from harness.check.task import TaskTally
from harness.converters import Artifact
from harness.core.compare import compare_outputs, worst_of
from harness.runtimes.torch import run_module


def _shape_text(shape) -> str:
    return "x".join(map(str, shape))


def run_as_returned(module, training: tuple[str, ...], inputs, device: str) -> list[np.ndarray]:
    """A copy of the module run with the submodules named in ``training`` in training mode,
    as its converter returned it (batch norm statistics then move in the copy only)."""
    returned = copy.deepcopy(module).to(device)
    for name, sub in returned.named_modules():
        sub.training = name in training
    return run_module(returned, inputs, device)


def reads_training_flag(module) -> bool:
    """Whether the module's own code reads its training flag, as batch norm and dropout do. A
    class whose source cannot be read counts as reading it; an fx graph's code is read."""
    import torch

    if isinstance(module, torch.fx.GraphModule):
        return "self.training" in module.code
    return any(_class_reads_training_flag(klass) for klass in type(module).__mro__
               if klass not in (torch.nn.Module, object))


@functools.cache
def _class_reads_training_flag(klass) -> bool:
    """Read from the bytecode of the class' own functions, not its source: a class' source is
    found by parsing its whole file (``inspect.getsource``), which CPython 3.11 can fail with
    "SystemError: AST constructor recursion depth mismatch", and an install may ship no
    source. A method whose code cannot be read (written in C) counts as reading the flag."""
    methods = [member for name, member in vars(klass).items()
               if (callable(member) or isinstance(member, property))
               and not isinstance(member, type) and name != "__init__"]
    codes = [_code_of(member) for member in methods]
    return any(code is None or _reads_training(code) for code in codes)


def _code_of(member):
    function = getattr(member, "__func__", member)  # staticmethod, classmethod
    if isinstance(function, property):
        function = function.fget
    return getattr(function, "__code__", None)


def _reads_training(code) -> bool:
    return "training" in code.co_names or any(
        _reads_training(const) for const in code.co_consts if isinstance(const, types.CodeType))


def _cost(outputs, harness, tolerance) -> str:
    found = [c.metrics.get("max_abs") for c in compare_outputs(outputs, harness.reference,
                                                                  tolerance)]
    found = [value for value in found if isinstance(value, float)]
    text = f"max_abs {max(found):.3g}" if found else "shape or dtype"
    tally = TaskTally()
    tally.add(outputs, harness.reference, harness.inputs, tolerance)
    task, beside = tally.to_json(), []
    if "top1" in task:
        beside.append(f"top-1 {task['top1']:.0%} of {task['top1_rows']} rows")
    if "psnr_db" in task:
        value = task["psnr_db"]
        beside.append("PSNR inf dB" if value == math.inf else f"PSNR {value:.1f} dB")
    return text + (f" ({', '.join(beside)})" if beside else "")


def training_mode(harness, spec, leg: str) -> str | None:
    """What running the leg's module as its stage returned it (training mode) costs, where
    that changes its outputs: one more forward pass at the case's first size."""
    training = getattr(harness, "training", {}).get(leg)
    if not training:
        return None
    artifact = harness.artifacts.get(leg)
    evaluated = harness.outputs.get(leg)
    if not isinstance(artifact, Artifact) or harness.reference is None or evaluated is None:
        return None  # the leg did not run: its own verdict says why
    if not any(reads_training_flag(sub) for name, sub in artifact.model.named_modules()
               if name in training):
        return None  # no part returned in training mode computes differently in it
    stage = leg.rsplit(">", 1)[-1]
    try:
        outputs = run_as_returned(artifact.model, training, harness.inputs, harness.device)
    except Exception as exc:  # noqa: BLE001
        return (f"left in training mode: {stage} returns its module in training mode, and "
                f"run as returned it raises ({type(exc).__name__}); call .eval() first")
    tolerance = harness.policy.for_spec(spec, leg, harness.device)
    if (worst_of(outputs, evaluated, tolerance).passed
            or worst_of(outputs, harness.reference, tolerance).passed):
        return None  # training mode changes nothing that matters here
    return (f"left in training mode: {stage} returns its module in training mode; run as "
            f"returned, without .eval(), it differs from the reference by "
            f"{_cost(outputs, harness, tolerance)}: batch norm normalises with the batch's own "
            f"statistics, dropout drops. parity's verdict is after .eval(); call .eval() "
            f"before using the module")


def baked_dimension(runs, leg: str, results) -> str | None:
    """A leg that agrees at the first sizes and not at the second."""
    if len(results) < 2 or results[0].verdict not in ("pass", "xpass"):
        return None
    if results[1].verdict not in ("fail", "error"):
        return None
    (first_case, first), (second_case, _) = runs[0], runs[1]
    sizes = (", ".join(_shape_text(s) for s in first_case.spec.input_shapes),
             ", ".join(_shape_text(s) for s in second_case.spec.input_shapes))
    text = (f"a free dimension baked in: agrees at {sizes[0]} but not at {sizes[1]} "
            f"({results[1].category})")
    fixed = fixed_onnx_dimensions(first, leg, first_case.spec)
    if fixed:
        text += f"; {fixed}"
    return text


def fixed_onnx_dimensions(harness, leg: str, spec) -> str | None:
    """The free dimensions of the model that the nearest ONNX artifact on the leg's path
    declares fixed."""
    free = spec.attrs.get("free") or []
    parts = leg.split(">")
    for end in range(len(parts), 1, -1):
        artifact = harness.artifacts.get(">".join(parts[:end]))
        if isinstance(artifact, Artifact) and artifact.format == "onnx":
            break
    else:
        return None
    initializers = {init.name for init in artifact.model.graph.initializer}
    inputs = [i for i in artifact.model.graph.input if i.name not in initializers]
    found = []
    for index, value in enumerate(inputs):
        axes = free[index] if index < len(free) else []
        dims = value.type.tensor_type.shape.dim
        for axis in axes:
            if axis < len(dims) and dims[axis].HasField("dim_value") and dims[axis].dim_value:
                found.append(f"input {value.name!r} axis {axis} fixed to {dims[axis].dim_value}")
    if not found:
        return None
    stage = ">".join(parts[:end]).rsplit(">", 1)[-1]
    return f"the ONNX from {stage} declares " + ", ".join(found)
