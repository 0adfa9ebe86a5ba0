"""Standalone reproducers: one case's failing stage as a script for a converter's bug tracker.

``parity repro CASE_ID --script out.py`` writes a script that imports only the frameworks of
the stage the failure is blamed on, never parity itself:

- a stage that takes a Keras model (``tf2onnx``, ``keras-onnx``): the Keras model is rebuilt
  from its JSON config (``keras.models.model_from_json``, no lambdas) with the weights and
  inputs embedded, converted exactly as parity converts it (same opset, same input
  signature), run with onnxruntime and compared with Keras' own output;
- a stage that takes an ONNX model (``onnx2torch``, ``onnx2pytorch``): the ONNX model, the
  inputs and the reference outputs are embedded; the script converts, runs with PyTorch and
  compares;
- a Keras -> TFLite stage (``tflite``, ``tflite-savedmodel``): the Keras model rebuilt as
  above (for the SavedModel route, exported with Keras' ``model.export`` as parity's
  ``savedmodel`` stage does), converted with ``tf.lite.TFLiteConverter``, float32, run by the
  LiteRT interpreter through its ``serving_default`` signature runner with inputs and outputs
  mapped by the signature's names, and compared with Keras' own output;
- ``ort-optimized`` and the ONNX rewriters (``onnxsim``, ``onnxslim``, ``onnxoptimizer``)
  after a converter (``keras>tf2onnx>onnxsim``): the ONNX template
  (harness.sources.onnx.repro) on the ONNX model the stage received.

- a stage parity has no template for (a converter registered by a ``--parity-plugins``
  module, by an entry point, or a built-in one without a template) that takes a Keras or an
  ONNX model and gives an ONNX or a PyTorch one: the stage's input (the Keras JSON config and
  weights, or the ONNX model), the inputs and the reference outputs are embedded; the script
  imports the plugin modules recorded in it and converts with parity's converter protocol,
  ``harness.converters.get(STAGE).convert(Artifact(...), ConvertOptions(opset=...))``, then
  runs the result as parity's runner does (onnxruntime, PyTorch) and compares. These scripts
  are the one exception to "never imports parity": such a stage exists only as a parity
  converter, so it is called the way parity calls it (and with parity's framework import
  order, ``harness.core.frameworks.prepare_imports()``); everything else in them is the script's
  own code, as in the other scripts.

Arrays travel as the base64 of an ``.npz`` written with ``np.savez`` and read back with
``allow_pickle=False``. The script compares with the tolerance parity applied, prints what it
finds (the category, the max abs/rel error and where, or the exception) and exits 1 when the
failure reproduces, 0 when it does not, and 3 with one CANNOT RUN line when this machine
cannot run the case (harness.core.repro_pieces: never 1, which says it reproduced).

A Keras script computes its expected outputs as parity's Keras source does: the model called
(eagerly, or with XLA where TensorFlow's CPU has no eager kernel); a channels_first
convolution through its channels_last twin, which runs with and without oneDNN (TensorFlow
without oneDNN refuses NCHW convolutions on the CPU); a convolution whose reference is XLA's
reading, with that reading embedded.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import pprint
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.converters import (
    BUILTIN,
    CALLED_BY_NAME,
    ENTRY_POINT_GROUP,
    Artifact,
    ConversionPath,
    ScriptRecipe,
    get,
)
from harness.core.compare import Tolerance
from harness.core.frameworks import versions
from harness.core.records import CaseResult, LegResult
from harness.core.repro_pieces import (
    CANNOT_RUN,
    COMPARE_CODE,
    DEFAULT_MAX_INLINE_BYTES,
    EXIT_CODES_TEXT,
    ScriptError,
    ScriptParts,
    assemble,
    chosen_leg,
    leg_tolerance,
    npz_bytes,
    onnxruntime_check,
    ort_run,
    providers,
    saw,
    spec_block,
    too_big,
    torch_run,
)
from harness.core.spec import LayerSpec, canonical_json
from harness.run.pipeline import Harness, shapes_text
from harness.runtimes.keras import run_keras
from harness.sources.keras.model import channels_last_twin
from harness.sources.onnx import repro as onnx_repro

# ScriptError, COMPARE_CODE, npz_bytes and assemble are shared pieces (harness.core.repro_pieces);
# imported from here too.
__all__ = ["COMPARE_CODE", "ScriptError", "assemble", "choose_target", "npz_bytes",
           "write_script"]

# A stage reproduces with frameworks alone when its converter declares a ScriptRecipe (the
# built-in Keras -> ONNX and ONNX -> PyTorch stages); any other stage is called through
# parity's converter protocol (PLUGIN_SOURCES -> PLUGIN_TARGETS), or not at all.
TEMPLATES = {("keras", "onnx"): "Keras -> ONNX", ("onnx", "torch"): "ONNX -> PyTorch",
             ("keras", "tflite"): "Keras -> TFLite",
             ("savedmodel", "tflite"): "Keras -> SavedModel -> TFLite"}
# What a script for a plugin stage can feed it and run its result with.
PLUGIN_SOURCES = ("keras", "onnx", "mat")
PLUGIN_TARGETS = {"onnx": "onnxruntime", "torch": "torch"}
FORMAT_NAMES = {"keras": "Keras", "onnx": "ONNX", "torch": "PyTorch", "mat": "MATLAB .mat"}

# Objects parity registers with Keras' loader, as the code a script defines them with.
CUSTOM_OBJECTS = {
    "parity>gelu_tanh": '''
        @keras.saving.register_keras_serializable(package="parity", name="gelu_tanh")
        def gelu_tanh(x):  # parity's name for GELU's tanh approximation
            return keras.activations.gelu(x, approximate=True)
    ''',
}


@dataclass
class Target:
    """The leg a script reproduces: where the divergence entered the path."""

    path: ConversionPath
    leg: LegResult | None  # None when the case ran no such leg
    leg_name: str
    stage: str


def choose_target(harness: Harness, case: CaseResult, leg_name: str | None = None) -> Target:
    """The leg named, or else the first that failed; then the leg of the stage it is blamed
    on, so that a leg failing for an upstream stage's sake gets that stage's script. A case
    that passes gets its first leg's script (which then does not reproduce)."""
    legs = {leg.leg: leg for leg in case.legs}
    chosen = chosen_leg(case, leg_name)
    path = next(p for p in harness.resolve(case.spec).paths if p.name == chosen.path)
    stage = chosen.blame or chosen.stage
    if stage == path.source:
        raise ScriptError(
            f"leg {chosen.leg} fails in the source framework itself ({chosen.category}): the "
            f"{path.source} model does not compute what its reference reading says, before any "
            f"converter ran, so a converter reproducer would show nothing (see docs on the "
            f"reference); name a converter's leg with --leg to script that stage anyway")
    if stage not in path.stages:
        raise ScriptError(f"leg {chosen.leg} is blamed on stage {stage!r}, not in path {path.name}")
    name = path.legs()[path.stages.index(stage)]
    return Target(path, legs.get(name), name, stage)


