"""`parity mat2torch MODEL.mat -o model.pt [--output NAME]` and `parity mat inspect MODEL.mat`.

`add_commands(subparsers)` adds both to an argparse subparsers object; each sets
`func(args) -> int` (the exit code). Errors in the input file print one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys

from harness.mat.errors import MatImportError
from harness.mat.shapes import example_shapes

# The importer reads with scipy and h5py and builds with torch: the commands are always
# listed, and say so when an extra is missing.
MISSING_EXTRA = ("the .mat importer needs scipy, h5py and torch (pip install "
                 "'parity[mat,torch]'): {exc}")


def add_commands(subparsers) -> None:
    convert = subparsers.add_parser(
        "mat2torch",
        help="import a MATLAB .mat network and write it as a PyTorch archive",
        description=(
            "Import a MatConvNet (SimpleNN/DagNN) or parity.dlt/1 .mat network and write it "
            "as a torch.export archive (load with torch.export.load(open(path, 'rb')).module(); "
            "no parity import needed) or, with --format torchscript, as a TorchScript archive (load "
            "with torch.jit.load(path))."),
    )
    convert.add_argument("model", help="the .mat file")
    convert.add_argument("-o", "--archive", required=True, metavar="ARCHIVE",
                         help="the archive to write")
    convert.add_argument("--output", action="append", default=None, dest="outputs",
                         metavar="NAME",
                         help="a network output to import (a layer or a variable; repeat for "
                              "several); the layers no chosen output needs are dropped with a "
                              "note (default: every output that depends on no label "
                              "variable, which leaves training-only losses and metrics out)")
    convert.add_argument("--format", choices=["export", "torchscript"], default="export",
                         help="archive kind (default: export)")
    convert.add_argument("--input-shape", action="append", default=None, metavar="N,C,H,W",
                         help="example input shape in PyTorch layout, once per network "
                              "input (default: from the file, or C from the first conv and "
                              "64x64)")
    convert.set_defaults(func=run_mat2torch)

    mat = subparsers.add_parser("mat", help="MATLAB .mat network tools")
    mat_commands = mat.add_subparsers(dest="mat_command", metavar="COMMAND")
    mat_commands.required = True
    inspect = mat_commands.add_parser("inspect", help="list a .mat network's layers and "
                                      "whether each is supported")
    inspect.add_argument("model", help="the .mat file")
    inspect.set_defaults(func=run_inspect)


def _shapes(values: list[str] | None):
    if not values:
        return None
    try:
        return [tuple(int(v) for v in value.split(",")) for value in values]
    except ValueError as error:
        raise MatImportError(f"--input-shape must be comma-separated integers: {values}") \
            from error


def _error(command: str, message) -> int:
    """A user's mistake or a missing extra: one line naming the command, exit 2."""
    print(f"parity {command}: error: {message}", file=sys.stderr)
    return 2


def run_mat2torch(args: argparse.Namespace) -> int:
    try:
        import torch

        from harness.mat import load_network
        from harness.mat.builder import build_module, run_checked
        from harness.mat.save import save_module
    except ImportError as exc:
        return _error("mat2torch", MISSING_EXTRA.format(exc=exc))

    try:
        network = load_network(args.model, args.outputs)
        module = build_module(network)
        shapes = _shapes(args.input_shape) or example_shapes(network)
        if shapes is None:
            raise MatImportError("the file does not declare its input size; pass "
                                 "--input-shape N,C,H,W", path=args.model)
        run_checked(module, [torch.zeros(*shape) for shape in shapes], network.source)
        save_module(module, args.archive, shapes, kind=args.format)
    except MatImportError as error:
        return _error("mat2torch", error)
    for note in network.notes:
        print(f"note: {note}")
    print(f"wrote {args.archive} ({args.format}; {len(network.layers)} layers, outputs "
          f"{', '.join(network.outputs)}, example input "
          f"{' '.join('x'.join(map(str, s)) for s in shapes)})")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    try:
        from harness.mat import inspect
    except ImportError as exc:
        return _error("mat inspect", MISSING_EXTRA.format(exc=exc))
    try:
        print(inspect(args.model))
    except MatImportError as error:
        return _error("mat inspect", error)
    return 0
