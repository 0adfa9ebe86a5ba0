"""The tests' fake converters, in one place: real stages with a fault put in.

A ``Fake`` is a real converter (its ``base``, whose source and target formats it keeps) with a
fault: ``before`` sees the artifact it is given and may replace it, or crash, hang or raise;
``after`` changes what the base made. A test registers the fakes it needs and unregisters
them when done; a ``--parity-plugins`` module registers them when imported
(tests/layer_faults.py, tests/isolation_stages.py). A pytest session run by pytester imports
this module as ``tests.fakes`` once the repository is on its path (``PYTHONPATH``).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from harness import converters
from harness.converters import Artifact, ConvertOptions

Before = Callable[[Artifact], "Artifact | None"]  # None: convert the artifact as given
After = Callable[[Artifact], Artifact]


class Fake:
    """``base``, with ``before`` run on its input and ``after`` on its output."""

    def __init__(self, name: str, base: str, *, before: Before | None = None,
                 after: After | None = None):
        real = converters.get(base)
        self.name, self.base = name, base
        self.source, self.target, self.packages = real.source, real.target, real.packages
        self.before, self.after = before, after

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        if self.before is not None:
            artifact = self.before(artifact) or artifact
        converted = converters.get(self.base).convert(artifact, options)
        return converted if self.after is None else self.after(converted)


class Stage:
    """A stage made of one function, where no built-in converter is the base (an ONNX → ONNX
    rewrite, a Keras → Keras pass-through): ``make(artifact)`` is what it converts to."""

    def __init__(self, name: str, source: str, target: str, make: Callable[[Artifact], Artifact],
                 packages: tuple[str, ...] = ()):
        self.name, self.source, self.target, self.packages = name, source, target, packages
        self.make = make

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        return self.make(artifact)


def onnx_rewrite(name: str, change: Callable[[Any], None]) -> Stage:
    """An ONNX → ONNX stage: the model it is given, copied, and ``change(model)`` made to the
    copy in place (the given artifact's model is left as it was)."""
    def make(artifact: Artifact) -> Artifact:
        import onnx

        model = onnx.ModelProto()
        model.CopyFrom(artifact.model)
        change(model)
        return Artifact("onnx", model, list(artifact.input_names))

    return Stage(name, "onnx", "onnx", make, packages=("onnx",))


# -- faults --------------------------------------------------------------------------------------

def raising(message: str) -> Before:
    """A converter that raises ``RuntimeError(message)`` instead of converting."""
    def before(artifact: Artifact) -> None:
        raise RuntimeError(message)

    return before


def with_forward(converted: Artifact, forward: Callable[..., Any]) -> Artifact:
    """The torch module ``converted`` holds, run as ``forward(module, *inputs)``."""
    import torch

    inner = converted.model

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def forward(self, *xs):
            return forward(self.inner, *xs)

    return Artifact("torch", Wrapped(), converted.input_names)


def negated(converted: Artifact) -> Artifact:
    """The output negated: a converter that is plainly wrong."""
    return with_forward(converted, lambda inner, *xs: -inner(*xs))


def perturbed_weights(converted: Artifact) -> Artifact:
    """Every float initializer of the ONNX model moved by 1e-2 of its scale (seeded): a
    converter bug small enough to hide under a wide hand-set tolerance."""
    import numpy as np
    from onnx import numpy_helper

    rng = np.random.default_rng(0)
    for tensor in converted.model.graph.initializer:
        values = numpy_helper.to_array(tensor)
        if values.dtype.kind == "f" and values.size > 1:
            moved = values + 1e-2 * np.abs(values).max() * rng.standard_normal(values.shape)
            tensor.CopyFrom(numpy_helper.from_array(moved.astype(values.dtype), tensor.name))
    return converted


def units(model) -> int:
    """The last output dimension of an ONNX model: Dense(units=n) gives n."""
    return model.graph.output[0].type.tensor_type.shape.dim[-1].dim_value


def shifted_conv_pads(converted: Artifact) -> Artifact:
    """Every Conv's symmetric padding moved to the bottom/right: the output keeps its shape
    and every value near the border changes."""
    model = copy.deepcopy(converted.model)
    shifted = 0
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        for attr in node.attribute:
            if attr.name == "pads":
                half = len(attr.ints) // 2
                begin, end = list(attr.ints[:half]), list(attr.ints[half:])
                attr.ints[:] = [0] * half + [b + e for b, e in zip(begin, end)]
                shifted += 1
    assert shifted, "the fault must land: no Conv with explicit pads in the graph"
    return Artifact("onnx", model, converted.input_names)


def dropped_conv_padding(converted: Artifact) -> Artifact:
    """The padding of every torch Conv2d set to zero... and the lost border put back as zeros
    so the shape survives: the fault is numeric, in the ONNX→torch stage."""
    import torch

    module = converted.model
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs, "the fault must land: no Conv2d in the converted module"
    for conv in convs:
        conv.padding = (0, 0)
        original_forward = conv.forward

        def forward(x, _forward=original_forward):
            return torch.nn.functional.pad(_forward(x), (1, 1, 1, 1))

        conv.forward = forward
    return converted


# -- one layer's weight scaled (the diagnostics tests) --------------------------------------------
# Each fault scales the first weight of the first converted node that sits in the named Keras
# layer's scope: a stand-in for a wrong epsilon, a dropped bias or a mis-ordered gate in that
# layer alone. It finds its node by name on its own, without the mapping under test.

def in_scope(node_name: str, layer: str) -> bool:
    return any(part == layer or part.rsplit("_", 1)[0] == layer
               for part in node_name.split("/"))


def scale_first_weight(proto, layer: str, factor: float):
    import onnx
    from onnx import numpy_helper

    faulty = onnx.ModelProto()
    faulty.CopyFrom(proto)
    weights = {init.name: init for init in faulty.graph.initializer}
    for node in faulty.graph.node:
        if not in_scope(node.name, layer):
            continue
        for name in node.input:
            init = weights.get(name)
            if init is None:
                continue
            value = numpy_helper.to_array(init)
            if value.dtype.kind == "f" and value.size > 1:
                init.CopyFrom(numpy_helper.from_array((value * factor).astype(value.dtype),
                                                      name))
                return faulty
    raise AssertionError(f"no weight of layer {layer!r} in the ONNX graph to corrupt")


def _scaled(layer: str, factor: float) -> After:
    def scale(artifact: Artifact) -> Artifact:
        return dataclasses.replace(artifact,
                                   model=scale_first_weight(artifact.model, layer, factor))

    return scale


class FaultyTf2Onnx(Fake):
    """tf2onnx, with one layer's weight scaled: a Keras→ONNX stage bug."""

    def __init__(self, layer: str, factor: float = 1.5, name: str = "tf2onnx-fault"):
        super().__init__(name, "tf2onnx", after=_scaled(layer, factor))


class FaultyOnnx2Torch(Fake):
    """onnx2torch, converting one layer with a scaled weight: an ONNX→PyTorch stage bug."""

    def __init__(self, layer: str, factor: float = 1.5, name: str = "onnx2torch-fault"):
        super().__init__(name, "onnx2torch", before=_scaled(layer, factor))
