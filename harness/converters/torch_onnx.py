"""torch → onnx with ``torch.onnx.export``, back to ONNX for deployment; onnxruntime runs it.

``torch-onnx`` takes the dynamo exporter (``dynamo=True``, the default of current PyTorch: it
runs ``torch.export`` first, then translates with onnxscript, at the exporter's own default
opset); ``torch-onnx-ts`` the TorchScript exporter (``dynamo=False``, at the run's opset) while
PyTorch still ships it. A free dimension of the case is declared (``dynamic_shapes``, or
``dynamic_axes`` for TorchScript), so a baked size shows at export or at the second size.
"""

from __future__ import annotations

import io
from typing import NamedTuple

from harness.converters import Artifact, ConvertOptions, forked
from harness.converters.onnx_ir import pin_ir_version
from harness.converters.torch_tracing import (
    ExportError,
    dynamic_shapes,
    example_inputs,
    failure,
    free_axes,
    quiet,
    tensors,
)
from harness.core.stages import stage


def input_names(artifact: Artifact, count: int) -> list[str]:
    names = list(artifact.input_names)
    return names if len(names) == count else [f"input_{i}" for i in range(count)]


def keep_every_input(proto, names: list[str], arrays, axes) -> None:
    """Puts back the inputs an exporter dropped because no output depends on their values
    (an EyeLike or Shape of the input, constant-folded): the model then takes the case's
    inputs as the source does."""
    from onnx import helper
    from onnx.helper import np_dtype_to_tensor_dtype

    present = {value.name: value for value in proto.graph.input}
    if all(name in present for name in names):
        return
    initializers = {init.name for init in proto.graph.initializer}
    others = [value for value in proto.graph.input if value.name not in names
              and value.name not in initializers]
    kept = [present.get(name) or helper.make_tensor_value_info(
        name, np_dtype_to_tensor_dtype(array.dtype),
        [free.get(axis, size) for axis, size in enumerate(array.shape)])
        for name, array, free in zip(names, arrays, axes)]
    rest = [value for value in proto.graph.input if value.name in initializers]
    del proto.graph.input[:]
    proto.graph.input.extend([*kept, *others, *rest])


def output_names(outputs) -> list[str]:
    """Named outputs, one per tensor a forward gave: without them the TorchScript exporter
    reads ``module.graph.outputs()`` to check ``dynamic_axes``, which an fx GraphModule's graph
    (onnx2torch's, mat2torch's) does not have (AttributeError, torch 2.15)."""
    import torch

    count = 1 if isinstance(outputs, torch.Tensor) else len(outputs)
    return [f"output_{i}" for i in range(count)]


@stage("torch-onnx", "torch", "onnx", packages=("torch", "onnxscript", "onnx"))
class TorchOnnxDynamoConverter:
    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import onnx
        import torch

        dynamic = dynamic_shapes(artifact.model, options)
        example = example_inputs(options)
        args = tensors(example, "cpu")
        names = input_names(artifact, len(args))
        try:
            with quiet():
                program = torch.onnx.export(artifact.model.cpu().eval(), args, dynamo=True,
                                            input_names=names, verbose=False,
                                            dynamic_shapes=dynamic)
        except Exception as exc:
            raise failure(ExportError, "torch.onnx.export(dynamo=True) failed", exc,
                          declared_free=dynamic is not None, module=artifact.model) from exc
        proto = onnx.load_model_from_string(program.model_proto.SerializeToString())
        keep_every_input(proto, names, example, free_axes(options))
        pin_ir_version(proto)
        return Artifact("onnx", proto, names)


class Forward(NamedTuple):
    """What one watched forward of a module told: its output names (None where it raised),
    whether it took or made a tensor with no elements, and whether a torch function raised
    inside it and the module caught that and went on."""

    names: list[str] | None
    empty: bool
    caught: bool = False

    @property
    def may_crash_the_exporter(self) -> bool:
        return self.names is None or self.empty or self.caught


