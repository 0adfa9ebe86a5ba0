"""What a file's first bytes say: the signatures formats are recognised by."""

from __future__ import annotations

from pathlib import Path

from harness.sources.file.errors import FileError

HEAD_BYTES = 4104  # the HDF5 signature after the largest user block read, and its 8 bytes
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def read_head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(HEAD_BYTES)
    except OSError as exc:
        raise FileError(path, f"cannot read the file ({exc.strerror or exc})") from None


def hdf5_offset(head: bytes) -> int | None:
    """Where the HDF5 signature sits: at 0 or after a user block (512, 1024, ... bytes)."""
    for offset in (0, 512, 1024, 2048, 4096):
        if head[offset:offset + 8] == HDF5_SIGNATURE:
            return offset
    return None
