"""Standalone reproducers of ONNX cases (``parity repro CASE_ID --script out.py``).

A script for an ONNX case embeds the ONNX model, the inputs and the reference outputs (the
base64 of an ``.npz``), and imports only numpy, onnx, onnxruntime and the failing stage's
frameworks, never parity. It first shows the source's two readings of the model against the
embedded reference (onnxruntime with every graph optimisation off, and onnx's
``ReferenceEvaluator``), then reproduces the stage the failure is blamed on:

- an ONNX → PyTorch stage that declares a ``ScriptRecipe`` (``onnx2torch``,
  ``onnx2pytorch``): the recipe's conversion call, the module run as parity's runner runs
  it, compared with the reference;
- an ONNX → ONNX rewriter that declares a ``ScriptRecipe`` (``onnxsim``, ``onnxslim``,
  ``onnxoptimizer``): the recipe's rewrite, the rewritten model read by onnxruntime with every
  graph optimisation off (as parity reads every ONNX leg), compared with the reference; the
  model's own two readings come first, so that a difference blames the rewriter;
- ``ort-optimized``: onnxruntime with every graph optimisation on, compared with the
  reference (a difference blames onnxruntime's optimiser);
- the source itself (the leg ``onnx``: onnxruntime with optimisations off disagrees with the
  reference evaluator): the two readings compared with each other, for onnxruntime's or
  onnx's tracker.

These are the ONNX source's parts of a script (``script_parts``), made of the pieces every
script shares (``harness.core.repro_pieces``). A stage with no template here (a plugin's) gives None, and
``harness.repro_script`` scripts it through parity's converter protocol. The script compares with the tolerance
parity applied and exits 1 when the failure reproduces, 0 when it does not, and 3 with one
CANNOT RUN line when this machine cannot run the case (harness.core.repro_pieces' guard).
"""

from __future__ import annotations

import inspect
import json
import platform
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.converters import get
from harness.core.compare import Tolerance
from harness.core.frameworks import versions
from harness.core.repro_pieces import (
    COMPARE_CODE,
    DEFAULT_MAX_INLINE_BYTES,
    EXIT_CODES_TEXT,
    ScriptError,
    ScriptParts,
    assemble,
    chosen_leg,
    leg_tolerance,
    npz_bytes,
    providers,
    saw,
    spec_block,
    too_big,
    torch_run,
)
from harness.core.spec import canonical_json
from harness.runtimes.onnx_evaluated import evaluator_model

SOURCE = "onnx"
ORT_OPTIMIZED = "ort-optimized"
BASE_IMPORTS = ("import numpy as np", "import onnx", "import onnxruntime as ort",
                "from onnx.reference import ReferenceEvaluator")
BASE_PACKAGES = ("numpy", "onnx", "onnxruntime")
# The stages this template scripts from their ScriptRecipe: ONNX -> PyTorch converters and
# ONNX -> ONNX rewriters (ort-optimized and the source's own leg need none).
TEMPLATES = {("onnx", "torch"): "ONNX -> PyTorch", ("onnx", "onnx"): "ONNX -> ONNX, a rewriter",
             ("onnx", "tf-signature"): "ONNX -> TensorFlow SavedModel (onnx2tf)",
             ("onnx", "tflite"): "ONNX -> TFLite (onnx2tf)"}


@dataclass
class OnnxTarget:
    """The leg a script reproduces, and the stage to blame (``onnx`` for the source)."""

    path: Any  # ConversionPath
    leg: Any  # LegResult | None
    leg_name: str
    stage: str


def choose_target(harness, case, leg_name: str | None = None) -> OnnxTarget:
    """The leg named, or else the first that failed (the source's own leg included); then
    the leg of the stage it is blamed on."""
    legs = {leg.leg: leg for leg in case.legs}
    chosen = chosen_leg(case, leg_name)
    paths = harness.resolve(case.spec).paths
    path = next((p for p in paths if p.name == chosen.path), paths[0])
    stage = chosen.blame or chosen.stage
    if stage == SOURCE or chosen.leg == SOURCE:
        return OnnxTarget(path, legs.get(SOURCE), SOURCE, SOURCE)
    if stage not in path.stages:
        raise ScriptError(f"leg {chosen.leg} is blamed on stage {stage!r}, not in path "
                          f"{path.name}")
    name = path.legs()[path.stages.index(stage)]
    return OnnxTarget(path, legs.get(name), name, stage)


