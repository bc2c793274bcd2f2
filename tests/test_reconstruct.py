"""The reconstruct task's learned side: LISTA starts as ISTA exactly, trains for real, exports
with ONNX parity (both modes, any channel count), and fill mode never changes a known pixel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from imgrestore.cli import cli
from imgrestore.runtime import OnnxModel, pad_to_multiple


def test_untrained_lista_is_ista() -> None:
    from imgrestore_reconstruct.lista import PatchLISTA
    from imgrestore_reconstruct.sparse import ista

    generator = torch.Generator().manual_seed(0)
    dictionary = torch.randn(16, 24, generator=generator)
    dictionary /= dictionary.norm(dim=0)
    model = PatchLISTA("fill", patch=4, atoms=24, layers=6)
    model.initialise(dictionary, lam_per_sigma=0.5, lam_floor=0.01)
    known = (torch.rand(2, 16, 3, 5, generator=generator) > 0.3).float()
    signal = torch.randn(2, 16, 3, 5, generator=generator) * known
    sigma = torch.tensor([0.1, 0.2]).reshape(2, 1, 1, 1)
    with torch.no_grad():
        codes = model.code(signal, known, sigma).permute(0, 2, 3, 1).reshape(-1, 24)
    rows = signal.permute(0, 2, 3, 1).reshape(-1, 16)
    mask = known.permute(0, 2, 3, 1).reshape(-1, 16)
    lam = (0.5 * sigma + 0.01).reshape(2, 1).expand(2, 15).reshape(-1)
    reference = ista(dictionary, rows, lam, iterations=6, mask=mask, fast=False)
    assert torch.count_nonzero(reference) > 0
    torch.testing.assert_close(codes, reference, atol=2e-5, rtol=1e-4)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory, training_folder: Path) -> dict[str, tuple[Path, Path]]:
    """mode -> (checkpoint, exported ONNX) of a tiny LISTA trained for real (3 steps) per mode."""
    models = {}
    for mode in ("denoise", "fill"):
        run = tmp_path_factory.mktemp(mode)
        steps = "3"
        result = CliRunner().invoke(cli, [
            "train", "reconstruct", "--mode", mode, "--data", str(training_folder), "--out", str(run / "run"),
            "--steps", steps, "--batch-size", "4", "--crop", "24", "--patch", "4", "--atoms", "24", "--layers", "3",
            "--ksvd-iterations", "2", "--ksvd-patches", "2000", "--ksvd-sparsity", "2", "--lr", "1e-3",
            "--precision", "fp32", "--checkpoint-every", steps, "--validate-every", steps,
            "--log-every", "1", "--val-fraction", "0.2",
        ])
        assert result.exit_code == 0, result.output
        checkpoint, onnx_path = run / "run" / "last.safetensors", run / f"{mode}.onnx"
        result = CliRunner().invoke(cli, ["export", "reconstruct", "--checkpoint", str(checkpoint), "-o", str(onnx_path)])
        assert result.exit_code == 0, result.output  # export itself checks parity on a 67×131 input
        models[mode] = (checkpoint, onnx_path)
    return models


@pytest.mark.parametrize("mode", ["denoise", "fill"])
def test_training_moves_the_lista_weights_and_export_has_parity(mode: str, tiny_models) -> None:
    from imgrestore.export import load_model
    from imgrestore.plugins import get_registry
    from imgrestore.training.checkpoint import load_weights

    checkpoint, onnx_path = tiny_models[mode]
    weights = load_weights(checkpoint)
    start = weights["ksvd_dictionary"]
    assert not torch.equal(weights["dictionary"], start)  # trained end to end, from the K-SVD dictionary
    assert not torch.allclose(weights["analysis"][0], start.T / torch.linalg.matrix_norm(start, ord=2) ** 2)

    model, _ = load_model(get_registry().task("reconstruct"), checkpoint)
    session = OnnxModel(onnx_path, device="cpu")
    model.stride = session.info.extra["model_config"]["stride"]  # the export's choice (default 2)
    assert session.info.channels == 0
    rng = np.random.default_rng(1)
    for channels, (height, width) in ((1, (37, 53)), (3, (29, 40))):
        image = rng.random((2, channels, height, width), dtype=np.float32)
        if mode == "denoise":
            condition = np.array([[15 / 255], [40 / 255]], np.float32)
            feed = {"image": image, "sigma": condition}
        else:
            condition = (rng.random((2, 1, height, width)) < 0.5).astype(np.float32)
            feed = {"image": image, "mask": condition}
        ours = session.run(feed)
        # the runtime pads odd sizes to the patch stride (the model's size multiple) and crops back
        multiple = session.info.size_multiple
        padded = [torch.from_numpy(pad_to_multiple(value, multiple) if value.ndim == 4 else value)
                  for value in (image, condition)]
        with torch.no_grad():
            reference = model(*padded).numpy()[:, :, :height, :width]
        np.testing.assert_allclose(ours, reference, atol=1e-4)
        if mode == "fill":
            known = np.broadcast_to(condition == 0, image.shape)
            assert np.array_equal(ours[known], image[known])  # the model itself keeps known pixels


def test_fill_never_changes_a_known_pixel_of_a_16_bit_color_image(tiny_models, astronaut: np.ndarray) -> None:
    import imgrestore

    image = astronaut[100:196, 200:310].astype(np.uint16) * 257 + 3
    mask = np.random.default_rng(2).random(image.shape[:2]) < 0.5
    out = imgrestore.run("reconstruct", image, mode="fill", mask=mask, model=str(tiny_models["fill"][1]))
    assert out.dtype == np.uint16 and out.shape == image.shape
    assert np.array_equal(out[~mask], image[~mask])
    assert np.abs(out[mask].astype(float) - image[mask]).mean() < np.abs(image[mask].astype(float)).mean() / 4


def test_cli_fills_a_folder_and_refuses_masks_when_denoising(tiny_models, tmp_path: Path, coffee: np.ndarray) -> None:
    from imgrestore.images import Picture, read_image, write_image

    source, masks = tmp_path / "in", tmp_path / "masks"
    source.mkdir()
    masks.mkdir()
    write_image(source / "coffee.png", Picture(color=coffee[:80, :120]))
    missing = np.random.default_rng(3).random((80, 120)) < 0.3
    write_image(masks / "coffee.png", Picture(color=(missing * 255).astype(np.uint8)[:, :, None]))
    result = CliRunner().invoke(cli, ["reconstruct", str(source), str(tmp_path / "filled"), "--mode", "fill",
                                      "--masks", str(masks), "--model", str(tiny_models["fill"][1])])
    assert result.exit_code == 0, result.output
    filled = read_image(tmp_path / "filled" / "coffee.png").color
    assert np.array_equal(filled[~missing], coffee[:80, :120][~missing])

    result = CliRunner().invoke(cli, ["reconstruct", str(source), str(tmp_path / "denoised"), "--mode", "denoise",
                                      "--masks", str(masks), "--sigma", "10", "--model", str(tiny_models["denoise"][1])])
    assert result.exit_code == 2 and "takes no mask" in result.output  # one usage error, before any file

    # denoising needs no mask (the task's default mode), filling does: one usage error up front
    result = CliRunner().invoke(cli, ["reconstruct", str(source), str(tmp_path / "plain"), "--sigma", "10",
                                      "--model", str(tiny_models["denoise"][1])])
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "plain" / "coffee.png").size == (80, 120)
    result = CliRunner().invoke(cli, ["reconstruct", str(source), str(tmp_path / "unfilled"), "--mode", "fill",
                                      "--model", str(tiny_models["fill"][1])])
    assert result.exit_code == 2 and "--masks DIR" in result.output


def test_shipped_models_tile_and_fill_crops_exactly_as_the_whole_image(astronaut: np.ndarray) -> None:
    """The shipped LISTA models cut patches on a stride-2 grid from (0, 0). Their ONNX metadata had
    no size multiple, so a tile or a crop around holes starting at an odd offset coded other
    patches: a tiled 97×131 image was up to 7 levels off the untiled one (README: identical), and
    dead pixels filled from crops up to 14 off."""
    import imgrestore

    rng = np.random.default_rng(2)
    image = astronaut[:131, :97]
    whole = imgrestore.run("reconstruct", image, device="cpu", sigma=25)
    tiled = imgrestore.run("reconstruct", image, device="cpu", sigma=25, tile=64)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1
    image = astronaut[:201, :203]
    mask = np.zeros(image.shape[:2], bool)
    mask[rng.integers(0, 201, 40), rng.integers(0, 203, 40)] = True  # 40 dead pixels
    whole = imgrestore.run("reconstruct", image, mask=mask, device="cpu", mode="fill")
    crops = imgrestore.run("reconstruct", image, mask=mask, device="cpu", mode="fill", tile=64)  # larger than
    assert np.abs(whole.astype(int) - crops.astype(int)).max() <= 1  # a tile: filled from crops around holes


def test_export_at_a_stride_that_does_not_divide_64_and_flat_training_images(tiny_models, tmp_path: Path) -> None:
    """--stride 3 (allowed: 1 to the patch side) failed in torch.export, whose example input was
    64 px while the exported shape said a multiple of the stride; training on flat images hung
    forever, drawing patches for a dictionary that no patch had texture for."""
    checkpoint, _ = tiny_models["denoise"]
    result = CliRunner().invoke(cli, ["export", "reconstruct", "--checkpoint", str(checkpoint),
                                      "-o", str(tmp_path / "s3.onnx"), "--stride", "3"])
    assert result.exit_code == 0 and "max |onnxruntime - torch|" in result.output, result.output
    assert OnnxModel(tmp_path / "s3.onnx", device="cpu").info.size_multiple == 3

    from imgrestore.images import Picture, write_image

    for level in (60, 120, 180):
        write_image(tmp_path / "flat" / f"{level}.png", Picture(color=np.full((48, 48, 1), level, np.uint8)))
    result = CliRunner().invoke(cli, ["train", "reconstruct", "--data", str(tmp_path / "flat"), "--out",
                                      str(tmp_path / "run"), "--steps", "1", "--ksvd-patches", "300", "--atoms", "16"])
    assert result.exit_code == 1 and "have texture" in result.output
