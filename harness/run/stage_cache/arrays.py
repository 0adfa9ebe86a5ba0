"""Named arrays as one blob: a JSON index, then each array's bytes as it lies in memory.

The stage cache reads one such blob on every hit. ``.npz`` costs a zip archive and a header
parsed with ``ast.literal_eval`` per array (0.45 ms for eight small arrays, against 0.02 ms
here); nothing outside the cache reads these blobs, so they need no archive format.

    PARITYA1 | index length (8 bytes, little-endian) | index (JSON) | arrays' bytes

The index lists ``[name, dtype, shape, offset, length]`` per array, the dtype as NumPy
writes it (``'<f4'``). Reading trusts nothing in it: a dtype holding Python objects, an
array that does not fit its length, or bytes past the end is a ``ValueError``. The arrays
read back are writable, as ``np.load`` returns them, and share one buffer.
"""

from __future__ import annotations

import json
import math

import numpy as np

MAGIC = b"PARITYA1"
_LENGTH = 8


def pack(arrays: dict[str, np.ndarray]) -> bytes:
    """The blob of ``arrays``; each must be a plain array (``readings.plain_array`` checks)."""
    index, parts, offset = [], [], 0
    for name, value in arrays.items():
        data = np.ascontiguousarray(value).tobytes()
        index.append([name, value.dtype.str, list(value.shape), offset, len(data)])
        parts.append(data)
        offset += len(data)
    header = json.dumps(index, separators=(",", ":")).encode()
    return b"".join([MAGIC, len(header).to_bytes(_LENGTH, "little"), header, *parts])


def unpack(data: bytes) -> dict[str, np.ndarray]:
    """The arrays ``pack`` wrote, by name; ValueError on anything else."""
    start = len(MAGIC) + _LENGTH
    if data[:len(MAGIC)] != MAGIC or len(data) < start:
        raise ValueError("not a parity array blob (its first bytes are not PARITYA1)")
    end = start + int.from_bytes(data[len(MAGIC):start], "little")
    if end > len(data):
        raise ValueError("the array index runs past the end of the blob")
    index = json.loads(data[start:end])
    body = bytearray(data[end:])  # np.frombuffer on bytes would give read-only arrays
    if not isinstance(index, list):
        raise ValueError("the array index is not a list")
    return dict(_array(body, item) for item in index)


def _array(body: bytearray, item) -> tuple[str, np.ndarray]:
    try:
        name, dtype_text, shape, offset, length = item
        dtype = np.dtype(dtype_text)
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"an array index entry that is not [name, dtype, shape, offset, "
                         f"length]: {item!r:.200} ({exc})") from None
    if not isinstance(name, str) or not isinstance(offset, int) or not isinstance(length, int):
        raise ValueError(f"array index entry {item!r:.200}: bad name, offset or length")
    if dtype.hasobject or dtype.str != dtype_text:
        raise ValueError(f"array {name!r} has dtype {dtype_text!r}, which holds objects or "
                         f"does not read back as itself")
    if min(shape, default=0) < 0 or math.prod(shape) * dtype.itemsize != length:
        raise ValueError(f"array {name!r}: {length} bytes do not hold shape {shape} of "
                         f"{dtype_text}")
    if offset < 0 or offset + length > len(body):
        raise ValueError(f"array {name!r} runs past the end of the blob")
    return name, np.frombuffer(body, dtype=dtype, count=math.prod(shape),
                               offset=offset).reshape(shape)
