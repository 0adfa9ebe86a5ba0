"""Per-node first divergence for a failing ONNX case of more than one node.

Every node output of the source model becomes an extra graph output
(``harness.core.diagnose.with_outputs``). The reference value of each is read with
onnxruntime, every graph optimisation off (the source's own reading); the augmented model
is converted through the failing leg's stages, run, and its outputs are compared node by
node, in graph order, each with the looser of its op's tolerance and the case's. The
diagnosis names the first node whose output exceeds its tolerance, the error growth from
there on, the stage that introduced the divergence (the first stage along the path whose
output at that node differs from its own input's), and that node re-run alone on the
inputs the reference gave it: a node that also diverges alone is converted wrongly, one
that matches alone passes on error accumulated upstream.

The result has the shape of ``harness.sources.keras.diagnose.Diagnoser.diagnose``'s
(``layer`` is the node's name, ``kind`` its op type), so that reports and failure messages
read it alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.converters import Artifact, get
from harness.core.compare import Tolerance, compare
from harness.core.diagnose import (
    LegTrace,
    divergence,
    first_diverging_stage,
    looser,
    run_with_taps,
    summary,
    with_outputs,
)
from harness.runtimes.onnxruntime import OnnxRuntimeRunner
from harness.sources.onnx.forms import PREFIX as FORM_PREFIX
from harness.sources.onnx.forms import runtime_inputs


def diagnosable(model) -> bool:
    """Whether per-node capture says more than the model's output: two or more nodes of the
    spec's (the nodes a form adds, harness.sources.onnx.forms, compute no op of its own)."""
    graph = getattr(model, "graph", None)
    return graph is not None and len(spec_nodes(graph)) > 1


def spec_nodes(graph) -> list[Any]:
    """The nodes the spec draws, without those its forms add."""
    return [node for node in graph.node if not node.name.startswith(FORM_PREFIX)]


@dataclass(frozen=True)
class NodeTap:
    """One output tensor of one node, in graph order."""

    index: int  # the node's position in the graph
    node: str  # the node's name
    op_type: str
    output: int  # which of the node's outputs
    tensor: str  # the tensor's name in the graph

    @property
    def name(self) -> str:
        return self.node + (f":{self.output}" if self.output else "")


def node_taps(model) -> list[NodeTap]:
    taps = []
    for index, node in enumerate(model.graph.node):
        name = node.name or f"node{index}"
        for k, tensor in enumerate(node.output):
            if tensor:
                taps.append(NodeTap(index, name, node.op_type, k, tensor))
    return taps


def _is_float(array: np.ndarray) -> bool:
    return np.asarray(array).dtype.kind == "f"


