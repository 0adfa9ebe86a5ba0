"""What the stages after a PyTorch module share: the inputs they trace it with, the dimensions
they declare free, quiet tracing and the errors they raise (harness.runtimes.torch_diagnosis says
whose each failure is).

A case's free dimension is one whose size differs between the sizes its legs run at
(``ConvertOptions.input_shapes``). Axes whose sizes agree at every size share one ``Dim``
(the batch of every input is one dimension). torch.export specialises a dimension whose
example size is 0 or 1, so the example it traces with is the case's inputs at their widest
size (``np.resize`` of the first size's values: the same dtype and value range).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import warnings

import numpy as np

from harness.converters import ConversionError, ConvertOptions
from harness.runtimes.torch_diagnosis import diagnose, first_line


class TorchEndError(ConversionError):
    """A stage after the PyTorch module failed; the message says whose failure it is."""


class ExportError(TorchEndError):
    """torch.export.export or torch.onnx.export refused the module (taxonomy: export_error)."""


class CompileError(TorchEndError):
    """torch.compile failed on the module (taxonomy: compile_error)."""


def failure(error: type[TorchEndError], what: str, exc: BaseException,
            declared_free: bool = False, module=None) -> TorchEndError:
    """``error`` with the one-line cause, the diagnosis and PyTorch's message; ``module``:
    the module that was traced."""
    diagnosis = diagnose(exc, declared_free=declared_free, module=module)
    text = (f"{what}: {type(exc).__name__}: {first_line(exc)}\n{diagnosis.text()}\n"
            f"PyTorch's message:\n{str(exc).strip()}")
    return error(text)


def needs_inputs(stage: str, options: ConvertOptions) -> tuple:
    if options.example_inputs is None:
        raise ConversionError(f"{stage} traces the module with the case's inputs, and none "
                              f"were given (ConvertOptions.example_inputs)")
    return options.example_inputs


def free_axes(options: ConvertOptions) -> list[dict[int, str]]:
    """For each input, its free axes (those whose size differs between the case's sizes),
    each named for the sequence of sizes it takes: axes that agree share a name."""
    shapes = options.input_shapes
    inputs = options.example_inputs or ()
    axes: list[dict[int, str]] = [{} for _ in inputs]
    if len(shapes) < 2:
        return axes
    names: dict[tuple[int, ...], str] = {}
    # Inputs past the case's shapes are operands its written form feeds at run time (an ONNX
    # case's form_operands "fed"): none of their axes is free.
    for i in range(min(len(inputs), *(len(size) for size in shapes))):
        for axis in range(len(shapes[0][i])):
            sizes = tuple(size[i][axis] for size in shapes)
            if len(set(sizes)) > 1:
                axes[i][axis] = names.setdefault(sizes, f"d{len(names)}")
    return axes


def dynamic_shapes(module, options: ConvertOptions):
    """torch.export's ``dynamic_shapes`` for the case's free axes, shaped as ``module``'s
    forward takes its inputs (one argument each, or all of them as ``*args``, as
    onnx2pytorch's module does); None where no axis is free."""

    from torch.export import Dim

    axes = free_axes(options)
    dims = {name: Dim(name) for per_input in axes for name in per_input.values()}
    if not dims:
        return None
    per_input = tuple({axis: dims[name] for axis, name in free.items()} or None
                      for free in axes)
    parameters = list(inspect.signature(module.forward).parameters.values())
    if parameters and parameters[0].kind is inspect.Parameter.VAR_POSITIONAL:
        return (per_input,)
    return per_input


def example_inputs(options: ConvertOptions) -> list[np.ndarray]:
    """The inputs to trace with: the first size's, or where a free axis is 0 or 1 there
    (torch.export would specialise it), the first size's values resized to the first size
    where every free axis is 2 or more (else the widest)."""
    inputs = [np.asarray(x) for x in needs_inputs("tracing", options)]
    shapes = options.input_shapes
    if len(shapes) < 2:
        return inputs
    axes = free_axes(options)

    def traceable(size) -> bool:
        return all(size[i][axis] >= 2 for i, free in enumerate(axes) for axis in free)

    chosen = next((size for size in shapes if traceable(size)),
                  max(shapes, key=lambda size: sum(int(np.prod(s)) for s in size)))
    resized = [x if tuple(x.shape) == tuple(shape) else np.resize(x, shape)
               for x, shape in zip(inputs, chosen)]
    return resized + inputs[len(resized):]  # operands fed at run time keep their values


def tensors(arrays, device: str) -> tuple:
    import torch

    return tuple(torch.from_numpy(np.array(x, order="C")).to(device) for x in arrays)


@contextlib.contextmanager
def quiet():
    """PyTorch's tracers log every failure (the graph traced so far included) and print
    progress; the stage's own error carries what matters, so logging, stdout, stderr and
    warnings are held back while it traces."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)
