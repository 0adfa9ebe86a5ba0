"""benchmarks/profile_summary.py: py-spy's raw samples summed into the parts of a case."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load():
    spec = importlib.util.spec_from_file_location(
        "profile_summary", ROOT / "benchmarks" / "profile_summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONVERT = "from_keras (tf2onnx/convert.py:477)"
OPTIMISE = "optimize_graph (tf2onnx/optimizer/__init__.py:45)"
COPY = "deepcopy (copy.py:128)"
RAW = "\n".join([
    f'process 1:"pytest";process 2:"worker";{CONVERT};{OPTIMISE};{COPY} 6',
    f'process 1:"pytest";process 2:"worker";{CONVERT};other (x.py:1);{COPY} 3',
    'process 1:"pytest";process 3:"worker";_find_and_load (<frozen importlib._bootstrap>:1) 1',
]) + "\n"


def test_parts_count_each_sample_once_and_a_pair_only_where_one_frame_calls_the_other(tmp_path):
    summary = load()
    path = tmp_path / "profile.txt"
    path.write_text(RAW)
    total, parts, processes = summary.shares(summary.read_samples(path))
    assert total == 10
    assert parts["tf2onnx: keras -> onnx (from_keras)"] == 9
    assert parts["tf2onnx's graph optimiser"] == 6
    assert parts["its deepcopy of the graph before each pass"] == 6  # not the other deepcopy
    assert parts["imports"] == 1
    assert processes['process 2:"worker"'] == 9 and processes['process 3:"worker"'] == 1


def test_a_file_that_is_not_raw_samples_is_one_line_and_exit_2(tmp_path, capsys):
    summary = load()
    path = tmp_path / "profile.svg"
    path.write_text("<svg>\n")
    assert summary.main([str(path)]) == 2
    assert "profile.svg:1: not py-spy's raw format" in capsys.readouterr().err
