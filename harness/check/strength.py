"""What a check proves: a line for each way its legs' agreement says less than it seems.

Every leg agreeing with the reference says the conversion is right only as far as the
reference's outputs could have told a wrong one apart. After the runs, ``assess`` looks at
the reference, the inputs it ran on and the artifacts, and says where that is little:

- **an output constant over the inputs** (``weak:``): the reference gives every distinct
  drawn input row the same output, within the tolerance the legs are judged by, across both
  sizes' draws. A leg that ignored its inputs would agree too;
- **a saturated softmax or sigmoid** (``weak:``): every value within ``SATURATION`` of 0 or
  1, so a difference in the logits below the activation does not show above the tolerance.
  Where the output comes straight from the activation (harness.check.logits), the model is
  tapped before it and the deciding legs run again on the logits, at the first size; their
  errors there stand beside the line. The exit status stays the outputs' own;
- **a declared output shape the runtime contradicts** (``warning:``): an ONNX file, or an
  ONNX artifact a leg converted to, declares an output dimension (``dim_value``) that the
  output onnxruntime returns does not have (batch 1 declared, batch 4 returned);
- **NaN or Inf in a reading** (``warning:``, or ``weak:`` where every value is NaN): the
  reference's outputs, or a leg's where the reference has none, with the fraction. A leg
  that agrees with an output that is NaN throughout agrees with nothing: the line says the
  check proves nothing there (``proves_nothing``).

(A size the file declares is where its check runs: harness.sources.file reads it, a ``.mat``
network's ``net.meta.inputSize`` included, and a note says so.)
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.check.harness import make_harness
from harness.check.logits import (
    FinalActivation,
    final_activations,
    producing_layer,
    tapped_model,
)
from harness.check.verdicts import DISPLAY, deciding
from harness.converters import Artifact
from harness.converters.onnx_ir import contradicts, declared_shape, shape_text
from harness.core.compare import Tolerance, nonfinite_count
from harness.core.exits import DEBUG_VARIABLE
from harness.sources import SourceError
from harness.sources import file as files
from harness.sources.file.loaded import KERAS2_START, LoadedModel

CONSTANT, SATURATED, DECLARED_OUTPUT = "constant_output", "saturated_output", "declared_output"
NONFINITE = "nonfinite_output"
UNASSESSED = "not_assessed"  # a part of the assessment that raised (parity's bug)
WEAK, WARNING, NOTE = "weak", "warning", "note"
SATURATION = 1e-6  # a probability this close to 0 or 1 moves by less than 1e-6 per unit logit
PROBABILITY_ROWS = 1e-3  # how close to 1 a softmax's rows sum


@dataclass
class Finding:
    """One line of what a check proves, with what it rests on."""

    kind: str  # CONSTANT, SATURATED, DECLARED_OUTPUT, NONFINITE (UNASSESSED)
    label: str  # how the terminal line starts: WEAK, WARNING (NOTE: not assessed)
    text: str
    output: str | None = None
    legs: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.label}: {self.text}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "text": self.text,
                "output": self.output, "legs": self.legs, **self.details}


def assess(runs, loaded: LoadedModel, rows, paths, options,
           say: Callable[[str], None] | None = None) -> list[Finding]:
    """The findings of a check: ``runs`` [(CaseResult, the harness that ran it)] first size
    first, the model as read, its rows and paths, and the check's options (a saturated
    output's logits run down the deciding paths with them)."""
    first_case, first = runs[0]
    if first.reference is None:
        return []
    names = output_names(loaded, len(first.reference))
    parts = [
        ("non-finite outputs", lambda: nonfinite_outputs(runs, names, rows)),
        ("constant outputs",
         lambda: constant_outputs(runs, names, strictest_tolerance(first_case, rows))),
        ("saturated outputs",
         lambda: saturated_outputs(runs, loaded, names, rows, paths, options, say)),
        ("declared output shapes", lambda: declared_output_shapes(runs, loaded, names)),
    ]
    found = []
    for what, part in parts:
        try:
            found += part()
        except Exception as exc:  # the verdicts stand without this line; parity's bug is said
            if os.environ.get(DEBUG_VARIABLE):
                raise
            found.append(Finding(UNASSESSED, NOTE, f"{what} not assessed: parity raised "
                                                   f"{type(exc).__name__}: {exc}"))
    return found


