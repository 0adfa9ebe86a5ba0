"""``parity check MODEL``: the command line.

Wired into ``parity`` by ``harness.cli.build_parser`` with ``add_check_command(commands)``.

Exit status (docs/check.md, "Exit status"): 0 when every leg agrees, 1 when one does not, 2
when the model cannot be checked as asked (a damaged or unsupported file, a bad option), with
one line naming the file and what is wrong, 3 when this machine cannot check it (a framework
missing, the source framework refusing the model here), 4 on an internal error (parity's own
bug: one line naming the file that holds the traceback; harness.core.exits), 130 when
interrupted. ``parity``'s main turns every exception this module leaves into those codes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
from pathlib import Path

from harness import check
from harness.check.options import SCHEMA
from harness.check.render import text
from harness.core import exits
from harness.core.exits import CANNOT_RUN_HERE
from harness.core.quiet import framework_logs_silenced

EXIT_CODES = {0: "every leg agrees", 1: "a leg does not agree",
              2: "the model cannot be checked as asked (file, option)",
              CANNOT_RUN_HERE: "this machine cannot check it (a framework missing, the source "
                               "refusing the model here)",
              4: "internal error (parity's bug; the traceback is saved to a file)",
              130: "interrupted"}


def add_check_command(subparsers) -> argparse.ArgumentParser:
    check = subparsers.add_parser(
        "check", help="check a model file you hold down every conversion path",
        description="Checks a model file (.keras, Keras-2 .h5, architecture .json with "
                    "--weights, SavedModel folder, .onnx, .tflite, MATLAB .mat) down every conversion "
                    "path that applies: per leg, the verdict, the max error, task-level "
                    "agreement and where it first diverges. Exit status: "
                    + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items())
                    + " (docs/check.md).")
    check.add_argument("model", help="the model file (or SavedModel folder)")
    check.add_argument("--weights", default=None, metavar="W.h5",
                       help="the weights of a Keras-2 architecture .json")
    check.add_argument("--inputs", default=None, metavar="DATA",
                       help="your inputs: an .npz (arrays named after the model's inputs, "
                            "input_0..., or in order) or a folder of images (see --scale, "
                            "--mean, --std, --layout); default: seeded draws")
    check.add_argument("--scale", type=float, default=1 / 255,
                       help="images: pixel values are multiplied by this (default 1/255)")
    check.add_argument("--mean", default=None, metavar="M[,M,M]",
                       help="images: subtracted after scaling, per channel or one value")
    check.add_argument("--std", default=None, metavar="S[,S,S]",
                       help="images: divided by after the mean (default 1)")
    check.add_argument("--layout", default=None, choices=["nhwc", "nchw"],
                       help="images: the model's layout (default: from the model)")
    check.add_argument("--limit", type=int, default=16,
                       help="images: at most this many, in name order (default 16)")
    check.add_argument("--output", action="append", default=None, dest="outputs",
                       metavar="NAME",
                       help="a .mat network: an output to check (a layer or a variable; "
                            "repeat for several), as parity mat2torch --output; default: "
                            "every output that depends on no label")
    check.add_argument("--signature", default=None, metavar="NAME",
                       help="a SavedModel: the signature to check (default serving_default, "
                            "else its one signature); every SavedModel leg uses it")
    check.add_argument("--paths", default=None, metavar="PATHS",
                       help="comma-separated conversion paths (default: every path for the "
                            "model's format)")
    check.add_argument("--report", default="reports", metavar="DIR",
                       help="where results.jsonl, parity.html and junit.xml go ('none': "
                            "nowhere; default reports)")
    check.add_argument("--json", action="store_true",
                       help="print the verdicts as JSON on stdout (progress stays on stderr)")
    check.add_argument("--pin", default=None, metavar="NAME",
                       help="store the model, its inputs and reference outputs as a golden "
                            "case named NAME")
    check.add_argument("--golden", default=None, metavar="DIR",
                       help="the golden store for --pin (default golden/ or $PARITY_GOLDEN)")
    check.add_argument("--pin-limit-mb", type=float, default=32.0, metavar="MB",
                       help="largest golden case --pin writes (default 32)")
    check.add_argument("--script", default=None, metavar="OUT.py",
                       help="write a standalone reproducer of the first failing leg")
    check.add_argument("--max-inline-mb", type=float, default=2.0, metavar="MB",
                       help="largest model and data a --script embeds (default 2)")
    check.add_argument("--plugins", default=None, metavar="MODULE[,MODULE]",
                       help="modules to import first: converters to check, custom Keras "
                            "layers, .mat layer handlers")
    check.add_argument("--custom-objects", action="append", default=None,
                       metavar="MODULE:NAME",
                       help="custom Keras classes the model names: NAME a dict in MODULE, "
                            "name -> class, as keras.models.load_model(custom_objects=...) "
                            "takes (repeatable, or comma-separated)")
    check.add_argument("--seed", type=int, default=0, help="seed of the drawn inputs")
    check.add_argument("--max-input-mb", type=float, default=None, metavar="MB",
                       help="largest input parity draws, refused before it is made "
                            "(default 1024)")
    check.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    check.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    check.add_argument("--atol", type=float, default=None,
                       help="absolute tolerance for every leg (default 1e-4, or pyproject's "
                            "rules for source 'file')")
    check.add_argument("--rtol", type=float, default=None,
                       help="relative tolerance for every leg (default 1e-3)")
    check.add_argument("--no-diagnose", action="store_true",
                       help="skip the per-layer diagnosis of failing legs")
    check.add_argument("--torch-end", nargs="?", const="check", default=None,
                       metavar="STAGES",
                       help="also put the converted PyTorch module through what users do "
                            "next, on every path that ends in one (docs/torch-end.md): alone, "
                            "torch.export, torch.compile and both ONNX exporters; 'all' adds "
                            "the eager/aot_eager backends and non-strict export; or name "
                            "stages")
    check.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    check.set_defaults(func=cmd_check)
    return check


def _progress(quiet: bool):
    if quiet:
        return None

    closed = []

    def say(text: str) -> None:
        if closed:
            return
        try:
            print(text, file=sys.stderr, flush=True)
        except BrokenPipeError:  # the reader went away: the check goes on without progress
            closed.append(True)

    return say


def _quietly_closed(write) -> None:
    """Writes the answer; where the reader closed the pipe (``parity check M | head``), ends
    quietly, as a shell command does, not as parity's own bug. Python's own recipe: stdout
    pointed at devnull, so that the flush at exit does not raise again."""
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def cmd_check(args: argparse.Namespace) -> int:
    """The check, with framework log lines silenced under ``-q``; with ``--json``, stdout
    holds one JSON document whatever the outcome (a refusal, an internal error)."""
    with framework_logs_silenced() if args.quiet else contextlib.nullcontext():
        return _check(args)


def _command() -> str | None:
    if Path(sys.argv[0]).name != "parity":
        return None
    return " ".join(shlex.quote(a) for a in ["parity", *sys.argv[1:]])


def _check(args: argparse.Namespace) -> int:
    plugins = [m.strip() for m in (args.plugins or "").split(",") if m.strip()]
    options = check.CheckOptions(
        model=args.model, weights=args.weights, inputs=args.inputs, scale=args.scale,
        mean=args.mean, std=args.std, layout=args.layout, limit=args.limit,
        paths=args.paths, report=None if args.report == "none" else args.report,
        pin=args.pin, golden=args.golden, pin_limit_mb=args.pin_limit_mb,
        script=args.script, max_inline_mb=args.max_inline_mb, plugins=plugins,
        custom_objects=args.custom_objects or [],
        seed=args.seed, device=args.device, opset=args.opset, atol=args.atol,
        rtol=args.rtol, diagnose=not args.no_diagnose, outputs=args.outputs,
        torch_end=args.torch_end, command=_command(), max_input_mb=args.max_input_mb,
        signature=args.signature)
    # Without --json, any other exception is parity's main's: a framework missing (3), an
    # internal error (4); with it, the same code and line, and the document beside them.
    try:
        outcome = check.run_check(options, progress=_progress(args.quiet))
    except check.CannotCheckHere as exc:
        return _no_verdict(args, CANNOT_RUN_HERE, f"parity check: cannot run here: {exc}")
    except check.CheckError as exc:
        return _no_verdict(args, 2, f"parity check: {exc}")
    except KeyboardInterrupt:
        if not args.json:
            raise
        return _no_verdict(args, exits.INTERRUPTED, "parity check: interrupted")
    except Exception as exc:
        if not args.json or os.environ.get(exits.DEBUG_VARIABLE):
            raise
        command = _command() or " ".join(["parity check", shlex.quote(args.model)])
        return _no_verdict(args, *exits.escaped("parity check", exc, command))
    if args.json:
        _quietly_closed(lambda: _print_json(outcome.to_json()))
    else:
        _quietly_closed(lambda: print(text(outcome)))
    return outcome.exit_code


def no_verdict_json(model: str | None, code: int, line: str) -> dict:
    """The ``--json`` document of a check that ended without verdicts: the exit code, what
    it means, and the line the terminal got."""
    return {"schema": SCHEMA, "model": model, "agrees": False, "exit_code": code,
            "legs": [], "error": {"meaning": EXIT_CODES.get(code, "error"), "message": line}}


def _no_verdict(args: argparse.Namespace, code: int, line: str) -> int:
    print(line, file=sys.stderr)
    if args.json:
        _quietly_closed(lambda: _print_json(no_verdict_json(args.model, code, line)))
    return code


def _print_json(document: dict) -> None:
    json.dump(document, sys.stdout, indent=2, allow_nan=False, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()