def watched_forward(module, args) -> Forward:
    """A forward of the module under a mode that watches every torch function: the
    TorchScript exporter's shape inference divides by zero on a tensor with no elements, its
    tracer crashes (SIGSEGV, torch 2.15) where a traced op raises and the module catches it
    and goes on (onnx2pytorch's Expand tries ``input.expand`` and falls back to a product),
    and it needs the output count (``output_names``)."""
    import torch
    from torch.overrides import TorchFunctionMode

    def empty(value) -> bool:
        if isinstance(value, torch.Tensor):
            return value.numel() == 0
        return isinstance(value, (tuple, list)) and any(map(empty, value))

    class Watch(TorchFunctionMode):
        found = False
        raised = False

        def __torch_function__(self, func, types, call_args=(), kwargs=None):
            try:
                result = func(*call_args, **(kwargs or {}))
            except Exception:
                self.raised = True
                raise
            self.found = self.found or empty(result)
            return result

    watch = Watch()
    try:
        with torch.no_grad(), watch:
            outputs = module(*args)
    except Exception:  # noqa: BLE001  (the export in a child runs it again, and says why)
        return Forward(None, True)
    return Forward(output_names(outputs), watch.found or empty(list(args)), watch.raised)


# What the export gives back: the model's bytes, or the failure's text, behind a mark.
_EXPORTED, _FAILED = b"M", b"F"


def _exported(module, args, options, names, axes, outputs=None) -> bytes:
    """The TorchScript export's ONNX bytes (``_EXPORTED``), or its failure's text
    (``_FAILED``). ``outputs``: the output names, where a forward already gave them."""
    import torch

    buffer = io.BytesIO()
    try:
        if outputs is None:
            with torch.no_grad():
                outputs = output_names(module(*args))
        with quiet():
            torch.onnx.export(module, args, buffer, dynamo=False, input_names=names,
                              output_names=outputs,
                              opset_version=options.opset,
                              dynamic_axes={name: per_input for name, per_input
                                            in zip(names, axes) if per_input} or None)
    except Exception as exc:
        text = str(failure(ExportError, "torch.onnx.export(dynamo=False) failed", exc,
                           module=module))
        return _FAILED + text.encode()
    return _EXPORTED + buffer.getvalue()


def _exported_in_child(module, args, options, names, axes, outputs) -> bytes:
    import torch

    # libgomp's worker threads are not in a forked child; one thread keeps every kernel the
    # trace runs out of OpenMP, where the child would wait on them forever.
    torch.set_num_threads(1)
    return _exported(module, args, options, names, axes, outputs)


@stage("torch-onnx-ts", "torch", "onnx", packages=("torch", "onnx"))
class TorchOnnxTorchScriptConverter:
    """A module that takes or makes an empty tensor, or catches an error a torch function
    raised, exports in a forked child: the TorchScript exporter's shape inference can divide
    by zero on the first and its tracer crash on the second, killing the process (torch 2.15,
    SIGFPE for a reshape of an empty tensor, SIGSEGV after a caught error), and the crash is
    then this leg's error, not the loss of the test worker and every case after it. Any other
    exports here: a fork of a worker holding torch and TensorFlow costs about 0.1 s of system
    time."""

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import onnx

        axes = free_axes(options)
        example = example_inputs(options)
        args = tensors(example, "cpu")
        names = input_names(artifact, len(args))
        module = artifact.model.cpu().eval()
        forward = watched_forward(module, args)
        if forward.may_crash_the_exporter:
            reply = forked.in_child(_exported_in_child, module, args, options, names, axes,
                                    forward.names, what="torch.onnx.export(dynamo=False)",
                                    failed=ExportError, crashed=ExportError)
        else:
            reply = _exported(module, args, options, names, axes, forward.names)
        if reply.startswith(_FAILED):
            raise ExportError(reply[len(_FAILED):].decode(errors="replace"))
        proto = onnx.load_model_from_string(reply[len(_EXPORTED):])
        keep_every_input(proto, names, example, axes)
        pin_ir_version(proto)
        return Artifact("onnx", proto, names)