def output_names(loaded: LoadedModel, count: int) -> list[str]:
    """The model's own names for its outputs, where it has them; ``output N`` otherwise."""
    names: list[str] = []
    if loaded.start == "onnx":
        names = [value.name for value in loaded.model.graph.output]
    elif loaded.start == "mat":
        names = list(loaded.model.outputs)
    elif loaded.start in ("keras", KERAS2_START):
        model = loaded.legacy if loaded.start == KERAS2_START else loaded.model
        for tensor in getattr(model, "outputs", None) or []:
            layer = producing_layer(tensor)
            names.append(getattr(layer, "name", None) or f"output {len(names)}")
    if len(names) != count:
        return [f"output {i}" for i in range(count)]
    return names


def strictest_tolerance(case, rows) -> Tolerance:
    """The tightest atol and rtol any deciding leg was judged by: what lies within it, every
    leg's comparison admits."""
    deciding_legs = {row.leg for row in deciding(rows)}
    judged = [leg.tolerance for leg in case.legs
              if leg.tolerance is not None and leg.leg in deciding_legs]
    if not judged:
        judged = [leg.tolerance for leg in case.legs if leg.tolerance is not None]
    if not judged:
        return Tolerance(0.0, 0.0, "exact")
    return Tolerance(min(t.atol for t in judged), min(t.rtol for t in judged), "strictest")


# -- NaN and Inf in a reading ----------------------------------------------------------------

def _tally(outputs, index: int, tally: list[int]) -> None:
    """Adds output ``index``'s (NaN, Inf, elements) to ``tally``."""
    if outputs is None or index >= len(outputs):
        return
    for n, count in enumerate(nonfinite_count(outputs[index])):
        tally[n] += count


def _fraction_text(nan: int, inf: int, total: int) -> str:
    parts = [f"{what} in {count} of {total} values ({100.0 * count / total:.3g}%)"
             for what, count in (("NaN", nan), ("Inf", inf)) if count]
    return " and ".join(parts)


def nonfinite_outputs(runs, names: list[str], rows) -> list[Finding]:
    """Per output, NaN or Inf in the reference's reading over every size, with the fraction;
    and per leg, NaN or Inf where the reference has none. Where the reference's output is NaN
    throughout, the legs that agree on it prove nothing: said as ``weak:``."""
    agreeing = [row.leg for row in deciding(rows) if row.agrees]
    found = []
    for index, name in enumerate(names):
        reference = [0, 0, 0]
        for _, ran in runs:
            _tally(ran.reference, index, reference)
        nan, inf, total = reference
        if nan or inf:
            throughout = nan == total
            if throughout:
                kind, text = WEAK, (
                    f"output {name!r} is NaN in every value of the reference ({total} of "
                    f"{total}, 100%)" + (f", and so in the {len(agreeing)} leg(s) that agree: "
                                         f"their agreement proves nothing" if agreeing else
                                         ": no leg can agree with it in any way that proves "
                                         "something") +
                    " (a NaN weight, or a division by zero, in the model itself: look for "
                    "NaN in its weights)")
            else:
                kind, text = WARNING, (
                    f"output {name!r} of the reference holds {_fraction_text(nan, inf, total)}"
                    f": legs agree only where they put NaN/Inf in the same places; the "
                    f"finite values are compared under the tolerance")
            found.append(Finding(NONFINITE, kind, text, name, agreeing if throughout else [],
                                 details={"reading": "reference", "nan": nan, "inf": inf,
                                          "values": total, "proves_nothing": throughout}))
            continue
        for leg in sorted({leg for _, ran in runs for leg in (ran.outputs or {})}):
            tally = [0, 0, 0]
            for _, ran in runs:
                _tally((ran.outputs or {}).get(leg), index, tally)
            if tally[0] or tally[1]:
                found.append(Finding(
                    NONFINITE, WARNING,
                    f"output {name!r} of {leg} holds {_fraction_text(*tally)} where the "
                    f"reference has none: that leg's conversion breaks the model", name, [leg],
                    details={"reading": leg, "nan": tally[0], "inf": tally[1],
                             "values": tally[2], "proves_nothing": False}))
    return found


