"""Where a profiled run's CPU went: py-spy's raw samples, summed into the parts of a case.

    pip install py-spy
    py-spy record -o profile.txt --format raw -r 20 --subprocesses --nonblocking -- \
        python -m pytest suites/ -n 2 --hypothesis-profile ci -p no:cacheprovider \
        --parity-cache "$(mktemp -d)" --parity-report /tmp/profiled
    python benchmarks/profile_summary.py profile.txt

Each line of py-spy's raw format is a stack (frames separated by ";", the process first) and
a sample count. A part's share counts every sample whose stack passes through one of its
frames (a frame is "function (file:line)"), once per sample, so parts may nest: the share of
tf2onnx's optimiser is inside that of tf2onnx. The processes' shares show how evenly the
pytest-xdist workers were loaded.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

# (part, nesting depth, a regular expression on a frame, or a pair of them on a frame and
# the frame it calls): what a suite's case spends time on.
PARTS = (
    ("tf2onnx: keras -> onnx (from_keras)", 0, r"^from_keras \(.*tf2onnx/convert\.py"),
    ("tf2onnx's graph optimiser", 1, r"^optimize_graph \(.*tf2onnx/optimizer/__init__\.py"),
    ("its deepcopy of the graph before each pass", 2,
     (r"^optimize_graph \(.*tf2onnx/optimizer/__init__\.py", r"^deepcopy \(.*copy\.py")),
    ("its EinsumOptimizer", 2, r"^EinsumOptimizer\._optimize "),
    ("tracing the model into a tf.function", 1, r"^_get_concrete_function \(.*tf2onnx/convert"),
    ("freezing variables to constants", 1, r"^convert_variables_to_constants_v2 "),
    ("TensorFlow ops to ONNX (process_tf_graph)", 1, r"^process_tf_graph "),
    ("grappler", 1, r"^OptimizeGraph \(.*grappler"),
    ("Keras source: building and reading a case", 0, r"^KerasSource\.read "),
    ("building the Keras model", 1, r"^build_model \(.*harness/sources/keras/model\.py"),
    ("the float64 yardstick", 1, r"^keras_reading \(.*yardstick\.py"),
    ("the XLA second reading", 1, r"^xla_reading "),
    ("onnxruntime sessions (create)", 0, r"^InferenceSession\.__init__ "),
    ("onnx2torch", 0, r"^Onnx2TorchConverter\.convert "),
    ("known-issue matching", 0, r"^candidates \(.*known_issues\.py"),
    ("stage cache writes", 0, r"^Store\.put "),
    ("comparing outputs", 0, r"^compare_outputs "),
    ("imports", 0, r"^_find_and_load \(<frozen importlib"),
    ("pytest collection", 0, r"^pytest_collection \(.*_pytest/main\.py"),
)


def read_samples(path: Path) -> list[tuple[list[str], int]]:
    samples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            raise ValueError(f"{path}:{number}: not py-spy's raw format (stack;frames COUNT)")
        samples.append((stack.split(";"), int(count)))
    return samples


def shares(samples: list[tuple[list[str], int]]) -> tuple[int, dict[str, int],
                                                             collections.Counter]:
    """Total samples, samples per part, and samples per process."""
    total, per_process = 0, collections.Counter()
    per_part = dict.fromkeys((name for name, _, _ in PARTS), 0)
    patterns = [(name, tuple(map(re.compile, (p,) if isinstance(p, str) else p)))
                for name, _, p in PARTS]
    for frames, count in samples:
        total += count
        processes = [f for f in frames if f.startswith("process ")]
        per_process[processes[-1][:70] if processes else "?"] += count
        for name, pattern in patterns:
            if _passes_through(frames, pattern):
                per_part[name] += count
    return total, per_part, per_process


def _passes_through(frames: list[str], pattern: tuple[re.Pattern, ...]) -> bool:
    """A frame matches the first pattern and the frames it calls match the rest in turn."""
    width = len(pattern)
    return any(all(p.search(frames[i + k]) for k, p in enumerate(pattern))
               for i in range(len(frames) - width + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path, help="py-spy record --format raw output")
    args = parser.parse_args(argv)
    try:
        samples = read_samples(args.profile)
    except (OSError, ValueError) as exc:
        print(f"profile_summary: {exc}", file=sys.stderr)
        return 2
    total, per_part, per_process = shares(samples)
    if not total:
        print(f"profile_summary: {args.profile}: no samples", file=sys.stderr)
        return 2
    print(f"{total} samples")
    for name, depth, _ in PARTS:
        print(f"  {100 * per_part[name] / total:5.1f}%  {'  ' * depth}{name}")
    print("  by process (the innermost process of each stack):")
    for process, count in per_process.most_common():
        print(f"  {100 * count / total:5.1f}%  {process}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
