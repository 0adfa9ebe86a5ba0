"""What ``parity check`` costs on a ResNet50-sized model, against a bare script doing the same
conversions and runs.

Both sides take the same file and do the same work a user checking it by hand would do: read
the model, compute the reference (onnxruntime with optimisations off for ONNX; Keras' call
for a ``.keras`` file) at both sizes ``parity check`` runs (the free batch at 4, then 1),
convert along every default path of the format (each stage once, shared prefixes shared),
and run every leg at both sizes. The bare side calls the converters and runners as objects
and compares nothing; the check side is ``harness.check.run_check``: the same plus hashing
the file, comparing, known issues, task-level agreement, pitfalls and the reports
(results.jsonl, parity.html, junit.xml). Frameworks are imported and warmed up on a small
model first, so neither side pays the imports. Rounds alternate which side goes first.

    python benchmarks/bench_check.py [--format onnx|keras] [--rounds 1] [--json out.json]

The issue's bar: the check costs at most 1.5x the bare script.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from harness.core.frameworks import prepare_imports

prepare_imports()

import numpy as np  # noqa: E402

from harness.check import CheckOptions, default_paths, run_check  # noqa: E402
from harness.converters import Artifact, ConversionPath, ConvertOptions, get  # noqa: E402
from harness.runtimes import runner_for  # noqa: E402
from harness.sources import file as files  # noqa: E402

LIMIT = 1.5


def write_onnx(folder: Path, name: str = "resnet50") -> Path:
    import torch
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    # weights=None leaves every batch norm at zero mean and zero shift: folded into the
    # convolutions they give equal zero biases, which the exporter merges into one shared
    # initializer (and onnx2torch refuses). Trained models have no such ties.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
            elif isinstance(module, torch.nn.Conv2d) and module.bias is not None:
                module.bias.normal_(0, 0.1)
    path = folder / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), str(path), dynamo=False,
                          input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17)
    return path


def write_keras(folder: Path, name: str = "ResNet50") -> Path:
    import keras

    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, name)(weights=None)
    path = folder / f"{name}.keras"
    model.save(path)
    return path


def bare(path: Path) -> dict[str, float]:
    """Read, reference and every leg of every default path at both sizes, nothing else."""
    timing: dict[str, float] = {}
    started = time.perf_counter()
    kind = files.detect(path)
    if kind == "onnx":
        import onnx

        model = onnx.load(str(path))
        names = [i.name for i in model.graph.input]
        start = "onnx"
        source = Artifact("onnx", model, names)
        reference = Artifact("onnx", model, names, {"ort_optimization": "disable"})
    else:
        from harness.converters.saved_formats import load_keras_file

        model = load_keras_file(path)
        start = "keras"
        source = reference = Artifact("keras", model, ["input_0"])
    shape = [d for d in (model.graph.input[0].type.tensor_type.shape.dim
                         if kind == "onnx" else model.inputs[0].shape)]
    sizes = []
    for batch in (4, 1):
        dims = [batch] + [int(d.dim_value) if kind == "onnx" else int(d) for d in shape[1:]]
        sizes.append([np.random.default_rng(0).standard_normal(dims).astype(np.float32)])
    for inputs in sizes:
        runner_for(reference.format).run(reference, inputs)
    timing["read+reference"] = time.perf_counter() - started
    artifacts = {start: source}
    options = ConvertOptions()
    for text in default_paths(start)[0]:
        path_ = ConversionPath.parse(text)
        for leg, stage in zip(path_.legs(), path_.stages):
            if leg in artifacts:
                continue
            parent = artifacts.get(leg.rsplit(">", 1)[0])
            if not isinstance(parent, Artifact):
                artifacts[leg] = None
                continue
            t0 = time.perf_counter()
            try:
                artifact = get(stage).convert(parent, options)
                runner = runner_for(artifact.format)
                for inputs in sizes:
                    runner.run(artifact, inputs)
            except Exception as exc:  # noqa: BLE001  (the check meets the same failure)
                artifacts[leg] = None
                timing[f"{leg} (failed: {type(exc).__name__})"] = time.perf_counter() - t0
                continue
            artifacts[leg] = artifact
            timing[leg] = time.perf_counter() - t0
    timing["total"] = time.perf_counter() - started
    return timing


def check(path: Path, report: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    outcome = run_check(CheckOptions(model=str(path), report=str(report)))
    took = time.perf_counter() - started
    return took, {row.leg: row.verdict for row in outcome.rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=["onnx", "keras"], default="onnx")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parity-bench-check-") as tmp:
        folder = Path(tmp)
        writer = write_onnx if args.format == "onnx" else write_keras
        warm = writer(folder, "squeezenet1_1" if args.format == "onnx" else "MobileNetV2")
        bare(warm)  # imports, first-call costs of every stage and runner
        check(warm, folder / "warm-reports")
        path = writer(folder)
        print(f"model: {path.name}, {path.stat().st_size / 2**20:.0f} MB", flush=True)
        bare_times, check_times, verdicts, detail = [], [], {}, {}
        for number in range(args.rounds):
            # Odd rounds start with the check: whichever goes second meets warmer caches.
            for side in (("bare", "check") if number % 2 == 0 else ("check", "bare")):
                if side == "bare":
                    detail = bare(path)
                    bare_times.append(detail["total"])
                else:
                    took, verdicts = check(path, folder / "reports")
                    check_times.append(took)
            print(f"round {number + 1}: bare {bare_times[-1]:.1f} s, check {took:.1f} s",
                  flush=True)
    bare_s, check_s = statistics.median(bare_times), statistics.median(check_times)
    ratio = check_s / bare_s
    result = {"model": path.name, "format": args.format, "rounds": args.rounds,
              "bare_s": round(bare_s, 2), "check_s": round(check_s, 2),
              "ratio": round(ratio, 3), "limit": LIMIT, "verdicts": verdicts,
              "bare_detail": {k: round(v, 2) for k, v in detail.items()}}
    print(json.dumps(result, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"check / bare = {ratio:.2f} (limit {LIMIT})")
    return 0 if ratio <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
