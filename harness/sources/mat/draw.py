"""Hypothesis draws of MATLAB networks: the network a case of a MATLAB layer kind runs.

A case of kind ``conv`` is a small network whose first layer is a drawn ``conv`` (after the
layers the kind needs in front of it: the two branches of a merge), followed by up to two
drawn layers of any kind that fits what flows out of it, in one file format and MATLAB file
version. Everything shrinks simplest first: SimpleNN, ``-v7``, the smallest input, no
layers after the kind's own, each attribute its first documented value.
"""

from __future__ import annotations

from typing import Any

from harness.core.registry import Picker
from harness.core.spec import LayerSpec
from harness.core.strategies import overrides_for, seeds, without_local_constants
from harness.sources.mat import table
from harness.sources.mat.layer import (
    DLT,
    FORMATS,
    IMAGE,
    INPUT,
    LAYOUTS,
    SEQUENCE,
    VERSIONS,
    MatLayer,
    Size,
)

MAX_FOLLOWERS = 2
NETWORK_DOMAINS: dict[str, list[Any]] = {
    "format": list(FORMATS),
    "version": list(VERSIONS),
    "layout": list(LAYOUTS),
    "height": [5, 6, 7, 8, 9],
    "width": [5, 6, 7, 8, 9],
    "channels": [1, 2, 3, 4],
    "features": [1, 2, 3, 4, 5],
    "steps": [1, 2, 3, 4, 5],
    "batch": [1, 2],
    "followers": list(range(MAX_FOLLOWERS + 1)),
}


def layer_entry(kind: str, attrs: dict[str, Any], inputs: list[int] | None = None,
                index: int | None = None) -> dict[str, Any]:
    """One item of a network spec's ``layers``: ``inputs`` (0 is the network input, k the
    k-th layer) is written only where it is not the layer just before."""
    entry: dict[str, Any] = {"kind": kind, "attrs": attrs}
    if inputs is not None and (index is None or inputs != [index - 1]):
        entry["inputs"] = list(inputs)
    return entry


def input_size(pick: Picker, layout: str) -> Size:
    if layout == IMAGE:
        return Size.image(pick("height"), pick("width"), pick("channels"))
    if layout == SEQUENCE:
        return Size.sequence(pick("channels"), pick("steps"))
    return Size.features(pick("features"))


def followers(fmt: str, size: Size) -> list[MatLayer]:
    """The kinds that may follow a layer whose output is ``size``, in format ``fmt``."""

    return [kind for kind in table.layers()
            if kind.chains and kind.inputs == 1 and kind.lead_in is None
            and fmt in kind.formats and size.layout in kind.takes]


def network_draw(focus: MatLayer, fmt: str | None = None, version: str | None = None):
    """The ``draw`` of the registry kind for ``focus``: (attrs, [input shape]); ``fmt`` and
    ``version`` fix the file format and version instead of drawing them."""
    if fmt is not None and fmt not in focus.formats:  # pragma: no branch (a caller's error)
        raise ValueError(f"MATLAB layer kind {focus.name!r} has no {fmt} writer; its formats: "
                         f"{', '.join(focus.formats)}")

    def draw(pick: Picker):
        from hypothesis import reject
        from hypothesis import strategies as st

        net = Picker(pick.draw, NETWORK_DOMAINS)
        chosen = net("format", [fmt] if fmt else [f for f in FORMATS if f in focus.formats])
        chosen_version = net("version", [version] if version else None)
        # MatConvNet networks take images only; a DLT network starts from any input layer.
        layout = net("layout", [lay for lay in LAYOUTS
                                if lay in focus.takes and (chosen == DLT or lay == IMAGE)])
        first = input_size(net, layout)
        batch = net("batch")
        attrs: dict[str, Any] = {"format": chosen, "version": chosen_version}
        layers: list[dict[str, Any]] = []
        own = Picker(pick.draw, focus.domains)
        size = first
        if focus.name == INPUT:
            attrs["input"] = focus.draw(own, first, chosen)
        else:
            into: Any = size
            if focus.lead_in is not None:
                branch_sizes = []
                for kind_name, branch in focus.lead_in(own, size, chosen):
                    layers.append(layer_entry(kind_name, branch, [0], len(layers) + 1))
                    branch_sizes.append(table.get(kind_name).output(branch, size))
                into = branch_sizes
            drawn = focus.draw(own, into, chosen)
            if drawn is None:  # pragma: no branch (no kind's draw returns None today)
                reject()
            refs = list(range(1, len(layers) + 1)) or [0]
            layers.append(layer_entry(focus.name, drawn, refs, len(layers) + 1))
            size = focus.output(drawn, into)
        for _ in range(net("followers")):
            candidates = followers(chosen, size)
            if not candidates:  # pragma: no branch (relu follows any layout in any format)
                break
            kind = pick.draw(st.sampled_from(candidates))
            drawn = kind.draw(Picker(pick.draw, kind.domains), size, chosen)
            if drawn is None:  # pragma: no branch (no kind's draw returns None today)
                continue
            layers.append(layer_entry(kind.name, drawn))
            size = kind.output(drawn, size)
        attrs["layers"] = layers
        return attrs, [first.torch_shape(batch)]

    return draw


def mat_specs(kind: str, fmt: str | None = None, version: str | None = None):
    """Specs of MATLAB layer kind ``kind``, as ``harness.core.strategies.layer_specs(kind,
    source="mat")`` draws them, with the file format and version fixed where given."""
    from hypothesis import strategies as st


    network = network_draw(table.get(kind), fmt, version)

    @st.composite
    def specs(draw):
        with without_local_constants():  # as layer_specs: draws independent of our literals
            attrs, shapes = network(Picker(draw, {}))
            overrides = draw(overrides_for(kind, attrs, shapes, "float32", source="mat"))
            return LayerSpec(kind=kind, attrs=attrs,
                             input_shapes=tuple(tuple(s) for s in shapes),
                             seed=draw(seeds), input_overrides=overrides, source="mat")

    return specs()