def proves_nothing(findings: list[Finding], outputs: int) -> bool:
    """Every output of the reference is NaN throughout: no verdict of agreement means
    anything."""
    said = {f.output for f in findings if f.kind == NONFINITE and f.details.get("proves_nothing")}
    return outputs > 0 and len(said) == outputs


# -- outputs constant over the inputs --------------------------------------------------------

def _batch(inputs) -> int | None:
    sizes = {np.shape(x)[0] for x in inputs if np.ndim(x) >= 1}
    return sizes.pop() if len(sizes) == 1 else None


def _rows(output: np.ndarray, inputs) -> list[tuple[bytes, np.ndarray]]:
    """(the input row's bytes, the output row) per row of a batched output; one pair for the
    whole call where the output has no batch axis."""
    batch = _batch(inputs)
    if batch is not None and output.ndim >= 1 and output.shape[0] == batch:
        # A 0-d input (a Dropout's ratio) is the same in every row.
        keys = [b"".join(np.ascontiguousarray(np.asarray(x)[i] if np.ndim(x) else x).tobytes()
                         for x in inputs) for i in range(batch)]
        return list(zip(keys, (output[i] for i in range(batch))))
    key = b"".join(np.ascontiguousarray(np.asarray(x)).tobytes() for x in inputs)
    return [(key, output)]


def constant_outputs(runs, names: list[str], tolerance: Tolerance) -> list[Finding]:
    """Outputs the reference gives every distinct drawn input row alike, within
    ``tolerance``: rows compared with rows of the same shape, across every size's draw."""
    found = []
    for index, name in enumerate(names):
        groups: dict[tuple, dict[bytes, np.ndarray]] = {}
        for _, ran in runs:
            output = ran.reference[index] if ran.reference is not None else None
            if not isinstance(output, np.ndarray) or output.dtype.kind not in "fiub":
                continue
            for key, row in _rows(output, ran.inputs or []):
                groups.setdefault(row.shape, {}).setdefault(key, row)
        judged = [list(group.values()) for group in groups.values() if len(group) > 1]
        if not judged:
            continue  # no two distinct input rows to tell a constant by
        spread = 0.0
        within = True
        for rows in judged:
            stacked = np.stack(rows).astype(np.float64)
            first = stacked[0]
            if not np.isfinite(stacked).all():
                within = False
                break
            spread = max(spread, float(np.max(np.abs(stacked - first), initial=0.0)))
            within = within and bool(np.all(np.abs(stacked - first)
                                            <= tolerance.atol + tolerance.rtol * np.abs(first)))
        if not within:
            continue
        count = sum(len(rows) for rows in judged)
        if spread == 0.0:
            said = f"output {name!r} is constant over the drawn inputs ({count} distinct rows)"
        else:
            said = (f"output {name!r} varies by at most {spread:.3g} over the drawn inputs "
                    f"({count} distinct rows), within the legs' tolerance (atol "
                    f"{tolerance.atol:g}, rtol {tolerance.rtol:g}): a leg that returned a "
                    f"constant would agree too")
        found.append(Finding(
            CONSTANT, WEAK,
            f"{said}: agreement proves little about how the model uses its inputs (check "
            f"with --inputs that move it, e.g. real data)", name,
            details={"rows": count, "spread": spread, "atol": tolerance.atol,
                     "rtol": tolerance.rtol}))
    return found


# -- a saturated softmax or sigmoid ----------------------------------------------------------

def _saturated(output) -> bool:
    if not isinstance(output, np.ndarray) or output.dtype.kind != "f" or output.size == 0:
        return False
    values = output.astype(np.float64)
    if not np.isfinite(values).all() or values.min() < 0.0 or values.max() > 1.0:
        return False
    return bool(np.all(np.minimum(values, 1.0 - values) <= SATURATION))


def _probability_rows(output: np.ndarray) -> bool:
    return (output.ndim >= 2 and output.shape[-1] > 1
            and np.allclose(output.astype(np.float64).sum(axis=-1), 1.0, atol=PROBABILITY_ROWS))


