"""``parity check MODEL`` on MATLAB ``.mat`` networks: a MatConvNet SimpleNN written by the
project's writer, a ``parity.dlt/1`` file written by the MATLAB exporter under GNU Octave,
and the real DnCNN and FFDNet files where the shared fixtures are present."""

from __future__ import annotations

import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")
pytest.importorskip("h5py")

from harness import golden  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.sources.mat.case import MatCase, network_spec  # noqa: E402
from tests.check_cli import PLUGIN, check_json  # noqa: E402
from tests.mat_networks import CONV, FIXTURES  # noqa: E402

CHAIN = [("conv", CONV), ("relu", {"leak": 0.0}), ("conv", {**CONV, "filters": 2})]


@pytest.fixture(scope="module")
def simplenn(tmp_path_factory):
    path = tmp_path_factory.mktemp("mat") / "net.mat"
    MatCase(network_spec(CHAIN, input_shape=(1, 3, 6, 6), fmt="simplenn", seed=3)).write(path)
    return path


def test_a_matconvnet_network_agrees(capsys, simplenn):
    code, payload = check_json(capsys, simplenn)
    assert payload["format"] == "mat" and payload["reads_to"] == "mat"
    assert code == 0
    (leg,) = payload["legs"]
    assert leg["leg"] == "mat>mat2torch" and leg["verdict"] == "agrees"
    # The writer declares the input size: the batch alone is free.
    assert payload["sizes"] == [[[4, 3, 6, 6]], [[1, 3, 6, 6]]]
    assert float(leg["task"]["psnr_db"]) > 100  # image in, image out ("inf" when equal)


def test_a_faulty_importer_differs(capsys, simplenn):
    code, payload = check_json(capsys, simplenn, "--paths", "mat>mat2torch-check-fault",
                               "--plugins", PLUGIN)
    (leg,) = payload["legs"]
    assert code == 1 and leg["verdict"] == "differs"
    assert leg["where"] == "stage mat2torch-check-fault"
    assert float(leg["task"]["psnr_db"]) < 40


def test_pin_a_mat_network_and_replay_it(capsys, simplenn, tmp_path):
    root = tmp_path / "golden"
    code, payload = check_json(capsys, simplenn, "--pin", "denoiser", "--golden", root)
    assert code == 0
    case_id = payload["pinned"]["case_id"]
    store = golden.read_manifest(root)
    assert "source/net.mat" in store.cases[case_id]
    case = golden.load_case(store, case_id)
    from harness.run.pipeline import Harness

    result = Harness("mat>mat2torch").replay(case.spec, case.inputs, case.expected,
                                             case.stored_artifacts(), case.native)
    assert [leg.verdict for leg in result.legs] == ["pass"]


@pytest.mark.skipif(not (FIXTURES / "matconvnet").is_dir(), reason="no shared fixtures")
def test_a_network_with_custom_layers_gets_one_line(capsys):
    path = FIXTURES / "matconvnet" / "ffdnet_gray_v5.mat"
    assert main(["check", str(path), "-q", "--report", "none"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "(type 'SubP') has no handler" in err


OCTAVE = shutil.which("octave-cli") or shutil.which("octave")


@pytest.mark.skipif(OCTAVE is None, reason="GNU Octave is not installed")
def test_a_dlt_network_exported_by_the_matlab_exporter(capsys, tmp_path):
    from tests.mat.test_mat_matlab_exporter import octave_export

    case = MatCase(network_spec(CHAIN, input_shape=(1, 3, 6, 6), seed=3))
    output = octave_export(tmp_path, case, "-v7", timeout=300)
    code, payload = check_json(capsys, output)
    assert code == 0 and [leg["verdict"] for leg in payload["legs"]] == ["agrees"]
    assert payload["sizes"] == [[[4, 3, 6, 6]], [[1, 3, 6, 6]]]  # declared: the batch is free


@pytest.mark.slow
@pytest.mark.skipif(not (FIXTURES / "matconvnet").is_dir(), reason="no shared fixtures")
def test_dncnn_agrees(capsys):
    code, payload = check_json(capsys, FIXTURES / "matconvnet" / "dncnn_sigma25_bnorm_v73.mat")
    assert code == 0 and payload["legs"][0]["verdict"] == "agrees"
    assert any("training-only" in note for note in payload["notes"])