def write_script(harness: Harness, case: CaseResult, *, leg_name: str | None = None,
                 max_bytes: int = DEFAULT_MAX_INLINE_BYTES,
                 golden_folder: Path | None = None, plugins: Sequence[str] = ()) -> str:
    """The text of a standalone script reproducing ``case``'s failing stage.

    ``plugins`` are the modules that registered the run's converters (``--parity-plugins``):
    a script for a stage that only they register imports them (see the module docstring).
    """
    spec = case.spec
    if spec.source == onnx_repro.SOURCE:  # the ONNX model embedded; None for a plugin stage
        parts = onnx_repro.script_parts(harness, case, leg_name=leg_name, max_bytes=max_bytes,
                                        golden_folder=golden_folder)
        if parts is not None:
            return assemble(parts)
    target = choose_target(harness, case, leg_name)
    converter = get(target.stage)
    if target.stage == onnx_repro.ORT_OPTIMIZED or (
            (converter.source, converter.target) == ("onnx", "onnx")
            and isinstance(getattr(type(converter), "script", None), ScriptRecipe)):
        # onnxruntime's optimiser or a rewriter after a converter (keras>tf2onnx>onnxsim): the
        # ONNX template, on the ONNX model the stage received, against this source's reference
        text = onnx_repro.write_script(harness, case, leg_name=target.leg_name,
                                       max_bytes=max_bytes, golden_folder=golden_folder)
        if text is not None:
            return text
    recipe = recipe_of(converter)
    imports = None if recipe is not None else _plugin_imports(target.stage, converter, plugins)
    read = harness.read_source(spec)
    source, reading = read.artifact, read.reading
    inputs, reference, at_shapes = _failing_size(read, target.leg)
    # A path may start from a further artifact the source read to (SourceReading.roots).
    parent = dict(read.roots).get(target.path.source, source)
    upstream = target.path.stages[: target.path.stages.index(target.stage)]
    if recipe is not None and converter.source == "savedmodel":
        if upstream != ("savedmodel",) or parent.format != "keras":
            raise ScriptError(f"stage {target.stage} is scripted from the Keras model through "
                              f"Keras' model.export (keras>savedmodel>{target.stage}), not "
                              f"after {' > '.join(upstream) or 'nothing'}")
        upstream = ()  # the script exports the SavedModel itself, as parity's stage does
    for stage in upstream:
        parent = get(stage).convert(parent, harness.options)
    tolerance = _tolerance(harness, spec, target)
    opset = harness.options.opset
    if imports is not None:
        packages = ("parity", "numpy", *(("keras",) if converter.source == "keras" else ()),
                    *converter.packages,
                    *(("onnx",) if "onnx" in (converter.source, converter.target) else ()),
                    PLUGIN_TARGETS[converter.target])
        header = _Header(spec, target, tolerance, harness, versions(dict.fromkeys(packages)),
                         _plugin_what(target.stage, converter, imports, opset),
                         f"{FORMAT_NAMES[converter.source]} -> {FORMAT_NAMES[converter.target]}"
                         f", a plugin stage", at_shapes)
        if converter.source == "keras":
            arrays, config, custom = _keras_payload(parent, inputs, reference)
        elif converter.source == "mat":  # the file as the source wrote it
            config, custom = None, set()
            arrays = {"mat_file": np.frombuffer(Path(parent.model).read_bytes(), np.uint8),
                      **{f"expected_{i}": y for i, y in enumerate(reference)}}
        else:
            config, custom = None, set()
            arrays = {"onnx_model": np.frombuffer(parent.model.SerializeToString(), np.uint8),
                      **{f"expected_{i}": y for i, y in enumerate(reference)}}
        body = _plugin_script(target.stage, converter, imports, list(parent.input_names),
                              config, custom, opset,
                              len(parent.model.get_weights()) if config is not None else 0,
                              harness.device)
    elif converter.source == "keras" or converter.target == "tflite":
        header = _Header(spec, target, tolerance, harness, versions(recipe.packages),
                         recipe.what.format(opset=opset),
                         TEMPLATES[(converter.source, converter.target)], at_shapes)
        # A channels_first convolution's reference is its channels_last twin, which the
        # script computes as parity does; another second reading (XLA's) travels with it;
        # otherwise the script runs Keras itself.
        perm = _twin_perm(spec, parent)
        embedded = reading is not None and perm is None
        arrays, config, custom = _keras_payload(parent, inputs, reference if embedded else None)
        if perm is not None:
            _check_twin(parent.model, inputs, reference, perm, tolerance)
            header.what += "\n" + _TWIN_WHAT
        body = _keras_script(target.stage, recipe, config, custom,
                             len(parent.model.get_weights()), opset, perm, embedded,
                             harness.device, converter)
    else:
        header = _Header(spec, target, tolerance, harness, versions(recipe.packages),
                         recipe.what.format(opset=opset), TEMPLATES[("onnx", "torch")],
                         at_shapes)
        arrays = {"onnx_model": np.frombuffer(parent.model.SerializeToString(), np.uint8)}
        arrays.update({f"expected_{i}": y for i, y in enumerate(reference)})
        body = _onnx_script(target.stage, recipe, harness.device)
    arrays.update({f"input_{i}": x for i, x in enumerate(inputs)})
    payload = npz_bytes(arrays)
    error = too_big(spec.case_id, payload, max_bytes, golden_folder,
                    "model.keras, model.onnx, inputs.npz, expected.npz")
    if error is not None:
        raise error
    return assemble(ScriptParts(
        header=header.text(), case_id=spec.case_id, spec_json=canonical_json(spec.to_json()),
        stage=body.pop("stage"), leg_name=target.leg_name, tolerance=tolerance,
        n_inputs=len(inputs), payload=payload, compare=COMPARE_CODE, **body))


