"""One case down every path: read the source, convert stage by stage, run, compare, judge.

``Harness.run(spec)`` resolves the case once (its source plugin and the paths that start
from that source), reads the source (artifact, inputs, reference), then takes every path
leg by leg. It never raises for a converter's fault: a crash, a wrong shape or a wrong
number becomes a leg result with its category and metrics. A source that cannot be read is
a record too: its refusal on this machine (a skip that says why), a known bug of the source
framework (an xfail) or an error of the source (``source_error``).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from harness import sources
from harness.converters import (
    Artifact,
    ConversionPath,
    ConvertOptions,
    NotApplicable,
    get,
    parse_paths,
)
from harness.converters.onnx_ir import outputs_declared_wrong
from harness.core import known_issues as known_issues_mod
from harness.core import yardstick
from harness.core.artifact import SKIPPED_WORK
from harness.core.compare import compare_outputs, nonfinite_count, worst_comparison, worst_of
from harness.core.records import CaseResult, LegResult, ParityFailure
from harness.core.registry import family_of
from harness.core.spec import LayerSpec
from harness.core.stages import missing, starts_from
from harness.core.taxonomy import FAILING, classify_exception
from harness.core.tolerance import TolerancePolicy
from harness.run import device_blame, hooks, second_call
from harness.run.stage_cache import cache as stage_cache
from harness.runtimes import LoadError, MachineLacks, runner_for
from harness.runtimes import device as device_context
from harness.sources import (
    Source,
    SourceError,
    SourceReading,
    SourceRefusal,
    source_failure_message,
)

# The records, FAILING, compare_outputs and worst_of live in the core; imported from here too.
__all__ = ["FAILING", "CaseResult", "Harness", "LegResult", "ParityFailure", "SourceError",
           "SourceReading", "compare_outputs", "worst_of"]


class Size(NamedTuple):
    """One set of input shapes a case's legs run at: its inputs, the reference there, the
    source's own output where it disagreed with the reference and the reference recomputed
    in float64 (harness.core.yardstick), where the source has one."""

    shapes: tuple[tuple[int, ...], ...]
    inputs: list[np.ndarray]
    reference: list[np.ndarray]
    alternate: list[np.ndarray] | None = None
    yardstick: list[np.ndarray] | None = None


def sizes_of(inputs, reference, alternate=None, more=(), yardstick=None) -> list[Size]:
    """The first size and each further one (``SourceReading.more``: ``(shapes, inputs,
    reference)``, with that size's float64 reference fourth and the source's own reading,
    where it disagreed with the reference, fifth; either may be None)."""
    first = Size(tuple(tuple(np.shape(x)) for x in inputs), inputs, reference, alternate,
                 yardstick)
    further = [Size(tuple(tuple(s) for s in entry[0]), entry[1], entry[2],
                    entry[4] if len(entry) > 4 else None,
                    entry[3] if len(entry) > 3 else None) for entry in more]
    return [first, *further]


def shapes_text(shapes) -> str:
    return ", ".join("(" + ", ".join(str(d) for d in s) + ")" for s in shapes)


class ResolvedCase(NamedTuple):
    """A spec with what it resolves to once, when the case starts: its source plugin, the
    name its paths start with (the source's name; for a source that reads users' files, the
    format it read, so that a user's .keras file goes down ``keras>...`` paths) and those
    paths."""

    spec: LayerSpec
    source: Source
    start: str
    paths: list[ConversionPath]


def _short_traceback(exc: BaseException, limit: int = 6) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-limit)
    return "".join(lines).strip()


class DeviceContextLost(RuntimeError):
    """A case asked of a harness whose process lost its device context (in-process runs)."""


class Harness:
    def __init__(
        self,
        paths: list[ConversionPath] | str | None = None,
        *,
        device: str = "cpu",
        opset: int | None = None,
        policy: TolerancePolicy | None = None,
        known_issues: list[known_issues_mod.KnownIssue] | None = None,
        threads: int = 0,
        on_leg=None,
        on_paths=None,
        diagnose: bool = True,
        cache=None,
        extension=None,
        observers=(),
        precision: str = device_context.STRICT,
    ):
        # Who watches the case's runs (harness.run.hooks); on_leg and on_paths are callables
        # with the same seams (hooks.Callbacks).
        self.observers = [*((hooks.Callbacks(on_leg, on_paths),) if on_leg or on_paths else ()),
                          *observers]
        # Paths may start from several sources; a case goes down those of its own source,
        # or its source's default paths when none of them starts there.
        self.paths = paths if isinstance(paths, list) else parse_paths(paths)
        self.device = device
        # On CUDA, TF32 off unless asked (harness.runtimes.device); what was set goes in every
        # record. TF32 mode has tolerance rules of its own: the policy sees device "cuda-tf32".
        self.precision = device_context.check_precision(precision)
        self.precision_settings = device_context.configure(device, precision)
        self.judged_device = (device_context.TF32_DEVICE
                              if device == "cuda" and precision == device_context.TF32 else device)
        self.options = ConvertOptions() if opset is None else ConvertOptions(opset=opset)
        self.policy = policy or TolerancePolicy()
        self.known_issues = known_issues_mod.load() if known_issues is None else known_issues
        self.threads = threads
        self.diagnose = diagnose
        # Where readings and stage outputs are kept between runs (harness.run.stage_cache).
        self.cache = cache or stage_cache.NO_CACHE
        # harness.run.torch_end.Extension: the stages after a PyTorch module a case's
        # torch-ending paths extend with (a sample of cases, in a suite run).
        self.extension = extension
        self._runners: dict[str, Any] = {}
        # Set once a leg lost this process' device context (in-process runs only: an
        # isolating worker ends itself first): later legs and cases do not run.
        self.lost_context: str | None = None
        # The legs to judge (None: all). An isolating worker that died on one leg of a case
        # hands the case's other legs to a fresh worker; a leg outside the set runs only
        # where a judged leg starts from its artifact.
        self.only_legs: frozenset[str] | None = None
        self._case_id = "?"
        self._default_paths: dict[str, list[ConversionPath]] = {}
        self._issues_by_leg: tuple[Any, dict[str, list]] = (None, {})

    def options_for(self, sizes: list[Size]) -> ConvertOptions:
        """The conversion options with what a tracing stage needs of the case (its first
        inputs, every size's input shapes and the device); sizes already in the options
        (``parity check``'s second size) are kept after the case's."""
        shapes = tuple(size.shapes for size in sizes)
        return replace(self.options, example_inputs=tuple(sizes[0].inputs),
                       input_shapes=shapes + tuple(s for s in self.options.input_shapes
                                                   if s not in shapes),
                       device=self.device)

    def runner(self, fmt: str):
        if fmt not in self._runners:
            self._runners[fmt] = runner_for(fmt, self.device, self.threads)
        return self._runners[fmt]

    def issues_on(self, leg: str) -> list:
        """The known issues whose legs take in ``leg``, in their order: a case matches an
        entry only on such a leg (``KnownIssue.matches_case`` asks that first, of the leg
        alone), so each leg's are found once rather than every entry tried on every leg of
        every case (the golden replay's largest own cost, issue #46)."""
        issues, by_leg = self._issues_by_leg
        if issues is not self.known_issues:
            issues, by_leg = self._issues_by_leg = (self.known_issues, {})
        if leg not in by_leg:
            on_leg = [issue for issue in issues if issue._covers_stage_leg(leg)]
            by_leg[leg] = (on_leg, [issue for issue in on_leg if issue.strict])
        return by_leg[leg][0]

    def strict_issues_on(self, leg: str) -> list:
        """The strict entries among ``issues_on(leg)``, in their order: the only ones that
        can make a passing leg an xpass."""
        self.issues_on(leg)
        return self._issues_by_leg[1][leg][1]

    def paths_for(self, source: str) -> list[ConversionPath]:
        named = [path for path in self.paths if path.source == source]
        if named:
            return named
        if source not in self._default_paths:
            # A default path through a stage not installed here is left out (the run names
            # the stage once); paths named by the user run as named.
            self._default_paths[source] = [
                ConversionPath.parse(text) for text in sources.get(source).default_paths
                if not any(missing(stage) for stage in text.split(">")[1:])]
        return self._default_paths[source]

    def resolve(self, spec: LayerSpec, legs=None) -> ResolvedCase:
        """The case's source, start and paths; with ``legs`` (first converter legs,
        ``onnx>onnx2torch``), only the paths that go on from one of them."""
        source = sources.get(spec.source)
        start_of = getattr(source, "start", None)
        start = start_of(spec) if start_of is not None else source.name
        roots_of = getattr(source, "roots", None)
        roots = tuple(roots_of(spec)) if roots_of is not None else ()
        if roots or not sources.is_source(start):
            # Paths named from the start or from another artifact the source reads to; else
            # the defaults the source gives for a start that is no source's name.
            named = [path for path in self.paths if path.source in (start, *roots)]
            paths = (named or self.paths_for(start) if named or sources.is_source(start)
                     else parse_paths(",".join(source.paths_from(start))))
        else:
            paths = self.paths_for(start)
        if self.extension is not None:
            paths = self.extension.extend(paths, spec.case_id,
                                          family_of(spec.kind, spec.source))
        if legs is not None:
            paths = [path for path in paths
                     if any(starts_from(path.name, leg) for leg in legs)]
        return ResolvedCase(spec, source, start, paths)

    def build_source(self, spec: LayerSpec) -> tuple[Artifact, list[np.ndarray], list[np.ndarray]]:
        """The source artifact, its inputs and the reference outputs."""
        reading = self.read_source(spec)
        return reading.artifact, reading.inputs, reading.reference

    def read_source(self, spec: LayerSpec) -> SourceReading:
        """As ``build_source``; and where the source's own outputs are checked against a
        second reading, those too (``native``) and how the two differ (``reading``)."""
        return sources.get(spec.source).read(spec, policy=self.policy, device=self.device)

    def run(self, spec: LayerSpec, legs=None) -> CaseResult:
        """The case down its paths; with ``legs``, down only those that go on from one of
        them (a case chosen for a converter leg, ``harness.tools.leg_cover``), and where none
        does, nothing: not even the source is read."""
        if self.lost_context is not None:
            raise DeviceContextLost(f"{self.lost_context}; nothing more can run on the device "
                                    f"in this process (case {spec.case_id} not run)")
        self._case_id = spec.case_id
        case = self.resolve(spec, legs)
        if not case.paths and legs is not None:
            return CaseResult(spec, [], {})
        for observer in self.observers:
            observer.on_case(case)
        started = time.perf_counter()
        try:
            reading = self.cache.read(case.source, spec, policy=self.policy, device=self.device)
        except SourceError as exc:
            return self._known_source_failure(case, exc)
        except stage_cache.CacheMismatch:  # fails the case; never its record
            raise
        except Exception as exc:  # a source plugin's own bug: still the case's record
            failure = SourceError(f"the {case.source.name} source raised "
                                  f"{type(exc).__name__} reading {spec.describe()}: {exc}")
            failure.__cause__ = exc
            return self._known_source_failure(case, failure)
        for observer in self.observers:
            observer.on_reading(case, reading)
        timing = {"build": time.perf_counter() - started}
        source_leg = None if reading.native is None else self._source_leg(case, reading)
        # When the source disagrees with itself, its own output is a second reading.
        alternate = (reading.native if source_leg is not None and source_leg.verdict != "pass"
                     else None)
        artifacts: dict[str, Any] = {case.start: reading.artifact, **dict(reading.roots)}
        result = self._run_paths(case, artifacts, reading.inputs, reading.reference, timing,
                                 alternate, more=reading.more, yardstick=reading.yardstick)
        if self.diagnose and self.lost_context is None:
            self._diagnose(case, result, artifacts, reading.inputs, reading.reference)
        if reading.yardstick is None:
            note_missing_yardstick(result, yardstick.missing_reason(spec))
        if source_leg is not None:
            result.legs.insert(0, source_leg)
        return result

    def replay(self, spec: LayerSpec, inputs: list[np.ndarray], expected: list[np.ndarray],
               stored: dict[str, Artifact],
               native: list[np.ndarray] | None = None, more=(),
               yardstick: list[np.ndarray] | None = None) -> CaseResult:
        """Runs the legs reachable from stored artifacts (keyed by the leg that made them)
        against stored expected outputs; no source framework is involved. ``native`` is the
        source's own output where it disagreed with its second reading; ``more`` the
        readings at further sizes and ``yardstick`` the float64 reference, as in
        ``SourceReading``. A failing leg is diagnosed where the source's artifact itself was
        stored (an ONNX case's model)."""
        if self.lost_context is not None:
            raise DeviceContextLost(f"{self.lost_context}; nothing more can run on the device "
                                    f"in this process (case {spec.case_id} not replayed)")
        self._case_id = spec.case_id
        case = self.resolve(spec)
        for observer in self.observers:
            observer.on_case(case)
        artifacts = dict(stored)
        result = self._run_paths(case, artifacts, inputs, expected, {}, native, more=more,
                                 yardstick=yardstick)
        if self.diagnose and self.lost_context is None:
            self._diagnose(case, result, artifacts, inputs, expected)
        return result

    def _source_leg(self, case: ResolvedCase, reading: SourceReading) -> LegResult:
        """The source's own execution against the second reading that is the reference."""
        name = case.start
        base = {"path": case.paths[0].name, "leg": name, "stage": name, "runner": name}
        tolerance = self.policy.for_spec(case.spec, name, self.judged_device)
        worst = worst_of(reading.native, reading.reference, tolerance)
        leg = LegResult(**base, verdict="pass" if worst.passed else "fail",
                        category=worst.category, message=worst.message, metrics=worst.metrics,
                        tolerance=tolerance)
        if not worst.passed:
            leg.blame = name
            leg.message = f"the source's {reading.reading}:\n" + leg.message
        # The source's own model is what its entries' where checks read (an ONNX graph).
        return self._judge(case.spec, leg, reading.artifact)

    def _run_paths(self, case: ResolvedCase, artifacts, inputs, reference, timing,
                   alternate=None, *, more=(), yardstick=None) -> CaseResult:
        # Keyed by leg name ("keras>tf2onnx"); paths that share a prefix share its artifact.
        for observer in self.observers:  # they see the first size, as before sizes came
            observer.on_paths(case, artifacts, inputs, reference, alternate)
        sizes = sizes_of(inputs, reference, alternate, more, yardstick)
        results: dict[str, LegResult] = {}
        lost = self.lost_context
        for path in case.paths:
            upstream: LegResult | None = None
            legs = path.legs()
            for n, (leg_name, stage) in enumerate(zip(legs, path.stages)):
                parent = leg_name.rsplit(">", 1)[0]
                if leg_name not in artifacts and parent not in artifacts:
                    if any(later in artifacts for later in legs[n + 1:]):
                        continue  # replaying: a later leg's artifact is stored (a flatbuffer)
                    break  # replaying: nothing stored to start this path from
                if not self._judges(leg_name):
                    break  # judged elsewhere, and no leg judged here starts from it
                if leg_name not in results:
                    if lost is not None:  # nothing more runs on the device in this process
                        results[leg_name] = LegResult(
                            path=path.name, leg=leg_name, stage=stage, runner="-",
                            verdict="skip", category="runtime_error",
                            message=f"not run: {lost}")
                        continue
                    leg = self._leg(case.spec, path, leg_name, stage, artifacts, sizes)
                    results[leg_name] = _attribute(leg, upstream)
                    for observer in self.observers:
                        observer.after_leg(leg_name, stage, results[leg_name])
                    lost = self._context_lost(results[leg_name]) or lost
                upstream = results[leg_name]
        return CaseResult(case.spec, list(results.values()), timing)

    def _judges(self, leg_name: str) -> bool:
        """Whether this run goes down ``leg_name``: a leg to judge, or one that a leg to
        judge starts from."""
        return self.only_legs is None or any(
            starts_from(wanted, leg_name) for wanted in self.only_legs)

    def _context_lost(self, leg: LegResult) -> str | None:
        """In this process (no isolating worker to end): after a leg that failed,
        whether the device context is lost; if so the leg says so, the case's later legs are
        not run, and every later case of this harness is refused (``run``), so that no leg
        meets the poisoned context (docs/isolation.md)."""
        if leg.verdict in ("pass", "skip"):  # a CPU run has no context in use: no probe
            return None
        lost = device_context.lost()
        if lost is None:
            return None
        self.lost_context = (f"the {lost.label} context of this process was lost in leg "
                             f"{leg.leg} of case {self._case_id}: {lost.error.splitlines()[0]}")
        leg.context_lost = lost.label
        leg.verdict = "error" if leg.verdict != "xfail" else leg.verdict
        leg.category = leg.category if leg.verdict == "xfail" else "runtime_error"
        leg.message = (f"the {lost.label} context was lost in leg {leg.leg} (stage {leg.stage}):"
                       f" {lost.error.splitlines()[0]}\nevery later {lost.label} call in this "
                       f"process would fail; run the cases isolated (--parity-isolate, which "
                       f"--parity-device cuda implies in a suite) to go on in a fresh process\n"
                       f"--- the leg's own error ---\n{leg.message}")
        return self.lost_context

    def _diagnose(self, case: ResolvedCase, result: CaseResult, artifacts, inputs,
                  reference=None) -> None:
        """Per-layer diagnosis of each unexpectedly failing leg of a multi-layer model, by the
        source's diagnoser (a source without one is not diagnosed); then, for a failing leg
        whose stage diagnoses itself (``converter.diagnose``: onnxoptimizer names the pass),
        the stage's own diagnosis."""
        name = case.start
        failing = [leg for leg in result.legs if leg.verdict == "fail" and leg.leg != name]
        make_diagnoser = getattr(case.source, "diagnoser", None)
        source = artifacts.get(name)
        if not failing or make_diagnoser is None or not isinstance(source, Artifact):
            diagnoser = None
        else:
            started = time.perf_counter()
            diagnoser = make_diagnoser(self, case.spec, source, inputs)
        if diagnoser is not None:
            paths = {leg: path for path in case.paths for leg in path.legs()}
            for leg in failing:
                leg.diagnosis = diagnoser.diagnose(paths[leg.leg], leg.leg, artifacts)
            result.timing["diagnose"] = time.perf_counter() - started
        if reference is not None:
            self._diagnose_stages(case, [leg for leg in result.legs if leg.leg != name and (
                leg.verdict == "fail" or leg.verdict == "xfail" and leg.blame == leg.stage)],
                artifacts, inputs, reference)

    def _diagnose_stages(self, case: ResolvedCase, failing, artifacts, inputs,
                         reference) -> None:
        """A failing leg's own stage's diagnosis (``converter.diagnose(received, inputs,
        reference, tolerance)``), where the stage has one and its received artifact is at
        hand; kept beside the source's as ``diagnosis["stage_diagnosis"]``, its summary
        first. A known issue's leg (xfail) of the stage itself is diagnosed too: the record
        names the pass."""
        for leg in failing:
            converter = get(leg.stage)
            received = artifacts.get(leg.leg.rsplit(">", 1)[0])
            if getattr(converter, "diagnose", None) is None or not isinstance(received,
                                                                               Artifact):
                continue
            tolerance = self.policy.for_spec(case.spec, leg.leg, self.judged_device)
            try:
                # kept in the stage cache, as a conversion is
                found = self.cache.diagnosis(converter, received, inputs, reference, tolerance)
            except stage_cache.CacheMismatch:
                raise  # a kept diagnosis its cold one contradicts: the cache's fault
            except Exception as exc:  # noqa: BLE001  (a diagnosis never fails the case)
                found = {"summary": f"the {leg.stage} diagnosis raised "
                                    f"{type(exc).__name__}: {exc}"}
            if leg.diagnosis is None:
                leg.diagnosis = found
            else:
                summary = "; ".join(s for s in (found.get("summary"),
                                                leg.diagnosis.get("summary")) if s)
                leg.diagnosis = {**leg.diagnosis, "stage_diagnosis": found, "summary": summary}

    def _known_source_failure(self, case: ResolvedCase, exc: SourceError) -> CaseResult:
        """The case's one record when its source could not be read: the source's own refusal
        on this machine (``SourceRefusal``: a skip that says why, with the machine's state);
        a known bug of the source framework (its xfail); else an error of the source, which
        fails the case (a bug of the harness, its strategies or the source framework)."""
        spec, name = case.spec, case.start
        base = {"path": case.paths[0].name if case.paths else name, "leg": name, "stage": name,
                "runner": name, "blame": name}
        if isinstance(exc, SourceRefusal):
            return CaseResult(spec, [LegResult(
                **base, verdict="skip", category="source_refusal", message=str(exc),
                metrics={"environment": exc.environment})], {})
        message = source_failure_message(exc)
        for issue in known_issues_mod.candidates(self.issues_on(name), spec, name,
                                                 device=self.device):
            if issue.matches_failure("source_error", message):
                return CaseResult(spec, [LegResult(
                    **base, verdict="xfail", category="source_error", message=message,
                    known_issue=issue.to_json())], {})
        return CaseResult(spec, [LegResult(**base, verdict="error", category="source_error",
                                           message=message)], {})

    def _leg(self, spec, path, leg_name, stage, artifacts, sizes: list[Size]) -> LegResult:
        converter = get(stage)
        runner_name = self.runner(converter.target).name
        base = {"path": path.name, "leg": leg_name, "stage": stage, "runner": runner_name}
        # The artifact the stage was given: known issues about its handling of a node look
        # for that node there, whatever source it came from.
        parent = artifacts.get(leg_name.rsplit(">", 1)[0])
        received = parent if isinstance(parent, Artifact) else None
        if isinstance(artifacts.get(leg_name), Artifact):  # stored by the golden store
            return self._run_and_compare(spec, base, artifacts[leg_name], sizes, {}, received)
        if not isinstance(parent, Artifact):
            if isinstance(parent, NotApplicable):
                artifacts[leg_name] = parent
                return LegResult(**base, verdict="skip", category=NOT_APPLICABLE,
                                 message=f"an earlier stage of {path.name} does not apply: "
                                         f"{parent}")
            artifacts[leg_name] = RuntimeError("upstream stage failed")
            return LegResult(
                **base, verdict="skip", category="upstream_error",
                message=f"not run: an earlier stage of {path.name} failed",
            )

        timing: dict[str, float] = {}
        for observer in self.observers:
            observer.before_leg(leg_name, stage, "convert")
        t0 = time.perf_counter()
        options = self.options_for(sizes)
        parent_made = False  # a stage's own failure is kept; its input's rebuilding is not its own
        try:
            artifact = self.cache.lookup(converter, parent, options)
            if artifact is None:
                stage_cache.materialised(parent)
                parent_made = True
                artifact = converter.convert(parent, options)
                self.cache.keep(converter, parent, options, artifact)
        except stage_cache.CacheMismatch:
            raise
        except SourceError as exc:  # a cached source that could not be rebuilt: not this stage's
            artifacts[leg_name] = exc
            return LegResult(**base, verdict="error", category="source_error",
                             blame=path.source, message=f"{exc}\n{_short_traceback(exc)}",
                             timing={"convert": time.perf_counter() - t0})
        except NotApplicable as exc:  # what the model is, not the converter's fault
            artifacts[leg_name] = exc
            return LegResult(**base, verdict="skip", category=NOT_APPLICABLE,
                             message=f"{stage} does not apply: {exc}",
                             timing={"convert": time.perf_counter() - t0})
        except stage_cache.KeptFailure as exc:  # the cold run's leg, as it was recorded
            artifacts[leg_name] = exc
            return self._conversion_error(spec, base, exc.message, t0, received)
        except Exception as exc:
            artifacts[leg_name] = exc
            message = f"{stage} raised {type(exc).__name__}: {exc}\n{_short_traceback(exc)}"
            if parent_made:
                self.cache.keep_failure(converter, parent, options, exc, message)
            return self._conversion_error(spec, base, message, t0, received)
        artifacts[leg_name] = artifact
        timing["convert"] = time.perf_counter() - t0
        return self._run_and_compare(spec, base, artifact, sizes, timing, received)

    def _conversion_error(self, spec, base, message: str, t0: float,
                          received: Artifact | None) -> LegResult:
        return self._judge(spec, LegResult(
            **base, verdict="error", category=classify_exception("convert", message)[0],
            message=message, timing={"convert": time.perf_counter() - t0},
        ), received)

    def _run_and_compare(self, spec, base, artifact, sizes: list[Size], timing,
                         received: Artifact | None = None) -> LegResult:
        """Runs the leg at each size and compares it with that size's reference: the first
        size that fails decides (a later size is not run once one failed), else the widest
        pass; a failure at a further size names its input shapes (``metrics["at_shapes"]``)."""
        leg_name = base["leg"]
        for observer in self.observers:
            observer.before_leg(leg_name, base["stage"], "run")
        tolerance = self.policy.for_spec(spec, leg_name, self.judged_device)
        timing.setdefault("run", 0.0)
        passes: list[LegResult] = []
        for n, size in enumerate(sizes):
            leg = self._at_size(spec, base, artifact, size, tolerance, timing,
                                received=received)
            if n:
                leg.metrics = {**(leg.metrics or {}), "at_shapes": [list(s) for s in size.shapes]}
                if leg.verdict != "pass":
                    leg.message = (f"at input shapes {shapes_text(size.shapes)} (passed at "
                                   f"{shapes_text(sizes[0].shapes)}):\n{leg.message}")
            if leg.verdict != "pass":
                # off the CPU, the same artifact read on the CPU says whose fault it is
                device_blame.blame_device(self, spec, leg, artifact, size)
                return self._judge(spec, _with_skipped_work(leg, artifact), received, artifact)
            passes.append(leg)
        by_name = second_call.by_name_failure(
            artifact, sizes[0], tolerance, self.device, self.threads,
            lambda runner: self._at_size(spec, base, artifact, sizes[0], tolerance, timing,
                                         runner))
        if by_name is not None:
            return self._judge(spec, _with_skipped_work(by_name, artifact), received, artifact)
        widest = max(passes, key=lambda leg: (leg.metrics or {}).get("max_abs", 0.0))
        if widest is not passes[0] and passes[0].metrics and "yardstick" in passes[0].metrics:
            widest.metrics.setdefault("yardstick", passes[0].metrics["yardstick"])
        return self._judge(spec, _with_skipped_work(widest, artifact), received)

    def _outputs(self, base, artifact, inputs,
                 runner=None) -> tuple[list | None, tuple[str, str] | None]:
        """The runner's outputs (by default the artifact format's runner), or None and (the
        leg's message, the step that raised: load or run); a failure the stage cache kept is
        the cold run's, message and all."""
        runner = runner or self.runner(artifact.format)
        try:
            return self.cache.run(runner, artifact, inputs), None
        except stage_cache.CacheMismatch:
            raise  # a cache entry its cold run contradicts: the cache's fault, not the leg's
        except stage_cache.KeptFailure as exc:
            return None, (exc.message, exc.step)
        except MachineLacks as exc:  # another machine may run it: not kept
            return None, (f"{base['runner']} cannot run here: {exc}", MACHINE_LACKS)
        except Exception as exc:
            message = (f"{base['runner']} raised {type(exc).__name__}: {exc}\n"
                       f"{_short_traceback(exc)}")
            step = "load" if isinstance(exc, LoadError) else "run"
            self.cache.keep_run_failure(runner, artifact, inputs, exc, message, step)
            return None, (message, step)

    def _at_size(self, spec, base, artifact, size: Size, tolerance, timing,
                 runner=None, received: Artifact | None = None) -> LegResult:
        """The leg run once, at one size (by ``runner``, by default the artifact format's),
        and compared (not yet judged against known issues). An ONNX model whose outputs pass
        but which its stage declared with other shapes than it returns (``received`` did
        not) fails as a shape mismatch."""
        t1 = time.perf_counter()
        outputs, failure = self._outputs(base, artifact, size.inputs, runner)
        timing["run"] += time.perf_counter() - t1
        if failure is not None:
            message, step = failure
            if step == MACHINE_LACKS:
                return LegResult(**base, verdict="skip", category=NOT_APPLICABLE,
                                 message=message, timing=timing)
            return LegResult(**base, verdict="error",
                             category=classify_exception(step, message)[0],
                             message=message, timing=timing)
        for observer in self.observers:
            observer.on_outputs(base["leg"], size, outputs)

        t2 = time.perf_counter()
        comparisons = compare_outputs(outputs, size.reference, tolerance)
        note = ""
        if size.alternate is not None and not worst_comparison(comparisons).passed:
            faithful = compare_outputs(outputs, size.alternate, tolerance)
            if worst_comparison(faithful).passed:
                comparisons = faithful
                note = ("matches the source's own output, which differs from the reference "
                        "reading: the converter reproduced the source's graph")
        worst = worst_comparison(comparisons)
        metrics = dict(worst.metrics)
        verdict, category, message = ("pass" if worst.passed else "fail", worst.category,
                                      worst.message)
        if size.yardstick is not None:
            measured = yardstick.measure(outputs, size.reference, size.yardstick)
            if measured is not None:
                metrics["yardstick"] = measured
                metrics["judged_by"] = "tolerance"
                roundoff = (yardstick.TF32_ROUNDOFF
                            if self.judged_device == device_context.TF32_DEVICE else 1.0)
                if worst.category == "numeric_mismatch" and yardstick.rescues(measured,
                                                                              roundoff):
                    metrics["judged_by"] = "yardstick" if roundoff == 1.0 else "yardstick (tf32)"
                    verdict, category, message = "pass", None, ""
                    note = yardstick.rescue_note(measured, roundoff)
        if verdict == "pass":
            declared_wrong = outputs_declared_wrong(artifact, received, outputs)
            if declared_wrong:
                verdict, category, message = "fail", "shape_mismatch", declared_wrong
        if verdict == "pass" and drawn(spec.source):
            unproven = nonfinite_reference(size.reference)
            if unproven:
                verdict, category, message = "skip", NONFINITE_REFERENCE, unproven
        timing["compare"] = timing.get("compare", 0.0) + time.perf_counter() - t2
        return LegResult(
            note=note,
            **base,
            verdict=verdict,
            category=category,
            message=message,
            metrics=metrics,
            outputs=[c.metrics for c in comparisons] if len(comparisons) > 1 else [],
            tolerance=tolerance,
            timing=timing,
        )

    def _judge(self, spec: LayerSpec, leg: LegResult, received: Artifact | None = None,
               produced: Artifact | None = None) -> LegResult:
        """A failing leg that a known issue recognises (by its message, or by what the stage
        changed between ``received`` and ``produced``) is its xfail; a passing leg of a case
        that a strict entry names by its own layers is an xpass."""
        if leg.verdict == "pass":
            # The first strict entry, in candidates' order, that names the case by its own
            # layers: matching directly implies matching the case, and puts the entry before
            # the strict ones that match through the received model only.
            for issue in self.strict_issues_on(leg.leg):
                if issue.holds_on(self.device) and issue.matches_directly(spec, leg.leg):
                    leg.verdict = "xpass"
                    leg.known_issue = issue.to_json()
                    return leg
            return leg
        if leg.verdict not in FAILING:
            return leg
        # Only entries that can recognise this failure: candidates' order among them (a
        # stable sort) is its order among all, so the first that matches is the same.
        possible = [issue for issue in self.issues_on(leg.leg)
                    if issue.may_match_failure(leg.category, leg.message)]
        issues = known_issues_mod.candidates(possible, spec, leg.leg, received,
                                             device=self.device)
        for issue in issues:
            if issue.matches_failure(leg.category, leg.message, (received, produced)):
                leg.verdict = "xfail"
                leg.known_issue = issue.to_json()
                return leg
        return leg


# A drawn case whose source reading holds NaN or Inf proves no agreement where it passes. A
# source whose readings are data rather than draws says ``NONFINITE_IS_DATA = True``: a
# user's file (parity check says so in its strength lines), ONNX's own node tests (whose
# NaN propagation is what some of them test).


def drawn(source: str) -> bool:
    try:
        return not getattr(sources.get(source), "NONFINITE_IS_DATA", False)
    except Exception:  # noqa: BLE001  (an unregistered source: a test's toy)
        return True


NOT_APPLICABLE = "not_applicable"  # a stage that cannot apply to the model (NotApplicable)
# The step of a leg whose runtime cannot load its model on this machine (MachineLacks): a
# skip that says what the machine lacks, as a stage that does not apply is one.
MACHINE_LACKS = "machine"
NONFINITE_REFERENCE = "nonfinite_reference"


def nonfinite_reference(reference) -> str | None:
    """Why a pass on this reading proves nothing: its outputs that hold NaN or Inf, with
    the fraction; None where every output is finite."""
    said = []
    for index, output in enumerate(reference or []):
        nan, inf, total = nonfinite_count(output)
        if nan or inf:
            said.append(f"output {index} holds " + " and ".join(
                f"{what} in {count} of {total} values" for what, count in
                (("NaN", nan), ("Inf", inf)) if count))
    if not said:
        return None
    return ("the source's reading is not finite (" + "; ".join(said) + "): the leg puts "
            "NaN/Inf in the same places, which proves no agreement; the case is not a pass")


def note_missing_yardstick(result: CaseResult, why: str | None) -> None:
    """Says in each compared leg's record why the case has no float64 yardstick."""
    if why is None:
        return
    for leg in result.legs:
        if leg.metrics is not None and "max_abs" in leg.metrics:
            leg.metrics["yardstick_missing"] = why


DIVERGED = ("fail", "error", "xfail")


def _with_skipped_work(leg: LegResult, artifact: Artifact) -> LegResult:
    """The leg as its converter's own account of what it went on without (``SKIPPED_WORK``)
    leaves it: an error where it would pass, since its numbers cannot show what was left out;
    a failing leg keeps its failure, which its known issues recognise, and notes it."""
    skipped = (artifact.meta or {}).get(SKIPPED_WORK)
    if not skipped:
        return leg
    if leg.verdict == "pass":
        leg.verdict, leg.category = "error", "conversion_error"
        leg.message = f"the model was converted past an error: {skipped}"
    elif leg.verdict in FAILING:
        leg.note = "; ".join(filter(None, [leg.note, f"the model was also converted past an "
                                                     f"error: {skipped}"]))
    return leg


def _attribute(leg: LegResult, upstream: LegResult | None) -> LegResult:
    """Charges a failing leg to the stage where the divergence entered.

    A leg downstream of a leg that already diverged fails for its input's sake, often with
    noise (a converter choking on an invalid graph), so it inherits the upstream blame and,
    for a known upstream bug, the upstream's xfail.
    """
    if leg.verdict == "pass" or leg.verdict == "skip":
        return leg
    if upstream is None or upstream.verdict not in DIVERGED:
        leg.blame = leg.blame or leg.stage  # a source that failed under the stage keeps its own
        return leg
    leg.blame = upstream.blame or upstream.stage
    if leg.verdict in FAILING and upstream.verdict == "xfail" and leg.known_issue is None:
        leg.verdict = "xfail"
        leg.known_issue = upstream.known_issue
        leg.message = f"(inherited from {upstream.leg}) {leg.message}"
    return leg

