"""Upstream-ready reports of known issues (``parity issues export``).

For one known-issue entry this writes, into a folder of its own, what a converter's maintainer
would paste into their tracker:

- ``report.md``: a one-line title (the mechanism, naming the op and the party), the entry's
  reason, the operator spec or documented behaviour that makes it a bug, whether a report
  exists upstream already, the minimal spec and the versions of the stack it was reproduced
  with;
- ``repro.py`` (``repro_2.py``, ... for an entry with several minimal specs): a standalone
  script that imports only the stack of the stage at fault, never parity. It is the script
  ``parity repro --script`` writes for the entry's minimal case (harness.repro_script,
  harness.sources.onnx.repro: the model, the inputs and, where the source framework is not
  part of that stack, its expected outputs embedded), with a verdict added: it prints the
  expected and actual outputs, then ``REPRODUCED`` (exit 1), ``FIXED`` (exit 0),
  ``DIFFERENT`` (exit 2: it fails, but not as the entry says) or ``CANNOT RUN`` (exit 3: this
  machine cannot run the case: a framework that does not import, a kernel the CPU lacks, any
  exception outside the conversion and run it reproduces). Only a printed REPRODUCED exits 1,
  the code Python gives a crash: the scripts' guard (harness.core.repro_pieces.GUARD_CODE)
  turns every other exception into the CANNOT RUN line;
- ``entry.json``: the same facts for tools.

An entry whose bug a generated script cannot reach (a stage that exists only as a parity
converter, a bug that depends on the order of a set) carries a hand-written standalone script
instead (its ``script`` field, a file under harness/known_issues.d/), with the same verdict
lines, exit codes and guard: its own part (the model, the inputs, the control case, the
comparison), assembled with the shared skeleton (harness.core.skeleton) into ``repro.py``.

The verdict is the entry's: a failure of the family parity saw (an exception, or outputs that
differ) and, for an exception, one whose printed text matches the entry's ``message``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import repro_script, sources
from harness.converters import ConversionPath, available
from harness.core import skeleton
from harness.core.known_issues import MORE_FILES
from harness.core.repro_pieces import CANNOT_RUN
from harness.core.skeleton import SkeletonError
from harness.core.spec import LayerSpec
from harness.repro_script import ScriptError
from harness.run.pipeline import Harness
from harness.sources import SourceError

NATURES = ("wrong-output", "refusal", "limitation", "reference", "undefined", "framework")
COMPARISON_CATEGORIES = ("shape_mismatch", "dtype_mismatch", "nonfinite_mismatch",
                         "numeric_mismatch", "value_mismatch")
# parity's own words for a comparison that failed (an entry's message may name them)
COMPARISON_TEXT = re.compile(r"shapes do not match|dtypes do not match|not close|"
                             r"NaN/Inf positions differ|produced \d+ outputs|Values differ")
TRACKERS = {
    "tf2onnx": "https://github.com/onnx/tensorflow-onnx/issues",
    "onnx2torch": "https://github.com/ENOT-AutoDL/onnx2torch/issues",
    "onnx2pytorch": "https://github.com/Talmaj/onnx2pytorch/issues",
    "onnxruntime": "https://github.com/microsoft/onnxruntime/issues",
    "onnx": "https://github.com/onnx/onnx/issues",
    "spec": "https://github.com/onnx/onnx/issues",
    "tensorflow": "https://github.com/tensorflow/tensorflow/issues",
    "keras": "https://github.com/keras-team/keras/issues",
    "tf_keras": "https://github.com/keras-team/tf-keras/issues",
    "torch": "https://github.com/pytorch/pytorch/issues",
    "torchvision": "https://github.com/pytorch/vision/issues",
    "onnxscript": "https://github.com/microsoft/onnxscript/issues",
    # ONNX rewriters (docs/rewriters.md)
    # onnx-simplifier, begun as daquexian/onnx-simplifier, maintained here (onnxsim/onnxsim#290)
    "onnxsim": "https://github.com/onnxsim/onnxsim/issues",
    "onnxslim": "https://github.com/inisis/OnnxSlim/issues",
    "onnxoptimizer": "https://github.com/onnx/optimizer/issues",
    # ONNX -> TensorFlow / TFLite
    "onnx2tf": "https://github.com/PINTO0309/onnx2tf/issues",
    # TFLite, converter and interpreter: TensorFlow's maintainers send TFLite reports there
    # (docs/upstream-reports.md, "The parties"; ``tracker``)
    "litert": "https://github.com/google-ai-edge/LiteRT/issues",
}
# The legs of the TFLite stages: an entry of party tensorflow naming only these is TFLite's
TFLITE_LEG = re.compile(r"(^|>)(tflite|tflite-savedmodel)$")
# The paths an entry's minimal case goes down, per source: those whose legs the entry names
# (a path naming a stage this install lacks, such as onnx2tf's, is left out).
ONNX_CANDIDATES = ("onnx>onnx2torch", "onnx>onnx2pytorch", "onnx>ort-optimized",
                   "onnx>onnxsim", "onnx>onnxslim", "onnx>onnxoptimizer",
                   "onnx>onnx2tf", "onnx>onnx2tf-tflite")
CANDIDATE_PATHS = {
    "keras": ("keras>tf2onnx>onnx2torch", "keras>tf2onnx>onnx2pytorch",
              "keras>tf2onnx>ort-optimized", "keras>keras-onnx", "keras>keras-torch",
              "keras>tflite", "keras>savedmodel>tflite-savedmodel",
              "keras>tf2onnx>onnxsim", "keras>tf2onnx>onnxslim", "keras>tf2onnx>onnxoptimizer"),
    "onnx": ONNX_CANDIDATES,
    "onnx-node": ONNX_CANDIDATES,
}
ONNX_OPERATORS = "https://onnx.ai/onnx/operators/onnx__{op}.html"
KERAS_LAYERS = "https://www.tensorflow.org/api_docs/python/tf/keras/layers/{kind}"
# Capitalised words of a reason that are ONNX op names but, in prose, mostly English.
PROSE_WORDS = {"If", "Not", "And", "Or", "Where", "Size", "Shape", "Identity", "Constant",
               "Mean", "Max", "Min", "Range", "Loop", "Sum", "Abs", "Log", "Round", "Sign",
               "Less", "Greater", "Equal", "Floor", "Ceil", "Mod"}


# how harness.repro_script marks a Keras model needing objects its script does not define
NEEDS_CUSTOM = "# NEEDS custom Keras objects this script does not define:"


class ExportError(ValueError):
    """No report can be written for this entry; the message says why."""


def classify(issue) -> tuple[str, str]:
    """The entry's nature and the party a report goes to: the first it names (an entry two
    converters share is reported to the first; ``select`` finds it under either)."""
    return issue.nature, issue.parties[0]


def minimal_specs(issue) -> list[LayerSpec]:
    """The entry's minimal specs: none, one, or several (one per variant the bug meets)."""
    return list(issue.minimals)


