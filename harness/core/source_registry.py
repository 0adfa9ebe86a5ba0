"""The source registry: the ``Source`` protocol, what a source reads (``SourceReading``) and
finding a source by name (``harness.sources`` re-exports them beside the built-in sources).

A source turns a spec into its source artifact and the reference reading(s) every leg is
compared with. The built-in ones live in ``harness.sources``, one package each, named here by
``module:class`` and imported on first use. A source from another package registers itself
under the entry-point group ``parity.sources``::

    [project.entry-points."parity.sources"]
    mysource = "mypkg.parity_source:MySource"

A path names its source first: ``keras>tf2onnx>onnx2torch``, ``onnx>onnx2torch``.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from harness.core.artifact import Artifact
from harness.core.plugins import PluginRegistry

if TYPE_CHECKING:  # the readings' arrays; the report reads known issues without NumPy
    import numpy as np

ENTRY_POINT_GROUP = "parity.sources"

BUILTIN = {
    "keras": "harness.sources.keras:KerasSource",
    "onnx": "harness.sources.onnx:OnnxSource",
    "mat": "harness.sources.mat:MatSource",
    "file": "harness.sources.file:FileSource",
    "onnx-node": "harness.sources.onnx_node:OnnxNodeSource",
}


class SourceError(RuntimeError):
    """The source model of a case could not be built or read: a bug of the harness or its
    strategies, or of the source framework itself (a known issue of the source)."""

    # The case's record message as a cold run wrote it, where the stage cache kept the
    # failure (a hit has no traceback of its own to show).
    record_message: str | None = None


class SourceRefusal(SourceError):
    """The source framework cannot run the case's configuration on this machine at all
    (TensorFlow without oneDNN refuses a channels_first transposed convolution that XLA
    cannot compile either): recorded as the source's own refusal, with the reason and the
    machine's state (``environment``); not a failure of anything under test."""

    def __init__(self, message: str, environment: dict | None = None):
        super().__init__(message)
        self.environment = dict(environment or {})


def source_failure_message(exc: SourceError) -> str:
    """A failed reading's record message: the error and the last frames that raised it (its
    cause's, where it has one), or the cold run's message where the stage cache kept it."""
    if exc.record_message is not None:
        return exc.record_message
    raised = exc.__cause__ or exc
    frames = traceback.format_exception(type(raised), raised, raised.__traceback__, limit=-6)
    return f"{exc}\n{''.join(frames).strip()}"


class UnknownSource(KeyError):
    def __str__(self) -> str:
        return self.args[0]


class SourceReading(NamedTuple):
    artifact: Artifact
    inputs: list[np.ndarray]
    reference: list[np.ndarray]
    native: list[np.ndarray] | None  # the source's own outputs, where a second reading exists
    reading: str | None  # "<source output> differs from <the reading that is the reference>"
    # For a case with free dimensions: (input shapes, inputs, reference) at each further size.
    more: tuple[tuple[Any, list[np.ndarray], list[np.ndarray]], ...] = ()
    # The reference computed a second time in float64 (same weights, same inputs), where the
    # source can: its distance from ``reference`` is the source's own rounding error
    # (harness.run.yardstick).
    yardstick: list[np.ndarray] | None = None
    # Further artifacts a case's paths may start from, by the name the paths start with
    # (the source's ``roots(spec)``): a Keras SavedModel's folder as ``savedmodel``, beside
    # the tf_keras model it reads to.
    roots: tuple[tuple[str, Artifact], ...] = ()
    # What the reading says of itself for the user (a user's file read by another reader
    # than its format's own, and why).
    notes: tuple[str, ...] = ()


@runtime_checkable
class Source(Protocol):
    """What the pipeline, the golden store and the CLI need of a source."""

    name: str  # the first element of its paths: "keras"
    format: str  # the format of its artifact, which converters take and runners run
    default_paths: tuple[str, ...]  # the paths its cases go down when none are named
    kinds_module: str  # importing it registers the source's kinds in harness.core.registry

    def read(self, spec, *, policy, device: str) -> SourceReading:
        """Builds the source artifact and computes the reference; raises SourceError."""
        ...

    def store(self, reading: SourceReading, folder: Path) -> dict[str, Any]:
        """Writes what a replay needs besides inputs and outputs (the source artifact) into
        a golden case's folder; returns provenance entries (e.g. why a file is missing)."""
        ...

    def stored(self, folder: Path) -> dict[str, Artifact]:
        """The artifacts a replay of a golden case starts from, keyed by the leg (or the
        source) that made them; reads only what ``store`` wrote, as data."""
        ...

    # Optional, read with getattr:
    # - ``start(spec) -> str``: the first element of the case's paths when it is not the
    #   source's name (the ``file`` source starts a user's .keras file at ``keras``).
    # - ``roots(spec) -> tuple[str, ...]``: further names the case's paths may start with;
    #   its reading carries their artifacts (``SourceReading.roots``).
    # - ``paths_from(start) -> tuple[str, ...]``: the default paths of a start that is no
    #   source's name (a Keras-2 file starts at ``tf_keras``).
    # - ``diagnoser(harness, spec, artifact, inputs)``: per-layer diagnosis of failing legs.
    # - ``packages``: the distributions whose versions a golden case's provenance records.
    # - ``build(spec) -> Artifact``: the source artifact alone, as ``read`` builds it; the
    #   stage cache builds a cached reading's model with it (else it reads the source again).
    # - ``reading_packages``: the distributions a reading depends on, where ``packages`` names
    #   more (harness.run.stage_cache.keys).
    # - ``family(spec) -> str``: the report's family of a case, where the kind's family
    #   alone says too little (a MATLAB case adds its file format).


_REGISTRY: PluginRegistry[Source] = PluginRegistry(
    "source", ENTRY_POINT_GROUP, BUILTIN, lambda s: isinstance(s, Source), UnknownSource)


# register(source): in this process (tests, notebooks), winning over the built-ins.
register, unregister, available, get = (
    _REGISTRY.register, _REGISTRY.unregister, _REGISTRY.available, _REGISTRY.get)
is_source = _REGISTRY.known
