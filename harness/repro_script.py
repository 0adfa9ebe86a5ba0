"""Standalone reproducers: one case's failing stage as a script for a converter's bug tracker.

``parity repro CASE_ID --script out.py`` writes a script that imports only the frameworks of
the stage the failure is blamed on, never parity itself:

- a stage that takes a Keras model (``tf2onnx``, ``keras-onnx``): the Keras model is rebuilt
  from its JSON config (``keras.models.model_from_json``, no lambdas) with the weights and
  inputs embedded, converted exactly as parity converts it (same opset, same input
  signature), run with onnxruntime and compared with Keras' own output;
- a stage that takes an ONNX model (``onnx2torch``, ``onnx2pytorch``): the ONNX model, the
  inputs and the reference outputs are embedded; the script converts, runs with PyTorch and
  compares.

Arrays travel as the base64 of an ``.npz`` written with ``np.savez`` and read back with
``allow_pickle=False``. The script compares with the tolerance parity applied, prints what it
finds (the category, the max abs/rel error and where, or the exception) and exits 1 when the
failure reproduces, 0 when it does not.
"""

from __future__ import annotations

import base64
import io
import json
import platform
import pprint
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.compare import Tolerance
from harness.converters import Artifact, ConversionPath, get
from harness.frameworks import versions
from harness.pipeline import FAILING, CaseResult, Harness, LegResult
from harness.spec import LayerSpec, canonical_json

DEFAULT_MAX_INLINE_BYTES = 2 * 1024 * 1024

# The stages a script can reproduce, by the module of their built-in converter; a converter
# registered from elsewhere (even under a built-in's name) is not one the script can call.
KERAS_STAGES = {"tf2onnx": "harness.converters.keras_tf2onnx",
                "keras-onnx": "harness.converters.keras_export"}
ONNX_STAGES = {"onnx2torch": "harness.converters.onnx_to_torch",
               "onnx2pytorch": "harness.converters.onnx_to_pytorch"}