NOT_FOUND = re.compile(r"no (upstream )?report[^.;]*? found", re.IGNORECASE)


def reported(url: str, reason: str = "") -> bool:
    """Whether the entry's url is a report of this bug (an issue, a pull request, a
    discussion) rather than the tracker, the converter's source or, where the reason says no
    report of it was found, a related one."""
    return re.search(r"/(issues|pull|discussions)/\d+", url or "") is not None \
        and NOT_FOUND.search(reason or "") is None


def tracker(issue, party: str) -> str | None:
    """Where the party's report goes: its tracker, except that an entry of party tensorflow
    whose legs are all TFLite's (TFLiteConverter's, LiteRT's) goes to LiteRT's tracker, where
    TensorFlow's maintainers send TFLite reports now."""
    globs = tuple(getattr(issue, "globs", ()) or ())
    if party == "tensorflow" and globs and all(TFLITE_LEG.search(glob) for glob in globs):
        return TRACKERS["litert"]
    return TRACKERS.get(party)


def select(issues, kind: str | None = None, party: str | None = None) -> list:
    return [issue for issue in issues
            if (kind is None or classify(issue)[0] == kind)
            and (party is None or party in issue.parties)]


def ops_named(issue) -> list[str]:
    """The ONNX ops the entry is about: its minimal specs' kinds that are ONNX ops, those its
    message names (``operation_type='X'``) and those its reason names."""
    from onnx import defs

    found = [spec.kind for spec in minimal_specs(issue) if spec.source == "onnx"]
    found += re.findall(r"operation_type='?\(?([A-Za-z0-9|]+)", issue.message or "")
    found = [op for names in found for op in names.split("|")]
    found += re.findall(r"\b([A-Z][A-Za-z0-9]+)\b", issue.message or "")
    found += [word for word in re.findall(r"\b([A-Z][A-Za-z0-9]+)\b", issue.reason)
              if word not in PROSE_WORDS]
    return [op for op in dict.fromkeys(found) if defs.has(op)]


