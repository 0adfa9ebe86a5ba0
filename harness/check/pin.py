"""``parity check MODEL --pin NAME``: the user's model as a golden case.

The case (its spec, the inputs it ran on, the reference outputs, provenance naming the pin)
is written with ``harness.golden.write_case``; the ``file`` source's ``store`` copies the
model file into the case folder (``source/``) and stores the ONNX a replay starts from
(``model.onnx``), so ``suites/golden`` replays the case without the user's path and without
TensorFlow, and a converter change is gated on the user's real model from then on.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from harness import golden
from harness.check.options import CheckError
from harness.converters import Artifact
from harness.core.compare import is_structure, value_kind, worst_of
from harness.core.frameworks import versions
from harness.sources import get
from harness.sources.file import STORED_LEG


def unstorable(arrays) -> str | None:
    """Why a case's inputs or outputs cannot go into an .npz read without pickle (the golden
    store's, a script's embedded case): strings as onnxruntime returns them, an ONNX
    sequence or map (a classical-ML model's labels and ZipMap); None where they can."""
    kinds = sorted({value_kind(value) for value in arrays or ()
                    if is_structure(value) or np.asarray(value).dtype.hasobject})
    return None if not kinds else (f"the case holds {' and '.join(kinds)} values, which an "
                                   f".npz read without pickle cannot hold")


def pin(options, spec, reading, harness) -> dict[str, Any]:
    if reading is None:
        raise CheckError(f"--pin {options.pin}: the model was not read")
    why = unstorable([*reading.inputs, *reading.reference])
    if why is not None:
        raise CheckError(f"--pin {options.pin}: the golden store cannot keep this case yet: "
                         f"{why}")
    root = Path(options.golden) if options.golden else golden.default_root()
    golden.recover(root)
    if (root / golden.MANIFEST).is_file():
        try:
            cases = dict(golden.read_manifest(root).cases)
        except golden.GoldenError as exc:
            raise CheckError(f"--pin {options.pin}: {exc}") from None
    else:
        cases = {}
        (root / golden.CASES).mkdir(parents=True, exist_ok=True)
    folder = root / golden.CASES / spec.case_id
    tolerance = harness.policy.for_spec(spec, spec.source, harness.device)
    if reading.native is not None and worst_of(reading.native, reading.reference,
                                               tolerance).passed:
        reading = reading._replace(native=None)  # the readings agree: nothing to keep
    # The ONNX the check already converted is the one a replay starts from.
    converted = harness.artifacts.get(STORED_LEG.get(reading.artifact.format, ""))
    if isinstance(converted, Artifact):
        reading.artifact.meta["stored_onnx"] = converted.model
    source = get("file")
    provenance = {
        "source": "file",
        "pin": options.pin,
        "file": spec.attrs["path"],
        "versions": {p: v for p, v in versions().items()
                     if p in (*source.packages, "numpy")},
        "opset": harness.options.opset,
        "device": harness.device,
        "seed": spec.seed,
        "created": golden.now(),
        "tolerance": {"atol": tolerance.atol, "rtol": tolerance.rtol, "rule": tolerance.rule},
    }
    if folder.exists():
        shutil.rmtree(folder)
    try:
        files = golden.write_case(root, reading, spec, provenance, harness.options)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    total = sum((folder / name).stat().st_size for name in files)
    limit = options.pin_limit_mb * 2**20
    if total > limit:
        shutil.rmtree(folder, ignore_errors=True)
        raise CheckError(f"--pin {options.pin}: the case takes {total / 2**20:.1f} MB with "
                         f"its converted model, above the {options.pin_limit_mb:g} MB a golden "
                         f"case may hold; raise --pin-limit-mb to pin it anyway")
    cases[spec.case_id] = files
    golden.write_manifest(root, cases)
    notes = json.loads((folder / "provenance.json").read_text())
    return {"name": options.pin, "case_id": spec.case_id, "root": str(root),
            "folder": str(folder), "files": sorted(files), "bytes": total,
            "onnx_error": notes.get("onnx_error")}
