"""A MATLAB network (MatConvNet, parity.dlt/1) in a ``.mat`` file, read by parity's importer
(starts paths at ``mat``)."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from harness.sources.file.errors import FileError, UnsupportedFile
from harness.sources.file.loaded import LoadedModel

FORMAT = "mat"
START = "mat"
MATLAB_HEADER = b"MATLAB"
PICKS_OUTPUTS = True  # ``parity check --output`` names the network's outputs to check

# The importer imports torch when it loads: it is resolved when a .mat file is read, so that
# ``import harness.sources.file`` (and reading any other format) stays free of torch.
IMPORTER = "harness.mat"


def importer(part: str = "") -> ModuleType:
    """``harness.mat`` (or its module ``part``), imported on first use."""
    return importlib.import_module(f"{IMPORTER}.{part}" if part else IMPORTER)


def recognises(path: Path, head: bytes | None, weights: Path | None) -> bool:
    """The MATLAB header; before the HDF5 formats, as a -v7.3 file is HDF5 behind it."""
    return head is not None and head.startswith(MATLAB_HEADER)


def load(path: Path, weights: Path | None, outputs: list[str] | None = None) -> LoadedModel:
    mat = importer()
    dlt = importer("network").DLT
    example_shapes = importer("shapes").example_shapes
    try:
        network = mat.load_network(str(path), outputs)
    except mat.MatImportError as exc:
        raise FileError(path, str(exc).removeprefix(f"{path}: ")) from None
    _check_handlers(path, network)
    names = [name.split(":", 1)[-1] for name in network.inputs]
    notes = list(network.notes)
    declared = example_shapes(network, guess=False)
    guessed = None if declared else example_shapes(network, guess=True)
    if declared is None and network.format != dlt:
        declared = _declared_image(network, guessed)
    if declared is not None and network.format != dlt:
        notes.append(_declared_note(network, names, declared, guessed))
    shapes = declared or guessed
    undrawable = None
    if shapes is None and network.format == dlt:
        raise UnsupportedFile(path, "its input layer declares no input size parity reads: "
                                    "give the network an ImageInputLayer, FeatureInputLayer "
                                    "or SequenceInputLayer with its InputSize and export it "
                                    "again with parity's matlab/parity_export.m")
    if shapes is None:  # a MatConvNet network takes images, N×C×H×W, of any size
        undrawable = _undrawable(network, names)
        shapes = [(None, None, None, None)] * len(names)
    free: list[tuple[int | None, ...]] = []
    for shape in shapes:
        dims: list[int | None] = [None, *shape[1:]]
        if declared is None and len(shape) == 4:  # a fully convolutional MatConvNet network
            dims[2] = dims[3] = None
        free.append(tuple(dims))
    layers = [{"kind": layer.type, "attrs": {}} for layer in network.layers]
    return LoadedModel(path, FORMAT, START, network, names, free, ["float32"] * len(names),
                       layers=layers, int_bounds=[None] * len(names), notes=notes,
                       undrawable=undrawable, what="a MATLAB network", unit="MATLAB layers")


# Where a MatConvNet network declares the image size it takes: [H W C], or [H W] for a
# grayscale image (MATLAB's size() drops the trailing 1).
SIZE_FIELDS = (("inputSize",), ("normalization", "imageSize"))


def _size_field(network) -> tuple[str, list[float]]:
    """The first of ``SIZE_FIELDS`` the network's meta holds: its name and its values."""
    for keys in SIZE_FIELDS:
        value = network.meta
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        values = importer("reader").numbers(value)
        if values:
            return "net.meta." + ".".join(keys), values
    return "", []


def _declared_image(network, guessed) -> list[tuple[int, ...]] | None:
    """A MatConvNet network's declared [H W] (without channels) as its input shape: the
    channels of the first convolution's weights where parity can take them, else one."""
    name, values = _size_field(network)
    if len(network.inputs) != 1 or len(values) != 2:
        return None
    channels = guessed[0][1] if guessed else 1
    return [(1, channels, int(values[0]), int(values[1]))]


def _declared_note(network, names: list[str], declared, guessed) -> str:
    """The size a MatConvNet network declares: the size its check runs at, rather than the
    free sizes a fully convolutional network would otherwise get."""
    name, values = _size_field(network)
    (_, channels, height, width), = declared
    written = " ".join(f"{v:g}" for v in values)
    where = f"{name} [{written}]" if name else "declared"
    if len(values) == 2:
        where += ("; its channels from the first convolution's weights" if guessed
                  else "; one channel, as a grayscale image's size() says")
    return (f"input {names[0]!r}: checked at the size the network declares, "
            f"{channels}x{height}x{width} ({where}), not at sizes parity picks for a fully "
            f"convolutional network")


def _check_handlers(path: Path, network) -> None:
    """Refuses a network whose layers the importer cannot build (no handler, or a built-in
    handler that refuses the layer), naming them and what would make the file checkable: a
    handler in a --plugins module, or an --output before them."""
    try:
        importer("builder").build_module(network)
    except importer().MatImportError as exc:
        failed = exc.layers
        if not failed:
            raise FileError(path, str(exc).removeprefix(f"{path}: ")) from None
        types = ", ".join(repr(t) for t in dict.fromkeys(layer.type for layer in failed))
        advice = (f"to check the file, register a handler for {types} with "
                  f"harness.mat.register_layer_handler(TYPE, fn) in a module and name the "
                  f"module with --plugins MODULE")
        before = importer("outputs").output_before(network, failed)
        if before is not None:
            advice += f", or check the network up to them with --output {before}"
        raise UnsupportedFile(path, f"{str(exc).removeprefix(f'{path}: ')}; {advice}") \
            from None


def _undrawable(network, names: list[str]) -> str:
    keeps_channels = importer("shapes").KEEPS_CHANNELS
    arrays = ", ".join(repr(name) for name in names)
    if len(names) == 1:
        first = next((layer for layer in network.layers if layer.type not in keeps_channels),
                     None)
        before = f" ({first.where} comes first)" if first is not None else ""
        return (f"the network does not declare its input size (net.meta.inputSize) and parity "
                f"cannot take its channels from the first convolution's weights{before}; give "
                f"inputs with --inputs DATA.npz (an array {arrays}, N×C×H×W), or save the "
                f"file again with net.meta.inputSize = [H W C]")
    return (f"the network takes {len(names)} inputs ({arrays}) and does not declare their "
            f"sizes; give inputs with --inputs DATA.npz (arrays named {arrays}, N×C×H×W "
            f"each)")