def write_script(harness, case, *, leg_name: str | None = None,
                 max_bytes: int = DEFAULT_MAX_INLINE_BYTES,
                 golden_folder: Path | None = None) -> str | None:
    """The text of a standalone script reproducing an ONNX case's failing stage, or None
    for a stage with no ONNX template (a plugin stage: script it as a plugin)."""
    parts = script_parts(harness, case, leg_name=leg_name, max_bytes=max_bytes,
                         golden_folder=golden_folder)
    return None if parts is None else assemble(parts)


def script_parts(harness, case, *, leg_name: str | None = None,
                 max_bytes: int = DEFAULT_MAX_INLINE_BYTES,
                 golden_folder: Path | None = None) -> ScriptParts | None:
    """The parts of a standalone script reproducing an ONNX case's failing stage
    (``harness.core.repro_pieces.assemble`` writes it), or None for a stage with no ONNX
    template (a plugin stage: script it as a plugin)."""
    spec = case.spec
    target = choose_target(harness, case, leg_name)
    recipe = None
    if target.stage not in (SOURCE, ORT_OPTIMIZED):
        converter = get(target.stage)
        recipe = getattr(type(converter), "script", None)
        if recipe is None or (converter.source, converter.target) not in TEMPLATES:
            return None
    reading = harness.read_source(spec)
    parent = reading.artifact
    stages = target.path.stages
    upstream = stages[: stages.index(target.stage)] if target.stage in stages else []
    for stage in upstream:
        parent = get(stage).convert(parent, harness.options)
    if parent.format != "onnx":
        return None  # the stage starts from something else than ONNX
    tolerance = _tolerance(harness, spec, target)
    arrays = {"onnx_model": np.frombuffer(parent.model.SerializeToString(), np.uint8)}
    arrays.update({f"input_{i}": x for i, x in enumerate(reading.inputs)})
    arrays.update({f"expected_{i}": y for i, y in enumerate(reading.reference)})
    payload = npz_bytes(arrays)
    error = too_big(spec.case_id, payload, max_bytes, golden_folder,
                    "model.onnx and test_data_set_0/, in onnx's backend-test layout")
    if error is not None:
        raise error
    packages = BASE_PACKAGES + (tuple(recipe.packages) if recipe is not None else ())
    made_with = versions(tuple(dict.fromkeys(packages)))
    reference_note = ("onnx's reference evaluator's outputs (onnxruntime disagreed with it)"
                      if reading.reading else
                      "onnxruntime's outputs with every graph optimisation off"
                      if spec.source == SOURCE else f"the {spec.source} model's own outputs")
    if target.stage == SOURCE:
        what, direction = _SOURCE_WHAT, "ONNX, the source's own readings"
    elif target.stage == ORT_OPTIMIZED:
        what, direction = _ORT_WHAT, "ONNX -> onnxruntime with graph optimisations"
    elif get(target.stage).target == "onnx":
        what = (f"{recipe.what.format(opset=harness.options.opset)} reads the rewritten model "
                f"with onnxruntime, every graph optimisation off, as parity reads every ONNX "
                f"leg, and compares it with the embedded reference ({reference_note}). The "
                f"model's own two readings are shown first as checks, so a difference "
                f"blames the rewriter.")
        direction = TEMPLATES[("onnx", "onnx")]
    elif get(target.stage).target in ("tf-signature", "tflite"):
        what = (f"{recipe.what.format(opset=harness.options.opset)} and compares it with the "
                f"embedded reference ({reference_note}). The model's own two readings are "
                f"shown first as checks, so a difference blames onnx2tf.")
        direction = TEMPLATES[("onnx", get(target.stage).target)]
    else:
        what, direction = (f"Converts the embedded ONNX model with stage {target.stage} as "
                           f"parity does, runs the module with PyTorch and compares it with "
                           f"the embedded reference ({reference_note})."), "ONNX -> PyTorch"
    header = _header(spec, target, tolerance, harness.device, made_with, what, direction,
                     reference_note)
    return _parts(header, spec, target, recipe, payload, len(reading.inputs), tolerance,
                  harness.device)