def saturated_outputs(runs, loaded: LoadedModel, names: list[str], rows, paths, options,
                      say=None) -> list[Finding]:
    """A line per saturated output; the logits behind those that come straight from a
    softmax or sigmoid compared on the deciding legs."""
    saturated = [i for i in range(len(names))
                 if all(ran.reference is not None and _saturated(ran.reference[i])
                        for _, ran in runs)]
    if not saturated:
        return []
    try:
        activations = final_activations(loaded)
    except Exception:  # noqa: BLE001  (a graph parity cannot walk: no tap, the line stays)
        activations = []
    if len(activations) != len(names):
        activations = [None] * len(names)
    first = runs[0][1].reference
    untapped = [i for i in saturated if activations[i] is None
                and _probability_rows(first[i])]
    tapped = [i for i in saturated if activations[i] is not None]
    found = [Finding(SATURATED, WEAK, _untapped_text(names[i], loaded), names[i],
                     details={"activation": None, "logits": None}) for i in untapped]
    if tapped:
        compared = compare_logits(loaded, [activations[i] for i in tapped], runs[0],
                                  rows, paths, options, say)
        for i in tapped:
            found.append(_tapped_finding(names[i], activations[i], compared))
    return found


SATURATION_TEXT = (f"output {{name!r}} is a saturated {{kind}} (every value within "
                   f"{SATURATION:g} of 0 or 1): agreement on it proves little about the logits "
                   f"before it")


def _untapped_text(name: str, loaded: LoadedModel) -> str:
    how = {"onnx": "an ONNX model with the tensor before the softmax as its output "
                   "(onnx.utils.extract_model(IN, OUT, inputs, [LOGITS]))",
           "mat": "--output LAYER, the layer before the softmax",
           "keras": "keras.Model(model.inputs, LOGITS) saved as its own file",
           KERAS2_START: "tf_keras.Model(model.inputs, LOGITS) saved as its own file"}
    way = how.get(loaded.start, "a model whose output is the tensor before the softmax")
    return (SATURATION_TEXT.format(name=name, kind="softmax")
            + f"; parity cannot tell which tensor holds them: check them with {way}")


@dataclass
class LogitsComparison:
    """The deciding legs run on the model tapped before its final activations."""

    legs: list[dict[str, Any]] = field(default_factory=list)  # {leg, verdict, max_abs}
    shapes: list[list[int]] = field(default_factory=list)
    seconds: float = 0.0
    failed: str | None = None  # why the logits could not be compared


def compare_logits(loaded: LoadedModel, taps: list[FinalActivation], first_run, rows, paths,
                   options, say=None) -> LogitsComparison:
    """The model tapped before ``taps`` down the deciding paths whose legs agreed, at the
    first size, with the tolerance policy of ``first_run`` (the check's (case, harness) at
    its first size); each leg's verdict and max abs error on the logits."""
    started = time.perf_counter()
    spec, policy = first_run[0].spec, first_run[1].policy
    agreeing = {row.path for row in deciding(rows) if row.agrees}
    chosen = [path for path in paths if path.name in agreeing]
    if not chosen:
        return LogitsComparison(failed="no leg agreed on the outputs")
    if say is not None:
        say(f"parity check: a saturated output; its logits down {len(chosen)} path(s)")
    with tempfile.TemporaryDirectory(prefix="parity-logits-") as folder:
        try:
            path, outputs = tapped_model(loaded, taps, Path(folder))
            specs = files.file_specs(path, seed=spec.seed, inputs=spec.attrs.get("inputs"),
                                     outputs=outputs)
        except SourceError as exc:
            return LogitsComparison(failed=str(exc).splitlines()[0])
        except Exception as exc:  # noqa: BLE001  (the outputs' verdicts stand without it)
            return LogitsComparison(failed=f"the tapped model could not be written "
                                           f"({type(exc).__name__}: {exc})")
        starts = {specs[0].attrs.get("start", loaded.start), loaded.start}
        chosen = [p for p in chosen if p.source in starts]
        harness = make_harness(chosen, progress=say, device=options.device,
                               opset=options.opset, policy=policy,
                               diagnose=False)
        case = harness.run(specs[0])
    legs = []
    for leg in case.legs:
        if leg.leg == leg.stage and ">" not in leg.leg:
            if leg.verdict not in ("pass", "xpass"):  # the source could not read the tap
                return LogitsComparison(failed=(leg.message or "").splitlines()[0][:200])
            continue
        max_abs = (leg.metrics or {}).get("max_abs")
        legs.append({"leg": leg.leg, "verdict": _display(leg.verdict),
                     "max_abs": max_abs if isinstance(max_abs, float) else None})
    return LogitsComparison(legs, [list(s) for s in specs[0].input_shapes],
                            time.perf_counter() - started)


