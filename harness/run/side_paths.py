"""Where the ONNX simplifiers and optimizers and Keras → TFLite run in the suites
(docs/rewriters.md): paths added beside a source's default paths, for a deterministic sample
of cases, on a budget the Hypothesis profile sets, as the torch end does
(``harness.run.torch_end``).

``SidePaths`` adds its paths to a case whose paths start from the same source (``onnx>onnxsim``
beside ``onnx>onnx2torch``; ``keras>tflite`` beside ``keras>tf2onnx>onnx2torch``) when the case
is sampled: one case in ``every``, by a hash of the case id salted apart from the torch end's,
so that the two samples are independent. ``Extensions`` chains several extensions (the torch
end's and these) into the one a ``Harness`` takes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from harness.converters import ConversionPath, PathError
from harness.run.torch_end import Extension

# The ONNX → ONNX stages after the ONNX source, and Keras → TFLite both ways.
ONNX = ("onnx>onnxsim", "onnx>onnxslim", "onnx>onnxoptimizer")
KERAS = ("keras>tflite", "keras>savedmodel>tflite-savedmodel")
ALL = ONNX + KERAS


@dataclass(frozen=True)
class SidePaths:
    paths: tuple[str, ...]
    every: int = 1  # one case in `every` goes down them
    salt: str = "side-paths"

    def applies(self, case_id: str) -> bool:
        if self.every <= 1:
            return True
        digest = hashlib.sha256(f"{self.salt}:{case_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.every == 0

    def extend(self, paths: list, case_id: str | None = None) -> list:
        """``paths`` and, for a sampled case, each of these whose source starts one of them."""
        if case_id is not None and not self.applies(case_id):
            return paths
        starts = {path.source for path in paths}
        names = {path.name for path in paths}
        return [*paths, *(ConversionPath.parse(text) for text in self.paths
                          if text.split(">", 1)[0] in starts and text not in names)]

    def to_json(self) -> dict[str, Any]:
        return {"side_paths": list(self.paths), "every": self.every, "salt": self.salt}


@dataclass(frozen=True)
class Extensions:
    """Several extensions, applied in order."""

    parts: tuple

    def extend(self, paths: list, case_id: str | None = None) -> list:
        for part in self.parts:
            paths = part.extend(paths, case_id)
        return paths

    def to_json(self) -> dict[str, Any]:
        return {"parts": [to_json(part) for part in self.parts]}


def to_json(extension) -> dict[str, Any] | None:
    """An extension as the isolated worker receives it (``from_json`` reads it back)."""
    if extension is None:
        return None
    if isinstance(extension, Extension):
        return {"stages": list(extension.stages), "every": extension.every,
                "first_only": extension.first_only}
    return extension.to_json()


def from_json(data: dict[str, Any] | None):
    if data is None:
        return None
    if "parts" in data:
        return Extensions(tuple(from_json(part) for part in data["parts"]))
    if "side_paths" in data:
        return SidePaths(tuple(data["side_paths"]), data["every"], data["salt"])
    return Extension(tuple(data["stages"]), data["every"], data["first_only"])


def combine(*extensions):
    """One extension of those given that are not None (None if none is)."""
    found = tuple(e for e in extensions if e is not None)
    return None if not found else found[0] if len(found) == 1 else Extensions(found)


# The suites' budget by Hypothesis profile (measured by benchmarks/bench_side_paths.py,
# docs/benchmarks.md#side-paths). ci: one ONNX case in 128 down the three ONNX → ONNX stages
# and one Keras case in 256 down both TFLite routes (about 20 and 8 cases in the README main
# job); nightly: every case.
PROFILES = {
    "dev": (SidePaths(ONNX, every=128), SidePaths(KERAS, every=256)),
    "ci": (SidePaths(ONNX, every=128), SidePaths(KERAS, every=256)),
    "nightly": (SidePaths(ONNX), SidePaths(KERAS)),
}


def parse(text: str | None, profile: str | None = None):
    """``--parity-side-paths``: ``auto`` (the profile's sample), ``none``, ``all`` (every
    case) or a comma-separated list of paths (every case)."""
    text = (text or "auto").strip()
    if text == "auto":
        parts = PROFILES.get(profile or "")
        return None if parts is None else combine(*parts)
    if text == "none":
        return None
    chosen = ALL if text == "all" else tuple(s.strip() for s in text.split(",") if s.strip())
    for path in chosen:
        ConversionPath.parse(path)  # an unknown stage or a wrong format fails here
        if ">" not in path:
            raise PathError(f"--parity-side-paths: {path!r} is not a path")
    return SidePaths(chosen)
