"""The environment once: what shards share, and only what differs."""

from __future__ import annotations

from harness.report.environment import ABSENT, environment_once

from .synthetic import run_record


def test_two_workers_differ_in_one_variable() -> None:
    runs = [run_record("r", "gw0", environment={"TF_CPP_MIN_LOG_LEVEL": "2", "X": None}),
            run_record("r", "gw1", environment={"TF_CPP_MIN_LOG_LEVEL": "3", "X": None})]
    env = environment_once(runs)
    assert env.shards == ["gw0", "gw1"] and env.run_ids == ["r"]
    [difference] = env.differences
    assert difference.field == "environment.TF_CPP_MIN_LOG_LEVEL"
    assert difference.values == [("2", ["gw0"]), ("3", ["gw1"])]
    assert env.get("cpu") == "AMD EPYC 7B13" and env.nested("environment") == {"X": None}
    assert env.nested("versions")["onnxruntime"] == "1.20.1"


def test_machines_differ_in_their_gpu_and_a_version_only() -> None:
    cpu = run_record("cpu-run", "main")
    gpu = run_record("gpu-run", "main", gpu="NVIDIA H100", device="cuda")
    gpu["versions"] = dict(gpu["versions"], torch="2.6.0")
    del gpu["opset"]
    env = environment_once([cpu, gpu])
    assert env.shards == ["main (cpu-run)", "main (gpu-run)"]
    fields = {d.field: d.values for d in env.differences}
    assert set(fields) == {"gpu", "device", "versions.torch", "opset"}
    assert fields["opset"] == [(17, ["main (cpu-run)"]), (ABSENT, ["main (gpu-run)"])]
    assert "versions.torch" not in env.common and env.nested("versions")["keras"] == "3.6.0"


def test_one_run_has_no_difference() -> None:
    env = environment_once([run_record()])
    assert not env.differences and env.get("host") == "ci-runner-1"
    assert environment_once([]).common == {}
