"""Synthetic results JSONL, shaped like docs/results.md, for the report's tests and timings.

Deterministic for a given seed. Run as a script to produce a file to look at or to time:

    python tests/report/synthetic.py --cases 1000 -o reports/synthetic.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

KINDS = {
    "Conv2D": (
        "conv",
        {
            "filters": [1, 4, 8],
            "kernel_size": [[1, 1], [3, 3], [5, 5]],
            "padding": ["valid", "same"],
            "strides": [[1, 1], [2, 2]],
        },
    ),
    "DepthwiseConv2D": (
        "conv",
        {"kernel_size": [[3, 3]], "depth_multiplier": [1, 2], "padding": ["valid", "same"]},
    ),
    "Dense": (
        "core",
        {"units": [1, 7, 32], "use_bias": [True, False], "activation": ["linear", "relu", "tanh"]},
    ),
    "MaxPooling2D": ("pooling", {"pool_size": [[2, 2], [3, 3]], "padding": ["valid", "same"]}),
    "AveragePooling2D": ("pooling", {"pool_size": [[2, 2], [3, 3]], "padding": ["valid", "same"]}),
    "BatchNormalization": ("normalization", {"epsilon": [0.001, 1e-05], "center": [True, False]}),
    "LayerNormalization": ("normalization", {"epsilon": [0.001], "axis": [-1]}),
    "LSTM": ("recurrent", {"units": [2, 8], "return_sequences": [True, False]}),
    "GRU": ("recurrent", {"units": [2, 8], "reset_after": [True, False]}),
    "Softmax": ("activation", {"axis": [-1, 1]}),
    "Concatenate": ("merge", {"axis": [-1, 1]}),
    "Resizing": ("preprocessing", {"interpolation": ["nearest", "bilinear"]}),
}
PATHS = ["keras>tf2onnx>onnx2torch", "keras>tf2onnx>onnx2pytorch"]
VERSIONS = {
    "tensorflow": "2.17.0",
    "keras": "3.6.0",
    "tf2onnx": "1.16.1",
    "onnx": "1.17.0",
    "onnxruntime": "1.20.1",
    "torch": "2.5.1",
    "onnx2torch": "1.5.15",
    "onnx2pytorch": "0.5.1",
    "numpy": "2.1.3",
}


def domains() -> dict[str, dict[str, list[Any]]]:
    """The documented values of the synthetic kinds, one more than ever drawn for each."""
    documented = {kind: {a: [*v] for a, v in attrs.items()} for kind, (_, attrs) in KINDS.items()}
    documented["Conv2D"]["dilation_rate"] = [[1, 1], [2, 2]]
    documented["Dense"]["units"].append(1024)
    return documented


def run_record(run_id: str = "synthetic-run", shard: str = "main", **overrides: Any) -> dict:
    record = {
        "record": "run",
        "schema": "parity.run/1",
        "run_id": run_id,
        "shard": shard,
        "started": "2025-01-01T00:00:00Z",
        "host": "ci-runner-1",
        "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
        "python": "3.11.2",
        "cpu": "AMD EPYC 7B13",
        "gpu": None,
        "device": "cpu",
        "versions": dict(VERSIONS),
        "opset": 17,
        "paths": PATHS,
        "hypothesis": {"profile": "ci", "seed": 1234, "derandomize": True, "max_examples": 100},
        "command": "pytest suites/ -n 4 --hypothesis-profile ci",
    }
    record.update(overrides)
    return record


def case_id_of(spec: dict) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _metrics(rng: random.Random, shape: list[int], scale: float) -> dict[str, Any]:
    total = 1
    for n in shape:
        total *= n
    max_abs = scale * rng.uniform(0.5, 3.0)
    mismatched = 0 if scale < 1e-5 else rng.randint(1, max(1, total // 10))
    # Most errors sit a few decades below the largest, as in a real comparison.
    top = min(11, max(0, int(math.log10(max_abs)) + 12))
    counts = [0] * 12
    for _ in range(total):
        counts[max(0, top - int(rng.expovariate(0.7)))] += 1
    return {
        "shape": shape,
        "expected_shape": shape,
        "dtype": "float32",
        "expected_dtype": "float32",
        "total": total,
        "mismatched": mismatched,
        "mismatch_fraction": mismatched / total,
        "max_abs": max_abs,
        "max_abs_index": [rng.randrange(n) for n in shape],
        "max_rel": max_abs * rng.uniform(1, 50),
        "max_rel_index": [rng.randrange(n) for n in shape],
        "max_ulp": int(max_abs / 1.2e-7),
        "required_atol": max_abs,
        "required_rtol": max_abs * 2,
        "nonfinite": {
            "expected_nan": 0,
            "actual_nan": 0,
            "expected_inf": 0,
            "actual_inf": 0,
            "mask_mismatch": 0,
        },
        "histogram": {"edges": [float(e) for e in range(-12, 1)], "counts": counts},
    }


def _result(rng: random.Random, case: dict, path: str, leg: str, verdict: str) -> dict[str, Any]:
    stage = leg.split(">")[-1]
    runner = "onnxruntime" if stage == "tf2onnx" else "torch"
    shape = case["spec"]["input_shapes"][0]
    failure = known = None
    metrics: dict[str, Any] | None = _metrics(rng, shape, 1e-7)
    if verdict == "fail":
        metrics = _metrics(rng, shape, 10 ** rng.uniform(-4, 0))
        failure = {
            "category": "numeric_mismatch",
            "message": f"max_abs {metrics['max_abs']:.3e} exceeds atol 1e-05",
        }
    elif verdict == "error":
        metrics = None
        failure = {
            "category": rng.choice(["conversion_error", "runtime_error"]),
            "message": f"{stage} failed: Unsupported op 'Foo' in node {case['kind']}_1\n"
            'Traceback (most recent call last):\n  File "convert.py", line 12\n',
        }
    elif verdict in ("xfail", "xpass"):
        known = {
            "id": "onnx2pytorch#42",
            "url": "https://github.com/example/onnx2pytorch/issues/42",
            "reason": "pads of asymmetric SAME padding dropped",
        }
        if verdict == "xfail":
            failure = {"category": "numeric_mismatch", "message": "asymmetric padding lost"}
            metrics = _metrics(rng, shape, 0.1)
    elif verdict == "skip":
        metrics = None
        failure = None
    return {
        "record": "result",
        "schema": "parity.result/1",
        "run_id": case["run_id"],
        "shard": case["shard"],
        "case_id": case["case_id"],
        "kind": case["kind"],
        "family": case["family"],
        "spec": case["spec"],
        "inputs": case["inputs"],
        "path": path,
        "leg": leg,
        "stage": stage,
        "runner": runner,
        "verdict": verdict,
        "failure": failure,
        "known_issue": known,
        "metrics": metrics,
        "outputs": [metrics] if metrics else [],
        "tolerance": {"atol": 1e-5, "rtol": 1e-5, "rule": "float32"},
        "device": "cpu",
        "timing": {"build": 0.004, "convert": 0.05, "run": 0.002, "compare": 0.0005},
        "test": f"suites/layers/test_{case['family']}.py::test_{case['kind'].lower()}",
        "hypothesis": {"profile": "ci", "seed": 1234},
        "repro": f"parity repro {case['case_id']}",
        "time": "2025-01-01T00:01:00Z",
    }


def _verdicts(rng: random.Random) -> list[str]:
    """Three legs per case; about 80% of cases pass, the rest fail in varied ways."""
    roll = rng.random()
    if roll < 0.80:
        return ["pass", "pass", "pass"]
    if roll < 0.90:
        return ["pass", "pass", "fail"]
    if roll < 0.94:
        return ["pass", "error", "pass"]
    if roll < 0.97:
        return ["pass", "pass", "xfail"]
    if roll < 0.98:
        return ["pass", "pass", "xpass"]
    return ["pass", "skip", "skip"]


def make_records(
    cases: int = 1000, seed: int = 0, run_id: str = "synthetic-run", shards: int = 1
) -> list[dict[str, Any]]:
    """A run record per shard, then about three result records per case."""
    rng = random.Random(seed)
    names = [f"gw{i}" for i in range(shards)] if shards > 1 else ["main"]
    records: list[dict[str, Any]] = [run_record(run_id, name) for name in names]
    kinds = sorted(KINDS)
    for i in range(cases):
        kind = kinds[i % len(kinds)]
        family, attrs = KINDS[kind]
        drawn = {name: rng.choice(values) for name, values in attrs.items()}
        shape = [1, rng.choice([4, 8]), rng.choice([4, 8]), rng.choice([1, 3])]
        spec = {
            "schema": "parity.spec/1",
            "kind": kind,
            "attrs": drawn,
            "input_shapes": [shape],
            "dtype": "float32",
            "seed": i,
        }
        case = {
            "kind": kind,
            "family": family,
            "spec": spec,
            "case_id": case_id_of(spec),
            "inputs": [{"shape": shape, "dtype": "float32"}],
            "run_id": run_id,
            "shard": names[i % len(names)],
        }
        # The ONNX leg is shared by both paths and recorded once, under the first.
        legs = [(PATHS[0], "keras>tf2onnx"), (PATHS[0], PATHS[0]), (PATHS[1], PATHS[1])]
        for (path, leg), verdict in zip(legs, _verdicts(rng), strict=True):
            records.append(_result(rng, case, path, leg, verdict))
    return records


def write_jsonl(path: str | Path, records: list[dict[str, Any]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", default="reports/synthetic.jsonl")
    args = parser.parse_args(argv)
    write_jsonl(args.output, make_records(args.cases, args.seed))
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
