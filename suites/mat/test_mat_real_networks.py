"""Real MATLAB-written networks: DnCNN (MatConvNet SimpleNN, -v7.3) reproduces its published
denoising figure through the same path as `parity mat2torch`, and FFDNet (SimpleNN, Level-5)
imports with user-registered handlers for its custom layers, or fails naming them.

The fixtures folder comes from $PARITY_FIXTURES (default: <repo>/../shared/fixtures).
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import pytest
import torch

import harness.mat as hm
from harness.core.files import sha256
from harness.mat.cli import add_commands
from harness.mat.save import load_saved

mat_networks = pytest.importorskip("tests.mat_networks", reason="parity's own test helpers (tests/) come with its repository, not its wheel")
FIXTURES, ffdnet_handlers = mat_networks.FIXTURES, mat_networks.ffdnet_handlers

DNCNN = FIXTURES / "matconvnet" / "dncnn_sigma25_bnorm_v73.mat"
FFDNET = FIXTURES / "matconvnet" / "ffdnet_gray_v5.mat"
SET12 = [FIXTURES / "images" / "Set12" / f"{i:02d}.png" for i in range(1, 13)]
SIGMA = 25 / 255

needs_fixtures = pytest.mark.skipif(
    not (DNCNN.exists() and FFDNET.exists() and all(p.exists() for p in SET12)),
    reason=f"real MATLAB fixtures not found under {FIXTURES} (set PARITY_FIXTURES)",
)


# DnCNN-S at sigma 25 on Set12: the PSNR (dB) its paper publishes per image (Zhang et al.,
# "Beyond a Gaussian Denoiser", 2017, Table 3; mean 30.44). Ours differ by the noise drawn.
PUBLISHED = {"01.png": 30.18, "02.png": 33.06, "03.png": 30.87, "04.png": 29.41,
             "05.png": 30.28, "06.png": 29.13, "07.png": 29.43, "08.png": 32.44,
             "09.png": 30.00, "10.png": 30.21, "11.png": 30.10, "12.png": 30.12}
# Images 01-07 are 256 x 256, 08-12 512 x 512. The main job denoises the first three
# (cameraman, house, peppers: edges, flat areas, texture), a tenth of the set's CPU; the
# slow test the whole set.
SMALL = 3
# Where the archive and the in-memory module are compared: a corner of the first image.
CORNER = 64


def _noisy_set12():
    """(name, clean, noisy), noise drawn image by image from one seeded generator."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for path in SET12:
        clean = np.asarray(Image.open(path).convert("L"), dtype=np.float64) / 255.0
        yield path.name, clean, clean + SIGMA * rng.standard_normal(clean.shape)


def psnr(estimate: np.ndarray, clean: np.ndarray) -> float:
    error = np.mean((np.clip(estimate, 0.0, 1.0) - clean) ** 2)
    return float(10 * np.log10(1.0 / error))


def _as_batch(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image.astype(np.float32))[None, None]


def _computed_by_torch(cache, what: str, document: dict, make,
                       code=()) -> dict[str, np.ndarray]:
    """``make()``'s arrays, kept in the stage cache (``parity_cache.computed``): a run in
    which the harness (the importer), torch, the `.mat` readers, the files, this module and
    the other ``code`` did not change reads them back instead of importing and running the
    network again."""
    return cache.computed(what, document, make, packages=("torch", "h5py", "scipy"),
                          code=[__file__, *code])


def _denoised_psnr(tmp_path, images: int, cache) -> tuple[dict[str, float], list[float]]:
    """DnCNN through `parity mat2torch`'s archive on the first ``images`` of Set12: each
    image's PSNR denoised, and the noisy images' PSNRs."""
    chosen = list(itertools.islice(_noisy_set12(), images))

    def denoise() -> dict[str, np.ndarray]:
        archive = tmp_path / "dncnn.pt"
        parser = argparse.ArgumentParser()
        add_commands(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["mat2torch", str(DNCNN), "-o", str(archive)])
        assert args.func(args) == 0
        exported = load_saved(archive)
        corner = _as_batch(chosen[0][2][:CORNER, :CORNER])
        with torch.no_grad():
            outputs = {name: exported(_as_batch(noisy))[0, 0].numpy()
                       for name, _, noisy in chosen}
            outputs["corner, archive"] = exported(corner).numpy()
            outputs["corner, in memory"] = hm.to_torch(DNCNN)(corner).numpy()
        return outputs

    outputs = _computed_by_torch(cache, "DnCNN through mat2torch", {
        "network": sha256(DNCNN), "noisy": [noisy for _, _, noisy in chosen],
        "corner": CORNER}, denoise)
    # The archive computes what the in-memory module computes.
    np.testing.assert_allclose(outputs["corner, archive"], outputs["corner, in memory"],
                               rtol=1e-4, atol=1e-5)
    denoised = {name: psnr(noisy - outputs[name].astype(np.float64), clean)  # DnCNN predicts
                for name, clean, noisy in chosen}                           # the noise
    noisy_scores = [psnr(noisy, clean) for _, clean, noisy in chosen]
    for name, score in denoised.items():  # the published figure, up to the noise drawn
        assert score == pytest.approx(PUBLISHED[name], abs=0.15), (name, denoised)
    return denoised, noisy_scores


