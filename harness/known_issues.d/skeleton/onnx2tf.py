"""onnx2tf as parity calls it: the switches its stage's worker
(harness.converters.onnx2tf_worker) and the generated scripts of the onnx2tf legs
(``parity repro --script``) call onnx2tf.convert with, written once."""

# its command line's defaults plus the two that keep the names a reader maps by
CONVERT_SWITCHES = {"output_signaturedefs": True, "copy_onnx_input_output_names_to_tflite": True,
                    "non_verbose": True}
