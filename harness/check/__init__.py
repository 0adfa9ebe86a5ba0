"""``parity check MODEL``: parity for the model a user holds.

The file becomes a case of the ``file`` source (``harness.sources.file``), which reads it to
the artifact format its paths start from; the case goes down every path that applies to
that format (``DEFAULT_PATHS``, or the user's ``--paths``) through the same ``Harness`` a
suite run uses, so legs, tolerance rules, known issues, per-layer diagnosis, result records
and the report are the suite's. Where the model has a free dimension the case runs twice:
at its first sizes (converted once) and again at second sizes on the artifacts already
converted, so that a converter that baked a size in is caught without converting twice.

On top of the suite's verdicts ``check`` adds what a user acts on: task-level agreement
(``harness.check.task``), the known pitfalls that bit (``harness.check.pitfalls``) and one
row per leg (``harness.check.verdicts``).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.converters import RETURNED_TRAINING, Artifact, training_modules
from harness.sources.file import DEFAULT_PATHS

# A user's whole model accumulates float32 rounding over its depth; drawn single layers get
# 1e-5. Rules in pyproject.toml that name source "file" replace this one.
FILE_ATOL = 1e-4
FILE_RTOL = 1e-3
FILE_RULE_REASON = ("a user's whole model (parity check): float32 rounding accumulated "
                    "over its layers; top-1/PSNR beside it say what the difference costs")

DEFAULT_PIN_LIMIT_MB = 32.0


class CheckError(Exception):
    """A user's mistake or a file parity cannot check: one line, exit status 2."""


@dataclass
class CheckOptions:
    model: str
    weights: str | None = None
    inputs: str | None = None
    scale: float = 1 / 255
    mean: str | None = None
    std: str | None = None
    layout: str | None = None
    limit: int = 16
    paths: str | None = None
    report: str | None = "reports"  # None: no reports written
    pin: str | None = None
    golden: str | None = None
    pin_limit_mb: float = DEFAULT_PIN_LIMIT_MB
    script: str | None = None
    max_inline_mb: float = 2.0
    plugins: list[str] = field(default_factory=list)
    seed: int = 0
    device: str = "cpu"
    opset: int | None = None
    atol: float | None = None
    rtol: float | None = None
    diagnose: bool = True
    command: str | None = None
    # The stages after a converted PyTorch module (harness.run.torch_end): None for none,
    # "check" for torch_end.CHECK_STAGES, "all" or a comma-separated list.
    torch_end: str | None = None
    outputs: list[str] | None = None  # a .mat network's outputs to check (--output)


@dataclass
class CheckOutcome:
    model: str
    kind: str
    start: str
    description: str
    notes: list[str]
    sizes: list[list[list[int]]]
    cases: list[Any]  # CaseResult per size
    rows: list[Any]  # verdicts.LegRow
    exit_code: int
    reports: list[str] = field(default_factory=list)
    pinned: dict[str, Any] | None = None
    script: str | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        from harness.results import jsonable

        return jsonable({
            "schema": "parity.check/1",
            "model": self.model,
            "format": self.kind,
            "reads_to": self.start,
            "description": self.description,
            "notes": self.notes,
            "case_ids": [case.spec.case_id for case in self.cases],
            "sizes": self.sizes,
            "legs": [row.to_json() for row in self.rows],
            "agrees": self.exit_code == 0,
            "exit_code": self.exit_code,
            "reports": self.reports,
            "pinned": self.pinned,
            "script": self.script,
            "problems": self.problems,
            "seconds": round(self.seconds, 3),
        })


# -- the harness, keeping what check needs ---------------------------------------------------

class _RecordingRunner:
    """A runner that hands every leg's outputs to the harness (for task-level agreement)."""

    def __init__(self, runner, harness: CheckHarness):
        self._runner = runner
        self._harness = harness
        self.name = runner.name

    def run(self, artifact, inputs):
        outputs = self._runner.run(artifact, inputs)
        if self._harness.current is not None:
            self._harness.outputs[self._harness.current] = outputs
        return outputs


class _KeepingSource:
    """The case's source, keeping the reading it returns on the harness (the pin stores it;
    the source's own outputs count as its leg's)."""

    def __init__(self, source, harness):
        self._source = source
        self._harness = harness

    def __getattr__(self, name):
        return getattr(self._source, name)

    def read(self, spec, **kwargs):
        reading = self._source.read(spec, **kwargs)
        self._harness.reading = reading
        self._harness.native = reading.native
        return reading