PACKAGES = {
    "tf2onnx": ("numpy", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"),
    "keras-onnx": ("numpy", "tensorflow", "keras", "onnx", "onnxruntime"),
    "onnx2torch": ("numpy", "onnx", "onnxruntime", "torch", "torchvision", "onnx2torch"),
    "onnx2pytorch": ("numpy", "onnx", "onnxruntime", "torch", "onnx2pytorch"),
}

# Objects parity registers with Keras' loader, as the code a script defines them with.
CUSTOM_OBJECTS = {
    "parity>gelu_tanh": '''
        @keras.saving.register_keras_serializable(package="parity", name="gelu_tanh")
        def gelu_tanh(x):  # parity's name for GELU's tanh approximation
            return keras.activations.gelu(x, approximate=True)
    ''',
}


class ScriptError(ValueError):
    """No script can be written for this case; the message says why and what to do instead."""


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
    path = next(p for p in harness.paths if p.name == chosen.path)
    stage = chosen.blame or chosen.stage
    if stage == path.source:
        raise ScriptError(
            f"leg {chosen.leg} fails in the source framework itself ({chosen.category}): the "
            f"Keras model does not compute what the layer documents, before any converter "
            f"ran, so a converter reproducer would show nothing (see README 'The reference'); "
            f"name a converter's leg with --leg to script that stage anyway")
    if stage not in path.stages:
        raise ScriptError(f"leg {chosen.leg} is blamed on stage {stage!r}, not in path {path.name}")
    name = path.legs()[path.stages.index(stage)]
    return Target(path, legs.get(name), name, stage)


def write_script(harness: Harness, case: CaseResult, *, leg_name: str | None = None,
                 max_bytes: int = DEFAULT_MAX_INLINE_BYTES,
                 golden_folder: Path | None = None) -> str:
    """The text of a standalone script reproducing ``case``'s failing stage."""
    spec = case.spec
    target = choose_target(harness, case, leg_name)
    converter = get(target.stage)
    module = type(converter).__module__
    if KERAS_STAGES.get(target.stage) != module and ONNX_STAGES.get(target.stage) != module:
        raise ScriptError(
            f"stage {target.stage!r} ({module}) is not one a standalone script can call; "
            f"scripts cover {', '.join([*KERAS_STAGES, *ONNX_STAGES])}")
    source, inputs, reference = harness.build_source(spec)
    parent = source
    for stage in target.path.stages[: target.path.stages.index(target.stage)]:
        parent = get(stage).convert(parent, harness.options)
    tolerance = _tolerance(harness, spec, target)
    header = _Header(spec, target, tolerance, harness, versions(PACKAGES[target.stage]))
    if target.stage in KERAS_STAGES:
        twin = _has_twin(spec)
        arrays, config, custom = _keras_payload(parent, inputs, reference if twin else None)
        body = _keras_script(target.stage, config, custom, len(parent.model.get_weights()),
                             harness.options.opset, twin)
    else:
        arrays = {"onnx_model": np.frombuffer(parent.model.SerializeToString(), np.uint8)}
        arrays.update({f"expected_{i}": y for i, y in enumerate(reference)})
        body = _onnx_script(target.stage)
    arrays.update({f"input_{i}": x for i, x in enumerate(inputs)})
    payload = _npz(arrays)
    if len(payload) > max_bytes:
        where = (f"attach the case's files from the golden store instead ({golden_folder}: "
                 f"model.keras, model.onnx, inputs.npz, expected.npz)"
                 if golden_folder is not None and golden_folder.is_dir()
                 else "the case is not in the golden store, so attach the model files "
                      "yourself, or raise the limit with --max-inline-mb")
        raise ScriptError(
            f"case {spec.case_id} is too big to inline in a script: its model and data take "
            f"{len(payload) / 2**20:.1f} MB, the limit is {max_bytes / 2**20:g} MB; {where}")
    return _assemble(header, body, payload, len(inputs), tolerance, harness.device)


# -- the pieces ----------------------------------------------------------------------------

def _tolerance(harness: Harness, spec: LayerSpec, target: Target) -> Tolerance:
    if target.leg is not None and target.leg.tolerance is not None:
        return target.leg.tolerance
    return harness.policy.for_case(spec.kind, target.leg_name, harness.device, spec.dtype,
                                   spec.attrs)


def _has_twin(spec: LayerSpec) -> bool:
    from harness.keras_source import channels_last_twin

    return channels_last_twin(spec) is not None


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


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

    from harness.keras_source import run_keras

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

    def text(self) -> str:
        spec, target, leg = self.spec, self.target, self.target.leg
        if leg is None or leg.verdict == "pass":
            saw = "pass (every output within tolerance)"
        else:
            saw = f"{leg.verdict}, {leg.category}"
            metrics = leg.metrics or {}
            if "max_abs" in metrics and leg.category == "numeric_mismatch":
                saw += (f": max_abs={metrics['max_abs']:.6g} at {tuple(metrics['max_abs_index'])}, "
                        f"max_rel={metrics['max_rel']:.6g} at {tuple(metrics['max_rel_index'])}")
            elif leg.message:
                saw += ": " + leg.message.splitlines()[0][:300]
            if leg.known_issue:
                saw += f"; known issue {leg.known_issue['id']} ({leg.known_issue['url']})"
        made_with = ", ".join([f"python {platform.python_version()}",
                               *(f"{p} {v}" for p, v in self.versions.items())])
        spec_text = textwrap.fill(json.dumps(spec.to_json(), sort_keys=True), 92,
                                  initial_indent="    ", subsequent_indent="    ",
                                  break_long_words=False, break_on_hyphens=False)
        lines = [
            f"Reproducer for parity case {spec.case_id}: stage {target.stage} "
            f"({'Keras -> ONNX' if target.stage in KERAS_STAGES else 'ONNX -> PyTorch'}).",
            "",
            *_wrap(f"case:       {spec.describe()}"),
            *_wrap(f"leg:        {target.leg_name} (path {target.path.name}), blamed on stage "
                   f"{target.stage}"),
            *_wrap(f"parity saw: {saw}"),
            *_wrap(f"tolerance:  atol={self.tolerance.atol:g} rtol={self.tolerance.rtol:g} "
                   f"({self.tolerance.rule})"),
            f"device:     {self.harness.device}",
            *_wrap(f"made with:  {made_with}"),
            "",
            "spec (parity.spec/1; weights and inputs are derived from its seed):",
            spec_text,
            "",
            *_WHAT[target.stage].format(opset=self.harness.options.opset).splitlines(),
            "Exits 1 when the failure reproduces, 0 when it does not.",
        ]
        return "\n".join(lines).replace('"""', r'\"\"\"')


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, 96, subsequent_indent=" " * 12, break_long_words=False,
                         break_on_hyphens=False)


