"""The pieces every standalone reproducer is made of (``parity repro --script``).

A reproducer is one Python file: a docstring saying what it reproduces, its imports, the
case's constants, the code it runs and the case's data (the base64 of an ``.npz``).
Each source writes its own ``ScriptParts`` (Keras and plugin stages in
``harness.repro_script``, ONNX cases in ``harness.sources.onnx.repro``) from the pieces here,
which every script shares: the comparator, the torch run, the choice of leg, the words for
a script that cannot be written, the guard that keeps a crash from reading as a reproduction;
``assemble`` writes every script in the same layout. Text only: nothing here runs a
framework.

Exit codes, every script alike: 1 when the failure reproduces (a line starting REPRODUCED),
0 when it does not, 3 when this machine cannot run the case (one CANNOT RUN line: a framework
that does not import, a kernel this CPU lacks, a configuration the framework refuses here, any
exception outside the conversion and run the script reproduces). Python exits 1 on an
uncaught exception, so no exception is left uncaught: the guard (``GUARD_CODE``) comes before
the first framework import.
"""

from __future__ import annotations

import base64
import io
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.core import skeleton
from harness.core.compare import Tolerance
from harness.core.skeleton import SkeletonError
from harness.core.taxonomy import FAILING

DEFAULT_MAX_INLINE_BYTES = 2 * 1024 * 1024
CANNOT_RUN = 3  # a script's exit code where this machine cannot run its case
EXIT_CODES_TEXT = ("Exits 1 when the failure reproduces, 0 when it does not, and 3 with a "
                   "CANNOT RUN line when this machine cannot run the case.")


class ScriptError(ValueError):
    """No script can be written for this case; the message says why and what to do instead."""


@dataclass
class ScriptParts:
    """One script before it is assembled (``assemble``), in the order
    it is written: the docstring, standard-library modules, environment lines, framework
    imports, the constants (``early`` ones before the tolerance, the others after
    ``N_INPUTS``), code the case defines, the comparator, ``main`` and the data."""

    header: str  # the docstring's text
    case_id: str
    spec_json: str  # the spec, canonical JSON
    stage: str
    leg_name: str
    tolerance: Tolerance
    n_inputs: int
    payload: bytes  # the .npz the script embeds
    main: str
    std: list[str] = field(default_factory=list)  # ``import X`` of the standard library
    env: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    early: list[str] = field(default_factory=list)
    constants: list[str] = field(default_factory=list)
    defined: list[str] = field(default_factory=list)
    compare: str = ""  # COMPARE_CODE and what the source adds to it
    data_title: str = ""
    data: str = ""  # lines of data written before DATA (a Keras model's config)


