"""Standalone reproducers of ONNX cases (``parity repro CASE_ID --script out.py``).

A script for an ONNX case embeds the ONNX model, the inputs and the reference outputs (the
base64 of an ``.npz``), and imports only numpy, onnx, onnxruntime and the failing stage's
frameworks, never parity. It first shows the source's two readings of the model against the
embedded reference (onnxruntime with every graph optimisation off, and onnx's
``ReferenceEvaluator``), then reproduces the stage the failure is blamed on:

- an ONNX → PyTorch stage that declares a ``ScriptRecipe`` (``onnx2torch``,
  ``onnx2pytorch``): the recipe's conversion call, the module run as parity's runner runs
  it, compared with the reference;
- ``ort-optimized``: onnxruntime with every graph optimisation on, compared with the
  reference (a difference blames onnxruntime's optimiser);
- the source itself (the leg ``onnx``: onnxruntime with optimisations off disagrees with the
  reference evaluator): the two readings compared with each other, for onnxruntime's or
  onnx's tracker.

A stage with no template here (a plugin's) returns None, and ``harness.repro_script``
scripts it through parity's converter protocol. The script compares with the tolerance
parity applied and exits 1 when the failure reproduces, 0 when it does not.
"""

from __future__ import annotations

import base64
import json
import platform
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.compare import Tolerance
from harness.repro_script import COMPARE_CODE, npz_bytes

SOURCE = "onnx"
ORT_OPTIMIZED = "ort-optimized"
DEFAULT_MAX_INLINE_BYTES = 2 * 1024 * 1024
BASE_IMPORTS = ("import numpy as np", "import onnx", "import onnxruntime as ort",
                "from onnx.reference import ReferenceEvaluator")
BASE_PACKAGES = ("numpy", "onnx", "onnxruntime")


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
    from harness.repro_script import ScriptError
    from harness.run.pipeline import FAILING

    legs = {leg.leg: leg for leg in case.legs}
    if leg_name is not None:
        chosen = legs.get(leg_name)
        if chosen is None:
            raise ScriptError(f"case {case.spec.case_id} has no leg {leg_name!r}; its legs: "
                              f"{', '.join(legs) or 'none'}")
    else:
        failed = [leg for leg in case.legs if leg.verdict in (*FAILING, "xfail", "xpass")]
        chosen = failed[0] if failed else (case.legs[0] if case.legs else None)
    if chosen is None:
        raise ScriptError(f"case {case.spec.case_id} ran no leg")
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
    from harness.converters import get
    from harness.core.frameworks import versions
    from harness.repro_script import ScriptError

    spec = case.spec
    target = choose_target(harness, case, leg_name)
    recipe = None
    if target.stage not in (SOURCE, ORT_OPTIMIZED):
        converter = get(target.stage)
        recipe = getattr(type(converter), "script", None)
        if recipe is None or (converter.source, converter.target) != ("onnx", "torch"):
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
    if len(payload) > max_bytes:
        where = (f"attach the case's files from the golden store instead ({golden_folder}: "
                 f"model.onnx and test_data_set_0/, in onnx's backend-test layout)"
                 if golden_folder is not None and golden_folder.is_dir()
                 else "the case is not in the golden store, so attach the model and data "
                      "yourself, or raise the limit with --max-inline-mb")
        raise ScriptError(
            f"case {spec.case_id} is too big to inline in a script: its model and data take "
            f"{len(payload) / 2**20:.1f} MB, the limit is {max_bytes / 2**20:g} MB; {where}")
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
    else:
        what, direction = (f"Converts the embedded ONNX model with stage {target.stage} as "
                           f"parity does, runs the module with PyTorch and compares it with "
                           f"the embedded reference ({reference_note})."), "ONNX -> PyTorch"
    header = _header(spec, target, tolerance, harness.device, made_with, what, direction,
                     reference_note)
    return _assemble(header, spec, target, recipe, payload, len(reading.inputs), tolerance,
                     harness.device)


