"""The node test cases parity does not run, and why: one reason a rule.

A case is left out when no reading can be compared with onnx's expected outputs: it draws
random numbers, it is a training step, or its inputs or outputs are values parity's runners and
comparator do not carry (sequences, optionals, strings, the types NumPy holds only through
ml_dtypes). The index (``index.json``) records
each case's reason by its id; ``REASONS`` says it in words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.core.onnx_random import RANDOM_OPS, dropout_draws_mask

REASONS = {
    "random": "draws random numbers (Bernoulli, RandomUniform(Like), RandomNormal(Like), "
              "Multinomial): onnx's expected outputs are one draw of NumPy's generator, which "
              "no runtime or converter reproduces",
    "dropout-training": "Dropout in training mode with a non-zero ratio draws a random mask: "
                        "onnx's expected outputs are one draw of NumPy's generator",
    "training": "a training op of ai.onnx.preview.training (Adagrad, Adam, Momentum): "
                "onnxruntime's inference build registers none of them, onnx2torch has no "
                "converter and onnx2pytorch refuses a model without the default domain",
    "sequence": "a sequence input or output: parity's runners and comparator carry tensors, "
                "and onnxruntime hands a sequence back as a list",
    "optional": "an optional input or output: parity's runners and comparator carry tensors, "
                "not an optional that may hold none",
    "string": "a string tensor input or output: parity's comparator compares numbers",
    "ml-dtypes": "an input or output of bfloat16, float8, float4, int4, uint4, int2 or uint2, "
                 "types NumPy holds only through ml_dtypes: onnxruntime's Python API and "
                 "torch.from_numpy take no such array, and parity's tolerances have no "
                 "float8, 4-bit or 2-bit dtype",
}
TRAINING_DOMAIN = "ai.onnx.preview.training"
STRING_ELEM_TYPE = 8  # onnx.TensorProto.STRING
# onnx.TensorProto's BFLOAT16 (16), FLOAT8E4M3FN to FLOAT8E5M2FNUZ (17-20), UINT4 and INT4
# (21, 22), FLOAT4E2M1 (23), FLOAT8E8M0 (24), UINT2 and INT2 (25, 26).
ML_DTYPES_ELEM_TYPES = frozenset(range(16, 27))


def reason_for(case) -> str | None:
    """The id of the reason ``case`` (an onnx ``TestCase``) is left out, or None to run it."""
    graph = case.model.graph
    nodes = list(graph.node)
    if any(node.op_type in RANDOM_OPS for node in nodes):
        return "random"
    if any(node.domain == TRAINING_DOMAIN for node in nodes):
        return "training"
    values = [*graph.input, *graph.output]
    kinds = {value.type.WhichOneof("value") for value in values}
    if "sequence_type" in kinds:
        return "sequence"
    if "optional_type" in kinds:
        return "optional"
    elem_types = {value.type.tensor_type.elem_type for value in values
                  if value.type.WhichOneof("value") == "tensor_type"}
    if STRING_ELEM_TYPE in elem_types:
        return "string"
    if elem_types & ML_DTYPES_ELEM_TYPES:
        return "ml-dtypes"
    inputs = dict(zip([value.name for value in graph.input], case.data_sets[0][0]))
    if any(node.op_type == "Dropout"
           and dropout_draws_mask(node, lambda name: _value(name, inputs)) for node in nodes):
        return "dropout-training"
    return None


def _value(name: str, inputs: dict[str, Any]):
    if not name or name not in inputs:
        return None
    value = inputs[name]
    if hasattr(value, "dims") and not isinstance(value, np.ndarray):  # a TensorProto
        from onnx import numpy_helper

        return numpy_helper.to_array(value)
    return value