# -- the pieces ----------------------------------------------------------------------------

def _failing_size(read, leg: LegResult | None):
    """The inputs and reference of the size ``leg`` failed at (its ``at_shapes``, a case with
    free dimensions: harness.core.free_dims) and those shapes; the case's own size, and None,
    when it failed there or passed."""
    failed = leg is not None and leg.verdict != "pass"
    shapes = (leg.metrics or {}).get("at_shapes") if failed else None
    for entry in read.more if shapes else ():
        if [list(s) for s in entry[0]] == shapes:
            return entry[1], entry[2], tuple(tuple(s) for s in entry[0])
    return read.inputs, read.reference, None


def recipe_of(converter) -> ScriptRecipe | None:
    """The converter's own script recipe, where a template can use it: a stage declared by
    its class (a plugin registered under a built-in's name has none of its own)."""
    recipe = getattr(type(converter), "script", None)
    if not isinstance(recipe, ScriptRecipe):
        return None
    return recipe if (converter.source, converter.target) in TEMPLATES else None


def _tolerance(harness: Harness, spec: LayerSpec, target: Target) -> Tolerance:
    return leg_tolerance(harness, spec, target.leg, target.leg_name)


def _plugin_imports(stage: str, converter, plugins: Sequence[str]) -> list[str]:
    """The modules a fresh process imports to ``get(stage)`` the converter this one ran, or a
    ScriptError saying why no script can call it."""
    module = type(converter).__module__
    fmt = f"{converter.source} -> {converter.target}"
    if converter.source not in PLUGIN_SOURCES or converter.target not in PLUGIN_TARGETS:
        raise ScriptError(
            f"stage {stage!r} ({module}, {fmt}) is not one a standalone script can call: "
            f"scripts feed a stage a {' or '.join(PLUGIN_SOURCES)} model and run an "
            f"{' or '.join(PLUGIN_TARGETS)} one")
    if BUILTIN.get(stage, "").partition(":")[0] == module:
        # parity's own converter, found by name in any process; the run's plugin modules
        # come along where they register what it reads (the .mat importer's layer handlers)
        return list(plugins) if converter.source == "mat" else []
    entry = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    if stage in entry and entry[stage].module == module:
        return []  # an installed package's entry point: found by name in any process
    if plugins:
        return list(plugins)
    raise ScriptError(
        f"stage {stage!r} ({module}) is not one a standalone script can call: it was "
        f"registered in this process only, not by a plugin module or an entry point; make a "
        f"module register it on import and pass it with --plugins (as --parity-plugins), or "
        f"script a stage that declares a ScriptRecipe "
        f"({', '.join(n for n in BUILTIN if recipe_of(get(n)) is not None)})")


def _plugin_roots(modules: Sequence[str]) -> dict[str, str]:
    """Where each plugin module was imported from (the sys.path entry), for a script run
    without it on its path."""
    roots = {}
    for name in modules:
        file = getattr(sys.modules.get(name), "__file__", None)
        if not file:
            continue
        root = Path(file).resolve().parent
        if Path(file).name == "__init__.py":
            root = root.parent
        for _ in name.split(".")[1:]:
            root = root.parent
        roots[name] = str(root)
    return roots