def _harness_class():
    from harness.run.pipeline import Harness

    class CheckHarness(Harness):
        """``Harness`` that keeps each leg's artifact and outputs, notes torch modules a
        stage returned in training mode, and reports progress."""

        def __init__(self, paths, *, progress=None, **kwargs):
            super().__init__(paths, on_leg=self._on_leg, on_paths=self._on_paths, **kwargs)
            self.progress = progress
            self.artifacts: dict[str, Any] = {}
            self.outputs: dict[str, list] = {}
            # leg -> the submodules its stage returned in training mode (where any)
            self.training: dict[str, tuple[str, ...]] = {}
            self.current: str | None = None
            self.reading = None  # the last SourceReading the case's source returned
            self.inputs = self.reference = self.native = None
            self.start_name: str | None = None
            self._started: dict[str, float] = {}

        def again(self, paths) -> CheckHarness:
            """A harness for the same case's second sizes, sharing this one's runners."""
            other = CheckHarness(paths, progress=self.progress, device=self.device,
                                 policy=self.policy, known_issues=self.known_issues,
                                 threads=self.threads, diagnose=False)
            other.options = self.options
            other._runners = self._runners
            return other

        def runner(self, fmt: str):
            return _RecordingRunner(super().runner(fmt), self)

        def resolve(self, spec):
            case = super().resolve(spec)
            return case._replace(source=_KeepingSource(case.source, self))

        def _on_paths(self, case, artifacts, inputs, reference, alternate) -> None:
            self.artifacts, self.inputs, self.reference = artifacts, inputs, reference
            self.start_name = case.start
            if self.reading is None:  # a replay: its second reading comes as ``alternate``
                self.native = alternate

        def _on_leg(self, leg: str, stage: str, step: str, result=None) -> None:
            if step == "convert":
                self._started[leg] = time.perf_counter()
                self._say(f"  {leg}: converting ({stage})")
            elif step == "run":
                self._started.setdefault(leg, time.perf_counter())
                self.current = leg
                returned = returned_training(self.artifacts.get(leg))
                if returned:
                    self.training[leg] = returned
            elif step == "done":
                self.current = None
                took = time.perf_counter() - self._started.pop(leg, time.perf_counter())
                metrics = (result.metrics or {}) if result is not None else {}
                detail = (f" (max_abs {metrics['max_abs']:.3g})"
                          if isinstance(metrics.get("max_abs"), float) else "")
                verdict = result.verdict if result is not None else "?"
                self._say(f"  {leg}: {verdict}{detail} [{took:.1f} s]")

        def _say(self, text: str) -> None:
            if self.progress is not None:
                self.progress(text)

    return CheckHarness


def returned_training(artifact) -> tuple[str, ...]:
    """The submodules a torch leg's converter returned in training mode: as its stage
    recorded them before calling ``.eval()``, else (a stage that records nothing) as the
    module is before parity's runner calls ``.eval()``."""
    if not isinstance(artifact, Artifact) or artifact.format != "torch":
        return ()
    if RETURNED_TRAINING in artifact.meta:
        return tuple(artifact.meta[RETURNED_TRAINING])
    return training_modules(artifact.model) if hasattr(artifact.model, "named_modules") else ()


CheckHarness: Any = None  # the class, made on first use (the pipeline imports numpy & co.)


def make_harness(paths, **kwargs):
    global CheckHarness
    if CheckHarness is None:
        CheckHarness = _harness_class()
    return CheckHarness(paths, **kwargs)


# -- options to parts ------------------------------------------------------------------------