def _tolerance(harness, spec, target: OnnxTarget) -> Tolerance:
    return leg_tolerance(harness, spec, target.leg, target.leg_name)


_SOURCE_WHAT = ("Runs the embedded ONNX model with onnxruntime, every graph optimisation off, "
                "and with onnx's ReferenceEvaluator, as parity reads an ONNX case, and compares "
                "the two: parity takes the evaluator's reading as the reference where they "
                "disagree, so the failure reproduces when onnxruntime differs from it.")
_ORT_WHAT = ("Runs the embedded ONNX model with onnxruntime with every graph optimisation on "
             "(ORT_ENABLE_ALL), as parity's ort-optimized stage does, and compares it with the "
             "embedded reference; the readings with optimisations off are shown as checks, so "
             "a difference blames onnxruntime's graph optimiser.")


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, 92, initial_indent=indent, subsequent_indent=indent or " " * 12,
                         break_long_words=False, break_on_hyphens=False)


def _header(spec, target: OnnxTarget, tolerance: Tolerance, device: str,
            made_with: dict[str, str], what: str, direction: str, reference: str) -> str:
    made_with_text = ", ".join([f"python {platform.python_version()}",
                                *(f"{p} {v}" for p, v in made_with.items())])
    spec_text = spec_block(json.dumps(spec.to_json(), sort_keys=True))
    lines = [
        f"Reproducer for parity case {spec.case_id}: stage {target.stage} ({direction}).",
        "",
        *_wrap(f"case:       {spec.describe()}"),
        *_wrap(f"leg:        {target.leg_name} (path {target.path.name}), blamed on stage "
               f"{target.stage}"),
        *_wrap(f"parity saw: {saw(target.leg, per='node')}"),
        *_wrap(f"reference:  {reference}"),
        *_wrap(f"tolerance:  atol={tolerance.atol:g} rtol={tolerance.rtol:g} "
               f"({tolerance.rule})"),
        f"device:     {device}",
        *_wrap(f"made with:  {made_with_text}"),
        "",
        "spec (parity.spec/1; weights and inputs are derived from its seed):",
        spec_text,
        "",
        *_wrap(what),
        *textwrap.wrap(EXIT_CODES_TEXT, 92),
    ]
    return "\n".join(lines).replace('"""', r'\"\"\"')


# The evaluator reads the model in the spelling parity gives it (harness.runtimes.onnx_evaluated).
_COMPARE = COMPARE_CODE + "\n\n" + inspect.getsource(evaluator_model) + '''

def show(title, actual, expected):
    """One reading against the expected outputs, printed: a check, not the verdict."""
    for number, (a, e) in enumerate(zip(actual, expected)):
        category, text = compare(a, e)
        print(f"{title}, output {number}: {category or 'ok'}: {text}")


def onnxruntime_reading(model, inputs, level="ORT_DISABLE_ALL", providers=CHECK_PROVIDERS):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    session = ort.InferenceSession(model.SerializeToString(), options, providers=providers)
    names = [i.name for i in session.get_inputs()]
    return [np.asarray(y) for y in session.run(None, dict(zip(names, inputs)))]


def evaluator_reading(model, inputs):
    evaluator = ReferenceEvaluator(evaluator_model(model))
    names = [i.name for i in model.graph.input]
    return [np.asarray(y) for y in evaluator.run(None, dict(zip(names, inputs)))]


def readings(model, inputs, expected):
    """The source's two readings, shown against the reference: they come first so that a
    report says whether the model itself is read alike."""
    found = {}
    for title, read in (("onnxruntime (optimisations off)", onnxruntime_reading),
                        ("onnx's reference evaluator", evaluator_reading)):
        try:
            found[title] = read(model, inputs)
            show(title, found[title], expected)
        except Exception as exc:
            print(f"{title} cannot run the model: {type(exc).__name__}: {exc}")
    return found
'''