def _custom_objects(config: Any) -> set[str]:
    """The names of Keras-registered objects (``package>name``) the config refers to."""
    import keras

    registered = set(keras.saving.get_custom_objects())
    found: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value in registered:
            found.add(value)

    walk(config)
    return found


def _keras_payload(source: Artifact, inputs, twin_reference):
    import keras

    model = source.model
    config = json.loads(model.to_json())
    custom = _custom_objects(config)
    weights = model.get_weights()
    try:  # the script's own route to the model: it must give the very same numbers
        rebuilt = keras.models.model_from_json(json.dumps(config))
        rebuilt.set_weights(weights)
        same = all(np.array_equal(a, b, equal_nan=True) for a, b in
                   zip(run_keras(rebuilt, inputs), run_keras(model, inputs), strict=True))
    except Exception as exc:
        raise ScriptError(f"the Keras model cannot be rebuilt from its JSON config "
                          f"({type(exc).__name__}: {exc}); use --golden artifacts "
                          f"(model.keras) instead of a script") from exc
    if not same:
        raise ScriptError("the Keras model rebuilt from its JSON config computes other numbers "
                          "than the original; use --golden artifacts (model.keras) instead")
    arrays = {f"weight_{i}": w for i, w in enumerate(weights)}
    if twin_reference is not None:
        arrays.update({f"expected_{i}": y for i, y in enumerate(twin_reference)})
    return arrays, config, custom


@dataclass
class _Header:
    spec: LayerSpec
    target: Target
    tolerance: Tolerance
    harness: Harness
    versions: dict[str, str]
    what: str  # what the script does, a paragraph
    direction: str  # "Keras -> ONNX"
    at_shapes: tuple | None = None  # the further size the leg failed at, if not the first

    def text(self) -> str:
        spec, target = self.spec, self.target
        made_with = ", ".join([f"python {platform.python_version()}",
                               *(f"{p} {v}" for p, v in self.versions.items())])
        spec_text = spec_block(json.dumps(spec.to_json(), sort_keys=True))
        lines = [
            f"Reproducer for parity case {spec.case_id}: stage {target.stage} "
            f"({self.direction}).",
            "",
            *_wrap(f"case:       {spec.describe()}"),
            *_wrap(f"leg:        {target.leg_name} (path {target.path.name}), blamed on stage "
                   f"{target.stage}"),
            *_wrap(f"parity saw: {saw(target.leg)}"),
            *_wrap(f"tolerance:  atol={self.tolerance.atol:g} rtol={self.tolerance.rtol:g} "
                   f"({self.tolerance.rule})"),
            f"device:     {self.harness.device}",
            *(_wrap(f"sizes:      the embedded inputs have shapes {shapes_text(self.at_shapes)}, "
                    f"the size the leg failed at; it passed at "
                    f"{shapes_text(spec.input_shapes)}") if self.at_shapes else []),
            *_wrap(f"made with:  {made_with}"),
            "",
            "spec (parity.spec/1; weights and inputs are derived from its seed):",
            spec_text,
            "",
            *self.what.splitlines(),
            *_wrap(EXIT_CODES_TEXT, ""),
        ]
        return "\n".join(lines).replace('"""', r'\"\"\"')


def _wrap(text: str, indent: str = " " * 12) -> list[str]:
    return textwrap.wrap(text, 96, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False)



def _plugin_what(stage: str, converter, imports: list[str], opset: int) -> str:
    source = {"keras": "Rebuilds the Keras model from its JSON config and the embedded weights",
              "onnx": "Loads the embedded ONNX model",
              "mat": "Writes the embedded .mat file, as the source wrote it, to a temporary "
                     "folder"}[converter.source]
    found = (f"imports {', '.join(imports)} (the --parity-plugins of the run, which register "
             f"stage {stage} or what it reads)" if imports
             else f"finds stage {stage} by name, as parity does")
    reference = ("MATLAB's semantics for the embedded inputs, as parity's NumPy reference "
                 "computes them" if converter.source == "mat"
                 else "Keras' outputs for the embedded inputs")
    runtime = "onnxruntime" if converter.target == "onnx" else "PyTorch"
    check = (", and shows onnxruntime on the ONNX model it starts from as a check"
             if converter.source == "onnx" else "")
    text = (
        f"{source}, {found}, and converts it through parity's converter protocol as the "
        f"harness does: harness.converters.get({stage!r}).convert(Artifact(...), "
        f"ConvertOptions(opset={opset})). Runs the result with {runtime} as parity's runner "
        f"does and compares it with the embedded reference outputs ({reference}){check}. Unlike the scripts of built-in stages, this one imports "
        f"parity: the stage exists only as a parity converter, so it is called as parity calls "
        f"it, after parity's framework import order (harness.core.frameworks.prepare_imports()); "
        f"the loading, running and comparing are the script's own code. Exits {CANNOT_RUN} with "
        f"a CANNOT RUN line when the stage cannot be loaded (its plugin modules are not "
        f"importable).")
    return "\n".join(textwrap.wrap(text, 92, break_long_words=False, break_on_hyphens=False))