def import_plugins(modules: list[str]) -> None:
    """Imports the modules that register converters, custom layers or layer handlers."""
    cwd = os.getcwd()
    if not any(os.path.abspath(entry or ".") == cwd for entry in sys.path):
        sys.path.append(cwd)
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001  (a plugin's own error, in one line)
            raise CheckError(f"--plugins: cannot import {module!r} "
                             f"({type(exc).__name__}: {exc})") from None


def default_paths(start: str, roots: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """The default paths for a format (and for the further artifacts it also reads to: a
    Keras SavedModel's folder) whose stages are all registered, and notes on those left
    out."""
    from harness.converters import PathError, get

    kept, notes = [], []
    for text in [path for name in (start, *roots) for path in DEFAULT_PATHS.get(name, ())]:
        try:
            for stage in text.split(">")[1:]:
                get(stage)
        except (PathError, ImportError) as exc:
            notes.append(f"path {text} left out: {str(exc).splitlines()[0]}")
            continue
        kept.append(text)
    return kept, notes


def choose_paths(text: str | None, start: str,
                 roots: tuple[str, ...] = ()) -> tuple[list, list[str]]:
    """The paths a file goes down: ``--paths`` (each starting at the format the file reads
    to, or at one of its ``roots``), else every default path of those."""
    from harness.converters import ConversionPath, PathError

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
    from harness.converters import PathError
    from harness.run import torch_end

    if options.torch_end is None:
        return paths
    text = options.torch_end
    try:
        extension = torch_end.parse(",".join(torch_end.CHECK_STAGES) if text == "check" else text)
    except (PathError, ImportError) as exc:
        raise CheckError(f"--torch-end: {exc}") from None
    return paths if extension is None else extension.extend(paths)


def make_policy(options: CheckOptions):
    from harness.core.tolerance import PolicyError, Rule, TolerancePolicy

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
    from harness.core.frameworks import prepare_imports

    started = time.perf_counter()
    say = progress or (lambda text: None)
    prepare_imports()
    import_plugins(list(options.plugins))
    from harness import sources

    source = sources.get("file")
    from harness.sources import SourceError
    from harness.sources import file as files

    try:
        kind = files.detect(options.model, options.weights)
        if options.weights is not None and kind not in ("keras-json", "h5"):
            raise CheckError(f"--weights: {options.model} is {kind!r}, which holds its own "
                             f"weights; --weights goes with a Keras-2 architecture .json")
        if options.pin:
            _check_pin_size(options)
        say(f"parity check: reading {options.model} ({kind})")
        if options.outputs and kind != "mat":
            raise CheckError(f"{options.model}: " + files.OUTPUTS_ELSEWHERE.format(kind=kind))
        loaded = files.load(options.model, options.weights, kind, outputs=options.outputs)
        described = None
        if options.inputs is not None:
            from harness.check import data

            described = data.describe(options.inputs, loaded, scale=options.scale,
                                      mean=options.mean, std=options.std,
                                      layout=options.layout, limit=options.limit)
        specs = files.file_specs(options.model, weights=options.weights, inputs=described,
                                 seed=options.seed, outputs=options.outputs)
    except SourceError as exc:
        raise CheckError(str(exc)) from None
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
    from harness.check.verdicts import summarise

    harness = make_harness(paths, progress=say, device=options.device, opset=options.opset,
                           policy=make_policy(options), diagnose=options.diagnose)
    sizes = [[list(s) for s in spec.input_shapes] for spec in specs]
    say(f"parity check: inputs {_shapes_text(specs[0].input_shapes)}"
        + (f", then {_shapes_text(specs[1].input_shapes)} (free dimensions)"
           if len(specs) > 1 else ""))
    if len(specs) > 1:  # a tracing stage declares what differs between the sizes free
        from dataclasses import replace

        harness.options = replace(harness.options, input_shapes=(specs[1].input_shapes,))
    try:
        first = harness.run(specs[0])
    except SourceError as exc:
        raise CheckError(str(exc)) from None
    runs = [(first, harness)]
    if len(specs) > 1:
        second = _second_size(harness, source, specs[1], paths, notes, say)
        if second is not None:
            runs.append(second)
    rows = summarise(runs, harness)
    failed = [row for row in deciding(rows) if not row.agrees]
    outcome = CheckOutcome(
        model=str(loaded.path), kind=kind, start=loaded.start, description=loaded.describe(),
        notes=notes, sizes=sizes[: len(runs)], cases=[case for case, _ in runs], rows=rows,
        exit_code=1 if failed else 0)
    if options.report is not None:
        outcome.reports = _write_reports(Path(options.report), outcome, options)
    if options.script is not None:
        _script(options, harness, first, outcome)
    if options.pin:
        outcome.pinned = _pin(options, specs[0], harness.reading, harness)
        if failed:
            outcome.problems.append(
                f"pinned with {len(failed)} leg(s) that do not agree "
                f"({', '.join(row.leg for row in failed)}): the golden replay fails on those "
                f"of its paths until they are fixed or recorded as known issues")
    outcome.seconds = time.perf_counter() - started
    return outcome


def deciding(rows) -> list:
    """The legs that decide the exit status: a Keras-2 file's legs through Keras 3 (the
    migration legs) answer "and if you move to Keras 3?" and are reported apart, unless the
    check has no other legs (``--paths`` named only those)."""
    kept = [row for row in rows if not row.migration]
    return kept or list(rows)


def _shapes_text(shapes) -> str:
    return ", ".join("x".join(map(str, s)) for s in shapes)


def _second_size(harness, source, spec, paths, notes, say):
    """The case again at its second sizes, on the artifacts converted at the first: legs
    whose conversion failed are not run again."""
    from harness.run import yardstick
    from harness.run.pipeline import note_missing_yardstick
    from harness.sources import SourceError

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
    stored = {leg: artifact for leg, artifact in harness.artifacts.items()
              if isinstance(artifact, Artifact)}
    again = harness.again(converted)
    case = again.replay(spec, reading.inputs, reading.reference, stored, reading.native,
                        yardstick=reading.yardstick)
    if reading.yardstick is None:
        note_missing_yardstick(case, yardstick.missing_reason(spec))
    return case, again


def _write_reports(folder: Path, outcome: CheckOutcome, options: CheckOptions) -> list[str]:
    from harness.converters import DEFAULT_OPSET
    from harness.plugin import write_reports
    from harness.results import ResultWriter, new_run_id, result_records, run_record

    run_id = new_run_id()
    command = options.command or f"parity check {options.model}"
    shard = folder / ".shards" / run_id / "check.jsonl"
    writer = ResultWriter(shard)
    try:
        writer.write(run_record(run_id=run_id, shard="check", device=options.device,
                                opset=options.opset or DEFAULT_OPSET,
                                paths=sorted({row.path for row in outcome.rows}),
                                hypothesis=None, command=command))
        for case in outcome.cases:
            writer.write_all(result_records(case, run_id=run_id, shard="check",
                                            device=options.device, test=command,
                                            hypothesis=None))
    finally:
        writer.close()
    try:
        written = write_reports(folder, [shard], command=command)
    except Exception as exc:  # noqa: BLE001  (the report must not hide the verdicts)
        outcome.problems.append(f"the reports could not be written: {type(exc).__name__}: "
                                f"{exc}")
        return [str(shard)]
    import shutil

    shutil.rmtree(shard.parent, ignore_errors=True)
    return [str(p) for p in written]


def _script(options: CheckOptions, harness, case, outcome: CheckOutcome) -> None:
    from harness.golden import CASES, default_root
    from harness.repro_script import ScriptError, write_script

    if outcome.exit_code == 0:
        outcome.problems.append("no script written: every leg agrees")
        return
    root = Path(options.golden) if options.golden else default_root()
    try:
        text = write_script(harness, case, max_bytes=int(options.max_inline_mb * 2**20),
                            golden_folder=root / CASES / case.spec.case_id,
                            plugins=list(options.plugins))
    except ScriptError as exc:
        outcome.problems.append(f"no script written: {exc}")
        return
    except Exception as exc:  # noqa: BLE001  (the verdicts stand without a script)
        outcome.problems.append(f"no script written: {type(exc).__name__}: {exc}")
        return
    Path(options.script).write_text(text, encoding="utf-8")
    outcome.script = str(options.script)


# -- pinning ---------------------------------------------------------------------------------

def _check_pin_size(options: CheckOptions) -> None:
    from harness.sources.file import size_of as _size

    limit = options.pin_limit_mb * 2**20
    total = _size(Path(options.model)) + (
        _size(Path(options.weights)) if options.weights else 0)
    if total > limit:
        raise CheckError(f"--pin {options.pin}: {options.model} takes {total / 2**20:.1f} MB, "
                         f"above the {options.pin_limit_mb:g} MB a golden case may hold "
                         f"(the store lives in version control); raise --pin-limit-mb to pin "
                         f"it anyway")


def _pin(options: CheckOptions, spec, reading, harness) -> dict[str, Any]:
    from harness.check.pin import pin

    try:
        return pin(options, spec, reading, harness)
    except CheckError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CheckError(f"--pin {options.pin}: the case could not be stored "
                         f"({type(exc).__name__}: {exc})") from None
