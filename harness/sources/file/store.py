"""A file's case in the golden store: the model file copied beside it (so that reading the
case again never needs the user's path) and the ONNX a replay starts from."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness.core.spec import LayerSpec
from harness.sources.file.loaded import KERAS2_START

COPY_FOLDER = "source"
COPY_WEIGHTS = "weights.h5"
ONNX_MODEL = "model.onnx"
# The leg whose ONNX a pinned case stores, by the format a file reads to, so that a replay
# runs below the source framework.
STORED_LEG = {"keras": "keras>tf2onnx", KERAS2_START: "tf_keras>tf2onnx-keras2",
              "savedmodel": "savedmodel>tf2onnx-savedmodel"}

# Where the golden store keeps a case: harness.golden's layout (default_root() / CASES /
# case id), named here because a source sits below the store (tests/test_file_source.py
# holds the two to the same folder).
GOLDEN_ENV = "PARITY_GOLDEN"
GOLDEN_DEFAULT = "golden"
GOLDEN_CASES = "cases"


def case_folder(spec: LayerSpec) -> Path:
    """The folder the default golden store keeps this case in."""
    return Path(os.environ.get(GOLDEN_ENV, GOLDEN_DEFAULT)) / GOLDEN_CASES / spec.case_id


def golden_copy(spec: LayerSpec, folder: Path | None) -> tuple[Path, Path | None] | None:
    """The copy of the spec's model (and weights) a golden case holds, if any."""
    folder = case_folder(spec) if folder is None else folder
    copy = folder / COPY_FOLDER / Path(spec.attrs["path"]).name
    if not copy.exists():
        return None
    weights = folder / COPY_FOLDER / COPY_WEIGHTS
    return copy, (weights if weights.is_file() else None)


def copy_model(spec: LayerSpec, folder: Path) -> None:
    """Copies the model file (and its weights) into ``folder/source/``, so that reading the
    case again never needs the user's path."""
    target = folder / COPY_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    source = Path(spec.attrs["path"])
    if source.is_dir():
        shutil.copytree(source, target / source.name, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target / source.name)
    if spec.attrs.get("weights"):
        shutil.copy2(spec.attrs["weights"], target / COPY_WEIGHTS)
