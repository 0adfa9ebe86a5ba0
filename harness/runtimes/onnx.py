"""Reading an ONNX file safely: no external data, and a bad file is one clear error."""

from __future__ import annotations

from pathlib import Path

from harness.core.errors import GoldenError


def load_onnx(path: Path):
    """The ONNX model at ``path``; a file that is no readable model raises ``GoldenError``
    naming it."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        # No external data: a stored model carries its weights inside the file, so a model
        # cannot point a reader at files outside its folder.
        return onnx.load(str(path), load_external_data=False)
    except (OSError, DecodeError, ValueError) as exc:
        raise GoldenError(f"{path}: not a readable ONNX model: {exc}") from None
