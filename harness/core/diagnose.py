"""What every source's diagnoser shares: where a failing leg first diverges from its source.

A source's diagnoser captures each unit's output (a Keras layer's, an ONNX node's, a MATLAB
layer's) in the reference and in each leg, and compares them unit by unit; the diagnosis
names the first diverging unit, the error growth, the stage that introduced the divergence
(``first_diverging_stage``) and the unit re-run alone (``summary`` puts it in one line).
Shared here: reading a tap in the reference's layout (``align``, ``pick``), a leg's captured
values (``LegTrace``), an ONNX model with extra outputs (``with_outputs``), the diagnosis'
skeleton (``divergence``) and the one-line summary. The Keras diagnoser is
``harness.sources.keras.diagnose``, the ONNX one ``harness.sources.onnx.diagnose``, the MATLAB
one ``harness.sources.mat.diagnose``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.core import stages as stage_registry
from harness.core.artifact import Artifact
from harness.core.compare import Tolerance


def pick(reference: np.ndarray, candidates: list[np.ndarray]) -> tuple[np.ndarray | None, str]:
    """The last candidate that holds a tensor of the reference's shape (in some layout),
    aligned to the reference; or None and why none fits."""
    why = "no candidate tensor"
    for value in reversed(candidates):
        aligned, why = align(reference, value)
        if aligned is not None:
            return aligned, why
    return None, why


def align(reference: np.ndarray, value: np.ndarray) -> tuple[np.ndarray | None, str]:
    """``value`` in the reference's layout, and how it was found.

    Equal shapes compare as they are; a channels-first permutation of the reference's shape
    is moved back. Where both readings fit (all dimensions after the batch equal), the
    closer one is taken and the note says so. Another rank fits where it only merges or
    splits leading dimensions or drops ones of size 1 (tf2onnx's Dense on a sequence, a
    MatMul over (batch * steps, features)): an equal size alone is no reason, as a layer's
    (batch, heads, steps, steps) attention weights hold as many numbers as its (batch,
    steps, features) output.
    """
    if value.ndim != reference.ndim:
        if value.size == reference.size and _same_order(value.shape, reference.shape):
            return value.reshape(reference.shape), "reshaped"
        return None, f"shape {list(value.shape)} does not fit {list(reference.shape)}"
    rank = reference.ndim
    to_last = (0, *range(2, rank), 1)
    direct = value.shape == reference.shape
    permuted = rank > 2 and tuple(value.shape[i] for i in to_last) == reference.shape
    if direct and permuted and to_last != tuple(range(rank)):
        back = value.transpose(to_last)
        if distance(back, reference) < distance(value, reference):
            return back, "channels-first (ambiguous shape; the closer reading)"
        return value, "as is (ambiguous shape; the closer reading)"
    if direct:
        return value, "as is"
    if permuted:
        return value.transpose(to_last), "channels-first"
    return None, f"shape {list(value.shape)} does not fit {list(reference.shape)}"


def _same_order(shape: tuple[int, ...], other: tuple[int, ...]) -> bool:
    """Whether one shape is the other with leading dimensions merged or split, or dimensions
    of size 1 dropped: the last dimension (the features) the same, or both the same but for
    their ones."""
    squeezed = [d for d in shape if d != 1]
    other_squeezed = [d for d in other if d != 1]
    if squeezed == other_squeezed:
        return True
    return bool(squeezed and other_squeezed) and squeezed[-1] == other_squeezed[-1]


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """max|a - b| in float64, NaNs ignored."""
    with np.errstate(all="ignore"):
        return float(np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0))


def with_outputs(proto, tensors: list[str]):
    """A copy of ``proto`` that also returns ``tensors`` (after its own outputs)."""
    import onnx

    augmented = onnx.ModelProto()
    augmented.CopyFrom(proto)
    try:
        inferred = onnx.shape_inference.infer_shapes(augmented)
        types = {v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info}
    except Exception:  # noqa: BLE001  (inference is a convenience; float is the common case)
        types = {}
    present = {o.name for o in augmented.graph.output}
    for name in tensors:
        if name not in present:
            elem = types.get(name) or onnx.TensorProto.FLOAT
            augmented.graph.output.append(onnx.helper.make_tensor_value_info(name, elem, None))
            present.add(name)
    return augmented


def run_with_taps(base: Artifact, tensors: list[str], stages: list[str], harness, inputs,
                  taps: str) -> dict[str, np.ndarray]:
    """The values of ``tensors`` of the ONNX artifact ``base`` made graph outputs, after the
    ``stages`` that follow it on a leg (the same converters, the same runner): by tensor name.
    ``taps`` says what the tensors are, for the message where a stage drops some."""
    augmented = with_outputs(base.model, tensors)
    artifact = Artifact("onnx", augmented, list(base.input_names), dict(base.meta))
    for stage in stages:
        artifact = stage_registry.get(stage).convert(artifact, harness.options)
    outputs = harness.runner(artifact.format).run(artifact, inputs)
    names = [o.name for o in augmented.graph.output]
    if len(outputs) != len(names):
        raise RuntimeError(f"{stages[-1] if stages else 'onnxruntime'} returned {len(outputs)} "
                           f"outputs for the {len(names)} of the ONNX model with {taps}")
    return {name: np.asarray(value) for name, value in zip(names, outputs)}


@dataclass
class LegTrace:
    """A leg's per-unit outputs, by tap name, and why any tap is missing."""

    leg: str
    stage: str
    values: dict[str, np.ndarray]  # in the reference's layout
    layouts: dict[str, str]  # how each value was read (as is, channels-first, ...)
    missing: dict[str, str]
    note: str = ""  # what the capture left out as a whole, if anything


