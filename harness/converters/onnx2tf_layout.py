"""How an onnx2tf model's tensors map to the ONNX model's: by name and by the layout onnx2tf
documents and records, never by a search over shapes or values.

onnx2tf converts channel-first tensors to channel-last (its README: NCW to NWC, NCHW to NHWC,
NCDHW to NDHWC, and on for every rank from 3): axis 1 moves last. For the model's **inputs**
that is the documented rule, and the shape onnx2tf declares for each input must be that
form of the ONNX input's shape, else the conversion is refused here.

For an **output** onnx2tf documents no rule: it hands an output back either in its channel-last
form or as ONNX lays it out, and records which in the model it returns
(``model.onnx_output_layouts``: True for channel-last). The declared output shape decides
between exactly these two layouts where it tells them apart; where both fit (every
dimension after the first equal, or unknown) onnx2tf's record decides. A declared shape that
is neither layout's is refused: the mapping never tries other permutations, so a layout bug
shows as a failure, not as a shape that happens to match.
"""

from __future__ import annotations

from collections.abc import Sequence

Shape = Sequence[int | None]


class LayoutError(ValueError):
    """onnx2tf declared a tensor in neither layout it documents."""


def channel_last(rank: int) -> tuple[int, ...] | None:
    """The permutation onnx2tf applies to a channel-first tensor of ``rank`` (axis 1 last),
    None where it applies none (rank below 3)."""
    return (0, *range(2, rank), 1) if rank >= 3 else None


def inverse(perm: Sequence[int] | None) -> tuple[int, ...] | None:
    if perm is None:
        return None
    back = [0] * len(perm)
    for position, axis in enumerate(perm):
        back[axis] = position
    return tuple(back)


def permuted(shape: Shape, perm: Sequence[int] | None) -> list[int | None]:
    return list(shape) if perm is None else [shape[axis] for axis in perm]


def fits(declared: Shape, expected: Shape) -> bool:
    """Equal ranks and every dimension equal where both are known."""
    return len(declared) == len(expected) and all(
        a is None or b is None or a == b for a, b in zip(declared, expected))


def _text(shape: Shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def input_perm(name: str, onnx_shape: Shape, declared: Shape) -> tuple[int, ...] | None:
    """The permutation from the case's (ONNX) layout to the input onnx2tf declared."""
    perm = channel_last(len(onnx_shape))
    expected = permuted(onnx_shape, perm)
    if not fits(declared, expected):
        raise LayoutError(
            f"onnx2tf declared input {name!r} with shape {_text(declared)}, not "
            f"{_text(expected)}, the channel-last form of its ONNX shape {_text(onnx_shape)} "
            f"that onnx2tf documents")
    return perm


def output_perm(name: str, onnx_shape: Shape | None, declared: Shape | None,
                recorded_channel_last: bool) -> tuple[int, ...] | None:
    """The permutation from the output onnx2tf declared back to ONNX's layout. Where one
    side gives no rank, the other's decides it; where neither does, the record decides
    whether there is a permutation, which it cannot name without a rank."""
    if declared is None and onnx_shape is None:
        if recorded_channel_last:
            raise LayoutError(f"onnx2tf declared output {name!r} channel-last with no rank, "
                              f"and ONNX's shape inference gives it none")
        return None
    if declared is None:
        declared = [None] * len(onnx_shape)
    if onnx_shape is None:  # ONNX's shape inference gave no shape: the record decides
        onnx_shape = [None] * len(declared)
    perm = channel_last(len(onnx_shape))
    as_onnx = fits(declared, onnx_shape)
    as_channel_last = perm is not None and fits(declared, permuted(onnx_shape, perm))
    if as_onnx and as_channel_last:
        return inverse(perm) if recorded_channel_last else None
    if as_channel_last:
        return inverse(perm)
    if as_onnx:
        return None
    expected = _text(onnx_shape) + (
        f" or its channel-last form {_text(permuted(onnx_shape, perm))}" if perm else "")
    raise LayoutError(f"onnx2tf declared output {name!r} with shape {_text(declared)}, "
                      f"neither ONNX's {expected}")
