"""Converters (stages) and conversion paths: the converter protocol and registry, and the
paths that chain converters (``harness.converters`` re-exports them beside the built-in
converters).

A converter turns one artifact (``harness.core.artifact``) into another (``keras`` →
``onnx``, ``onnx`` → ``torch``). The built-in ones live in ``harness.converters``, one file
each, named here by ``module:class`` and imported on first use; a converter under test from another
package registers itself under the entry-point group ``parity.converters``::

    [project.entry-points."parity.converters"]
    myconv = "mypkg.parity_stage:MyConverter"

A path is a chain of converters written ``source>stage>stage``, e.g.
``keras>tf2onnx>onnx2torch``; every prefix that ends in a runnable artifact is a leg. An ONNX
leg is read by onnxruntime with its graph optimisations off; ``ort-optimized`` appended to
it reads the same model with them on (``keras>tf2onnx>ort-optimized``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.core import installed, source_registry
from harness.core.artifact import (  # noqa: F401  (re-exported)
    RETURNED_TRAINING,
    Artifact,
    torch_artifact,
    training_modules,
)
from harness.core.plugins import PluginRegistry

ENTRY_POINT_GROUP = "parity.converters"
DEFAULT_OPSET = 17
# The Keras paths a run takes when none are named: tf2onnx's ONNX read as written and then
# by onnx2torch, and the same ONNX read with onnxruntime's graph optimisations on (a failure
# there and not on keras>tf2onnx blames the optimiser).
DEFAULT_PATHS = ("keras>tf2onnx>onnx2torch", "keras>tf2onnx>ort-optimized")

BUILTIN = {
    "tf2onnx": "harness.converters.keras_tf2onnx:Tf2OnnxConverter",
    "keras-onnx": "harness.converters.keras_export:KerasOnnxExportConverter",
    "onnx2torch": "harness.converters.onnx_to_torch:Onnx2TorchConverter",
    "onnx2pytorch": "harness.converters.onnx_to_pytorch:Onnx2PytorchConverter",
    "keras-file": "harness.converters.saved_formats:KerasFileConverter",
    "h5": "harness.converters.saved_formats:H5Converter",
    "savedmodel": "harness.converters.saved_formats:SavedModelConverter",
    "tf2onnx-savedmodel": "harness.converters.saved_formats:Tf2OnnxSavedModelConverter",
    "keras-torch": "harness.converters.keras_torch_backend:KerasTorchConverter",
    "ort-optimized": "harness.converters.ort_optimized:OrtOptimizedConverter",
    "mat2torch": "harness.converters.mat_to_torch:MatToTorchConverter",
    # ONNX graph simplifiers and optimizers users run between an exporter and a converter
    # (docs/rewriters.md): onnx → onnx, read by onnxruntime as written.
    "onnxsim": "harness.converters.onnxsim_stage:OnnxSimConverter",
    "onnxslim": "harness.converters.onnxslim_stage:OnnxSlimConverter",
    "onnxoptimizer": "harness.converters.onnxoptimizer_stage:OnnxOptimizerConverter",
    # Keras → TFLite, run by the LiteRT interpreter (docs/rewriters.md)
    "tflite": "harness.converters.keras_tflite:TfliteConverter",
    "tflite-savedmodel": "harness.converters.keras_tflite:TfliteSavedModelConverter",
    # a .tflite file (parity check) to ONNX, as tf2onnx --tflite converts it
    "tf2onnx-tflite": "harness.converters.tf2onnx_tflite:Tf2OnnxTfliteConverter",
    # onnx2tf: ONNX → a TensorFlow SavedModel and a float32 TFLite file, run in a worker
    # with its own folder (`parity install onnx2tf`, docs/rewriters.md#onnx2tf)
    "onnx2tf": "harness.converters.onnx2tf_stage:Onnx2TfConverter",
    "onnx2tf-tflite": "harness.converters.onnx2tf_stage:Onnx2TfTfliteConverter",
    "tf2onnx-keras2": "harness.converters.keras2:Tf2OnnxKeras2Converter",
    "keras3": "harness.converters.keras2:Keras3Converter",
    "tf-keras": "harness.converters.keras2:TfKerasConverter",
}
# What users do next with a converted PyTorch module (docs/torch-end.md): each takes a torch
# artifact, so that any path ending in one extends with it.
BUILTIN.update({
    "torch-export": "harness.converters.torch_export:TorchExportConverter",
    "torch-export-nonstrict": "harness.converters.torch_export:TorchExportNonStrictConverter",
    "torch-compile": "harness.converters.torch_compile:TorchCompileConverter",
    "torch-compile-eager": "harness.converters.torch_compile:TorchCompileEagerConverter",
    "torch-compile-aot-eager": "harness.converters.torch_compile:TorchCompileAotEagerConverter",
    "torch-onnx": "harness.converters.torch_onnx:TorchOnnxDynamoConverter",
    "torch-onnx-ts": "harness.converters.torch_onnx:TorchOnnxTorchScriptConverter",
})


class ConversionError(RuntimeError):
    """A converter raised; carries the stage name for the result record."""


class TransientFailure(Exception):
    """Mixed into an error about how a stage ran, not what it converted: its worker timed
    out, died or would not start; a forked child was killed by a signal. The next run may
    differ, so the stage cache never keeps it."""


class NotApplicable(ConversionError):
    """The stage cannot apply to this model, by what the model is rather than by a fault of
    the converter (a SavedModel leg on a SavedModel that has no signature it reads): the leg
    is a skip of category ``not_applicable`` that says why, never a failure."""


class PathError(ValueError):
    pass


@dataclass(frozen=True)
class ScriptRecipe:
    """What a standalone reproducer of a stage needs (``parity repro --script``): the import
    lines, the statements that convert ``model`` (a Keras → ONNX stage binds ``proto``, an
    ONNX → PyTorch stage ``module``, an ONNX rewriter ``rewritten``, a TFLite stage ``flat``
    and ``signature_inputs``; indented for the body of a ``try``), a paragraph on what the script
    does (``{opset}`` is filled in) and the distributions whose versions it names. A stage
    without one is scripted through parity's converter protocol, as a plugin's is.
    ``defined``: functions the conversion calls, written into the script before ``main``.
    ``runs_with``: for a converter installed apart from the pinned stack, the environment a
    process running the script needs, made from the given one (None: the process's own).
    ``input_names``: where the converter's module takes its inputs by the model's input names
    as well (``CALLED_BY_NAME``), an expression of those names: the script calls it both ways,
    as parity's torch runner does."""

    imports: tuple[str, ...]
    convert: str
    what: str
    packages: tuple[str, ...]
    defined: tuple[str, ...] = ()
    runs_with: Callable[[dict[str, str]], dict[str, str]] | None = None
    input_names: str | None = None


@dataclass(frozen=True)
class ConvertOptions:
    opset: int = DEFAULT_OPSET
    workdir: Path | None = None
    # What a stage that traces the model needs (torch.export, torch.compile, torch.onnx):
    # the case's inputs at its first size, the input shapes of every size its legs run at (a
    # dimension that differs between them is free) and the device the legs run on. The
    # pipeline fills them in per leg; a stage that does not trace ignores them.
    example_inputs: tuple[Any, ...] | None = field(default=None, compare=False)
    input_shapes: tuple[tuple[tuple[int, ...], ...], ...] = ()
    device: str = "cpu"


@runtime_checkable
class Converter(Protocol):
    name: str
    source: str
    target: str
    packages: tuple[str, ...]

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact: ...


_REGISTRY: PluginRegistry[Converter] = PluginRegistry(
    "converter", ENTRY_POINT_GROUP, BUILTIN, lambda c: isinstance(c, Converter), PathError)


def stage(name: str, source: str, target: str, *, packages: tuple[str, ...],
          environment: tuple[str, ...] = ()):
    """Class decorator naming a converter's stage: ``@stage("onnx2torch", "onnx", "torch",
    packages=("onnx2torch", "torch"))`` sets the attributes the protocol reads (a plugin may
    as well write them in its class body). ``environment``: the variables the converter reads
    when it converts, whose values the stage cache's key holds."""

    def named(cls):
        cls.name, cls.source, cls.target, cls.packages = name, source, target, packages
        cls.environment = environment
        return cls

    return named


# register(converter): in this process (tests, notebooks), winning over the built-ins.
register, unregister, available, get = (
    _REGISTRY.register, _REGISTRY.unregister, _REGISTRY.available, _REGISTRY.get)


def missing(name: str) -> str | None:
    """Why stage ``name`` cannot run here because what it needs is not installed (its
    declared ``packages``, or the stage's own ImportError on loading: onnx2tf without
    ``parity install onnx2tf``), naming what to install; None where it can, and for an unknown
    stage (``ConversionPath.parse`` names it)."""
    try:
        converter = get(name)
    except PathError:
        return None
    except ImportError as exc:
        return f"stage {name}: {str(exc).splitlines()[0]}"
    return installed.missing_text(f"stage {name}", getattr(converter, "packages", ()))


def left_out_stages() -> list[str]:
    """Every registered stage that cannot run here, each with what to install."""
    return [why for why in map(missing, available()) if why is not None]


def starts_from(leg: str, start: str) -> bool:
    """Whether ``leg`` is ``start`` or a leg that goes on from it ("onnx>onnx2torch>
    torch-export" starts from "onnx>onnx2torch")."""
    return leg == start or leg.startswith(start + ">")


@dataclass(frozen=True)
class ConversionPath:
    source: str
    stages: tuple[str, ...]

    @property
    def name(self) -> str:
        return ">".join((self.source, *self.stages))

    def legs(self) -> list[str]:
        return [">".join((self.source, *self.stages[: i + 1])) for i in range(len(self.stages))]

    @classmethod
    def parse(cls, text: str) -> ConversionPath:
        parts = [p.strip() for p in text.split(">") if p.strip()]
        if len(parts) < 2:
            raise PathError(f"path {text!r} needs a source and at least one stage: 'keras>tf2onnx'")
        path = cls(parts[0], tuple(parts[1:]))
        fmt = _source_format(path.source)
        for stage in path.stages:
            converter = get(stage)
            if converter.source != fmt:
                raise PathError(
                    f"path {text!r}: stage {stage!r} takes {converter.source!r} artifacts "
                    f"but receives {fmt!r}"
                )
            fmt = converter.target
        return path


def _source_format(name: str) -> str:
    """The artifact format a path's first element stands for: a source's format, or the
    name itself (a path may start from any format a converter takes)."""
    if source_registry.is_source(name):
        return source_registry.get(name).format
    return name


def parse_paths(text: str | None) -> list[ConversionPath]:
    items = [t for t in (text or ",".join(DEFAULT_PATHS)).split(",") if t.strip()]
    return [ConversionPath.parse(t) for t in items]