def spec_lines(issue) -> list[str]:
    """What makes it a bug: the ONNX operator spec of each op named, and for a Keras case the
    layer's documented behaviour (a converter must compute what the source model does)."""
    lines = [f"ONNX operator spec, {op}: {ONNX_OPERATORS.format(op=op)}"
             for op in ops_named(issue)]
    for spec in minimal_specs(issue):
        if spec.source == "keras" and spec.kind not in ("Sequential", "Functional"):
            lines.append(f"Keras' documented {spec.kind} layer (the behaviour a converted "
                         f"model must keep): {KERAS_LAYERS.format(kind=spec.kind)}")
    return list(dict.fromkeys(lines))


def title(issue, party: str) -> str:
    """One line: the party, the op and the mechanism (the reason's first sentence)."""
    stated = getattr(issue, "title", None)
    if stated:
        return stated
    ops = ops_named(issue)
    kinds = [spec.kind for spec in minimal_specs(issue)]
    subject = ", ".join(ops[:2] or kinds[:1] or ([issue.kind] if issue.kind else []))
    reason = re.sub(r"^\(not drawn\)\s*", "", " ".join(issue.reason.split()))
    first = re.split(r"(?<=[a-z0-9)\]'])\.\s", reason, maxsplit=1)[0].rstrip(".")
    if len(first) > 110:  # the main clause, without asides
        first = re.split(r"; |: ", first, maxsplit=1)[0]
    if len(first) > 110:
        first = re.sub(r"\s*\((?:[^()]|\([^()]*\))*\)", "", first)
    first = " ".join(first.split())
    line = f"[{party}] {subject}: {first}" if subject else f"[{party}] {first}"
    return line if len(line) <= 140 else line[:137].rsplit(" ", 1)[0] + " ..."


# -- the script ------------------------------------------------------------------------------

@dataclass
class Script:
    name: str  # repro.py
    text: str
    case_id: str
    leg: str
    stage: str
    seen: str  # what parity saw on the leg when the script was written
    versions: dict[str, str] = field(default_factory=dict)
    hand_written: str | None = None  # the entry's own script, under harness/known_issues.d/


@dataclass
class Report:
    issue: Any
    nature: str
    party: str
    title: str
    scripts: list[Script]
    why_no_script: str | None = None

    @property
    def reported(self) -> bool:
        return reported(self.issue.url, self.issue.reason)


def _paths_for(issue, spec: LayerSpec) -> list[str]:
    installed = set(available())
    candidates = [text for text in
                  CANDIDATE_PATHS.get(spec.source) or sources.get(spec.source).default_paths
                  if all(stage in installed for stage in text.split(">")[1:])]
    chosen = [text for text in candidates
              if any(issue.covers_leg(leg) for leg in
                     [spec.source, *ConversionPath.parse(text).legs()])]
    if not chosen:
        raise ExportError(f"{issue.id}: none of the paths {', '.join(candidates)} has a leg "
                          f"that matches its legs {issue.legs!r}")
    return chosen