class NodeDiagnoser:
    """Per-node comparison of the legs of one ONNX case; the pipeline builds it on failure."""

    def __init__(self, harness, spec, model, inputs: list[np.ndarray]):
        self.harness = harness
        self.spec = spec
        self.model = model
        self.inputs = list(inputs)
        self.taps = node_taps(model)
        self.input_names = runtime_inputs(model)
        self._traces: dict[str, LegTrace] = {}
        self._reference: dict[str, np.ndarray] | None = None
        self._reference_error: str | None = None

    # -- the reference -----------------------------------------------------------------------
    @property
    def reference(self) -> dict[str, np.ndarray]:
        """Every node output as onnxruntime computes it with optimisations off."""
        if self._reference is None:
            augmented = with_outputs(self.model, [t.tensor for t in self.taps])
            names = [o.name for o in augmented.graph.output]
            runner = OnnxRuntimeRunner("cpu")
            session = runner.session(augmented, "disable")
            feed = dict(zip([i.name for i in session.get_inputs()], self.inputs))
            self._reference = {n: np.asarray(v) for n, v in zip(names, session.run(None, feed))}
        return self._reference

    def tolerance(self, tap: NodeTap, leg: str) -> Tolerance:
        """The looser of the node's op tolerance (as an op kind of the onnx source, with the
        node's attributes from the spec where it is a drawn graph) and the case's."""
        policy, device = self.harness.policy, self.harness.device
        dtype = str(self.reference[tap.tensor].dtype)
        if dtype not in policy.defaults:
            dtype = self.spec.dtype
        own = policy.for_case(tap.op_type, leg, device, dtype, self._node_attrs(tap),
                              self.spec.source)
        case = policy.for_spec(self.spec, leg, device)
        if not _is_float(self.reference[tap.tensor]):
            return own  # integers (shapes, indices) compare exactly
        return looser(own, case)

    def _node_attrs(self, tap: NodeTap) -> dict[str, Any]:
        """The spec's attributes of the node: a drawn graph's node j is named
        ``n<jj>_<op type>`` (a form's nodes are before, between or after them), a single
        op's is its only node of the spec's."""
        drawn = spec_nodes(self.model.graph)
        nodes = self.spec.attrs.get("nodes") if isinstance(self.spec.attrs, dict) else None
        index = next((j for j, node in enumerate(drawn) if node.name == tap.node), None)
        if index is None:
            return {}
        if isinstance(nodes, list) and index < len(nodes) and isinstance(nodes[index], dict):
            attrs = nodes[index].get("attrs")
            return dict(attrs) if isinstance(attrs, dict) else {}
        return dict(self.spec.attrs) if len(drawn) == 1 else {}

    # -- one leg's values ----------------------------------------------------------------------
    def trace(self, path, leg: str) -> LegTrace:
        """Every node output as the leg computes it: the source model with every node output
        as a graph output, converted through the path's stages up to the leg. Where a leg
        cannot return the integer shape tensors, only the float ones are tapped."""
        if leg in self._traces:
            return self._traces[leg]
        upto = path.legs().index(leg)
        stages = path.stages[: upto + 1]
        everything = [t.tensor for t in self.taps]
        floats = [t.tensor for t in self.taps if _is_float(self.reference[t.tensor])]
        attempts = [(everything, "")]
        if len(floats) < len(everything):
            attempts.append((floats, "integer tensors (shapes, indices) not tapped: the leg "
                                     "could not return them"))
        failure = None
        for tensors, note in attempts:
            try:
                values = self._run(stages, tensors)
            except Exception as exc:  # noqa: BLE001  (a converter may refuse the extra outputs)
                failure = exc
                continue
            missing = {t.tensor: note or "not returned" for t in self.taps
                       if t.tensor not in values}
            trace = LegTrace(leg, path.stages[upto], values, {}, missing, note)
            self._traces[leg] = trace
            return trace
        assert failure is not None
        raise failure

    def _run(self, stages: list[str], tensors: list[str]) -> dict[str, np.ndarray]:
        base = Artifact("onnx", self.model, list(self.input_names))
        return run_with_taps(base, tensors, stages, self.harness, self.inputs, "node taps")

    def series(self, trace: LegTrace, against: dict[str, np.ndarray] | None = None):
        """Per node output: the leg's value against the reference (or ``against``)."""
        rows = []
        outputs = {o.name for o in self.model.graph.output}
        for tap in self.taps:
            reference = (against if against is not None else self.reference).get(tap.tensor)
            row: dict[str, Any] = {"layer": tap.name, "kind": tap.op_type, "tensor": tap.tensor}
            if tap.tensor not in trace.values or reference is None:
                rows.append({**row, "mapped": False,
                             "note": trace.missing.get(tap.tensor, "not produced upstream")})
                continue
            # Inside the graph only the numbers count: a converter may keep a shape tensor
            # in another integer type; the graph's own outputs are compared as the leg is.
            result = compare(trace.values[tap.tensor], reference, self.tolerance(tap, trace.leg),
                             check_dtype=tap.tensor in outputs)
            rows.append({**row, "mapped": True, "passed": result.passed,
                         "category": result.category, "layout": "as is",
                         "max_abs": result.metrics.get("max_abs"),
                         "max_rel": result.metrics.get("max_rel"),
                         "mismatch_fraction": result.metrics.get("mismatch_fraction")})
        return rows

    # -- the diagnosis -------------------------------------------------------------------------
    def diagnose(self, path, leg_name: str, artifacts: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
        """The first diverging node of a leg, the error growth, the stage that introduced the
        divergence and the node re-run alone."""
        try:
            self.reference  # noqa: B018  (read once; its failure is the diagnosis')
            trace = self.trace(path, leg_name)
        except Exception as exc:  # noqa: BLE001  (a diagnosis must not hide the failure)
            return {"error": f"per-node capture failed: {type(exc).__name__}: "
                             f"{str(exc)[:500]}"}
        diagnosis = divergence(self.series(trace), len(self.model.graph.node))
        first = diagnosis["first_divergence"]
        if trace.note:
            diagnosis["note"] = trace.note
        if first is None:
            diagnosis["summary"] = ("no node output exceeds its tolerance before the model "
                                    "output: the divergence is in a tensor the taps miss")
            return diagnosis
        diagnosis["stage"] = self._introduced_by(path, leg_name, first["tensor"])
        diagnosis["isolated"] = self.isolate(path, leg_name, first["tensor"])
        diagnosis["summary"] = _summary(leg_name, diagnosis)
        return diagnosis

    def _introduced_by(self, path, leg_name: str, tensor: str) -> str | None:
        """The first stage along the path whose value at ``tensor`` exceeds tolerance
        against its own input's (``harness.core.diagnose.first_diverging_stage``)."""
        return first_diverging_stage(path, leg_name, lambda leg: self.trace(path, leg),
                                     self.series, lambda row: row["tensor"] == tensor)

    def isolate(self, path, leg_name: str, tensor: str) -> dict[str, Any]:
        """The node alone, fed what the reference gave it, through the stages up to the leg:
        its float inputs as graph inputs, the rest (weights, shapes) as initializers."""
        tap = next(t for t in self.taps if t.tensor == tensor)
        try:
            single, feed = self.single_node_model(tap.index)
            artifact = Artifact("onnx", single, [i.name for i in single.graph.input])
            for stage in path.stages[: path.legs().index(leg_name) + 1]:
                artifact = get(stage).convert(artifact, self.harness.options)
            outputs = self.harness.runner(artifact.format).run(artifact, feed)
        except Exception as exc:  # noqa: BLE001
            return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        names = [o.name for o in single.graph.output]
        if tensor not in names or names.index(tensor) >= len(outputs):
            return {"error": f"the node alone returned {len(outputs)} outputs"}
        reference = self.reference[tensor]
        result = compare(np.asarray(outputs[names.index(tensor)]), reference,
                         self.tolerance(tap, leg_name), check_dtype=False)
        return {"passed": result.passed, "category": result.category,
                "max_abs": result.metrics.get("max_abs"),
                "max_rel": result.metrics.get("max_rel")}

    def single_node_model(self, index: int):
        """A model of node ``index`` alone and its feed (the reference's values)."""
        import onnx
        from onnx import helper, numpy_helper

        graph = self.model.graph
        node = graph.node[index]
        initializers = {i.name: i for i in graph.initializer}
        given = dict(zip(self.input_names, self.inputs))
        inputs, feed, constants = [], [], []
        for name in dict.fromkeys(n for n in node.input if n):
            if name in initializers:
                constants.append(initializers[name])
                continue
            value = given[name] if name in given else self.reference[name]
            if _is_float(value):
                inputs.append(helper.make_tensor_value_info(
                    name, helper.np_dtype_to_tensor_dtype(value.dtype), list(value.shape)))
                feed.append(value)
            else:  # a shape or an index computed upstream: a constant, as a static export
                constants.append(numpy_helper.from_array(value, name))
        outputs = [helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(self.reference[name].dtype),
            list(self.reference[name].shape)) for name in node.output if name]
        single = helper.make_graph([node], "parity_isolated", inputs, outputs,
                                   initializer=constants)
        model = helper.make_model(single, opset_imports=list(self.model.opset_import),
                                  producer_name="parity")
        model.ir_version = self.model.ir_version
        onnx.checker.check_model(model)
        return model, feed


def _summary(leg: str, diagnosis: dict[str, Any]) -> str:
    first = diagnosis["first_divergence"]
    index = next(i for i, row in enumerate(diagnosis["growth"]) if row is first)
    # A node with several outputs has a row per output ("node:1"): count nodes.
    position = len({row["layer"].split(":")[0] for row in diagnosis["growth"][: index + 1]})
    return summary(leg, diagnosis, unit="node", position=position)
