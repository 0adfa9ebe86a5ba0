"""A user's ONNX file that onnxruntime loads but refuses to run on the case's inputs, read by
onnx's reference evaluator instead: ONNX's semantics in numpy, the reading a careful person
turns to when onnxruntime cannot run a model the checker accepts.

Where the evaluator runs the model on the same inputs, onnxruntime's refusal is its own (an
op it implements narrower than the spec: its opset-23 Attention refuses a mask that
broadcasts over the queries, the one torch.onnx.export writes for a padding mask), not the
inputs': the evaluator's outputs are the reference, and the legs that run onnxruntime keep
showing the refusal. Where the evaluator fails too, or would take over ``EVALUATOR_BUDGET``
seconds (a large convolutional network), onnxruntime's failure stands as the inputs'.
"""

from __future__ import annotations

import numpy as np

from harness.runtimes.onnx_evaluated import evaluator_model
from harness.sources.file.fast_pools import kernels
from harness.sources.file.onnx_float64 import EVALUATOR_BUDGET, evaluator_seconds


def evaluator_reading(model, names: list[str],
                      inputs: list[np.ndarray]) -> list[np.ndarray] | None:
    """``model``'s outputs on ``inputs`` (fed as ``names``) by onnx's reference evaluator, in
    the element types the graph declares; None where the evaluator fails too or would take
    over the budget."""
    from onnx.helper import tensor_dtype_to_np_dtype
    from onnx.reference import ReferenceEvaluator

    if evaluator_seconds(model, inputs) > EVALUATOR_BUDGET:
        return None
    try:
        evaluator = ReferenceEvaluator(evaluator_model(model), new_ops=list(kernels()))
        outputs = evaluator.run(None, dict(zip(names, inputs)))
    except Exception:  # noqa: BLE001 (the evaluator refuses these inputs as well)
        return None
    declared = []
    for value in model.graph.output:
        elem = value.type.tensor_type.elem_type if value.type.HasField("tensor_type") else 0
        declared.append(np.dtype(tensor_dtype_to_np_dtype(elem)) if elem else None)
    return [np.asarray(y) if dtype is None else np.asarray(y, dtype=dtype)
            for y, dtype in zip(outputs, declared)]