# How every Keras script's main() begins: the case read, the Keras model rebuilt, and
# ``{expected}``, the reference (embedded, or Keras' own reading).
_KERAS_LOAD = '''
def main():
    step("reading the embedded case")
    data = np.load(io.BytesIO(base64.b64decode("".join(DATA))), allow_pickle=False)
    inputs = [data[f"input_{{i}}"] for i in range(N_INPUTS)]
    step("rebuilding the Keras model from its config")
    model = keras.models.model_from_json(json.dumps(MODEL_CONFIG))
    model.set_weights([data[f"weight_{{i}}"] for i in range({n_weights})])
{expected}
'''

_KERAS_MAIN = _KERAS_LOAD + '''\
    try:
{convert}
    except Exception as exc:
        return report("conversion_error", f"{stage} raised {{type(exc).__name__}}: {{exc}}")
    proto.ir_version = max(8, min(proto.ir_version, 10))  # as parity: onnxruntime loads IR <= 13
{run}
    step("comparing the outputs")
    return check(actual, expected)
'''

# A Keras -> TFLite stage, as parity runs it (harness/converters/keras_tflite.py,
# harness/runtimes/litert.py): the recipe binds ``flat`` (the flatbuffer) and
# ``signature_inputs`` (the signature's input names in the model's input order); the LiteRT
# interpreter runs the signature SIGNATURE by name, its outputs output_0, output_1, ... in the
# model's output order, and a signature that names them otherwise is refused, as parity refuses
# it. ``{export}``: the SavedModel route's export, Keras' own model.export as parity's
# savedmodel stage calls it (binds ``folder``).
_TFLITE_MAIN = _KERAS_LOAD + '''\
{export}
    try:
{convert}
    except Exception as exc:
        return report("conversion_error",
                      f"{stage} raised {{type(exc).__name__}}: {{first_error(exc)}}")
    try:
        interpreter = Interpreter(model_content=flat)
        signatures = interpreter.get_signature_list()
    except Exception as exc:
        return report("load_error",
                      f"LiteRT cannot load the model: {{type(exc).__name__}}: {{exc}}")
    outputs = [f"output_{{i}}" for i in range(len(model.outputs))]
    found = signatures.get(SIGNATURE)
    if found is None or sorted(found["inputs"]) != sorted(signature_inputs) \\
            or sorted(found["outputs"]) != sorted(outputs):
        return report("conversion_error",
                      f"the flatbuffer's signature {{SIGNATURE!r}} ({{found}}) does not name the "
                      f"model's inputs {{signature_inputs}} and outputs {{outputs}}: they cannot "
                      f"be mapped by name")
    try:
        runner = interpreter.get_signature_runner(SIGNATURE)
        result = runner(**{{name: np.asarray(x) for name, x in zip(signature_inputs, inputs)}})
        actual = [np.asarray(result[name]) for name in outputs]
    except Exception as exc:
        return report("runtime_error", f"LiteRT raised {{type(exc).__name__}}: {{exc}}")
    print(f"the LiteRT interpreter (signature {{SIGNATURE!r}}) against the reference:")
    step("comparing the outputs")
    return check(actual, expected)
'''

_SAVEDMODEL_EXPORT = '''\
    step("exporting the Keras model as a SavedModel with model.export, as parity's savedmodel "
         "stage does")
    scratch = tempfile.TemporaryDirectory(prefix="repro-savedmodel-")  # gone as main returns
    folder = scratch.name
    model.export(folder, format="tf_saved_model", verbose=False)'''

TFLITE_SIGNATURE = "serving_default"
# TFLiteConverter's own first error line, as parity's stage reports it (its messages carry MLIR
# dumps and locations).
FIRST_ERROR_CODE = '''\
def first_error(exc):
    \"\"\"TFLiteConverter's own first error line (its messages carry MLIR dumps and
    locations); the whole message where it has none.\"\"\"
    text = str(exc)
    for line in text.splitlines():
        if "error:" in line:
            found = line.rsplit("error:", 1)[1].strip()
            return found.rsplit(")): ", 1)[-1] if found.startswith("loc(") else found
    return text.splitlines()[0] if text else type(exc).__name__'''

# How a Keras script computes its expected outputs (the ``{expected}`` of _KERAS_MAIN).
_KERAS_EXPECTED = '''\
    step("computing the expected outputs with Keras")
    expected = keras_reading(model, inputs)  # Keras' own output is the reference'''

_TWIN_EXPECTED = '''\
    step("computing the expected outputs with the layer's channels_last twin")
    expected = twin_reading(model, inputs)
    show_keras_own(model, inputs, expected, "Keras' own channels_first output")'''

_EMBEDDED_EXPECTED = '''\
    # The reference is the model compiled with XLA (embedded): TensorFlow's oneDNN CPU
    # convolutions leave part of some outputs unwritten, so Keras' own output is shown beside it.
    expected = [data[f"expected_{i}"] for i in range(len(data.files)) if f"expected_{i}" in data]
    show_keras_own(model, inputs, expected, "Keras' own output")'''