# The comparator every script carries, with ``check`` (every output) and ``report`` (the
# verdict line and the exit status).
COMPARE_CODE = '''
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

# Every script's guard, written before its framework imports: the skeleton's guard module,
# which the entries' own scripts start with too (harness.core.skeleton). Python exits 1 on an
# uncaught exception, and 1 says the failure reproduced: an exception that is not the bug's
# own behaviour becomes one CANNOT RUN line and exit 3 instead.
GUARD_MODULES, GUARD_CODE = skeleton.guard()
if f"\nCANNOT_RUN = {CANNOT_RUN}  #" not in GUARD_CODE:
    raise SkeletonError(f"{skeleton.SKELETON / 'guard.py'} must set CANNOT_RUN = {CANNOT_RUN}")


# How every script runs a PyTorch module on its inputs and normalises what it returns (a
# tensor, or a tuple, list or dict of tensors) into ``actual``, as parity's torch runner
# does; ``{module}`` is the expression of the module. Indented for the body of ``main``.
TORCH_RUN = '''\
    try:
        module = {module}.to(DEVICE).eval()
        tensors = [torch.from_numpy(np.array(x, order="C")).to(DEVICE) for x in inputs]
        with torch.inference_mode():
            outputs = module(*tensors)
    except Exception as exc:
        return report("runtime_error", f"torch raised {{type(exc).__name__}}: {{exc}}")
    # An ONNX graph never writes its inputs (parity's InputWritten, harness.runtimes.torch).
    written = [number for number, (x, t) in enumerate(zip(inputs, tensors))
               if t.detach().cpu().numpy().tobytes() != np.array(x, order="C").tobytes()]
    if written:
        return report("runtime_error", f"the module wrote into its inputs {{written}} in place")
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    elif isinstance(outputs, dict):
        outputs = list(outputs.values())
    actual = [y.detach().cpu().numpy() for y in outputs]'''


# How a script shows onnxruntime's reading of the ONNX model it starts from against the
# expected outputs: a check printed beside the verdict, not the verdict.
ONNXRUNTIME_CHECK = '''\
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers={providers})
        names = [i.name for i in session.get_inputs()]
        for number, y in enumerate(session.run(None, dict(zip(names, inputs)))):
            category, text = compare(y, expected[number])
            print(f"{title}, output {{number}}: {{category or 'ok'}}: {{text}}")
    except Exception as exc:
        print(f"onnxruntime cannot run the ONNX model either: {{type(exc).__name__}}: {{exc}}")'''


def onnxruntime_check(title: str, providers: str) -> str:
    """The check of ``model`` with onnxruntime (``providers``: the constant's name)."""
    return ONNXRUNTIME_CHECK.format(title=title, providers=providers)


# How a script runs an ONNX model with onnxruntime as parity's runner does, binding ``actual``:
# ``prepare`` binds what ``payload`` (an expression: the serialised model) reads; ``as_written``
# turns the graph optimisations off, as a leg that reads the model as written.
ORT_RUN = '''\
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3{prepare}
        session = ort.InferenceSession({payload}, options, providers=PROVIDERS)
    except Exception as exc:
        return report("load_error",
                      f"onnxruntime cannot load the model: {{type(exc).__name__}}: {{exc}}")
    try:
        names = [i.name for i in session.get_inputs()]
        actual = session.run(None, dict(zip(names, inputs)))
    except Exception as exc:
        return report("runtime_error", f"onnxruntime raised {{type(exc).__name__}}: {{exc}}")'''
AS_WRITTEN = '''
        # as parity's leg: the model as written, onnxruntime's graph optimisations off
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL'''


def ort_run(payload: str, prepare: str = "", as_written: bool = False) -> str:
    """The onnxruntime run of the serialised model ``payload`` (an expression), binding
    ``actual``; ``prepare``: statements before it (indented for the ``try``)."""
    return ORT_RUN.format(payload=payload,
                          prepare=(AS_WRITTEN if as_written else "")
                          + ("\n" + prepare if prepare else ""))


# A module whose converter documents a call by the model's input names is called so too,
# where its positional call agrees, as parity does (harness.run.second_call): ``{names}`` is
# an expression of the names, or of None where the module takes none. Follows TORCH_RUN; the
# script's check then judges the call by name.
TORCH_BY_NAME = '''
    names = {names}
    if names:
        verdict = check(actual, expected)
        if verdict:
            return verdict
        call = "module(**{{" + ", ".join(f"{{name!r}}: ..." for name in names) + "}})"
        print(f"called positionally; now once more, by its inputs' names, {{call}}:")
        step("calling the module by its inputs' names")
        try:
            with torch.inference_mode():
                outputs = module(**dict(zip(names, tensors)))
        except Exception as exc:
            return report("runtime_error", f"called by its inputs' names, {{call}}, torch raised "
                          f"{{type(exc).__name__}}: {{exc}}")
        if isinstance(outputs, torch.Tensor):
            outputs = [outputs]
        elif isinstance(outputs, dict):
            outputs = list(outputs.values())
        actual = [y.detach().cpu().numpy() for y in outputs]'''


def torch_run(module: str, names: str | None = None) -> str:
    """The torch run of ``module`` (an expression), binding ``actual``; with ``names`` (an
    expression of the model's input names, or of None) the module is called by them too."""
    run = TORCH_RUN.format(module=module)
    return run if names is None else run + TORCH_BY_NAME.format(names=names)


def providers(device: str) -> list[str]:
    """onnxruntime's execution providers for a device, as parity's runner picks them."""
    return (["CUDAExecutionProvider", "CPUExecutionProvider"] if device == "cuda"
            else ["CPUExecutionProvider"])


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def chosen_leg(case, leg_name: str | None = None):
    """The leg named, or else the first that failed (an xfail or xpass included); a case
    that passes gives its first leg. A ScriptError when there is none."""
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
    return chosen


def leg_tolerance(harness, spec, leg, leg_name: str) -> Tolerance:
    """The tolerance the leg was judged with, or the policy's for it."""
    if leg is not None and leg.tolerance is not None:
        return leg.tolerance
    return harness.policy.for_spec(spec, leg_name, harness.device)


def saw(leg, *, per: str | None = None) -> str:
    """What parity saw of the leg, one line: its verdict, category and metrics (or the
    first line of its message), its known issue and, with ``per``, its diagnosis."""
    if leg is None or leg.verdict == "pass":
        return "pass (every output within tolerance)"
    text = f"{leg.verdict}, {leg.category}"
    metrics = leg.metrics or {}
    if "max_abs" in metrics and leg.category == "numeric_mismatch":
        text += (f": max_abs={metrics['max_abs']:.6g} at {tuple(metrics['max_abs_index'])}, "
                 f"max_rel={metrics['max_rel']:.6g}")
        if "max_rel_index" in metrics:
            text += f" at {tuple(metrics['max_rel_index'])}"
    elif leg.message:
        text += ": " + leg.message.splitlines()[0][:300]
    if leg.known_issue:
        text += f"; known issue {leg.known_issue['id']} ({leg.known_issue['url']})"
    if per is not None and leg.diagnosis and leg.diagnosis.get("summary"):
        text += f"; per {per}: {leg.diagnosis['summary']}"
    return text


def too_big(case_id: str, payload: bytes, max_bytes: int, golden_folder: Path | None,
            files: str) -> ScriptError | None:
    """The error for a case whose data is too big to inline (None when it is not):
    ``files`` names what to attach from its golden folder instead."""
    if len(payload) <= max_bytes:
        return None
    where = (f"attach the case's files from the golden store instead ({golden_folder}: "
             f"{files})" if golden_folder is not None and golden_folder.is_dir()
             else "the case is not in the golden store, so attach the model files yourself, "
                  "or raise the limit with --max-inline-mb")
    return ScriptError(
        f"case {case_id} is too big to inline in a script: its model and data take "
        f"{len(payload) / 2**20:.1f} MB, the limit is {max_bytes / 2**20:g} MB; {where}")


def spec_block(spec_json: str) -> str:
    """The spec's JSON wrapped for a docstring."""
    return textwrap.fill(spec_json, 92, initial_indent="    ", subsequent_indent="    ",
                         break_long_words=False, break_on_hyphens=False)


def assemble(parts: ScriptParts) -> str:
    """The script's text, from its parts (the same layout for every source's)."""
    encoded = base64.b64encode(parts.payload).decode("ascii")
    chunks = "\n".join(f'    "{encoded[i:i + 96]}",' for i in range(0, len(encoded), 96))
    tolerance = parts.tolerance
    lines = [
        "#!/usr/bin/env python3",
        f'r"""{parts.header}\n"""',
        "",
        *(f"import {module}" for module in sorted({*parts.std, *GUARD_MODULES})),
        GUARD_CODE.rstrip(),
        "",
        "",
        *parts.env,
        *parts.imports,
        "",
        f"CASE_ID = {parts.case_id!r}",
        f"SPEC = {parts.spec_json!r}",
        *parts.early,
        f"ATOL, RTOL = {tolerance.atol!r}, {tolerance.rtol!r}  # "
        f"{' '.join(tolerance.rule.split())}",  # a rule's text may span lines
        f"N_INPUTS = {parts.n_inputs}",
        *parts.constants,
        *(f"\n\n{code}" for code in parts.defined),
        "\n" + parts.compare.rstrip(),
        "\n" + parts.main.rstrip(),
        "",
        "",
        parts.data_title,
        "",
        parts.data + f"DATA = (  # base64 of an .npz ({len(parts.payload)} bytes)\n{chunks}\n)",
        "",
        "if __name__ == \"__main__\":",
        f'    print(f"parity case {{CASE_ID}}, stage {parts.stage} (leg {parts.leg_name})")',
        "    sys.exit(guarded(main))",
        "",
    ]
    return "\n".join(lines)
