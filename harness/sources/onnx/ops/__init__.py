"""ONNX op kinds, one file per op family; ``harness.sources.onnx.kinds`` imports them."""