# Keras' reading as parity's (harness.runtimes.keras.run_keras), and Keras' own output shown
# beside a second reading, where TensorFlow can compute it.
KERAS_READING_CODE = '''\
def keras_reading(model, inputs):
    \"\"\"The model's outputs, called as parity calls it: eagerly, or compiled with XLA where
    TensorFlow's CPU has no eager kernel for the layout or dtype (a channels_first
    convolution without oneDNN refuses NCHW).\"\"\"
    try:
        outputs = model(as_model_takes(model, inputs), training=False)
    except Exception as exc:
        import tensorflow as tf

        missing = (tf.errors.UnimplementedError, tf.errors.NotFoundError,
                   tf.errors.InvalidArgumentError)
        if not isinstance(exc, missing):
            raise
        compiled = tf.function(
            lambda *xs: model(as_model_takes(model, xs), training=False),
            jit_compile=True)
        try:
            outputs = compiled(*[tf.constant(x) for x in inputs])
        except Exception:
            raise exc from None
        print(f"(Keras called eagerly has no kernel for this model here ({gist(exc)}); "
              f"computed with XLA, as parity does)")
    if isinstance(outputs, dict):  # named outputs, in sorted key order as parity reads them
        outputs = [outputs[key] for key in sorted(outputs)]
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [np.asarray(y) for y in outputs]


def as_model_takes(model, inputs):
    \"\"\"The inputs as the model takes them: the dict of its named inputs where it was built
    with one (in sorted key order, as model.inputs lists them), a list of several, or the one
    array.\"\"\"
    import tensorflow as tf

    try:
        structure = model.input
    except Exception:  # a model never called, a layer of several calls
        structure = None
    if isinstance(structure, dict):
        return tf.nest.pack_sequence_as(structure, list(inputs))
    return list(inputs) if len(inputs) > 1 else inputs[0]


def show_keras_own(model, inputs, expected, title):
    \"\"\"Keras' own output against the reference: shown, not the verdict.\"\"\"
    try:
        own = keras_reading(model, inputs)
    except Exception as exc:
        print(f"{title}: TensorFlow cannot compute it here ({gist(exc)}); the reference "
              f"does not need it")
        return
    for number, y in enumerate(own):
        category, text = compare(y, expected[number])
        print(f"{title} {number} against the reference: {category or 'ok'}: {text}")'''

# The channels_last twin of a one-layer model, as parity's Keras source computes its
# reference (harness.sources.keras.model.twin_reference); run at write time too (_check_twin).
TWIN_CODE = '''\
def channels_last(config):
    \"\"\"A layer's config with every channels_first data_format channels_last.\"\"\"
    if isinstance(config, dict):
        return {key: "channels_last" if key == "data_format" and value == "channels_first"
                else channels_last(value) for key, value in config.items()}
    if isinstance(config, list):
        return [channels_last(value) for value in config]
    return config


def twin_reading(model, inputs):
    \"\"\"The layer's documented output, as parity's reference: the same layer in
    channels_last with the same weights (Keras' kernels have one layout in both formats),
    on the inputs transposed by TWIN_PERM, its outputs transposed back. TensorFlow has no
    channels_first convolution on the CPU that is right everywhere: without oneDNN it
    refuses NCHW, and Keras adds some biases along the wrong axis.\"\"\"
    (layer,) = [found for found in model.layers
                if not isinstance(found, keras.layers.InputLayer)]
    twin = type(layer).from_config(channels_last(layer.get_config()))
    shape = tuple(model.inputs[0].shape)
    x = keras.Input(batch_shape=tuple(shape[i] for i in TWIN_PERM))
    twin_model = keras.Model(x, twin(x))
    twin.set_weights(layer.get_weights())
    outputs = twin_model(np.ascontiguousarray(inputs[0].transpose(TWIN_PERM)), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    back = np.argsort(TWIN_PERM)
    return [np.ascontiguousarray(np.asarray(y).transpose(back))
            if np.ndim(y) == len(TWIN_PERM) else np.asarray(y) for y in outputs]'''

_TWIN_WHAT = "\n".join(textwrap.wrap(
    "The expected outputs are the layer's channels_last twin's, as parity's reference: the "
    "same layer in channels_last with the same weights, on the inputs transposed, its output "
    "transposed back. TensorFlow has no channels_first convolution on the CPU that is right "
    "everywhere (without oneDNN it refuses NCHW; Keras adds some biases along the wrong "
    "axis), so Keras' own channels_first output is shown beside it where TensorFlow can "
    "compute it.", 92, break_long_words=False, break_on_hyphens=False))


def _twin_perm(spec: LayerSpec, source: Artifact) -> tuple[int, ...] | None:
    """The permutation to a channels_first convolution's channels_last twin, where the
    stage's Keras model is the case's one layer; None otherwise."""
    found = channels_last_twin(spec)
    if found is None or source.format != "keras" or len(source.model.inputs) != 1:
        return None
    return tuple(int(axis) for axis in found[1])


def _check_twin(model, inputs, reference, perm, tolerance: Tolerance) -> None:
    """Runs the script's twin here: it must give parity's reference (within the tolerance
    the script judges with), or the script would judge against other numbers."""
    import keras

    namespace = {"keras": keras, "np": np, "TWIN_PERM": perm}
    exec(TWIN_CODE, namespace)  # noqa: S102  (parity's own code text, the script's twin)
    try:
        outputs = namespace["twin_reading"](model, inputs)
        same = len(outputs) == len(reference) and all(
            np.shape(a) == np.shape(e) and np.allclose(a, e, atol=tolerance.atol,
                                                       rtol=tolerance.rtol, equal_nan=True)
            for a, e in zip(outputs, reference))
    except Exception as exc:
        raise ScriptError(f"the script's channels_last twin cannot be computed "
                          f"({type(exc).__name__}: {exc})") from exc
    if not same:
        raise ScriptError("the script's channels_last twin computes other numbers than "
                          "parity's reference")