def _tolerance(harness, spec, target: OnnxTarget) -> Tolerance:
    if target.leg is not None and target.leg.tolerance is not None:
        return target.leg.tolerance
    return harness.policy.for_spec(spec, target.leg_name, harness.device)


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
    leg = target.leg
    if leg is None or leg.verdict == "pass":
        saw = "pass (every output within tolerance)"
    else:
        saw = f"{leg.verdict}, {leg.category}"
        metrics = leg.metrics or {}
        if "max_abs" in metrics and leg.category == "numeric_mismatch":
            saw += (f": max_abs={metrics['max_abs']:.6g} at {tuple(metrics['max_abs_index'])}, "
                    f"max_rel={metrics['max_rel']:.6g}")
        elif leg.message:
            saw += ": " + leg.message.splitlines()[0][:300]
        if leg.known_issue:
            saw += f"; known issue {leg.known_issue['id']} ({leg.known_issue['url']})"
        if leg.diagnosis and leg.diagnosis.get("summary"):
            saw += f"; per node: {leg.diagnosis['summary']}"
    versions = ", ".join([f"python {platform.python_version()}",
                          *(f"{p} {v}" for p, v in made_with.items())])
    spec_text = textwrap.fill(json.dumps(spec.to_json(), sort_keys=True), 92,
                              initial_indent="    ", subsequent_indent="    ",
                              break_long_words=False, break_on_hyphens=False)
    lines = [
        f"Reproducer for parity case {spec.case_id}: stage {target.stage} ({direction}).",
        "",
        *_wrap(f"case:       {spec.describe()}"),
        *_wrap(f"leg:        {target.leg_name} (path {target.path.name}), blamed on stage "
               f"{target.stage}"),
        *_wrap(f"parity saw: {saw}"),
        *_wrap(f"reference:  {reference}"),
        *_wrap(f"tolerance:  atol={tolerance.atol:g} rtol={tolerance.rtol:g} "
               f"({tolerance.rule})"),
        f"device:     {device}",
        *_wrap(f"made with:  {versions}"),
        "",
        "spec (parity.spec/1; weights and inputs are derived from its seed):",
        spec_text,
        "",
        *_wrap(what),
        "Exits 1 when the failure reproduces, 0 when it does not.",
    ]
    return "\n".join(lines).replace('"""', r'\"\"\"')


_COMPARE = COMPARE_CODE + '''

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
    evaluator = ReferenceEvaluator(model)
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
    return check(actual, expected)
'''

_TORCH_BODY = '''\
    readings(model, inputs, expected)
    try:
{convert}
    except Exception as exc:
        return report("conversion_error", f"{{STAGE}} raised {{type(exc).__name__}}: {{exc}}")
    try:
        tensors = [torch.from_numpy(np.array(x, order="C")).to(DEVICE) for x in inputs]
        with torch.inference_mode():
            outputs = module.to(DEVICE).eval()(*tensors)
    except Exception as exc:
        return report("runtime_error", f"torch raised {{type(exc).__name__}}: {{exc}}")
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    elif isinstance(outputs, dict):
        outputs = list(outputs.values())
    print(f"{{STAGE}} (PyTorch) against the reference:")
    return check([y.detach().cpu().numpy() for y in outputs], expected)
'''


def _providers(device: str) -> list[str]:
    return (["CUDAExecutionProvider", "CPUExecutionProvider"] if device == "cuda"
            else ["CPUExecutionProvider"])


def _assemble(header: str, spec, target: OnnxTarget, recipe, payload: bytes, n_inputs: int,
              tolerance: Tolerance, device: str) -> str:
    from harness.core.spec import canonical_json

    if recipe is not None:
        imports = list(dict.fromkeys([*recipe.imports, *BASE_IMPORTS]))
        imports = [line for line in imports if line]  # a recipe separates groups by ""
        if "import torch" not in imports:
            imports.append("import torch")
        main = _LOAD + _TORCH_BODY.format(convert=recipe.convert)
    else:
        imports = list(BASE_IMPORTS)
        main = _SOURCE_MAIN if target.stage == SOURCE else _ORT_MAIN
    encoded = base64.b64encode(payload).decode("ascii")
    chunks = "\n".join(f'    "{encoded[i:i + 96]}",' for i in range(0, len(encoded), 96))
    parts = [
        "#!/usr/bin/env python3",
        f'r"""{header}\n"""',
        "",
        "import base64",
        "import io",
        "import sys",
        "",
        *sorted(line for line in imports if line.startswith("import ")),
        *sorted(line for line in imports if line.startswith("from ")),
        "",
        f"CASE_ID = {spec.case_id!r}",
        f"SPEC = {canonical_json(spec.to_json())!r}",
        f"STAGE = {target.stage!r}",
        f"ATOL, RTOL = {tolerance.atol!r}, {tolerance.rtol!r}  # "
        f"{' '.join(tolerance.rule.split())}",  # a rule's text may span lines
        f"N_INPUTS = {n_inputs}",
        f"DEVICE = {device!r}",
        f"PROVIDERS = {_providers(device)!r}",
        "CHECK_PROVIDERS = ['CPUExecutionProvider']  # the source's readings, as parity's",
        "\n" + _COMPARE.rstrip(),
        "\n" + main.rstrip(),
        "",
        "",
        "# -- the case's data: the ONNX model, the inputs and the reference outputs --",
        "",
        f"DATA = (  # base64 of an .npz ({len(payload)} bytes)\n{chunks}\n)",
        "",
        'if __name__ == "__main__":',
        f'    print(f"parity case {{CASE_ID}}, stage {target.stage} (leg {target.leg_name})")',
        "    sys.exit(main())",
        "",
    ]
    return "\n".join(parts)
