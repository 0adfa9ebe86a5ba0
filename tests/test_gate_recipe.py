"""A converter team's recipe (docs/gate.md), for real: onnx2torch's source release from the
package index as the team's repository, installed editable in a fresh venv beside parity
installed from a wheel built from this repository, and the documented gate run from the root
of that tree. It gates that tree: a wrong slope planted in its LeakyRelu converter fails the
gate, naming the leg; taken out again, the gate passes.

The fresh venv sees the frameworks of the venv running this test (torch, onnx, onnxruntime,
...) through a ``.pth`` line, which keeps the test to minutes; parity and onnx2torch are its
own, and the test checks that the code it imports is theirs (``module.__file__``), not this
venv's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RELEASE = "onnx2torch==1.5.15"
# The documented gate (docs/gate.md), on a small selection of the ONNX suite.
GATE = ["parity", "gate", "--converter", "onnx2torch", "--suites", "onnx", "--",
        "-k", "LeakyRelu or Relu or Sigmoid", "-p", "no:randomly"]
GATE_LINE = 'parity gate --converter onnx2torch --suites onnx -- -k "LeakyRelu or Relu or Sigmoid"'
CONVERTER = Path("onnx2torch/node_converters/activations.py")
RIGHT = "torch_module=nn.LeakyReLU(negative_slope=alpha),"
WRONG = "torch_module=nn.LeakyReLU(negative_slope=2 * alpha),"
LEG = "onnx>onnx2torch"

pytestmark = pytest.mark.slow


def _run(command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, (done.args, done.stdout[-3000:], done.stderr[-3000:])
    return done


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """(the venv's bin folder, the onnx2torch tree, the environment to run in, timings)."""
    work = tmp_path_factory.mktemp("team")
    timings = {}
    started = time.monotonic()
    fetched = _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--no-binary", ":all:", RELEASE, "-d", str(work / "sdist")])
    if fetched.returncode != 0:
        pytest.skip(f"no {RELEASE} sdist from the package index: {fetched.stderr.strip()[-300:]}")
    (sdist,) = (work / "sdist").glob("onnx2torch-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(work, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    tree = work / sdist.name.removesuffix(".tar.gz")
    timings["sdist"] = time.monotonic() - started

    started = time.monotonic()
    _ok(_run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"),
              str(ROOT)]))
    (wheel,) = (work / "dist").glob("parity-*.whl")
    timings["wheel"] = time.monotonic() - started

    started = time.monotonic()
    venv = work / "venv"
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", str(venv)]))
    python = venv / "bin" / "python"
    purelib = Path(_ok(_run([str(python), "-c", "import sysconfig; "
                             "print(sysconfig.get_paths()['purelib'])"])).stdout.strip())
    # After the venv's own .pth files (the editable onnx2torch's), so that its own come first.
    (purelib / "zz-frameworks.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("PARITY_")}
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    _ok(_run([str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(tree),
              "--config-settings", "editable_mode=compat"], env=environment))
    _ok(_run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
             env=environment))
    timings["venv"] = time.monotonic() - started
    where = json.loads(_ok(_run(
        [str(python), "-c", "import json, harness, onnx2torch, parity_suites; print(json.dumps("
         "[harness.__file__, onnx2torch.__file__, parity_suites.__file__]))"],
        cwd=work, env=environment)).stdout)
    assert where[0].startswith(str(purelib)), f"harness from {where[0]}, not the wheel"
    assert where[1].startswith(str(tree)), f"onnx2torch from {where[1]}, not the team's tree"
    assert where[2].startswith(str(purelib)), f"the suites from {where[2]}, not the wheel"
    return tree, environment, timings


def _gate(tree: Path, environment) -> tuple[subprocess.CompletedProcess, float, list[dict]]:
    started = time.monotonic()
    done = _run(GATE, cwd=tree, env=environment)
    took = time.monotonic() - started
    results = tree / "reports" / "results.jsonl"
    records = [json.loads(line) for line in results.open()] if results.is_file() else []
    return done, took, records


def test_the_recipe_is_the_documented_one():
    assert GATE_LINE in (ROOT / "docs" / "gate.md").read_text()
    assert " ".join(GATE[:6]) + " -- -k" in GATE_LINE


def test_the_gate_gates_the_team_tree(team):
    tree, environment, timings = team
    passed, took, records = _gate(tree, environment)
    assert passed.returncode == 0, passed.stdout[-4000:] + passed.stderr[-2000:]
    legs = {r["leg"] for r in records if r.get("leg")}
    assert LEG in legs, legs
    timings["gate, passing"] = took

    source = tree / CONVERTER
    text = source.read_text()
    assert text.count(RIGHT) == 1
    source.write_text(text.replace(RIGHT, WRONG))
    try:
        failed, took, records = _gate(tree, environment)
    finally:
        source.write_text(text)
    timings["gate, planted slope"] = took
    assert failed.returncode == 1, failed.stdout[-4000:] + failed.stderr[-2000:]
    failing = {r["leg"] for r in records if r.get("verdict") == "fail"}
    assert LEG in failing, failing
    assert f"leg {LEG} (stage onnx2torch, runner torch): numeric_mismatch" in failed.stdout, \
        failed.stdout[-4000:]
    assert "LeakyRelu" in failed.stdout

    again, took, _ = _gate(tree, environment)
    timings["gate, reverted"] = took
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    print("timings (s):", {k: round(v, 1) for k, v in timings.items()})