_ONNX_MAIN = '''
def main():
    step("reading the embedded case")
    data = np.load(io.BytesIO(base64.b64decode("".join(DATA))), allow_pickle=False)
    inputs = [data[f"input_{{i}}"] for i in range(N_INPUTS)]
    expected = [data[f"expected_{{i}}"] for i in range(len(data.files)) if f"expected_{{i}}" in data]
    model = onnx.load_model_from_string(data["onnx_model"].tobytes())
{check}
    try:
{convert}
    except Exception as exc:
        return report("conversion_error", f"{stage} raised {{type(exc).__name__}}: {{exc}}")
{run}
    step("comparing the outputs")
    return check(actual, expected)
'''




_PLUGIN_LOAD = '''
def load_stage():
    """The converter parity ran as STAGE: importing the plugin modules registers it. They
    are imported from where they were when this script was written, if that folder is here,
    else from this process's own path (PYTHONPATH)."""
    for root in PLUGIN_ROOTS.values():
        if os.path.isdir(root) and root not in sys.path:
            sys.path.insert(0, root)
    for name in PLUGINS:
        importlib.import_module(name)
    return get(STAGE)
'''

_PLUGIN_MAIN = '''
def main():
    step(f"loading stage {{STAGE}}")
    try:
        converter = load_stage()
    except Exception as exc:
        print(f"cannot load stage {{STAGE}}: {{type(exc).__name__}}: {{exc}}\\n"
              f"(it is registered by {{', '.join(PLUGINS) or 'an installed entry point'}}: "
              f"make that importable, e.g. with PYTHONPATH)")
        return cannot_run(exc)
    step("reading the embedded case")
    data = np.load(io.BytesIO(base64.b64decode("".join(DATA))), allow_pickle=False)
    inputs = [data[f"input_{{i}}"] for i in range(N_INPUTS)]
    expected = [data[f"expected_{{i}}"] for i in range(len(data.files)) if f"expected_{{i}}" in data]
{load}
    try:
        converted = converter.convert(source, ConvertOptions(opset=OPSET))
    except Exception as exc:
        return report("conversion_error", f"{{STAGE}} raised {{type(exc).__name__}}: {{exc}}")
{run}
    step("comparing the outputs")
    return check(actual, expected)
'''

_PLUGIN_LOAD_SOURCE = {
    "keras": '''\
    model = keras.models.model_from_json(json.dumps(MODEL_CONFIG))
    model.set_weights([data[f"weight_{{i}}"] for i in range({n_weights})])
    source = Artifact("keras", model, INPUT_NAMES)''',
    "onnx": '''\
    model = onnx.load_model_from_string(data["onnx_model"].tobytes())
{check}
    source = Artifact("onnx", model, INPUT_NAMES)''',
    "mat": '''\
    scratch = tempfile.TemporaryDirectory(prefix="parity-mat-")  # gone as main returns
    path = os.path.join(scratch.name, "model.mat")
    with open(path, "wb") as fh:
        fh.write(data["mat_file"].tobytes())
    source = Artifact("mat", pathlib.Path(path), INPUT_NAMES)''',
}

# As parity's runners (harness/runtimes/) run the stage's result.
_PLUGIN_RUN = {
    "onnx": ort_run("payload", prepare="""\
        proto = converted.model
        payload = proto if isinstance(proto, (bytes, str)) else proto.SerializeToString()"""),
    "torch": torch_run("converted.model", f"converted.input_names if converted.meta.get("
                                          f"{CALLED_BY_NAME!r}) else None"),
}


def _custom_code(custom: set[str]) -> tuple[list[str], list[str]]:
    """Code defining the custom Keras objects a config uses, and a note on those it cannot."""
    defined, missing = [], []
    for name in sorted(custom):
        if name in CUSTOM_OBJECTS:
            defined.append(textwrap.dedent(CUSTOM_OBJECTS[name]).strip())
        else:
            missing.append(name)
    notes = []
    if missing:
        notes.append(
            f"# NEEDS custom Keras objects this script does not define: {', '.join(missing)}.\n"
            f"# Register them (keras.saving.register_keras_serializable) before main() runs.")
    return defined, notes


_TF_QUIET = ['os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quieter TensorFlow', ""]
_KERAS_DATA = "# -- the case's data: the Keras model's config, its weights and the inputs --"
_ONNX_DATA = "# -- the case's data: the ONNX model, the inputs and the expected outputs --"
_MAT_DATA = "# -- the case's data: the .mat file, the inputs and the expected outputs --"


