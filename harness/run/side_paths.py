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

import contextlib
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from harness.converters import ConversionPath, PathError, get
from harness.core.stages import missing
from harness.run.torch_end import Extension
from harness.runtimes.registry import runner_missing

# The ONNX → ONNX stages after the ONNX source, and Keras → TFLite both ways.
ONNX = ("onnx>onnxsim", "onnx>onnxslim", "onnx>onnxoptimizer")
KERAS = ("keras>tflite", "keras>savedmodel>tflite-savedmodel")
# onnx2tf to TensorFlow and TFLite: about 8 s a conversion (most of it the three onnxsim runs
# onnx2tf makes), so its ci sample is sparser.
ONNX2TF = ("onnx>onnx2tf", "onnx>onnx2tf-tflite")
ALL = ONNX + KERAS  # `--parity-side-paths all`; onnx2tf, costlier, is named on its own


@dataclass(frozen=True)
class SidePaths:
    paths: tuple[str, ...]
    every: int = 1  # one case in `every` goes down them
    salt: str = "side-paths"
    # The profile's paths left out because a stage is not installed here, each with why.
    left_out: tuple[str, ...] = ()
    # Where set, only the cases of these kind families (the ONNX source's ``patterns``: the
    # graphs rewriters rewrite) go down them.
    families: tuple[str, ...] = ()

    def applies(self, case_id: str) -> bool:
        if self.every <= 1:
            return True
        digest = hashlib.sha256(f"{self.salt}:{case_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.every == 0

    def extend(self, paths: list, case_id: str | None = None, family: str | None = None
               ) -> list:
        """``paths`` and, for a sampled case (of one of ``families``, where set), each of
        these whose source starts one of them."""
        if self.families and family not in self.families:
            return paths
        if case_id is not None and not self.applies(case_id):
            return paths
        starts = {path.source for path in paths}
        names = {path.name for path in paths}
        return [*paths, *(ConversionPath.parse(text) for text in self.paths
                          if text.split(">", 1)[0] in starts and text not in names)]

    def to_json(self) -> dict[str, Any]:
        return {"side_paths": list(self.paths), "every": self.every, "salt": self.salt,
                "families": list(self.families)}


@dataclass(frozen=True)
class Extensions:
    """Several extensions, applied in order."""

    parts: tuple

    def extend(self, paths: list, case_id: str | None = None, family: str | None = None
               ) -> list:
        for part in self.parts:
            paths = part.extend(paths, case_id, family)
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
        return SidePaths(tuple(data["side_paths"]), data["every"], data["salt"],
                         families=tuple(data.get("families", ())))
    return Extension(tuple(data["stages"]), data["every"], data["first_only"])


def combine(*extensions):
    """One extension of those given that are not None (None if none is)."""
    found = tuple(e for e in extensions if e is not None)
    return None if not found else found[0] if len(found) == 1 else Extensions(found)


# The suites' budget by Hypothesis profile (measured by benchmarks/bench_side_paths.py,
# docs/benchmarks.md#side-paths). ci: one ONNX case in 128 down the three ONNX → ONNX stages,
# one Keras case in 256 down both TFLite routes and one ONNX case in 1,024 down onnx2tf's two
# legs, salted apart (about 30, 8 and 2 of the README main job's 4,100 drawn ONNX cases);
# nightly: every case.
ONNX2TF_SAMPLE = SidePaths(ONNX2TF, every=1024, salt="onnx2tf")
# The ONNX source's ``patterns`` kinds (harness/sources/onnx/patterns.py) are the graphs the
# rewriters rewrite: every one of their cases goes down the three, in every profile (about
# 0.15 s a case for the three legs; docs/rewriters.md#the-patterns-they-rewrite).
PATTERNS = SidePaths(ONNX, salt="patterns", families=("patterns",))
PROFILES = {
    "dev": (SidePaths(ONNX, every=128), SidePaths(KERAS, every=256), ONNX2TF_SAMPLE, PATTERNS),
    "ci": (SidePaths(ONNX, every=128), SidePaths(KERAS, every=256), ONNX2TF_SAMPLE, PATTERNS),
    "nightly": (SidePaths(ONNX), SidePaths(ONNX2TF), SidePaths(KERAS)),
}


def unavailable(path: str, stored=()) -> str | None:
    """Why a path cannot run here (a stage's package not installed, onnx2tf not installed),
    None where it can. A leg in ``stored`` (a golden case's stored artifact) is not made
    again: only its runner must be installed."""
    parts = path.split(">")
    for leg, name in zip((">".join(parts[: i + 2]) for i in range(len(parts) - 1)), parts[1:]):
        why = missing(name)
        # An unknown stage (parse names it), or one that cannot load: as `missing` says.
        if leg in stored:
            with contextlib.suppress(PathError, ImportError):
                why = runner_missing(get(name).target)
        if why is not None:
            return f"{path}: {why}"
    return None


def runnable(paths, stored=()) -> list[str]:
    """``paths`` without those that cannot run here (``unavailable``)."""
    return [path for path in paths if unavailable(path, stored) is None]


def installed(part: SidePaths) -> SidePaths | None:
    """``part`` without the paths whose stages are not installed here, which it names."""
    why = {path: unavailable(path) for path in part.paths}
    kept = tuple(path for path in part.paths if why[path] is None)
    gone = tuple(reason for reason in why.values() if reason is not None)
    if not kept:
        return SidePaths((), part.every, part.salt, gone)
    return replace(part, paths=kept, left_out=gone)


def left_out(extension) -> list[str]:
    """The profile's side paths a run leaves out, each with why (the terminal summary)."""
    if isinstance(extension, Extensions):
        return [reason for part in extension.parts for reason in left_out(part)]
    return list(getattr(extension, "left_out", ()))


def parse(text: str | None, profile: str | None = None):
    """``--parity-side-paths``: ``auto`` (the profile's sample, leaving out with a note the
    paths of a stage not installed here), ``none``, ``all`` (every case) or a
    comma-separated list of paths (every case), each of which must be installed."""
    text = (text or "auto").strip()
    if text == "auto":
        parts = PROFILES.get(profile or "")
        return None if parts is None else combine(*(installed(part) for part in parts))
    if text == "none":
        return None
    chosen = ALL if text == "all" else tuple(s.strip() for s in text.split(",") if s.strip())
    for path in chosen:
        why = unavailable(path)
        if why is not None:
            raise PathError(f"--parity-side-paths: {why}")
        ConversionPath.parse(path)  # an unknown stage or a wrong format fails here
        if ">" not in path:
            raise PathError(f"--parity-side-paths: {path!r} is not a path")
    return SidePaths(chosen)