_WHAT = {
    "tf2onnx": "Rebuilds the Keras model from its JSON config and the embedded weights, converts it\n"
               "with tf2onnx.convert.from_keras as parity does (opset {opset}, an input signature\n"
               "with a free batch dimension), runs the ONNX model with onnxruntime and compares it\n"
               "with Keras' own output for the embedded inputs.",
    "keras-onnx": "Rebuilds the Keras model from its JSON config and the embedded weights, exports it\n"
                  "with Keras' model.export(format='onnx', opset_version={opset}) as parity does,\n"
                  "runs the ONNX model with onnxruntime and compares it with Keras' own output.",
    "onnx2torch": "Converts the embedded ONNX model with onnx2torch.convert as parity does, runs it\n"
                  "with PyTorch and compares it with the embedded expected outputs (Keras' outputs\n"
                  "for the embedded inputs); onnxruntime on the same ONNX model is shown as a check.",
    "onnx2pytorch": "Converts the embedded ONNX model with onnx2pytorch.ConvertModel(experimental=True)\n"
                    "as parity does, runs it with PyTorch and compares it with the embedded expected\n"
                    "outputs (Keras' outputs); onnxruntime on the same ONNX model is shown as a check.",
}

_COMPARE = '''
def compare(actual, expected):
    """parity's comparator, reduced: shape, dtype, NaN/Inf positions, then values."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return "shape_mismatch", f"shape {actual.shape} != {expected.shape} (expected)"
    if actual.dtype != expected.dtype:
        return "dtype_mismatch", f"dtype {actual.dtype} != {expected.dtype} (expected)"
    if expected.size == 0:
        return None, "empty output"
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    nonfinite = ((np.isnan(a) != np.isnan(e)) | (np.isinf(a) != np.isinf(e))
                 | (np.isinf(a) & np.isinf(e) & (np.sign(a) != np.sign(e))))
    if nonfinite.any():
        i = tuple(int(k) for k in np.argwhere(nonfinite)[0])
        return "nonfinite_mismatch", (f"NaN/Inf positions differ at {int(nonfinite.sum())} "
                                      f"elements, first at {i}: {a[i]!r} vs {e[i]!r} (expected)")
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.where(np.isfinite(e), np.abs(a - e), 0.0)
        rel = np.where(np.isfinite(e) & (e != 0), err / np.abs(e), 0.0)
    bad = int((err > ATOL + RTOL * np.abs(e)).sum())
    i = tuple(int(k) for k in np.unravel_index(np.argmax(err), err.shape))
    j = tuple(int(k) for k in np.unravel_index(np.argmax(rel), rel.shape))
    return ("numeric_mismatch" if bad else None), (
        f"max_abs={err[i]:.6g} at {i} (got {a[i]:.6g}, expected {e[i]:.6g}), "
        f"max_rel={rel[j]:.6g} at {j}; {bad} / {err.size} elements beyond "
        f"atol={ATOL:g} + rtol={RTOL:g} * |expected|")


def check(actual, expected):
    if len(actual) != len(expected):
        return report("shape_mismatch", f"{len(actual)} outputs, expected {len(expected)}")
    results = [compare(a, e) for a, e in zip(actual, expected)]
    for number, (category, text) in enumerate(results):
        print(f"output {number}: {category or 'ok'}: {text}")
    failed = [(number, category, text) for number, (category, text) in enumerate(results)
              if category]
    if failed:
        number, category, text = failed[0]
        return report(category, f"output {number}: {text}")
    print("does not reproduce: every output is within the tolerance")
    return 0


def report(category, message):
    print(f"REPRODUCED: {category}: {message}")
    return 1
'''

