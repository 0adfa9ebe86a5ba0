"""Bad input gives one clear `MatImportError` naming the file (and the layer), never a crash
deep inside scipy, h5py or torch."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import harness.mat as hm
from harness.sources.mat.case import MatCase, network_spec
from harness.sources.mat.writer import V7, V73, cell, save_mat

CONV = ("conv", {"k": [3, 3], "filters": 2, "stride": [1, 1], "dilation": [1, 1],
                 "pad": [1, 1, 1, 1], "groups": 1, "bias": True})
SPEC = network_spec([CONV, ("relu", {"leak": 0.0})], input_shape=(1, 2, 6, 6), seed=3)


def _write(tmp_path, variables, version=V7, name="net.mat"):
    path = tmp_path / name
    save_mat(path, variables, version)
    return path


@pytest.mark.parametrize("version", [V7, V73])
def test_truncated_file(tmp_path, version):
    path = _write(tmp_path, MatCase(SPEC).variables("simplenn"), version)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(hm.MatImportError, match="truncated|damaged") as caught:
        hm.load_network(path)
    assert str(path) in str(caught.value)


def test_file_shorter_than_header(tmp_path):
    path = tmp_path / "short.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file, Platform")
    with pytest.raises(hm.MatImportError, match="truncated"):
        hm.load_network(path)


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + b"\0" * 600, b"hello, world\n"])
def test_not_a_mat_file(tmp_path, content):
    path = tmp_path / "image.mat"
    path.write_bytes(content)
    with pytest.raises(hm.MatImportError, match="not a MATLAB .mat file") as caught:
        hm.to_torch(path)
    assert str(path) in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(hm.MatImportError, match="cannot read"):
        hm.load_network(tmp_path / "absent.mat")


def test_mat_file_without_network(tmp_path):
    path = _write(tmp_path, {"x": np.ones((2, 2))})
    with pytest.raises(hm.MatImportError, match="no network found.*'x'"):
        hm.load_network(path)


@pytest.mark.parametrize("version", [V7, V73])
def test_conv_weights_not_matching_declared_size_dlt(tmp_path, version):
    variables = MatCase(SPEC).variables("dlt")
    conv = variables["layers"][0, 1]
    conv["FilterSize"] = np.array([[5.0, 5.0]])  # the stored weights are 3×3
    path = _write(tmp_path, variables, version)
    with pytest.raises(hm.MatImportError) as caught:
        hm.to_torch(path)
    message = str(caught.value)
    assert str(path) in message and "layer 2 'conv1'" in message
    assert "Weights has size [3, 3, 2, 2], but the layer declares [5, 5, 2, 2]" in message


def test_bias_not_matching_filters_matconvnet(tmp_path):
    variables = MatCase(SPEC).variables("simplenn")
    conv = variables["net"]["layers"][0, 0]
    conv["weights"] = cell([conv["weights"][0, 0], np.ones((5, 1), np.float32)])
    path = _write(tmp_path, variables)
    with pytest.raises(hm.MatImportError, match=r"layer 1 'conv1' \(type 'conv'\).*holds 5 "
                                                r"values.*need 2"):
        hm.to_torch(path)


def test_bnorm_moments_of_wrong_size(tmp_path):
    spec = network_spec([CONV, ("relu", {"leak": 0.0}), ("bnorm", {"eps": 1e-5})],
                        input_shape=(1, 2, 6, 6), seed=3)
    variables = MatCase(spec).variables("simplenn")
    bnorm = variables["net"]["layers"][0, 2]
    gain, bias, _ = (bnorm["weights"][0, k] for k in range(3))
    bnorm["weights"] = cell([gain, bias, np.ones((3, 2), np.float32)])
    with pytest.raises(hm.MatImportError, match=r"layer 3 'bnorm3'.*moments"):
        hm.to_torch(_write(tmp_path, variables))


def test_weights_not_fitting_the_input_channels(tmp_path):
    # Each layer is consistent with itself; the conv reads 2 channels but the input has 3.
    variables = MatCase(SPEC).variables("dlt")
    variables["layers"][0, 0]["InputSize"] = np.array([[6.0, 6.0, 3.0]])
    with pytest.raises(hm.MatImportError, match=r"layer 'conv1' \(type 'Convolution2DLayer'\)"
                                                r" fails on inputs of size \[\[1, 3, 6, 6\]\]"):
        hm.to_torch(_write(tmp_path, variables))


def test_connection_to_unknown_layer(tmp_path):
    variables = MatCase(SPEC).variables("dlt")
    variables["connections"][1, 1] = "nonexistent"
    path = _write(tmp_path, variables)
    with pytest.raises(hm.MatImportError, match="connection conv1 -> nonexistent: destination "
                                                "'nonexistent' is not a layer") as caught:
        hm.load_network(path)
    assert str(path) in str(caught.value)


def test_dagnn_input_never_produced(tmp_path):
    variables = MatCase(SPEC).variables("dagnn")
    variables["net"]["layers"].items[1]["inputs"] = cell(["ghost"])
    with pytest.raises(hm.MatImportError, match=r"layer 2 'relu2' \(type 'relu'\) uses "
                                                r"variable\(s\) \['ghost'\], which net.vars"):
        hm.to_torch(_write(tmp_path, variables))


def test_dagnn_parameter_missing(tmp_path):
    variables = MatCase(SPEC).variables("dagnn")
    variables["net"]["layers"].items[0]["params"] = cell(["conv1_p1", "nope"])
    with pytest.raises(hm.MatImportError, match="uses parameter 'nope'"):
        hm.load_network(_write(tmp_path, variables))


@pytest.mark.parametrize("version", [V7, V73])
def test_unknown_layer_class_dlt(tmp_path, version):
    variables = MatCase(SPEC).variables("dlt")
    variables["layers"][0, 2]["Class"] = "MyFancyLayer"
    with pytest.raises(hm.MatImportError, match=r"layer 3 'relu2' \(type 'MyFancyLayer'\) has "
                                                r"no handler; register one"):
        hm.to_torch(_write(tmp_path, variables, version))


def test_unknown_layer_type_matconvnet_lists_all(tmp_path):
    variables = MatCase(SPEC).variables("simplenn")
    variables["net"]["layers"][0, 0]["type"] = "myconv"
    variables["net"]["layers"][0, 1]["type"] = "myrelu"
    with pytest.raises(hm.MatImportError, match=r"cannot import 2 layer\(s\)(.|\n)*'myconv'"
                                                r"(.|\n)*'myrelu'"):
        hm.to_torch(_write(tmp_path, variables))


def test_handler_failures_name_the_layer(tmp_path):
    path = _write(tmp_path, MatCase(SPEC).variables("simplenn"))

    def broken(layer):
        raise RuntimeError("boom")

    with pytest.raises(hm.MatImportError, match=r"layer 2 'relu2'.*handler failed: "
                                                r"RuntimeError: boom"):
        hm.to_torch(path, handlers={"relu": broken})
    with pytest.raises(hm.MatImportError, match="returned int, not a torch.nn.Module"):
        hm.to_torch(path, handlers={"relu": lambda layer: 3})


def test_saved_deep_learning_toolbox_object_v73(tmp_path):
    # What save('net.mat', 'net') writes for a SeriesNetwork: an MCOS reference.
    path = tmp_path / "series.mat"
    with h5py.File(path, "w", userblock_size=512) as handle:
        dataset = handle.create_dataset("net", data=np.array([[3707764736], [2], [1], [1],
                                                              [1], [1]], dtype=np.uint32))
        dataset.attrs["MATLAB_class"] = np.bytes_("SeriesNetwork")
        dataset.attrs["MATLAB_object_decode"] = np.int32(3)
    with open(path, "r+b") as raw:
        raw.write(b"MATLAB 7.3 MAT-file".ljust(116) + b"\0" * 8 + b"\x00\x02IM")
    with pytest.raises(hm.MatImportError, match=r"Deep Learning Toolbox object \(SeriesNetwork"
                                                r"\)(.|\n)*parity_export"):
        hm.load_network(path)


def test_saved_deep_learning_toolbox_object_level5(tmp_path):
    path = tmp_path / "dag.mat"
    path.write_bytes(_level5_mcos_file("net", "DAGNetwork"))
    with pytest.raises(hm.MatImportError, match=r"Deep Learning Toolbox object \(DAGNetwork\)"):
        hm.load_network(path)


def _element(data_type: int, payload: bytes) -> bytes:
    padded = payload + b"\0" * (-len(payload) % 8)
    return np.array([data_type, len(payload)], "<u4").tobytes() + padded


def _level5_mcos_file(name: str, class_name: str) -> bytes:
    """A Level-5 file with one MCOS object variable, laid out as MATLAB writes it:
    miMATRIX of class mxOPAQUE (17) holding the name, 'MCOS', the class name and a uint32
    metadata matrix."""
    mi_int8, mi_uint32, mi_int32, mi_matrix = 1, 6, 5, 14
    metadata = (_element(mi_uint32, np.array([17, 0], "<u4").tobytes())[:0]
                + _element(mi_uint32, np.array([13, 0], "<u4").tobytes())  # mxUINT32 flags
                + _element(mi_int32, np.array([6, 1], "<i4").tobytes())
                + _element(mi_int8, b"")
                + _element(mi_uint32, np.array([0xDD000000, 2, 1, 1, 1, 1], "<u4").tobytes()))
    body = (_element(mi_uint32, np.array([17, 0], "<u4").tobytes())
            + _element(mi_int8, name.encode())
            + _element(mi_int8, b"MCOS")
            + _element(mi_int8, class_name.encode())
            + _element(mi_matrix, metadata))
    header = b"MATLAB 5.0 MAT-file, Platform: GLNXA64".ljust(116) + b"\0" * 8 + b"\x00\x01IM"
    return header + _element(mi_matrix, body)


def test_a_missing_extra_is_one_line_and_the_commands_stay_listed(tmp_path):
    """Without torch the .mat commands are still listed, and running one says which extra
    it needs, in one line (torch is blocked in a fresh process)."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "from harness.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    listed = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0 and "mat2torch" in listed.stdout
    for command in (["mat", "inspect", str(tmp_path / "net.mat")],
                    ["mat2torch", str(tmp_path / "net.mat"), "-o", str(tmp_path / "a.pt2")]):
        done = subprocess.run([sys.executable, "-c", code, *command], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "needs scipy, h5py and torch" in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
