"""Where onnx2tf lives beside the pinned stack, and how ``parity install onnx2tf`` puts it there.

onnx2tf pins exact old versions of its whole stack in its metadata (numpy 1.26.4, onnx 1.19.1,
onnxruntime 1.23.0, tensorflow 2.19.0, protobuf 4.25.5, ...), so pip cannot install it beside
the project's pinned stack. Its code runs on that stack all the same (docs/rewriters.md,
measured), so it is installed ``--no-deps`` into a folder of its own, with the few pieces it
imports that the stack lacks, and runs in a worker process that has the folder on its
``PYTHONPATH`` (``harness.converters.onnx2tf_worker``); this process never imports it. The
folder sits inside the environment (``sys.prefix``), so it goes with the venv;
``PARITY_ONNX2TF_HOME`` names another.

``PINS`` is the whole install: onnx-graphsurgeon 0.6.1 rather than the 0.5.8 onnx2tf names,
which calls ``onnx.helper.float32_to_bfloat16``, gone from onnx 1.23.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PINS = ("onnx2tf==1.29.24", "onnx-graphsurgeon==0.6.1", "sne4onnx==2.0.1", "sng4onnx==2.0.1",
        "psutil==7.2.2")
HOME_VARIABLE = "PARITY_ONNX2TF_HOME"
RECORD = "parity-onnx2tf.json"  # what was installed, written last: its presence means done
INSTALL_HINT = "run `parity install onnx2tf` (docs/rewriters.md#onnx2tf)"


class Onnx2TfNotInstalled(ImportError):
    """The onnx2tf folder is missing or holds another set of pins."""


def home() -> Path:
    configured = os.environ.get(HOME_VARIABLE)
    return Path(configured) if configured else Path(sys.prefix) / "share" / "parity" / "onnx2tf"


def environment(folder: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a process that imports onnx2tf from ``folder``: the folder first on
    ``PYTHONPATH``, and this environment's scripts first on ``PATH``, so that the ``onnxsim``
    command onnx2tf calls is the one installed here whether or not the venv is activated."""
    base = dict(os.environ if base is None else base)
    python_path = [str(folder), *filter(None, [base.get("PYTHONPATH")])]
    return {**base, "PYTHONPATH": os.pathsep.join(python_path),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), base.get("PATH", "")])}


def record(folder: Path | None = None) -> dict | None:
    """What ``install`` wrote into the folder; None where nothing complete is there."""
    path = (folder or home()) / RECORD
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def require(folder: Path | None = None) -> Path:
    """The folder, when it holds this parity's pins; else ``Onnx2TfNotInstalled`` saying what
    to run."""
    folder = folder or home()
    found = record(folder)
    if found is None:
        raise Onnx2TfNotInstalled(f"onnx2tf is not installed in this environment "
                                  f"({folder} holds no {RECORD}): {INSTALL_HINT}")
    if tuple(found.get("pins", ())) != PINS:
        raise Onnx2TfNotInstalled(f"{folder} holds onnx2tf installed for other pins "
                                  f"({', '.join(found.get('pins', ()))}; this parity pins "
                                  f"{', '.join(PINS)}): {INSTALL_HINT}")
    return folder


@functools.cache
def fingerprint(folder: Path | None = None) -> str:
    """A hash of every file in the folder (its path, size and content): what the onnx2tf
    stages run, for the stage cache's key, so that an onnx2tf reinstalled at the same version
    with other code misses."""
    folder = folder or home()
    hasher = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        hasher.update(f"{path.relative_to(folder)}\0{path.stat().st_size}\0".encode())
        hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()


def version(folder: Path | None = None) -> str | None:
    found = record(folder)
    return None if found is None else found.get("onnx2tf")


def install(folder: Path | None = None, pip_args: tuple[str, ...] = ()) -> Path:
    """Installs ``PINS`` with ``pip install --no-deps --target`` into a fresh folder beside
    ``folder`` and moves it into place, so that a failed or interrupted install leaves the
    previous one (or none), never half of one."""
    folder = folder or home()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".onnx2tf-", dir=folder.parent))
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "--target", str(staging), *pip_args,
                        *PINS], check=True)
        onnx2tf_version = _installed_version(staging, "onnx2tf")
        (staging / RECORD).write_text(json.dumps(
            {"pins": list(PINS), "onnx2tf": onnx2tf_version,
             "python": sys.version.split()[0]}, indent=1) + "\n")
        previous = folder.with_name(folder.name + ".previous")
        shutil.rmtree(previous, ignore_errors=True)
        if folder.exists():
            folder.rename(previous)
        staging.rename(folder)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _installed_version(folder: Path, name: str) -> str:
    for info in folder.glob(f"{name}-*.dist-info"):
        return info.name[len(name) + 1:-len(".dist-info")]
    raise RuntimeError(f"pip installed no {name} into {folder}")
