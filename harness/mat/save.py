"""Write an imported network as a file that loads without this package.

Default: a `torch.export` archive (`torch.export.save`; load with
`torch.export.load(open(path, 'rb')).module()`; a `.pt2` name also loads by path), exported with automatic dynamic batch and spatial (or
time) sizes. Alternative: a TorchScript archive (`torch.jit.save`; load with
`torch.jit.load(path)`), which needs every handler's module to be scriptable.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import torch
from torch import nn

from harness.mat.errors import MatImportError

EXPORT = "export"
TORCHSCRIPT = "torchscript"


def _dynamic(shape: Sequence[int]):
    auto = torch.export.Dim.AUTO
    if len(shape) == 4:  # N×C×H×W: batch, height and width may vary
        return {0: auto, 2: auto, 3: auto}
    if len(shape) == 3:  # N×T×C
        return {0: auto, 1: auto}
    return {0: auto}


def save_module(module: nn.Module, path: str | os.PathLike,
                example_shapes: Sequence[Sequence[int]], kind: str = EXPORT) -> None:
    path = os.fspath(path)
    # A size-1 example dimension would be specialised to 1; export with a batch of 2.
    example_shapes = [(max(2, shape[0]), *shape[1:]) for shape in example_shapes]
    examples = tuple(torch.zeros(*shape) for shape in example_shapes)
    module = module.eval()
    try:
        if kind == EXPORT:
            program = torch.export.export(
                module, examples, dynamic_shapes=tuple(_dynamic(s) for s in example_shapes))
            with open(path, "wb") as handle:  # a handle: any file name, not only *.pt2
                torch.export.save(program, handle)
        elif kind == TORCHSCRIPT:

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # jit is deprecated, still works
                torch.jit.save(torch.jit.script(module), path)
        else:
            raise ValueError(f"unknown kind {kind!r}; use {EXPORT!r} or {TORCHSCRIPT!r}")
    except MatImportError:
        raise
    except Exception as error:
        raise MatImportError(
            f"cannot write the {kind} archive: {type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}", path=path) from error


def load_saved(path: str | os.PathLike) -> nn.Module:
    """Load a file written by `save_module` (either kind) as a callable module."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            return torch.export.load(handle).module()
    except Exception:

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(path)