def _chosen_leg(issue, case):
    """The leg the entry's bug shows on: the first recorded as this entry, else the first
    failing leg it covers, else the first it covers (the bug is gone: the script says so)."""
    covered = [leg for leg in case.legs if issue.covers_leg(leg.leg)]
    mine = [leg for leg in covered if (leg.known_issue or {}).get("id") == issue.id]
    failing = [leg for leg in covered if leg.verdict in ("fail", "error", "xfail")]
    found = mine or failing or covered
    if not found:
        raise ExportError(f"{issue.id}: case {case.spec.case_id} ran no leg matching "
                          f"{issue.legs!r}")
    return found[0]


def _reproducer(harness, case, leg) -> str:
    """``parity repro --script``'s script for the leg (harness.repro_script: the ONNX template
    where the stage starts from ONNX, ort-optimized and the rewriters from a Keras case too)."""
    return repro_script.write_script(harness, case, leg_name=leg.leg)


def stack_versions(script: str) -> dict[str, str]:
    """The installed versions of what the script imports (beside the standard library)."""

    distributions = importlib.metadata.packages_distributions()
    found = {}
    for module in sorted(imported_modules(script)):
        if module in sys.stdlib_module_names:
            continue
        for name in distributions.get(module, [module]):
            try:
                found[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
    return found


def imported_modules(script: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def _seen(leg) -> str:
    if leg.verdict == "pass":
        return "pass"
    first = (leg.message or "").splitlines()[0][:300] if leg.message else ""
    return f"{leg.verdict}, {leg.category}" + (f": {first}" if first else "")


def build(issue, *, harness_for) -> Report:
    """The report for one entry. ``harness_for(paths)`` gives a Harness over those paths (a
    caller exporting many entries keeps one per set of paths)."""

    nature, party = classify(issue)
    specs = minimal_specs(issue)
    if issue.script:
        try:
            return Report(issue, nature, party, title(issue, party), [hand_written(issue)])
        except ExportError as exc:
            return Report(issue, nature, party, title(issue, party), [], str(exc))
    scripts, problems = [], []
    for number, spec in enumerate(specs, start=1):
        name = "repro.py" if number == 1 else f"repro_{number}.py"
        try:
            harness = harness_for(tuple(_paths_for(issue, spec)))
            case = harness.run(spec)
            leg = _chosen_leg(issue, case)
            text = _reproducer(harness, case, leg)
        except (ExportError, ScriptError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        except SourceError as exc:  # the source's own reading refuses: nothing to embed
            problems.append(f"{name}: the source cannot read the minimal case, so there is "
                            f"no model and reference to embed ({exc})")
            continue
        if NEEDS_CUSTOM in text:  # harness.repro_script's note: the script cannot run
            problems.append(f"{name}: the model uses parity's own Keras objects, which a "
                            f"standalone script cannot define ("
                            f"{text.split(NEEDS_CUSTOM, 1)[1].split('.')[0].strip()})")
            continue
        if "harness" in imported_modules(text):
            problems.append(f"{name}: the stage at fault exists only as a parity converter "
                            f"(leg {leg.leg}), so its script would import parity")
            continue
        family = _family(leg.category if leg.verdict != "pass" else None, issue)
        pattern = _exception_pattern(issue, leg) if family == "exception" else None
        stage = leg.blame or leg.stage
        text = with_verdict(text, issue.id, family, pattern,
                            *_labels(stage, party, twin=TWIN_MARK in text))
        scripts.append(Script(name, text, spec.case_id, leg.leg, stage, _seen(leg),
                              stack_versions(text)))
    why = None
    if not specs:
        why = "the entry has no minimal spec (it is recognised by its message alone)"
    elif problems:
        why = "; ".join(problems)
    return Report(issue, nature, party, title(issue, party), scripts, why)


HAND_WRITTEN = "hand-written script"
# What a hand-written script carries so that a crash cannot exit 1 (as the generated ones).
HAND_WRITTEN_GUARD = ("sys.excepthook = ", "CANNOT RUN: ", f"CANNOT_RUN = {CANNOT_RUN}")


def hand_written(issue) -> Script:
    """The entry's own standalone script (its ``script`` field, its part assembled with the
    shared skeleton: harness.core.skeleton), as ``repro.py``."""
    own = MORE_FILES / issue.script
    try:
        text = skeleton.assemble(own.read_text(encoding="utf-8"), issue.id, str(own))
    except SkeletonError as exc:
        raise ExportError(f"{issue.id}: its script cannot be assembled: {exc}") from exc
    if "harness" in imported_modules(text):
        raise ExportError(f"{issue.id}: its script {issue.script} imports parity")
    if not all(mark in text for mark in HAND_WRITTEN_GUARD):
        raise ExportError(f"{issue.id}: its assembled script has no guard against a crash "
                          f"reading as REPRODUCED (exit 1): the skeleton's guard.py must set "
                          f"sys.excepthook and print a CANNOT RUN line exiting {CANNOT_RUN}")
    specs = minimal_specs(issue)
    return Script("repro.py", text, specs[0].case_id if specs else "", " or ".join(issue.globs),
                  " or ".join(issue.parties), HAND_WRITTEN, stack_versions(text),
                  hand_written=f"harness/known_issues.d/{issue.script}")


def _family(category: str | None, issue) -> str:
    """How the bug fails: ``exception`` or ``comparison``; from what parity saw, else from
    the entry."""
    if category is None:
        compares = issue.category in COMPARISON_CATEGORIES or bool(
            COMPARISON_TEXT.search(issue.message or "")) or not issue.message
        return "comparison" if compares else "exception"
    return "comparison" if category in COMPARISON_CATEGORIES else "exception"


# parity's runner's own exceptions: their text is parity's words (LoadError's names the
# runtime's exception, after "cannot load the model: ")
PARITY_WORDS = ("RunError: ",)


def _exception_pattern(issue, leg) -> str | None:
    """The entry's message, where it matches the exception's own words in what parity saw
    (the script prints those words; parity's own wording, such as its count of a model's
    inputs, it does not)."""
    if not issue.message or leg.verdict == "pass":
        return issue.message
    words = re.split(r" raised |cannot load the model: ", leg.message or "", maxsplit=1)
    own = words[1] if len(words) == 2 else ""
    if own.startswith(PARITY_WORDS):
        own = ""
    return issue.message if re.search(issue.message, own) else None


# How harness.repro_script marks a script whose reference is the layer's channels_last twin.
TWIN_MARK = "TWIN_PERM = "
# ONNX -> ONNX rewriters and Keras -> TFLite stages: who computes what their scripts compare.
REWRITERS = ("onnxsim", "onnxslim", "onnxoptimizer")
TFLITE_STAGES = ("tflite", "tflite-savedmodel")


def _labels(stage: str, party: str, twin: bool = False) -> tuple[str, str, bool]:
    """Who computed the expected and the actual outputs the script's ``check`` compares, and
    whether to show them the other way round (an evaluator's bug: onnxruntime is right)."""
    if stage == "onnx":  # the source's own readings: onnxruntime against the evaluator
        return ("onnx's ReferenceEvaluator", "onnxruntime, graph optimisations off",
                party == "onnx")
    if stage == "ort-optimized":
        return "the reference (embedded)", "onnxruntime with every graph optimisation on", False
    if stage in REWRITERS:
        return ("the source's reference, embedded",
                f"onnxruntime, graph optimisations off, on {stage}'s rewritten model", False)
    if stage in ("tf2onnx", "keras-onnx", *TFLITE_STAGES):
        source = "Keras, the layer's channels_last twin" if twin else "Keras, the source model"
        if stage in TFLITE_STAGES:
            return source, f"the LiteRT interpreter on {stage}'s flatbuffer", False
        return source, f"onnxruntime on {stage}'s ONNX model", False
    if stage == "onnx2tf":
        return ("the source model's outputs, embedded",
                "TensorFlow on onnx2tf's SavedModel (its serving_default signature)", False)
    if stage == "onnx2tf-tflite":
        return ("the source model's outputs, embedded",
                "the LiteRT interpreter on onnx2tf's flatbuffer", False)
    return "the source model's outputs, embedded", f"{stage}'s PyTorch module", False


VERDICT_CODE = '''
# -- the verdict: is known issue {issue_id} still there? ------------------------------------

import re  # noqa: E402

KNOWN_ISSUE = {issue_id!r}
BUG_FAILS_BY = {family!r}  # how the bug shows: "exception" or "comparison" (outputs differ)
BUG_MESSAGE = {pattern!r}  # for an exception: a regular expression its printed text matches
# who computed what check() compares; SWAPPED: the spec sides with the "actual" reading, so
# it is shown as the expected one
EXPECTED_BY, ACTUAL_BY, SWAPPED = {expected_by!r}, {actual_by!r}, {swapped!r}
EXCEPTION_CATEGORIES = ("conversion_error", "load_error", "runtime_error")
FAILURES = []  # (category, message) of each failure the reproducer reported
SHOWN_MAX = 64  # outputs of at most this many elements are printed whole


def report(category, message):  # the reproducer's, recording the failure for the verdict
    FAILURES.append((category, message))
    print(f"fails: {{category}}: {{message}}")
    return 1


def show_outputs(number, actual, expected):
    sides = [(EXPECTED_BY, expected), (ACTUAL_BY, actual)]
    for name, (who, value) in zip(("expected", "actual"), sides[::-1] if SWAPPED else sides):
        value = np.asarray(value)
        text = (np.array2string(value, precision=6, threshold=SHOWN_MAX) if value.size <= SHOWN_MAX
                else f"{{value.size}} elements, first {{value.ravel()[:8]}}")
        print(f"output {{number}} {{name}} ({{who}}): shape {{value.shape}} {{value.dtype}}\\n  "
              + text.replace("\\n", "\\n  "))


_reproducer_check = check


def check(actual, expected):
    for number, (a, e) in enumerate(zip(actual, expected)):
        show_outputs(number, a, e)
    return _reproducer_check(actual, expected)


class Shown:
    """stdout, kept: an exception's message is matched against all the script printed."""

    def __init__(self, out):
        self.out, self.parts = out, []

    def write(self, text):
        self.parts.append(text)
        return self.out.write(text)

    def flush(self):
        self.out.flush()


def verdict(shown):
    if not FAILURES:
        print(f"FIXED: known issue {{KNOWN_ISSUE}} does not reproduce (exit 0)")
        return 0
    category, message = FAILURES[0]
    family = "exception" if category in EXCEPTION_CATEGORIES else "comparison"
    text = "".join(shown.parts)
    if family == BUG_FAILS_BY and (BUG_MESSAGE is None or re.search(BUG_MESSAGE, text)):
        print(f"REPRODUCED: known issue {{KNOWN_ISSUE}}: {{category}} (exit 1)")
        return 1
    print(f"DIFFERENT: it fails ({{category}}), but not as known issue {{KNOWN_ISSUE}} says "
          f"({{BUG_FAILS_BY}}{{', matching ' + repr(BUG_MESSAGE) if BUG_MESSAGE else ''}}) (exit 2)")
    return 2
'''

MAIN_BLOCK = 'if __name__ == "__main__":\n'
# The verdict's main block: main() guarded (an exception outside the bug's own behaviour is
# CANNOT RUN, never a verdict), then the verdict.
VERDICT_MAIN = """\
    shown = sys.stdout = Shown(sys.stdout)
{banner}
    status = guarded(main)
    sys.exit(status if status == CANNOT_RUN else verdict(shown))
"""


def with_verdict(text: str, issue_id: str, family: str, pattern: str | None,
                 expected_by: str, actual_by: str, swapped: bool = False) -> str:
    """The reproducer's script with the known issue's verdict added: its ``report`` and
    ``check`` wrapped, and its main block ending in REPRODUCED, FIXED or DIFFERENT, or in the
    guard's CANNOT RUN where main() raised."""
    body, found, main = text.rpartition(MAIN_BLOCK)
    if not found:
        raise ExportError("the reproducer has no main block to add the verdict to")
    banner = main.splitlines()[0]  # the print naming the case and the stage
    verdict = VERDICT_CODE.format(issue_id=issue_id, family=family, pattern=pattern,
                                  expected_by=expected_by, actual_by=actual_by, swapped=swapped)
    return (body.rstrip() + "\n\n" + verdict.strip() + "\n\n\n" + MAIN_BLOCK
            + VERDICT_MAIN.format(banner=banner))


# -- the report ------------------------------------------------------------------------------

def markdown(report: Report) -> str:
    issue, party = report.issue, report.party
    where = tracker(issue, party) or "the party's tracker"
    if report.reported:
        upstream = f"Reported upstream already: {issue.url}"
    elif reported(issue.url):
        upstream = (f"No upstream report of this case found; related: {issue.url}. File it "
                    f"at {where}")
    else:
        upstream = f"No upstream report found; file it at {where}" + (
            f" (parity's entry points at {issue.url})" if issue.url != where else "")
    lines = [f"# {report.title}", "",
             f"parity known issue `{issue.id}`: nature {report.nature}, party {party}.",
             "", upstream, "", "## What goes wrong", "",
             textwrap.fill(" ".join(issue.reason.split()), 96), "", "## Why it is a bug", ""]
    lines += [f"- {line}" for line in spec_lines(issue)] or [
        "- (no operator named: cite the source framework's documented behaviour)"]
    lines += ["", "## Reproduce", ""]
    if report.scripts:
        for script in report.scripts:
            lines += [f"`python {script.name}` ("
                      + (f"parity's {script.hand_written}, on legs {script.leg})"
                         if script.hand_written else
                         f"case {script.case_id}, leg {script.leg}, stage {script.stage}; "
                         f"parity saw: {script.seen})"), "",
                      "Versions it was reproduced with:", "",
                      *(f"- {name} {version}" for name, version in script.versions.items()),
                      ""]
        lines += ["Each script prints the expected and the actual outputs, then REPRODUCED "
                  "(exit 1), FIXED (exit 0), DIFFERENT (exit 2: it fails otherwise) or CANNOT "
                  f"RUN (exit {CANNOT_RUN}: this machine cannot run the case; no verdict).", ""]
    else:
        lines += [f"No standalone script: {report.why_no_script}.", ""]
    lines += ["Minimal spec (parity.spec/1):", "", "```json",
              *(json.dumps(spec.to_json(), sort_keys=True)
                for spec in minimal_specs(issue)), "```", ""]
    return "\n".join(lines)


def entry_json(report: Report) -> dict[str, Any]:
    issue = report.issue
    return {"id": issue.id, "title": report.title, "nature": report.nature,
            "party": report.party, "url": issue.url, "reported": report.reported,
            "tracker": tracker(issue, report.party), "reason": " ".join(issue.reason.split()),
            "spec_links": spec_lines(issue),
            "scripts": [{"file": s.name, "case_id": s.case_id, "leg": s.leg,
                         "stage": s.stage, "parity_saw": s.seen, "versions": s.versions,
                         "hand_written": s.hand_written}
                        for s in report.scripts],
            "why_no_script": report.why_no_script}


def write(report: Report, root: Path) -> Path:
    folder = root / report.issue.id
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("repro*.py"):
        stale.unlink()
    (folder / "report.md").write_text(markdown(report), encoding="utf-8")
    (folder / "entry.json").write_text(json.dumps(entry_json(report), indent=2) + "\n",
                                       encoding="utf-8")
    for script in report.scripts:
        (folder / script.name).write_text(script.text, encoding="utf-8")
    return folder


class Exporter:
    """Writes reports, one Harness per set of paths."""

    def __init__(self, policy=None):
        self.policy = policy
        self._harnesses: dict[tuple[str, ...], Any] = {}

    def harness(self, paths: tuple[str, ...]):

        if paths not in self._harnesses:
            self._harnesses[paths] = Harness(",".join(paths), policy=self.policy)
        return self._harnesses[paths]

    def export(self, issue, root: Path) -> tuple[Report, Path]:
        report = build(issue, harness_for=self.harness)
        return report, write(report, root)