_KERAS_MAIN = '''
def main():
    data = np.load(io.BytesIO(base64.b64decode("".join(DATA))), allow_pickle=False)
    inputs = [data[f"input_{{i}}"] for i in range(N_INPUTS)]
    model = keras.models.model_from_json(json.dumps(MODEL_CONFIG))
    model.set_weights([data[f"weight_{{i}}"] for i in range({n_weights})])
{expected}
    try:
{convert}
    except Exception as exc:
        return report("conversion_error", f"{stage} raised {{type(exc).__name__}}: {{exc}}")
    proto.ir_version = max(8, min(proto.ir_version, 10))  # as parity: onnxruntime loads IR <= 13
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(proto.SerializeToString(), options, providers=PROVIDERS)
    except Exception as exc:
        return report("load_error",
                      f"onnxruntime cannot load the model: {{type(exc).__name__}}: {{exc}}")
    try:
        names = [i.name for i in session.get_inputs()]
        actual = session.run(None, dict(zip(names, inputs)))
    except Exception as exc:
        return report("runtime_error", f"onnxruntime raised {{type(exc).__name__}}: {{exc}}")
    return check(actual, expected)
'''

_KERAS_EXPECTED = '''\
    outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    expected = [np.asarray(y) for y in outputs]  # Keras' own output is the reference'''

# A channels_first convolution: TensorFlow computes some of them wrongly on the CPU, so
# parity's reference is the same layer computed channels_last (README "The reference").
_TWIN_EXPECTED = '''\
    # The reference is the same layer computed channels_last: TensorFlow's CPU kernels get
    # some channels_first convolutions wrong, so Keras' own output is shown for comparison.
    expected = [data[f"expected_{i}"] for i in range(len(data.files)) if f"expected_{i}" in data]
    keras_out = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    keras_out = keras_out if isinstance(keras_out, (list, tuple)) else [keras_out]
    for number, y in enumerate(keras_out):
        category, text = compare(y, expected[number])
        print(f"Keras' own output {number} against the reference: {category or 'ok'}: {text}")'''

_CONVERT = {
    "tf2onnx": '''\
        signature = [tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=f"input_{i}")
                     for i, t in enumerate(model.inputs)]
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)''',
    "keras-onnx": '''\
        with tempfile.TemporaryDirectory() as tmp:
            model.export(f"{tmp}/model.onnx", format="onnx", verbose=False, opset_version=OPSET)
            proto = onnx.load(f"{tmp}/model.onnx")''',
}

_ONNX_MAIN = '''
def main():
    data = np.load(io.BytesIO(base64.b64decode("".join(DATA))), allow_pickle=False)
    inputs = [data[f"input_{{i}}"] for i in range(N_INPUTS)]
    expected = [data[f"expected_{{i}}"] for i in range(len(data.files)) if f"expected_{{i}}" in data]
    model = onnx.load_model_from_string(data["onnx_model"].tobytes())
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=PROVIDERS)
        names = [i.name for i in session.get_inputs()]
        for number, y in enumerate(session.run(None, dict(zip(names, inputs)))):
            category, text = compare(y, expected[number])
            print(f"onnxruntime on the same ONNX model, output {{number}}: {{category or 'ok'}}: "
                  f"{{text}}")
    except Exception as exc:
        print(f"onnxruntime cannot run the ONNX model either: {{type(exc).__name__}}: {{exc}}")
    try:
{convert}
    except Exception as exc:
        return report("conversion_error", f"{stage} raised {{type(exc).__name__}}: {{exc}}")
    try:
        tensors = [torch.from_numpy(np.ascontiguousarray(x)).to(DEVICE) for x in inputs]
        with torch.inference_mode():
            outputs = module.to(DEVICE).eval()(*tensors)
    except Exception as exc:
        return report("runtime_error", f"torch raised {{type(exc).__name__}}: {{exc}}")
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    elif isinstance(outputs, dict):
        outputs = list(outputs.values())
    return check([y.detach().cpu().numpy() for y in outputs], expected)
'''

_ONNX_CONVERT = {
    "onnx2torch": "        module = onnx2torch.convert(model)",
    "onnx2pytorch": '''\
        with warnings.catch_warnings():  # as parity: it warns about every domain it does not know
            warnings.simplefilter("ignore", UserWarning)
            module = ConvertModel(model, experimental=True)''',
}

