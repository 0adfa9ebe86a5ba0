"""Where the stages after a converted PyTorch module run (docs/torch-end.md).

Any path that ends in a torch artifact extends with one of these stages
(``onnx>onnx2torch>torch-export``): the leg exports, compiles or exports back to ONNX what
the converter built and compares its numbers with the source's. ``Extension`` adds them to
the paths a case goes down: in a suite run, to a deterministic sample of cases (one in
``every``, by a hash of the case id) on a budget the Hypothesis profile sets
(``PROFILES``); in ``parity check``, to every torch-ending default path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from harness.converters import ConversionPath, PathError, get
from harness.core.stages import missing

# Every stage, cheapest first.
STAGES = ("torch-onnx-ts", "torch-export-nonstrict", "torch-export", "torch-compile-eager",
          "torch-compile-aot-eager", "torch-onnx", "torch-compile")
# What `parity check` runs by default: does the module export, compile and go back to ONNX
# (both exporters). The eager and aot_eager backends and non-strict export are there to
# separate causes: `--torch-end all` adds them.
CHECK_STAGES = ("torch-export", "torch-compile", "torch-onnx", "torch-onnx-ts")


@dataclass(frozen=True)
class Extension:
    stages: tuple[str, ...]
    every: int = 1  # one case in `every` goes down the extended paths
    # Only the first path that ends in a PyTorch module (a source's main converter:
    # onnx>onnx2torch, not onnx>onnx2pytorch too).
    first_only: bool = False

    def applies(self, case_id: str) -> bool:
        if self.every <= 1:
            return True
        digest = hashlib.sha256(case_id.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.every == 0

    def extend(self, paths: list, case_id: str | None = None, family: str | None = None
               ) -> list:
        """``paths`` and, for a sampled case, each torch-ending one extended by every stage
        (whatever the case's kind ``family``)."""
        if not self.stages or (case_id is not None and not self.applies(case_id)):
            return paths
        bases = [path for path in paths if ends_in_torch(path)][: 1 if self.first_only else None]
        return [*paths, *(path for path in extended(bases, self.stages)
                          if path.name not in {p.name for p in paths})]


def ends_in_torch(path) -> bool:
    return get(path.stages[-1]).target == "torch" and path.stages[-1] not in STAGES


def extended(paths: list, stages) -> list:
    return [ConversionPath(path.source, (*path.stages, stage))
            for path in paths if ends_in_torch(path) for stage in stages]


# The suites' budget by Hypothesis profile (measured by benchmarks/bench_torch_end.py,
# docs/benchmarks.md#torch-end: per ONNX case, both converters' legs, 0.07 s for
# torch-onnx-ts, 0.2 to 0.45 s for torch.export and the eager backends, 3.3 s for Inductor,
# 5.3 s for the dynamo ONNX exporter). ci: the cheapest stage on one case in 16, after each
# source's main converter; nightly: every stage on one case in 64, after every converter.
PROFILES = {
    "dev": Extension(("torch-onnx-ts",), every=16, first_only=True),
    "ci": Extension(("torch-onnx-ts",), every=16, first_only=True),
    "nightly": Extension(STAGES, every=64),
}


def parse(text: str | None, profile: str | None = None) -> Extension | None:
    """``--parity-torch-end``: ``auto`` (the profile's budget), ``none``, ``all`` (every
    stage, every case) or a comma-separated list of stages (every case)."""
    text = (text or "auto").strip()
    if text == "auto":  # leaving out a stage not installed here (the run names it)
        chosen = PROFILES.get(profile or "")
        kept = None if chosen is None else tuple(
            stage for stage in chosen.stages if missing(stage) is None)
        return None if not kept else replace(chosen, stages=kept)
    if text == "none":
        return None
    stages = STAGES if text == "all" else tuple(s.strip() for s in text.split(",") if s.strip())
    for stage in stages:
        converter = get(stage)
        if converter.source != "torch":
            raise PathError(f"--torch-end: {stage!r} takes {converter.source!r} artifacts, "
                            f"not a PyTorch module")
    return Extension(stages)
