"""Per-layer diagnosis: where a converted model first diverges from its Keras source.

For a multi-layer case whose leg failed, every layer's output is captured in each framework
and compared with Keras':

* Keras: a sub-model whose outputs are every layer call's outputs (``Tap``).
* ONNX: the tensor that leaves each layer's name scope, added as an extra graph output
  (``tap_tensors``). Converters keep Keras' layer names in node names
  (``parity_sequential_1/n02_dense_1/MatMul``), so the mapping is by name, explicit, and
  covered by tests; a layer the converter fused into a neighbour (a Conv2D followed by a
  BatchNormalization becomes one Conv) has no tensor of its own and is reported as such.
* PyTorch (any ONNX→X stage): the ONNX model with the extra outputs is converted by the
  same stage, so the module returns the same taps under the same mapping.

A tap may hold a layer's output in another layout (tf2onnx keeps convolutions NCHW between
layers); ``harness.core.diagnose.align`` undoes a channels-first permutation, choosing by shape.

For the first diverging layer, ``isolate`` re-runs that layer alone, on the input Keras fed
it, through the same stages: a layer that also diverges alone is converted wrongly; one that
matches alone only passes on error accumulated upstream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.converters import Artifact, get
from harness.core.compare import compare
from harness.core.diagnose import (
    LegTrace,
    align,
    divergence,
    first_diverging_stage,
    looser,
    pick,
    run_with_taps,
    summary,
)

SCOPE_SUFFIX = re.compile(r"_\d+$")
# Attributes worth a tolerance rule's match; the rest of a layer config is noise here.
CONFIG_SCALARS = (bool, int, float, str)


@dataclass(frozen=True)
class Tap:
    """One output of one call of one Keras layer, in topological order."""

    layer: str
    kind: str  # the Keras class name
    call: int = 0
    output: int = 0

    @property
    def name(self) -> str:
        suffix = f"#{self.call}" if self.call else ""
        return self.layer + suffix + (f":{self.output}" if self.output else "")


def keras_taps(model) -> list[tuple[Tap, Any, list[Any], Any]]:
    """Every layer call's outputs in ``model``, in topological order, with the Keras tensors
    of the output and of the call's inputs (each once: MultiHeadAttention(h, h) reads one),
    and the call's arguments as it was made (``node.arguments``: where each input went, and
    the keywords that were not tensors, such as ``use_causal_mask``)."""
    calls: dict[str, int] = {}
    taps = []
    order = {layer.name: i for i, layer in enumerate(model.layers)}
    for depth in sorted(model._nodes_by_depth, reverse=True):
        nodes = sorted(model._nodes_by_depth[depth],
                       key=lambda n: order.get(n.operation.name, len(order)))
        for node in nodes:
            layer = node.operation
            if type(layer).__name__ == "InputLayer":
                continue
            call = calls.get(layer.name, 0)
            calls[layer.name] = call + 1
            arguments = getattr(node, "arguments", None)
            inputs = _once(node.input_tensors)
            for k, tensor in enumerate(node.output_tensors):
                tap = Tap(layer.name, type(layer).__name__, call, k)
                taps.append((tap, tensor, inputs, arguments))
    return taps


def _once(tensors) -> list[Any]:
    seen: set[int] = set()
    return [t for t in tensors if not (id(t) in seen or seen.add(id(t)))]


@dataclass
class KerasCapture:
    taps: list[Tap]
    values: dict[str, np.ndarray]  # by tap name
    layer_inputs: dict[str, list[np.ndarray]]  # by tap name: what the call received
    # By tap name: the call's input tensors (each once) and its arguments (keras_taps).
    calls: dict[str, tuple[list[Any], Any]] = field(default_factory=dict)


def capture_keras(model, inputs: list[np.ndarray]) -> KerasCapture:
    import keras

    found = keras_taps(model)
    wanted: list[Any] = []
    slots: dict[int, int] = {}

    def slot(tensor) -> int:
        if id(tensor) not in slots:
            slots[id(tensor)] = len(wanted)
            wanted.append(tensor)
        return slots[id(tensor)]

    plan = [(tap, slot(out), [slot(t) for t in ins]) for tap, out, ins, _ in found]
    probe = keras.Model(model.inputs if len(model.inputs) > 1 else model.inputs[0], wanted)
    arrays = probe(inputs if len(model.inputs) > 1 else inputs[0], training=False)
    if not isinstance(arrays, (list, tuple)):
        arrays = [arrays]
    arrays = [np.asarray(a) for a in arrays]
    return KerasCapture(
        taps=[tap for tap, _, _ in plan],
        values={tap.name: arrays[out] for tap, out, _ in plan},
        layer_inputs={tap.name: [arrays[i] for i in ins] for tap, _, ins in plan},
        calls={tap.name: (ins, arguments) for tap, _, ins, arguments in found},
    )


# -- ONNX ------------------------------------------------------------------------------------

def scope_owner(node_name: str, layers: set[str]) -> str | None:
    """The Keras layer whose name scope a converted node sits in, if any.

    TensorFlow uniquifies scopes with a ``_<n>`` suffix (``n02_dense_1``), so a path
    component matches a layer by its name or its name plus such a suffix; the first
    component that matches wins (the outermost scope is the model's).
    """
    for component in node_name.split("/"):
        if component in layers:
            return component
        stripped = SCOPE_SUFFIX.sub("", component)
        if stripped in layers:
            return stripped
    return None


def tap_tensors(proto, taps: list[Tap]) -> dict[str, list[str]]:
    """For each tap of a layer's first call: the ONNX tensors that leave the layer's scope,
    in graph order, the likeliest last.

    A tensor leaves a scope when a node outside it (or the graph's output list) consumes it.
    A graph output named after a layer (tf2onnx names outputs after the Keras outputs) is
    that layer's, whatever scope its node sits in: converters fuse an activation into the
    node before it. Which candidate holds the layer's output is settled at run time, by
    shape (``pick``). Taps of later calls of shared layers, and of layers the converter
    fused into a neighbour, have no entry.
    """
    graph = proto.graph
    layers = {tap.layer for tap in taps}
    graph_outputs = {o.name for o in graph.output}
    owner = {}
    for node in graph.node:
        found = scope_owner(node.name, layers)
        for out in node.output:
            owner[out] = out if out in graph_outputs and out in layers else found
    consumers: dict[str, set[str | None]] = {}
    for node in graph.node:
        found = scope_owner(node.name, layers)
        for name in node.input:
            consumers.setdefault(name, set()).add(found)
    leaving: dict[str, list[str]] = {}
    for node in graph.node:
        for out in node.output:
            layer = owner.get(out)
            if layer is None:
                continue
            if out in graph_outputs or consumers.get(out, set()) - {layer}:
                leaving.setdefault(layer, []).append(out)
    mapping = {}
    for tap in taps:
        if tap.call == 0 and tap.layer in leaving:
            outs = leaving[tap.layer]
            if _single_output(taps, tap.layer):
                mapping[tap.name] = outs
            elif tap.output < len(outs):  # several outputs of one call leave in order
                mapping[tap.name] = [outs[tap.output]]
    return mapping


def _single_output(taps: list[Tap], layer: str) -> bool:
    return all(t.output == 0 for t in taps if t.layer == layer)


# -- the diagnosis ---------------------------------------------------------------------------

def _layer_attrs(model, layer: str) -> dict[str, Any]:
    try:
        config = model.get_layer(layer).get_config()
    except Exception:  # noqa: BLE001
        return {}
    return {k: v for k, v in config.items() if isinstance(v, CONFIG_SCALARS)}


class Diagnoser:
    """Per-layer comparison of the legs of one case; built by the pipeline on failure."""

    def __init__(self, harness, spec, model, inputs: list[np.ndarray]):
        self.harness = harness
        self.spec = spec
        self.model = model
        self.inputs = inputs
        self.keras = capture_keras(model, inputs)
        self._traces: dict[str, LegTrace] = {}

    def tolerance(self, tap: Tap, leg: str):
        """The looser of the layer kind's tolerance and the case's: a deep model's rule
        (applications) covers the rounding its layers accumulate on the way."""
        h = self.harness
        own = h.policy.for_case(tap.kind, leg, h.device, self.spec.dtype,
                                _layer_attrs(self.model, tap.layer))
        case = h.policy.for_case(self.spec.kind, leg, h.device, self.spec.dtype,
                                 self.spec.attrs)
        return looser(own, case)

    def trace(self, path, leg: str, artifacts: dict[str, Any]) -> LegTrace | None:
        """The leg's per-layer outputs: the nearest ONNX artifact at or upstream of the leg,
        with the taps as extra outputs, taken through the stages from there to the leg."""
        if leg in self._traces:
            return self._traces[leg]
        legs = path.legs()
        upto = legs.index(leg)
        onnx_at = next((i for i in range(upto, -1, -1)
                        if isinstance(artifacts.get(legs[i]), Artifact)
                        and artifacts[legs[i]].format == "onnx"), None)
        if onnx_at is None:
            return None
        base = artifacts[legs[onnx_at]]
        mapping = tap_tensors(base.model, self.keras.taps)
        names = list(dict.fromkeys(t for candidates in mapping.values() for t in candidates))
        by_tensor = run_with_taps(base, names, list(path.stages[onnx_at + 1: upto + 1]),
                                  self.harness, self.inputs, "layer taps")
        values, layouts, missing = {}, {}, {}
        for tap in self.keras.taps:
            if tap.name in mapping:
                value, why = pick(self.keras.values[tap.name],
                                  [np.asarray(by_tensor[t]) for t in mapping[tap.name]])
                if value is None:
                    missing[tap.name] = why
                else:
                    values[tap.name], layouts[tap.name] = value, why
            elif tap.call:
                missing[tap.name] = "a later call of a shared layer: not mapped"
            else:
                missing[tap.name] = "no tensor of its own (fused into a neighbour)"
        trace = LegTrace(leg, path.stages[upto], values, layouts, missing)
        self._traces[leg] = trace
        return trace

    def series(self, trace: LegTrace, against: dict[str, np.ndarray] | None = None):
        """Per tap: the comparison of the leg's value with Keras' (or with ``against``)."""
        rows = []
        for tap in self.keras.taps:
            reference = self.keras.values[tap.name]
            if against is not None:
                reference = against.get(tap.name)
            if tap.name not in trace.values or reference is None:
                rows.append({"layer": tap.name, "kind": tap.kind, "mapped": False,
                             "note": trace.missing.get(tap.name, "not produced upstream")})
                continue
            value, layout = trace.values[tap.name], trace.layouts[tap.name]
            result = compare(value, reference, self.tolerance(tap, trace.leg))
            rows.append({
                "layer": tap.name, "kind": tap.kind, "mapped": True, "passed": result.passed,
                "category": result.category, "layout": layout,
                "max_abs": result.metrics.get("max_abs"),
                "max_rel": result.metrics.get("max_rel"),
                "mismatch_fraction": result.metrics.get("mismatch_fraction"),
            })
        return rows

    def diagnose(self, path, leg_name: str, artifacts: dict[str, Any]) -> dict[str, Any]:
        """The first diverging layer of a leg, the error growth, the stage that introduced the
        divergence, and the first layer re-run alone."""
        try:
            trace = self.trace(path, leg_name, artifacts)
        except Exception as exc:  # noqa: BLE001  (a diagnosis must not hide the failure)
            return {"error": f"per-layer capture failed: {type(exc).__name__}: {exc}"}
        if trace is None:
            return {"error": "no ONNX artifact on this path to capture layers from"}
        diagnosis = divergence(self.series(trace), len(self.keras.taps))
        first = diagnosis["first_divergence"]
        if first is None:
            diagnosis["summary"] = ("no layer output exceeds its tolerance before the model "
                                    "output: the divergence is in a tensor the taps miss")
            return diagnosis
        diagnosis["stage"] = self._introduced_by(path, leg_name, artifacts, first["layer"])
        diagnosis["isolated"] = self.isolate(path, leg_name, first["layer"])
        diagnosis["summary"] = summary(leg_name, diagnosis)
        return diagnosis

    def _introduced_by(self, path, leg_name: str, artifacts, layer: str) -> str | None:
        """The first stage along the path whose output at ``layer`` exceeds tolerance
        against its own input's (``harness.core.diagnose.first_diverging_stage``)."""
        return first_diverging_stage(
            path, leg_name, lambda leg: self.trace(path, leg, artifacts), self.series,
            lambda row: row["layer"] == layer)

    def isolate(self, path, leg_name: str, tap_name: str) -> dict[str, Any]:
        """The layer alone, on the input Keras gave it, through the stages up to the leg."""
        tap = next(t for t in self.keras.taps if t.name == tap_name)
        try:
            single = single_layer_model(self.model.get_layer(tap.layer),
                                        self.keras.layer_inputs[tap.name],
                                        self.keras.calls.get(tap.name))
            layer_inputs = self.keras.layer_inputs[tap.name]
            # Keras' own ONNX export refuses a model that has never been called.
            single(layer_inputs if len(layer_inputs) > 1 else layer_inputs[0])
            artifact = Artifact("keras", single, [f"input_{i}" for i in
                                                  range(len(single.inputs))])
            for stage in path.stages[: path.legs().index(leg_name) + 1]:
                artifact = get(stage).convert(artifact, self.harness.options)
            outputs = self.harness.runner(artifact.format).run(
                artifact, self.keras.layer_inputs[tap.name])
        except Exception as exc:  # noqa: BLE001
            return {"error": f"{type(exc).__name__}: {exc}"}
        reference = self.keras.values[tap.name]
        value, layout = align(reference, np.asarray(outputs[tap.output]))
        if value is None:
            return {"error": layout}
        result = compare(value, reference, self.tolerance(tap, leg_name))
        return {"passed": result.passed, "category": result.category,
                "max_abs": result.metrics.get("max_abs"),
                "max_rel": result.metrics.get("max_rel")}


def single_layer_model(layer, inputs: list[np.ndarray], call=None):
    """A one-layer model of a copy of ``layer`` (same config, name and weights), called as
    ``call`` (the input tensors and arguments of the model's own call, ``keras_taps``) made
    it: each input where that call put it (MultiHeadAttention(h, h) gets h as query and
    value) and its other keywords (``use_causal_mask=True``) kept; without one, on the inputs
    in order."""
    import keras

    clone = type(layer).from_config(layer.get_config())
    tensors = [keras.Input(shape=x.shape[1:], dtype=str(x.dtype), name=f"input_{i}")
               for i, x in enumerate(inputs)]
    if call is not None and call[1] is not None:
        fresh = {id(old): new for old, new in zip(call[0], tensors)}
        args, kwargs = keras.tree.map_structure(
            lambda value: fresh.get(id(value), value), (call[1].args, call[1].kwargs))
        outputs = clone(*args, **kwargs)
    else:
        outputs = clone(tensors if len(tensors) > 1 else tensors[0])
    clone.set_weights(layer.get_weights())
    return keras.Model(tensors if len(tensors) > 1 else tensors[0], outputs,
                       name="parity_isolated")


def diagnosable(model) -> bool:
    """Whether per-layer capture says more than the model's output: two or more layers."""
    layers = getattr(model, "layers", None)
    if layers is None:
        return False
    return sum(1 for layer in layers if type(layer).__name__ != "InputLayer") > 1