@needs_fixtures
def test_dncnn_reaches_published_psnr_through_mat2torch(tmp_path, parity_cache):
    denoised, noisy_scores = _denoised_psnr(tmp_path, SMALL, parity_cache)
    assert np.mean(noisy_scores) == pytest.approx(20.35, abs=0.01)
    assert np.mean(list(denoised.values())) == pytest.approx(31.33, abs=0.02), denoised


@pytest.mark.slow
@needs_fixtures
def test_dncnn_reaches_published_psnr_on_the_whole_of_set12(tmp_path, parity_cache):
    denoised, noisy_scores = _denoised_psnr(tmp_path, len(SET12), parity_cache)
    assert np.mean(noisy_scores) == pytest.approx(20.33, abs=0.01)
    assert np.mean(list(denoised.values())) == pytest.approx(30.42, abs=0.02), denoised


@needs_fixtures
def test_dncnn_drops_loss_layer_and_restores_single_filter_rank():
    network = hm.load_network(DNCNN)
    assert any("loss" in note for note in network.notes)
    assert [layer.type for layer in network.layers].count("conv") == 17
    last_conv = [layer for layer in network.layers if layer.type == "conv"][-1]
    # One output filter: MATLAB stored 3×3×64, the handler restores 3×3×64×1.
    assert last_conv.param(0).shape == (3, 3, 64)
    module = hm.to_torch(DNCNN)
    assert module.get_submodule(
        [n for n, (name, _) in module.matlab_layers.items() if name == last_conv.name][0]
    ).weight.shape == (1, 64, 3, 3)


@needs_fixtures
def test_ffdnet_without_handlers_names_its_custom_layers():
    with pytest.raises(hm.MatImportError) as caught:
        hm.to_torch(FFDNET)
    message = str(caught.value)
    assert str(FFDNET) in message
    assert "layer 1 'layer1' (type 'SubP')" in message
    assert "layer 2 'layer2' (type 'concat')" in message
    assert "layer 32 'layer32' (type 'SubP')" in message


# --- FFDNet with the handlers a user writes (tests/mat_networks.py) ----------------------------


@needs_fixtures
def test_ffdnet_imports_and_denoises_with_user_handlers(parity_cache):
    chosen = list(itertools.islice(_noisy_set12(), 3))

    def denoise() -> dict[str, np.ndarray]:
        module = hm.to_torch(FFDNET, handlers=ffdnet_handlers(SIGMA))
        with torch.no_grad():
            return {name: module(_as_batch(noisy))[0, 0].numpy() for name, _, noisy in chosen}

    estimates = _computed_by_torch(parity_cache, "FFDNet with user handlers", {
        "network": sha256(FFDNET), "noisy": [noisy for _, _, noisy in chosen],
        "sigma": SIGMA}, denoise, code=[mat_networks.__file__])
    scores = [psnr(estimates[name], clean)  # FFDNet predicts the image
              for name, clean, _ in chosen]
    # FFDNet's paper reports 30.06, 33.27, 30.79 dB on these images at sigma 25.
    assert scores == pytest.approx([30.0, 33.2, 30.77], abs=0.1)


@needs_fixtures
def test_ffdnet_imports_with_registered_handlers():
    for kind, handler in ffdnet_handlers(SIGMA).items():
        hm.register_layer_handler(kind, handler)
    try:
        module = hm.to_torch(FFDNET)
        assert "NO HANDLER" not in hm.inspect(FFDNET)
    finally:
        hm.unregister_layer_handler("SubP")
        hm.unregister_layer_handler("concat")
    with torch.no_grad():
        assert module(torch.zeros(1, 1, 8, 8)).shape == (1, 1, 8, 8)