def looser(own: Tolerance, case: Tolerance) -> Tolerance:
    """The looser of a unit's own tolerance and the case's: a deep model's rule covers the
    rounding its units accumulate on the way."""
    if case.atol <= own.atol and case.rtol <= own.rtol:
        return own
    return Tolerance(max(case.atol, own.atol), max(case.rtol, own.rtol),
                     f"the looser of {own.rule} and {case.rule}")


def divergence(growth: list[dict[str, Any]], units: int) -> dict[str, Any]:
    """A diagnosis' skeleton from its per-unit rows (``growth``, in order, each with
    ``mapped`` and, where mapped, ``passed``): the first mapped row that fails, if any."""
    first = next((row for row in growth if row.get("mapped") and not row["passed"]), None)
    return {
        "layers": units,
        "mapped": sum(1 for row in growth if row.get("mapped")),
        "growth": growth,
        "first_divergence": first,
    }


def first_diverging_stage(path, leg_name: str, trace: Callable[[str], Any],
                          rows: Callable[[Any, dict[str, np.ndarray] | None], list[dict]],
                          unit: Callable[[dict], bool]) -> str | None:
    """The first stage along ``path`` up to ``leg_name`` whose output at one unit exceeds
    its tolerance against its own input's (the reference's, for the first stage): a stage
    that passes on an upstream error is not to blame. ``trace(leg)`` captures a leg (an
    object with ``values``; None or an exception where it cannot be); ``rows(trace,
    against)`` compares it per unit with ``against`` (None: the reference); ``unit(row)``
    picks the unit's row. None where a stage's units cannot be captured."""
    legs = path.legs()
    previous: dict[str, np.ndarray] | None = None  # the upstream leg's values
    for name, stage in zip(legs[: legs.index(leg_name) + 1], path.stages):
        try:
            captured = trace(name)
        except Exception:  # noqa: BLE001  (a diagnosis must not hide the failure)
            return None
        if captured is None:
            return None
        row = next(r for r in rows(captured, previous) if unit(r))
        if row.get("mapped") and not row["passed"]:
            return stage
        previous = captured.values
    return None


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def summary(leg: str, diagnosis: dict[str, Any], *, unit: str = "layer",
            position: int | None = None, reference: str = "", alone: str = "",
            wrong: str | None = None) -> str:
    """One line for a diagnosis, in each source's words: where the leg first diverges (its
    ``unit``, "layer" or "node", at ``position`` of all), by how much, which stage brought
    it in, and what the unit re-run alone says."""
    first = diagnosis["first_divergence"]
    wrong = wrong or f"this {unit}'s conversion is wrong"
    if position is None:
        position = next(i for i, row in enumerate(diagnosis["growth"]) if row is first) + 1
    detail = (f"max_abs {_number(first['max_abs'])}" if first.get("max_abs") is not None
              else first.get("category") or "diverges")
    text = (f"{leg} first diverges{reference} at {unit} {position}/{diagnosis['layers']} "
            f"{first['layer']} ({first['kind']}): {detail}; introduced by stage "
            f"{diagnosis.get('stage') or '(undetermined)'}")
    isolated = diagnosis.get("isolated", {})
    if "error" in isolated:
        return text + f"; the {unit} alone could not be re-run ({isolated['error']})"
    if isolated.get("passed"):
        unseen = _unseen_before(diagnosis["growth"], first)
        source = (f"comes from upstream, likely from {unit}s the converted model keeps no "
                  f"tensor of: {unseen}" if unseen else "is accumulated from upstream")
        return text + (f"; alone{alone}, the {unit} matches (max_abs "
                       f"{_number(isolated['max_abs'])}): the error {source}")
    return text + (f"; alone{alone}, the {unit} diverges too (max_abs "
                   f"{_number(isolated['max_abs'])}): {wrong}")


def _unseen_before(growth: list[dict[str, Any]], first: dict[str, Any], shown: int = 3) -> str:
    """The units between the last one compared before ``first`` and ``first`` that were not
    compared (a layer whose tensors a converter's rewrite left unnamed), in words: where an
    error that ``first`` alone does not make was made."""
    before = growth[:next(i for i, row in enumerate(growth) if row is first)]
    gap = []
    for row in reversed(before):
        if row.get("mapped"):
            break
        gap.append(row)
    names = [f"{row['layer']} ({row['kind']})" for row in reversed(gap)]
    more = f" (and {len(names) - shown} before them)" if len(names) > shown else ""
    return ", ".join(names[-shown:]) + more
