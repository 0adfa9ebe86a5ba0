"""ONNX's operator schemas, read with onnx's own ``onnx.defs``: what the ONNX source declares
its ops against, and what the known-issue matcher fills a node's left-out attributes from
(an ONNX model reaches the stages from every source, not only from the ONNX one)."""

from __future__ import annotations

import functools
from typing import Any

NEWEST_OPSET = 21  # the newest opset both ONNX converters' registries reach


@functools.cache
def schema(op_type: str, opset: int = NEWEST_OPSET, domain: str = ""):
    from onnx import defs

    return defs.get_schema(op_type, opset, domain)


@functools.cache
def attribute_defaults(op_type: str, opset: int, domain: str) -> dict[str, Any]:
    """The schema's default value of each attribute of ``op_type`` at ``opset`` that has one;
    empty for an opset the op is not in."""
    from onnx import helper

    try:
        op = schema(op_type, opset, domain)
    except Exception:  # noqa: BLE001 (an opset the op is not in)
        return {}
    found = {}
    for name, attribute in op.attributes.items():
        if attribute.default_value.name:
            value = helper.get_attribute_value(attribute.default_value)
            found[name] = value.decode() if isinstance(value, bytes) else value
    return found
