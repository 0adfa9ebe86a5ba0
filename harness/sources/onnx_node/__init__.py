"""The ``onnx-node`` source: ONNX's own backend node test cases, as a peer's test suite.

A spec of this source names one case of ``onnx.backend.test.case.node.collect_testcases()``
of the installed onnx (``test_cumsum_1d``): its kind is the case's name, its attributes the op
it tests and the opset it imports, its input shapes and dtype those of the case's data. The
reading is the case's model with its inputs. onnx's expected outputs play the part onnx's
reference evaluator plays for the drawn ``onnx`` source: onnxruntime reads the model with
every graph optimisation off, and where it meets the expected outputs as onnx's backend test
runner judges a runtime (``allclose`` at the case's own rtol 1e-3 and atol 1e-7: some expected
outputs are literals written to four decimals) its reading is the reference; where it does
not, the expected outputs are, and onnxruntime's reading becomes the ``onnx`` leg, which
fails (a known issue says whose it is). Where onnxruntime cannot run
the model at all, the expected outputs are the reference, and the refusal shows on the
``onnx>ort-optimized`` leg.

The case's paths start at ``onnx``, as a user's ONNX file's do (``start``): the ONNX source's
default paths (``onnx>onnx2torch``, ``onnx>onnx2pytorch``, ``onnx>ort-optimized``, and the
stages after a PyTorch module where the run extends them), or the ``onnx>...`` paths named
with ``--parity-paths`` (a plugin converter's). Known issues about those legs hold as for the
ONNX source's cases. Cases no reading can be compared with (random draws, training steps,
sequences, optionals, strings) are left out with their reason (``left_out``). Golden cases are
stored as the ONNX source stores its own: ONNX's backend-test layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness import sources
from harness.converters import Artifact
from harness.core.compare import Tolerance, worst_of
from harness.core.known_issues import register_attribute_defaults
from harness.core.onnx_schema import attribute_defaults
from harness.core.spec import LayerSpec
from harness.runtimes.onnxruntime import OnnxRuntimeRunner
from harness.sources import SourceError, SourceReading
from harness.sources.onnx_node.cases import (
    CaseNotFound,
    Entry,
    arrays,
    generate,
    index,
    installed_onnx,
)
from harness.sources.onnx_node.left_out import REASONS

NAME = "onnx-node"
START = "onnx"  # the paths of a node test case start where a drawn ONNX case's do
EXPECTED_READING = ("onnxruntime (optimisations off) differs from onnx's expected outputs "
                    "(the reference)")


def spec_for(name: str) -> LayerSpec:
    """The spec of the installed onnx's node test case ``name``."""
    entry = _entry(name)
    return _spec(entry)


def _spec(entry: Entry) -> LayerSpec:
    attrs = {"op": entry.op if not entry.domain else f"{entry.domain}.{entry.op}",
             "opset": entry.opset}
    if entry.node is not None:  # as a drawn graph holds its nodes (harness.core.spec)
        attrs["nodes"] = [entry.node]
    return LayerSpec(kind=entry.name, attrs=attrs, input_shapes=entry.input_shapes,
                     dtype=entry.dtype, source=NAME)


def _entry(name: str) -> Entry:
    entry = index().get(name)
    if entry is None:
        raise SourceError(f"onnx {installed_onnx()} has no node test case {name!r} "
                          f"(python -m harness.sources.onnx_node lists them)")
    return entry


def schema_defaults(kind: str, opset: int | None = None) -> dict[str, Any]:
    """The schema's default attributes of a case's node (its op type at its opset); none for
    the case itself (its kind is the case's name)."""
    return dict(attribute_defaults(kind, int(opset), "")) if opset else {}


# A known issue naming an attribute's value matches a node test that leaves it at its default,
# as it matches a drawn ONNX case.
register_attribute_defaults(NAME, schema_defaults)


def case_names(*, left_out: bool = False) -> list[str]:
    """The installed onnx's node test cases in onnx's order: those parity runs, or (with
    ``left_out``) those it leaves out."""
    return [name for name, entry in index().items() if bool(entry.left_out) == left_out]


def left_out_reason(name: str) -> str | None:
    """Why parity does not run the case ``name``, in words; None where it does."""
    reason = _entry(name).left_out
    return None if reason is None else REASONS[reason]


class OnnxNodeSource:
    name = NAME
    # Its readings are data, not draws: a NaN in one is the case's (harness.run.pipeline).
    NONFINITE_IS_DATA = True
    format = "onnx"
    kinds_module = "harness.sources.onnx_node"  # no kinds: a spec names a case of onnx's
    packages = ("onnx", "onnxruntime")

    @property
    def default_paths(self) -> tuple[str, ...]:
        """The ONNX source's: a node test case goes where a drawn ONNX case goes."""
        return tuple(sources.get(START).default_paths)

    def start(self, spec: LayerSpec) -> str:
        return START

    def family(self, spec: LayerSpec) -> str:
        """The report's group of a case: the op it tests."""
        return str(spec.attrs.get("op") or spec.kind)

    def read(self, spec: LayerSpec, *, policy, device: str = "cpu") -> SourceReading:
        entry = _entry(spec.kind)
        if entry.left_out:
            raise SourceError(f"{spec.kind} is left out: {REASONS[entry.left_out]}")
        installed = _spec(entry)
        if installed != spec:
            raise SourceError(f"{spec.describe()} is not the case onnx {installed_onnx()} "
                              f"generates ({installed.describe()}): the spec was written by "
                              "another onnx version")
        try:
            case = generate(spec.kind)
        except CaseNotFound as exc:
            raise SourceError(str(exc)) from None
        from onnx import ModelProto

        model = ModelProto()
        model.CopyFrom(case.model)  # the case's own stays as onnx generated it
        given, wanted = case.data_sets[0]
        inputs, expected = arrays(given), arrays(wanted)
        initialized = {init.name for init in model.graph.initializer}
        names = [i.name for i in model.graph.input if i.name not in initialized]
        reference, native, reading = self._reading(model, inputs, expected, case)
        return SourceReading(Artifact("onnx", model, names), inputs, reference, native, reading)

    def _reading(self, model, inputs, expected, case):
        """(the reference, onnxruntime's reading where it is not the reference, how they
        differ): onnxruntime's reading where it meets onnx's expected outputs as onnx's
        backend test runner judges a runtime (at the case's own rtol and atol), else the
        expected outputs."""
        try:
            session = OnnxRuntimeRunner("cpu").session(model, "disable")
            names = [i.name for i in session.get_inputs()]
            runtime = [np.asarray(o) for o in session.run(None, dict(zip(names, inputs)))]
        except Exception:  # noqa: BLE001  (the ort-optimized leg records the refusal)
            return expected, None, None
        tolerance = Tolerance(case.atol, case.rtol, "onnx's backend test runner")
        if worst_of(runtime, expected, tolerance).passed:
            return runtime, None, None
        return expected, runtime, EXPECTED_READING

    def diagnoser(self, harness, spec, artifact: Artifact, inputs: list[np.ndarray]):
        """An expanded case's function body node by node, as the ONNX source diagnoses its
        drawn graphs."""
        return sources.get(START).diagnoser(harness, spec, artifact, inputs)

    def store(self, reading: SourceReading, folder: Path, options=None) -> dict[str, Any]:
        """The model and its data set in ONNX's backend-test layout, as the ONNX source
        stores its cases."""
        return sources.get(START).store(reading, folder, options)

    def stored(self, folder: Path) -> dict[str, Artifact]:
        return sources.get(START).stored(folder)