def _keras_script(stage: str, recipe: ScriptRecipe, config: dict, custom: set[str],
                  n_weights: int, opset: int, perm: tuple[int, ...] | None, embedded: bool,
                  device: str, converter=None) -> dict[str, Any]:
    """``perm``: the case's channels_last twin computes the reference; ``embedded``: a
    second reading (XLA's) travels with the script; neither: Keras computes it. A stage that
    makes a TFLite flatbuffer gets the LiteRT run (_TFLITE_MAIN), the others onnxruntime."""
    defined, notes = _custom_code(custom)
    expected = (_TWIN_EXPECTED if perm is not None else _EMBEDDED_EXPECTED if embedded
                else _KERAS_EXPECTED)
    tflite = converter is not None and converter.target == "tflite"
    if tflite:
        savedmodel = converter.source == "savedmodel"
        main = _TFLITE_MAIN.format(n_weights=n_weights, stage=stage, convert=recipe.convert,
                                   expected=expected,
                                   export=_SAVEDMODEL_EXPORT if savedmodel else "")
    else:
        main = _KERAS_MAIN.format(n_weights=n_weights, stage=stage, convert=recipe.convert,
                                  expected=expected,
                                  run=ort_run("proto.SerializeToString()", as_written=True))
    config_text = pprint.pformat(config, width=96, sort_dicts=False)
    twin = ([f"TWIN_PERM = {perm!r}  # a channels_first input to its channels_last twin's"]
            if perm is not None else [])
    runtime = ([f"SIGNATURE = {TFLITE_SIGNATURE!r}  # the signature parity runs, by name"]
               if tflite else [f"PROVIDERS = {providers(device)!r}", f"OPSET = {opset}"])
    return {"stage": stage,
            "std": ["base64", "io", "json", "os", "sys",
                    *(["tempfile"] if tflite and savedmodel else [])],
            "env": _TF_QUIET, "imports": list(recipe.imports),
            "constants": [*runtime, *twin, *notes],
            "defined": [*defined, KERAS_READING_CODE, *([TWIN_CODE] if perm else []),
                        *([FIRST_ERROR_CODE] if tflite else []), *recipe.defined],
            "main": main, "data_title": _KERAS_DATA, "data": f"MODEL_CONFIG = {config_text}\n"}


def _onnx_script(stage: str, recipe: ScriptRecipe, device: str) -> dict[str, Any]:
    main = _ONNX_MAIN.format(stage=stage, convert=recipe.convert,
                             run=torch_run("module", recipe.input_names),
                             check=onnxruntime_check("onnxruntime on the same ONNX model",
                                                     "PROVIDERS"))
    return {"stage": stage, "std": ["base64", "io", "sys"], "env": [],
            "imports": list(recipe.imports),
            "constants": [f"DEVICE = {device!r}",
                          "PROVIDERS = ['CPUExecutionProvider']  # onnxruntime: a check only"],
            "defined": [], "main": main, "data_title": _ONNX_DATA, "data": ""}


def _plugin_script(stage: str, converter, plugins: list[str], input_names: list[str],
                   config: dict | None, custom: set[str], opset: int, n_weights: int,
                   device: str) -> dict[str, Any]:
    keras_source = converter.source == "keras"
    onnx_source = converter.source == "onnx"
    mat_source = converter.source == "mat"
    torch_target = converter.target == "torch"
    imports = ["from harness.core.frameworks import prepare_imports", "",
               "prepare_imports()  # in parity's order: torch, onnx2torch, torchvision", "",
               *(["import keras"] if keras_source else []), "import numpy as np",
               *(["import onnx"] if onnx_source else []),
               *(["import onnxruntime as ort"] if not mat_source or not torch_target else []),
               *(["import torch"] if torch_target else []), "",
               "# The one piece of parity a plugin stage needs: its converter protocol.",
               "from harness.converters import Artifact, ConvertOptions, get"]
    if torch_target:
        device_lines = [f"DEVICE = {device!r}"]
    else:
        device_lines = [f"PROVIDERS = {providers(device)!r}"]
    if onnx_source:
        device_lines.append("CHECK_PROVIDERS = ['CPUExecutionProvider']  # onnxruntime: a check")
    defined, notes = _custom_code(custom)
    roots = _plugin_roots(plugins)
    constants = [
        *device_lines,
        f"STAGE = {stage!r}",
        f"PLUGINS = {plugins!r}  # the modules that register STAGE (the run's --parity-plugins)",
        f"PLUGIN_ROOTS = {roots!r}  # where they were imported from for this script",
        f"INPUT_NAMES = {input_names!r}",
        f"OPSET = {opset}",
        *notes,
    ]
    load = _PLUGIN_LOAD_SOURCE[converter.source].format(
        n_weights=n_weights,
        check=onnxruntime_check("onnxruntime on the ONNX model the stage starts from",
                                "CHECK_PROVIDERS"))
    main = _PLUGIN_LOAD + "\n" + _PLUGIN_MAIN.format(load=load, run=_PLUGIN_RUN[converter.target])
    data = ""
    if keras_source:
        data = f"MODEL_CONFIG = {pprint.pformat(config, width=96, sort_dicts=False)}\n"
    return {"stage": stage,
            "std": ["base64", "importlib", "io", *(["json"] if keras_source else []), "os",
                    *(["pathlib"] if mat_source else []), "sys",
                    *(["tempfile"] if mat_source else [])],
            "env": [], "imports": imports, "constants": constants,
            "defined": defined, "main": main,
            "data_title": (_KERAS_DATA.replace("the inputs", "the inputs, the expected outputs")
                           if keras_source else _MAT_DATA if mat_source else _ONNX_DATA),
            "data": data}
