"""The run of ``parity check``: the paths a file goes down, its tolerance policy, the case
run at its first sizes and again at its second, the outcome (harness.check, the package's
docstring, says what check does)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness import sources
from harness.check import data
from harness.check.harness import make_harness
from harness.check.options import CannotCheckHere, CheckError, CheckOptions, CheckOutcome
from harness.check.pin import pin
from harness.check.reports import write_check_reports, write_check_script
from harness.check.strength import assess, proves_nothing
from harness.check.verdicts import deciding, summarise
from harness.converters import Artifact, ConversionPath, PathError, get
from harness.core import yardstick
from harness.core.frameworks import prepare_imports
from harness.core.plugins import (
    CustomObjectsError,
    PluginImportError,
    import_modules,
    use_custom_objects,
)
from harness.core.stages import missing
from harness.core.tolerance import PolicyError, Rule, TolerancePolicy
from harness.run import torch_end
from harness.run.pipeline import note_missing_yardstick
from harness.sources import SourceError, SourceRefusal
from harness.sources import file as files
from harness.sources.file import DEFAULT_PATHS, size_of
from harness.sources.file.loaded import shapes_text

# A user's whole model accumulates float32 rounding over its depth; drawn single layers get
# 1e-5. Rules in pyproject.toml that name source "file" replace this one.
FILE_ATOL = 1e-4
FILE_RTOL = 1e-3
FILE_RULE_REASON = ("a user's whole model (parity check): float32 rounding accumulated "
                    "over its layers; top-1/PSNR beside it say what the difference costs")


# The categories of the record a source leaves when it cannot read the case (taxonomy): its
# refusal on this machine (a skip that says why), and its own failure.
SOURCE_REFUSAL, SOURCE_ERROR = "source_refusal", "source_error"

# -- options to parts ------------------------------------------------------------------------

def import_plugins(modules: list[str]) -> None:
    """Imports the modules that register converters, custom layers or layer handlers."""
    try:
        import_modules(modules)
    except PluginImportError as exc:
        raise CheckError(f"--plugins: {exc}") from None


def use_user_custom_objects(specs: str | list[str]) -> None:
    """Loads the ``--custom-objects`` dicts; Keras registers them under their keys as it reads
    the file, here and in every worker (harness.runtimes.keras_custom)."""
    try:
        use_custom_objects(specs)
    except CustomObjectsError as exc:
        raise CheckError(f"--custom-objects {exc}") from None


def default_paths(start: str, roots: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """The default paths for a format (and for the further artifacts it also reads to: a
    Keras SavedModel's folder) whose stages are all registered, and notes on those left
    out."""
    kept, notes = [], []
    for text in [path for name in (start, *roots) for path in DEFAULT_PATHS.get(name, ())]:
        try:
            for stage in text.split(">")[1:]:
                get(stage)
        except (PathError, ImportError) as exc:
            notes.append(f"path {text} left out: {str(exc).splitlines()[0]}")
            continue
        why = next((w for w in map(missing, text.split(">")[1:]) if w), None)
        if why is not None:  # a stage whose package is not installed: named, with the extra
            notes.append(f"path {text} left out: {why}")
            continue
        kept.append(text)
    return kept, notes


def choose_paths(text: str | None, start: str,
                 roots: tuple[str, ...] = ()) -> tuple[list, list[str]]:
    """The paths a file goes down: ``--paths`` (each starting at the format the file reads
    to, or at one of its ``roots``), else every default path of those."""
    notes: list[str] = []
    if text:
        names = [t.strip() for t in text.split(",") if t.strip()]
    else:
        names, notes = default_paths(start, roots)
    if not names:
        raise CheckError(f"no conversion path applies to a model read as {start!r}")
    paths = []
    for name in names:
        try:
            path = ConversionPath.parse(name)
        except (PathError, ImportError) as exc:
            raise CheckError(f"--paths: {exc}") from None
        if path.source not in (start, *roots):
            starts = " or ".join(f"'{s}>'" for s in (start, *roots))
            raise CheckError(f"--paths: {name} starts at {path.source!r}, but this model reads "
                             f"to {start!r}; its paths start {starts}")
        paths.append(path)
    return paths, notes


def torch_end_paths(paths: list, options: CheckOptions) -> list:
    """With ``--torch-end``, each path that ends in a PyTorch module extended by the stages
    a user takes next (harness.run.torch_end)."""
    if options.torch_end is None:
        return paths
    text = options.torch_end
    try:
        installed = [stage for stage in torch_end.CHECK_STAGES if missing(stage) is None]
        extension = torch_end.parse(",".join(installed) if text == "check" else text)
    except (PathError, ImportError) as exc:
        raise CheckError(f"--torch-end: {exc}") from None
    return paths if extension is None else extension.extend(paths)


def make_policy(options: CheckOptions):
    try:
        policy = TolerancePolicy.from_pyproject(Path("pyproject.toml"))
    except PolicyError as exc:
        raise CheckError(f"pyproject.toml: {exc}") from None
    if not any(rule.source == "file" for rule in policy.rules):
        # First, so that any more specific rule (a layer's, a leg's) still wins.
        policy.rules.insert(0, Rule(FILE_ATOL, FILE_RTOL, source="file",
                                    reason=FILE_RULE_REASON))
    if options.atol is not None or options.rtol is not None:
        atol = FILE_ATOL if options.atol is None else options.atol
        rtol = FILE_RTOL if options.rtol is None else options.rtol
        # Named by source, leg and device, it outranks the rules a file case meets
        # otherwise (a layer's attribute rule names two fields).
        policy.rules.append(Rule(atol, rtol, source="file", leg="*", device=options.device,
                                 reason="--atol/--rtol"))
    return policy


# -- the run ---------------------------------------------------------------------------------

def run_check(options: CheckOptions, progress=None) -> CheckOutcome:
    """Checks one model file down every path; raises CheckError for what exits 2."""
    started = time.perf_counter()
    say = progress or (lambda text: None)
    prepare_imports()
    import_plugins(list(options.plugins))
    use_user_custom_objects(options.custom_objects)
    source = sources.get("file")
    try:
        kind = files.detect(options.model, options.weights)
        if options.weights is not None and not files.takes_weights(kind):
            raise CheckError(f"--weights: {options.model} is {kind!r}, which holds its own "
                             f"weights; --weights goes with a Keras-2 architecture .json")
        if options.pin:
            _check_pin_size(options)
        say(f"parity check: reading {options.model} ({kind})")
        if options.outputs and not files.picks_outputs(kind):
            raise CheckError(f"{options.model}: " + files.OUTPUTS_ELSEWHERE.format(kind=kind))
        loaded = files.load(options.model, options.weights, kind, outputs=options.outputs,
                            signature=options.signature)
        described = None
        if options.inputs is not None:
            described = data.describe(options.inputs, loaded, scale=options.scale,
                                      mean=options.mean, std=options.std,
                                      layout=options.layout, limit=options.limit)
        limit = {} if options.max_input_mb is None else {
            "max_input_bytes": int(options.max_input_mb * 2**20)}
        specs = files.file_specs(options.model, weights=options.weights, inputs=described,
                                 seed=options.seed, outputs=options.outputs,
                                 signature=options.signature, **limit)
    except SourceRefusal as exc:
        raise CannotCheckHere(str(exc)) from None
    except SourceError as exc:
        raise CheckError(str(exc)) from None
    if options.pin and loaded.start == "tflite":
        raise CheckError(f"--pin {options.pin}: {options.model} is a .tflite file, which the "
                         f"golden replay cannot start from yet; pin the ONNX that tf2onnx "
                         f"makes of it (python -m tf2onnx.convert --tflite FILE) instead")
    if options.pin and loaded.start == files.PLAIN_SAVEDMODEL_START:
        # A replay resolves a case's paths by the source its artifact belongs to, and no
        # source owns a bare SavedModel.
        raise CheckError(f"--pin {options.pin}: {options.model} is a SavedModel without "
                         f"Keras metadata, which the golden replay cannot start from yet; "
                         f"pin the ONNX that tf2onnx makes of it (python -m tf2onnx.convert "
                         f"--saved-model DIR) instead")
    say(f"parity check: {loaded.describe()}")
    paths, notes = choose_paths(options.paths, loaded.start,
                                source.roots(specs[0]))
    paths = torch_end_paths(paths, options)
    notes = [*loaded.notes, *notes]
    harness = make_harness(paths, progress=say, device=options.device, opset=options.opset,
                           policy=make_policy(options), diagnose=options.diagnose)
    sizes = [[list(s) for s in spec.input_shapes] for spec in specs]
    say(f"parity check: inputs {_shapes_text(specs[0].input_shapes)}"
        + (f", then {_shapes_text(specs[1].input_shapes)} (free dimensions)"
           if len(specs) > 1 else ""))
    if len(specs) > 1:  # a tracing stage declares what differs between the sizes free
        harness.options = replace(harness.options, input_shapes=(specs[1].input_shapes,))
    try:
        first = harness.run(specs[0])
    except SourceRefusal as exc:
        raise CannotCheckHere(str(exc)) from None
    except SourceError as exc:
        raise CheckError(str(exc)) from None
    _source_could_not_read(first, options.model)
    notes.extend(harness.reading.notes if harness.reading is not None else ())
    runs = [(first, harness)]
    if len(specs) > 1:
        second = _second_size(harness, source, specs[1], paths, notes, say)
        if second is not None:
            runs.append(second)
    rows = summarise(runs, harness)
    failed = [row for row in deciding(rows) if row.disagrees]
    outcome = CheckOutcome(
        model=str(loaded.path), kind=kind, start=loaded.start, description=loaded.describe(),
        notes=notes, sizes=sizes[: len(runs)], cases=[case for case, _ in runs], rows=rows,
        exit_code=1 if failed else 0)
    outcome.strength = assess(runs, loaded, rows, paths, options, say)
    outcome.proves_nothing = proves_nothing(outcome.strength, len(harness.reference or []))
    if options.report is not None:
        outcome.reports = write_check_reports(Path(options.report), outcome, options)
    if options.script is not None:
        write_check_script(options, harness, first, outcome)
    if options.pin:
        outcome.pinned = _pin(options, specs[0], harness.reading, harness)
        if failed:
            outcome.problems.append(
                f"pinned with {len(failed)} leg(s) that do not agree "
                f"({', '.join(row.leg for row in failed)}): the golden replay fails on those "
                f"of its paths until they are fixed or recorded as known issues")
    outcome.seconds = time.perf_counter() - started
    return outcome


def _source_could_not_read(case, model: str) -> None:
    """Raises where the case's one record is its source's own (the pipeline records a source
    that cannot read the case rather than raising): the source refusing the model on this
    machine exits 3, any other failure of it 2 (the model cannot be checked), never 1,
    which would blame a converter."""
    if len(case.legs) != 1 or case.legs[0].leg != case.legs[0].stage \
            or case.legs[0].category not in (SOURCE_REFUSAL, SOURCE_ERROR):
        return
    leg = case.legs[0]
    said = (leg.message or "").strip().splitlines()
    first = said[0] if said else "the source cannot read it"
    named = (str(model), str(Path(model).resolve()))
    first = first if first.startswith(named) else f"{model}: {first}"
    if leg.category == SOURCE_REFUSAL:
        raise CannotCheckHere(first)
    known = f" (known issue {leg.known_issue['id']})" if leg.known_issue else ""
    raise CheckError(first + known)


def _shapes_text(shapes) -> str:
    return shapes_text(shapes)


def _second_size(harness, source, spec, paths, notes, say):
    """The case again at its second sizes, on the artifacts converted at the first: legs
    whose conversion failed are not run again."""
    converted = [path for path in paths
                 if all(isinstance(harness.artifacts.get(leg), Artifact) for leg in path.legs())]
    if not converted:
        return None
    say(f"parity check: again at {_shapes_text(spec.input_shapes)}")
    try:
        reading = source.read(spec, policy=harness.policy, device=harness.device)
    except SourceError as exc:
        notes.append(f"not run at {_shapes_text(spec.input_shapes)}: the source model itself "
                     f"cannot run there ({getattr(exc, 'what', exc)})")
        return None
    notes.extend(note for note in reading.notes if note not in notes)
    stored = {leg: artifact for leg, artifact in harness.artifacts.items()
              if isinstance(artifact, Artifact)}
    again = harness.again(converted)
    case = again.replay(spec, reading.inputs, reading.reference, stored, reading.native,
                        yardstick=reading.yardstick)
    if reading.yardstick is None:
        note_missing_yardstick(case, yardstick.missing_reason(spec))
    return case, again


# -- pinning ---------------------------------------------------------------------------------

def _check_pin_size(options: CheckOptions) -> None:
    limit = options.pin_limit_mb * 2**20
    total = size_of(Path(options.model)) + (
        size_of(Path(options.weights)) if options.weights else 0)
    if total > limit:
        raise CheckError(f"--pin {options.pin}: {options.model} takes {total / 2**20:.1f} MB, "
                         f"above the {options.pin_limit_mb:g} MB a golden case may hold "
                         f"(the store lives in version control); raise --pin-limit-mb to pin "
                         f"it anyway")


def _pin(options: CheckOptions, spec, reading, harness) -> dict[str, Any]:
    try:
        return pin(options, spec, reading, harness)
    except CheckError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CheckError(f"--pin {options.pin}: the case could not be stored "
                         f"({type(exc).__name__}: {exc})") from None