_LOAD = '''
def main():
    step("reading the embedded case")
    data = np.load(io.BytesIO(base64.b64decode("".join(DATA))), allow_pickle=False)
    inputs = [data[f"input_{i}"] for i in range(N_INPUTS)]
    expected = [data[f"expected_{i}"] for i in range(len(data.files)) if f"expected_{i}" in data]
    model = onnx.load_model_from_string(data["onnx_model"].tobytes())
'''

_SOURCE_MAIN = _LOAD + '''\
    found = readings(model, inputs, expected)
    runtime = found.get("onnxruntime (optimisations off)")
    evaluator = found.get("onnx's reference evaluator")
    if runtime is None or evaluator is None:
        return report("runtime_error", "one of the two readings cannot run the model")
    print("onnxruntime (optimisations off) against onnx's reference evaluator:")
    step("comparing the outputs")
    return check(runtime, evaluator)
'''

_ORT_MAIN = _LOAD + '''\
    readings(model, inputs, expected)
    try:
        actual = onnxruntime_reading(model, inputs, "ORT_ENABLE_ALL", PROVIDERS)
    except Exception as exc:
        return report("runtime_error", f"onnxruntime (all optimisations) raised "
                                       f"{type(exc).__name__}: {exc}")
    print("onnxruntime with every graph optimisation on, against the reference:")
    step("comparing the outputs")
    return check(actual, expected)
'''

# How every stage's body begins: the model's own two readings shown, then the recipe's
# conversion; what it raises is the failure (``{convert}``: the recipe's code).
_CONVERTED = '''\
    readings(model, inputs, expected)
    try:
{convert}
    except Exception as exc:
        return report("conversion_error", f"{{STAGE}} raised {{type(exc).__name__}}: {{exc}}")
'''

# An ONNX -> ONNX rewriter's body: the recipe binds ``rewritten``, read as parity's leg reads it
# (the IR version pinned as parity's rewriter stages pin it, optimisations off, every input of
# the case fed by name: a model that takes other inputs than the case's is refused, as parity's
# runner refuses it).
_REWRITER_BODY = _CONVERTED + '''\
    rewritten.ir_version = max(8, min(rewritten.ir_version, 10))  # as parity's stage
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(rewritten.SerializeToString(), options,
                                       providers=PROVIDERS)
    except Exception as exc:
        return report("load_error",
                      f"onnxruntime cannot load the model: {{type(exc).__name__}}: {{exc}}")
    names = [i.name for i in session.get_inputs()]
    if len(names) != len(inputs):
        return report("runtime_error",
                      f"the ONNX model takes {{len(names)}} inputs, the case has {{len(inputs)}} "
                      f"({{STAGE}}'s model takes {{names}}, the model "
                      f"{{[i.name for i in model.graph.input]}})")
    try:
        actual = session.run(None, dict(zip(names, inputs)))
    except Exception as exc:
        return report("runtime_error", f"onnxruntime raised {{type(exc).__name__}}: {{exc}}")
    print(f"onnxruntime (optimisations off) on {{STAGE}}'s model, against the reference:")
    step("comparing the outputs")
    return check(actual, expected)
'''

