"""Known converter pitfalls, named when they bite.

- **A module left in training mode.** ``onnx2torch.convert`` returns its module in training
  mode; run as returned, batch norm normalises with the batch's own statistics and dropout
  drops. parity's runner calls ``.eval()``, so the leg's verdict is the converter's numbers;
  where a stage returned a module in training mode, it is run once more as returned, and
  when that differs the pitfall is named with what it costs.
- **A free dimension baked in.** A leg that agrees at the case's first sizes and fails at
  the second ones fixed a dimension the model leaves free: named with both sizes, and with
  the dimensions an ONNX artifact on the leg's path declares fixed.
- **A layer without a counterpart** is the ``unsupported`` verdict (``harness.check.verdicts``).
"""

from __future__ import annotations

import copy

import numpy as np

from harness.converters import Artifact


def _shape_text(shape) -> str:
    return "x".join(map(str, shape))


def training_mode(harness, spec, leg: str) -> str | None:
    """The cost of running the leg's module as its stage returned it (training mode)."""
    if leg not in getattr(harness, "training", ()):
        return None
    artifact = harness.artifacts.get(leg)
    if not isinstance(artifact, Artifact) or harness.reference is None:
        return None
    import torch

    from harness.pipeline import worst_of

    stage = leg.rsplit(">", 1)[-1]
    try:
        module = copy.deepcopy(artifact.model).to(harness.device).train()
        tensors = [torch.from_numpy(np.ascontiguousarray(x)).to(harness.device)
                   for x in harness.inputs]
        with torch.no_grad():
            outputs = module(*tensors)
        if isinstance(outputs, torch.Tensor):
            outputs = [outputs]
        elif isinstance(outputs, dict):
            outputs = list(outputs.values())
        outputs = [o.detach().cpu().numpy() for o in outputs]
    except Exception as exc:  # noqa: BLE001
        return (f"left in training mode: {stage} returns its module in training mode, and "
                f"run as returned it raises ({type(exc).__name__}); call .eval() first")
    tolerance = harness.policy.for_spec(spec, leg, harness.device)
    worst = worst_of(outputs, harness.reference, tolerance)
    if worst.passed:
        return None
    max_abs = worst.metrics.get("max_abs")
    cost = f"max_abs {max_abs:.3g}" if isinstance(max_abs, float) else worst.category
    return (f"left in training mode: {stage} returns its module in training mode; run as "
            f"returned (no .eval()), batch norm uses the batch's statistics and dropout "
            f"drops, and the outputs differ ({cost}); parity's verdict is after .eval()")


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
