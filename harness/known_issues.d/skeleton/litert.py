"""LiteRT's reading of a TFLite file, through its signature runner (names as onnx2tf keeps
them with copy_onnx_input_output_names_to_tflite)."""

from ai_edge_litert.interpreter import Interpreter


def run_tflite(path, feeds):
    """Every output, by the signature's names."""
    return Interpreter(model_path=path).get_signature_runner()(**feeds)
