"""Example input shapes (PyTorch layout) for a network, from what the file declares."""

from __future__ import annotations

from harness.mat.layout import restore_rank
from harness.mat.network import DLT, Network
from harness.mat.reader import numbers

DEFAULT_SPATIAL = 64
# MatConvNet layers that keep their input's channels: a guess looks through them for the
# first convolution; any other layer before it (a custom SubP, a concat) may change them.
KEEPS_CHANNELS = {"relu", "sigmoid", "softmax", "dropout", "lrn", "bnorm", "pool"}


def example_shapes(network: Network, batch: int = 1,
                   guess: bool = True) -> list[tuple[int, ...]] | None:
    """One shape per network input, or None when the file does not say enough. With `guess`,
    a MatConvNet network without a declared size gets its first conv's input channels and
    a 64×64 image, where only layers that keep the channels come before that conv."""
    if network.format == DLT:
        shapes = []
        for input_name in network.inputs:
            layer = network.layer(input_name.split(":", 1)[1])
            size = [int(v) for v in numbers(layer.attrs.get("InputSize"))]
            if layer.type == "ImageInputLayer" and len(size) in (2, 3):
                height, width, channels = (size + [1])[:3]
                shapes.append((batch, channels, height, width))
            elif layer.type == "FeatureInputLayer" and len(size) == 1:
                shapes.append((batch, size[0]))
            elif layer.type == "SequenceInputLayer" and len(size) == 1:
                shapes.append((batch, 8, size[0]))
            else:
                return None
        return shapes
    if len(network.inputs) != 1:
        return None
    meta = network.meta
    declared = numbers(meta.get("inputSize"))
    normalization = meta.get("normalization")
    if not declared and isinstance(normalization, dict):
        declared = numbers(normalization.get("imageSize"))
    if len(declared) >= 3:
        height, width, channels = (int(v) for v in declared[:3])
        return [(batch, channels, height, width)]
    if not guess:
        return None
    for layer in network.layers:
        if layer.type == "conv" and layer.params:
            filters = restore_rank(next(iter(layer.params.values())), 4)
            return [(batch, int(filters.shape[2]), DEFAULT_SPATIAL, DEFAULT_SPATIAL)]
        if layer.type not in KEEPS_CHANNELS:
            return None
    return None
