"""`matlab/parity_export.m` under GNU Octave, with stand-in layer objects.

MATLAB is not available to CI; Octave runs the exporter's struct building and saving. The
stand-ins are classdef classes in a package (`+nnet/+cnn/+layer/`), so `class()` returns the
packaged name the exporter must strip, and `properties()` lists their public properties as it
does for real layers; `net.Connections` is a struct with Source/Destination (Octave has no
table). The written file is imported and checked against the NumPy reference.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import harness.mat as hm
from harness.mat.layout import image_to_matlab, image_to_torch
from harness.mat.reader import texts
from harness.sources.mat.case import MatCase, network_spec
from harness.sources.mat.writer import save_mat

MATLAB_DIR = Path(__file__).resolve().parents[2] / "matlab"
OCTAVE = shutil.which("octave-cli") or shutil.which("octave")

pytestmark = pytest.mark.skipif(
    OCTAVE is None, reason="GNU Octave is not installed (apt-get install octave); the MATLAB "
                           "exporter test runs parity_export.m under Octave")

BRANCH = {"k": [3, 3], "filters": 3, "stride": [1, 1], "dilation": [1, 1],
          "pad": [1, 1, 1, 1], "groups": 1, "bias": True}
CHAIN = [("conv", {"k": [3, 2], "filters": 2, "stride": [2, 1], "dilation": [1, 1],
                   "pad": [1, 0, 0, 1], "groups": 1, "bias": True}),
         ("relu", {"leak": 0.1}),
         ("pool", {"method": "avg", "k": [2, 2], "stride": [1, 1], "pad": [1, 0, 0, 1],
                   "count_pad": True})]
SPEC = network_spec([("conv", BRANCH), ("conv", BRANCH, [0]), ("sum", {}, [1, 2]), *CHAIN],
                    input_shape=(2, 2, 6, 5), seed=11)
SERIES = network_spec(CHAIN, input_shape=(2, 2, 6, 5), seed=11)  # without the merge

CLASSDEF = """classdef {cls}
  properties
{props}
  end
  methods
    function obj = {cls}(s)
      f = fieldnames(s);
      for k = 1:numel(f)
        obj.(f{{k}}) = s.(f{{k}});
      end
    end
  end
end
"""

SCRIPT = """
addpath('{matlab_dir}');
load('{inputs}');  % layers (cell of structs with Class), sources, destinations
objects = cell(1, numel(layers));
for i = 1:numel(layers)
  s = layers{{i}};
  cls = s.Class;
  objects{{i}} = feval(['nnet.cnn.layer.' cls], rmfield(s, 'Class'));
end
net = struct();
net.Layers = objects;
net.Connections = struct('Source', {{sources}}, 'Destination', {{destinations}});
net.InputNames = {{'input'}};
net.OutputNames = {{'regressionoutput'}};
parity_export(net, '{output}', '{version}');
"""


def _stand_in_classes(root: Path, layers) -> None:
    package = root / "+nnet" / "+cnn" / "+layer"
    package.mkdir(parents=True)
    props: dict[str, list[str]] = {}
    for item in layers:
        props.setdefault(item["Class"], [])
        props[item["Class"]] += [k for k in item if k != "Class" and k not in props[item["Class"]]]
    for cls, names in props.items():
        (package / f"{cls}.m").write_text(CLASSDEF.format(
            cls=cls, props="\n".join(f"    {name}" for name in names)))


def octave_export(folder: Path, case: MatCase, version: str, timeout: float = 120) -> Path:
    """``case``'s network as stand-in layer objects and a Connections struct, exported under
    Octave by parity_export.m to ``folder/exported.mat`` in MATLAB's ``version`` format."""
    variables = case.variables()
    _stand_in_classes(folder, list(variables["layers"].ravel()))
    connections = variables["connections"]
    inputs = folder / "inputs.mat"
    save_mat(inputs, {"layers": variables["layers"],
                      "sources": connections[:, 0].reshape(1, -1),
                      "destinations": connections[:, 1].reshape(1, -1)})
    output = folder / "exported.mat"
    script = SCRIPT.format(matlab_dir=MATLAB_DIR, inputs=inputs, output=output, version=version)
    run = subprocess.run([OCTAVE, "--no-gui", "--quiet", "--norc", "--eval", script],
                         cwd=folder, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr + run.stdout
    return output


@pytest.mark.parametrize("version", ["-v7", "-v6"])
def test_octave_export_imports_and_matches_reference(tmp_path, version):
    case = MatCase(SPEC)
    network = hm.load_network(octave_export(tmp_path, case, version))
    assert network.format == "parity.dlt/1"
    assert [layer.type for layer in network.layers] == [
        "ImageInputLayer", "Convolution2DLayer", "Convolution2DLayer", "AdditionLayer",
        "Convolution2DLayer", "LeakyReLULayer", "AveragePooling2DLayer"]
    assert any("RegressionOutputLayer" in note for note in network.notes)
    x = case.matlab_inputs()[0]
    got = hm.to_torch(network)(torch.from_numpy(image_to_torch(x))).detach().numpy()
    np.testing.assert_allclose(image_to_matlab(got), case.expected(x), rtol=1e-4, atol=1e-5)


def test_octave_export_of_a_series_without_connections(tmp_path):
    case = MatCase(SERIES)
    variables = case.variables()
    layers = list(variables["layers"].ravel())
    _stand_in_classes(tmp_path, layers)
    inputs = tmp_path / "inputs.mat"
    save_mat(inputs, {"layers": variables["layers"]})
    output = tmp_path / "series.mat"
    script = (f"addpath('{MATLAB_DIR}'); load('{inputs}'); objs = {{}};"
              "for i = 1:numel(layers), s = layers{i}; "
              "objs{end+1} = feval(['nnet.cnn.layer.' s.Class], rmfield(s, 'Class')); end;"
              "net = struct(); net.Layers = objs;"
              f"parity_export(net, '{output}');")
    run = subprocess.run([OCTAVE, "--no-gui", "--quiet", "--norc", "--eval", script],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout
    from harness.mat.reader import read_mat

    raw = read_mat(output)
    assert raw["format"] == "parity.dlt/1" and texts(raw["inputNames"]) == []
    x = case.matlab_inputs()[0]
    got = hm.to_torch(output)(torch.from_numpy(image_to_torch(x))).detach().numpy()
    np.testing.assert_allclose(image_to_matlab(got), case.expected(x), rtol=1e-4, atol=1e-5)