_IMPORTS = {
    "tf2onnx": ["import keras", "import numpy as np", "import onnxruntime as ort",
                "import tensorflow as tf", "import tf2onnx"],
    "keras-onnx": ["import tempfile", "", "import keras", "import numpy as np", "import onnx",
                   "import onnxruntime as ort"],
    "onnx2torch": ["import numpy as np", "import onnx", "import onnx2torch",
                   "import onnxruntime as ort", "import torch"],
    "onnx2pytorch": ["import warnings", "", "import numpy as np", "import onnx",
                     "import onnxruntime as ort", "import torch",
                     "from onnx2pytorch import ConvertModel"],
}


def _keras_script(stage: str, config: dict, custom: set[str], n_weights: int, opset: int,
                  twin: bool) -> dict[str, Any]:
    defined, missing = [], []
    for name in sorted(custom):
        if name in CUSTOM_OBJECTS:
            defined.append(textwrap.dedent(CUSTOM_OBJECTS[name]).strip())
        else:
            missing.append(name)
    constants = [f"OPSET = {opset}"]
    if missing:
        constants.append(
            f"# NEEDS custom Keras objects this script does not define: {', '.join(missing)}.\n"
            f"# Register them (keras.saving.register_keras_serializable) before main() runs.")
    main = _KERAS_MAIN.format(n_weights=n_weights, stage=stage, convert=_CONVERT[stage],
                              expected=_TWIN_EXPECTED if twin else _KERAS_EXPECTED)
    config_text = pprint.pformat(config, width=96, sort_dicts=False)
    return {"stage": stage, "constants": constants, "defined": defined, "main": main,
            "data": f"MODEL_CONFIG = {config_text}\n"}


def _onnx_script(stage: str) -> dict[str, Any]:
    main = _ONNX_MAIN.format(stage=stage, convert=_ONNX_CONVERT[stage])
    return {"stage": stage, "constants": [], "defined": [], "main": main, "data": ""}


def _assemble(header: _Header, body: dict[str, Any], payload: bytes, n_inputs: int,
              tolerance: Tolerance, device: str) -> str:
    stage = body["stage"]
    encoded = base64.b64encode(payload).decode("ascii")
    chunks = "\n".join(f'    "{encoded[i:i + 96]}",' for i in range(0, len(encoded), 96))
    if stage in KERAS_STAGES:
        providers = (["CUDAExecutionProvider", "CPUExecutionProvider"] if device == "cuda"
                     else ["CPUExecutionProvider"])
        device_lines = [f"PROVIDERS = {providers!r}"]
    else:
        device_lines = [f"DEVICE = {device!r}",
                        "PROVIDERS = ['CPUExecutionProvider']  # onnxruntime: a check only"]
    env = ['os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quieter TensorFlow', ""] \
        if stage in KERAS_STAGES else []
    parts = [
        "#!/usr/bin/env python3",
        f'r"""{header.text()}\n"""',
        "",
        "import base64",
        "import io",
        "import json" if stage in KERAS_STAGES else None,
        "import os" if stage in KERAS_STAGES else None,
        "import sys",
        "",
        *env,
        *_IMPORTS[stage],
        "",
        f"CASE_ID = {header.spec.case_id!r}",
        f"SPEC = {canonical_json(header.spec.to_json())!r}",
        f"ATOL, RTOL = {tolerance.atol!r}, {tolerance.rtol!r}  # {tolerance.rule}",
        f"N_INPUTS = {n_inputs}",
        *device_lines,
        *body["constants"],
        *(f"\n\n{code}" for code in body["defined"]),
        "\n" + _COMPARE.rstrip(),
        "\n" + body["main"].rstrip(),
        "",
        "",
        ("# -- the case's data: the Keras model's config, its weights and the inputs --"
         if stage in KERAS_STAGES else
         "# -- the case's data: the ONNX model, the inputs and the expected outputs --"),
        "",
        body["data"] + f"DATA = (  # base64 of an .npz ({len(payload)} bytes)\n{chunks}\n)",
        "",
        "if __name__ == \"__main__\":",
        f'    print(f"parity case {{CASE_ID}}, stage {stage} (leg {header.target.leg_name})")',
        "    sys.exit(main())",
        "",
    ]
    return "\n".join(p for p in parts if p is not None)