# onnx2tf's body: the recipe binds ``keras_model`` and ``out`` (its output folder) and defines
# ``read_outputs``; inputs fed channel-last and outputs mapped back as parity's stage maps them
# (harness.converters.onnx2tf_layout), counts checked as the stage checks them.
_ONNX2TF_BODY = _CONVERTED + '''\
    onnx_names = [o.name for o in model.graph.output]
    if len(keras_model.inputs) != len(inputs):
        return report("conversion_error", f"onnx2tf's model takes {{len(keras_model.inputs)}} "
                                          f"inputs, the ONNX model {{len(inputs)}}")
    if len(keras_model.outputs) != len(onnx_names):
        return report("conversion_error", f"onnx2tf's model has {{len(keras_model.outputs)}} "
                                          f"outputs, the ONNX model {{len(onnx_names)}}")
    feeds = {{tensor.name: channel_last(x) for tensor, x in zip(keras_model.inputs, inputs)}}
    layouts = dict(getattr(keras_model, "onnx_output_layouts", None) or {{}})
    step("running onnx2tf's model")
    try:
        raw = read_outputs(out, feeds, onnx_names)
    except Exception as exc:
        return report("runtime_error", f"{{STAGE}}'s model raised {{type(exc).__name__}}: {{exc}}")
    actual = [in_onnx_layout(y, e, layouts.get(name))
              for y, e, name in zip(raw, expected, onnx_names)]
    print(f"{{STAGE}} against the reference:")
    step("comparing the outputs")
    return check(actual, expected)
'''

_ONNX2TF_LAYOUT = '''\
def channel_last(x):
    """An input as onnx2tf's model takes it: of rank 3 or more, axis 1 moved last."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)) if np.ndim(x) >= 3 else x


def in_onnx_layout(y, expected, recorded_channel_last):
    """An output back in ONNX's layout: from channel-last where its shape is the channel-last
    form of the expected one (onnx2tf's record decides where both shapes fit)."""
    y = np.asarray(y)
    if y.ndim < 3 or y.ndim != np.ndim(expected):
        return y
    shape = np.shape(expected)
    as_channel_last = y.shape == (shape[0], *shape[2:], shape[1])
    if as_channel_last and (y.shape != expected.shape or recorded_channel_last):
        return np.moveaxis(y, -1, 1)
    return y'''

_TORCH_BODY = _CONVERTED + '''\
{run}
    print(f"{{STAGE}} (PyTorch) against the reference:")
    step("comparing the outputs")
    return check(actual, expected)
'''


def _parts(header: str, spec, target: OnnxTarget, recipe, payload: bytes, n_inputs: int,
           tolerance: Tolerance, device: str) -> ScriptParts:
    if recipe is not None:
        imports = list(dict.fromkeys([*recipe.imports, *BASE_IMPORTS]))
        imports = [line for line in imports if line]  # a recipe separates groups by ""
        defined = list(recipe.defined)
        if get(target.stage).target == "onnx":  # a rewriter: onnxruntime reads its model
            main = _LOAD + _REWRITER_BODY.format(convert=recipe.convert)
        elif get(target.stage).target in ("tf-signature", "tflite"):  # onnx2tf's files
            main = _LOAD + _ONNX2TF_BODY.format(convert=recipe.convert)
            defined.append(_ONNX2TF_LAYOUT)
        else:
            if "import torch" not in imports:
                imports.append("import torch")
            main = _LOAD + _TORCH_BODY.format(convert=recipe.convert,
                                              run=torch_run("module", recipe.input_names))
    else:
        imports, defined = list(BASE_IMPORTS), []
        main = _SOURCE_MAIN if target.stage == SOURCE else _ORT_MAIN
    return ScriptParts(
        header=header, case_id=spec.case_id, spec_json=canonical_json(spec.to_json()),
        stage=target.stage, leg_name=target.leg_name, tolerance=tolerance, n_inputs=n_inputs,
        payload=payload, main=main, std=["base64", "io", "sys"],
        imports=[*sorted(line for line in imports if line.startswith("import ")),
                 *sorted(line for line in imports if line.startswith("from "))],
        early=[f"STAGE = {target.stage!r}"],
        defined=defined,
        constants=[f"DEVICE = {device!r}", f"PROVIDERS = {providers(device)!r}",
                   "CHECK_PROVIDERS = ['CPUExecutionProvider']  # the source's readings, "
                   "as parity's"],
        compare=_COMPARE,
        data_title="# -- the case's data: the ONNX model, the inputs and the reference outputs --")