def _display(verdict: str) -> str:
    return "agrees" if verdict in ("pass", "xpass") else DISPLAY.get(verdict, verdict)


def _tapped_finding(name: str, activation: FinalActivation,
                    compared: LogitsComparison) -> Finding:
    text = SATURATION_TEXT.format(name=name, kind=activation.kind)
    details: dict[str, Any] = {"activation": activation.where, "logits": None}
    legs: list[str] = []
    if compared.failed is not None:
        text += (f"; its logits ({activation.where}) could not be compared: "
                 f"{compared.failed}")
    else:
        legs = [leg["leg"] for leg in compared.legs]
        errors = [leg["max_abs"] for leg in compared.legs if leg["max_abs"] is not None]
        worst = f"max abs {max(errors):.3g}" if errors else "no error measured"
        differing = [leg for leg in compared.legs if leg["verdict"] != "agrees"]
        shapes = ", ".join("x".join(map(str, s)) for s in compared.shapes)
        text += (f"; its logits ({activation.where}) compared on "
                 f"{len(compared.legs)} leg(s) at {shapes}: ")
        if not differing:
            text += f"every leg agrees ({worst})"
        else:
            text += "; ".join(
                f"{leg['leg']} {leg['verdict']}"
                + (f" (max abs {leg['max_abs']:.3g})" if leg["max_abs"] is not None else "")
                for leg in differing) + f": the saturated {activation.kind} hides it"
        details["logits"] = {"legs": compared.legs, "shapes": compared.shapes,
                             "seconds": round(compared.seconds, 3)}
    return Finding(SATURATED, WEAK, text, name, legs, details)


# -- declared output shapes the runtime contradicts ------------------------------------------

def declared_output_shapes(runs, loaded: LoadedModel, names: list[str]) -> list[Finding]:
    """Per output of the ONNX file and of each ONNX artifact a leg ran, a declared shape the
    output onnxruntime returned contradicts; one line per (output, declared, returned),
    naming where it was declared."""
    seen: dict[tuple, list[str]] = {}
    for _, ran in runs:
        start = ran.start_name
        candidates = []
        if loaded.start == "onnx" and ran.reference is not None:
            candidates.append(("the file", loaded.model, ran.reference))
        for leg, artifact in (ran.artifacts or {}).items():
            if leg == start or not isinstance(artifact, Artifact) or artifact.format != "onnx":
                continue
            outputs = ran.outputs.get(leg)
            if outputs is not None and hasattr(artifact.model, "graph"):
                candidates.append((leg, artifact.model, outputs))
        for where, model, outputs in candidates:
            for index, (value, output) in enumerate(zip(model.graph.output, outputs)):
                declared = declared_shape(value)
                actual = tuple(np.shape(output))
                if declared is None or not isinstance(output, np.ndarray) \
                        or not contradicts(declared, actual):
                    continue
                name = names[index] if where == "the file" else value.name
                places = seen.setdefault((name, declared, actual), [])
                if where not in places:
                    places.append(where)
    found = []
    for (name, declared, actual), places in _first_per_output(seen).items():
        in_file = "the file" in places
        legs = [p for p in places if p != "the file"]
        if in_file:
            where = "in the file" + (f" (so does the ONNX of {', '.join(legs)})"
                                     if legs else "")
        else:
            where = f"in the ONNX of {', '.join(legs)}"
        found.append(Finding(
            DECLARED_OUTPUT, WARNING,
            f"output {name!r} is declared {shape_text(declared)} {where} but onnxruntime "
            f"returns {shape_text(actual)}: a user who trusts the declared shape gets the "
            f"wrong one", name, legs,
            details={"declared": list(declared), "returned": list(actual),
                     "in_file": in_file}))
    return found


def _first_per_output(seen: dict[tuple, list[str]]) -> dict[tuple, list[str]]:
    """The first returned shape that contradicts each (output, declared shape): the first
    size's, where later sizes contradict it too."""
    kept: dict[tuple, list[str]] = {}
    done: set[tuple] = set()
    for (name, declared, actual), places in seen.items():
        if (name, declared) in done:
            continue
        done.add((name, declared))
        kept[(name, declared, actual)] = places
    return kept
