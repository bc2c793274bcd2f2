"""The upscale task: exact output sizes, tiling, 16-bit/alpha/gray round trips, ONNX parity of
a really trained (tiny) model, and the shipped ×4 model against bicubic on a real photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import imgrestore
from imgrestore.cli import cli
from imgrestore.images import Picture, read_image, write_image
from imgrestore.metrics import psnr
from imgrestore.resize import imresize, rgb_to_y
from imgrestore.runtime import OnnxModel


@pytest.fixture(scope="session")
def tiny_upscaler(tmp_path_factory: pytest.TempPathFactory, training_folder: Path) -> dict[str, Path]:
    """A two-scale upscaler trained for real (30 steps) and exported per scale through the CLI."""
    run = tmp_path_factory.mktemp("sr")
    runner = CliRunner()
    result = runner.invoke(cli, [
        "train", "upscale", "--data", str(training_folder), "--out", str(run / "tiny"), "--scales", "2,3",
        "--steps", "30", "--batch-size", "4", "--patch-size", "24", "--features", "8", "--depth", "2",
        "--validate-every", "15", "--checkpoint-every", "15", "--log-every", "10", "--precision", "fp32",
        "--val-fraction", "0.2",
    ])
    assert result.exit_code == 0, result.output
    paths = {"run": run / "tiny"}
    for scale in (2, 3):
        paths[f"x{scale}"] = run / f"x{scale}.onnx"
        result = runner.invoke(cli, ["export", "upscale", "--checkpoint", str(run / "tiny" / "last.safetensors"),
                                     "--scale", str(scale), "-o", str(paths[f"x{scale}"])])
        assert result.exit_code == 0, result.output
        assert "onnx.checker passed" in result.output
    return paths


@pytest.mark.parametrize("scale", [2, 3])
@pytest.mark.parametrize("height,width", [(37, 53), (64, 31)])
def test_onnx_parity_at_odd_sizes(tiny_upscaler, scale: int, height: int, width: int) -> None:
    import torch

    from imgrestore.export import load_model
    from imgrestore.plugins import get_registry

    model, _ = load_model(get_registry().task("upscale"), tiny_upscaler["run"] / "last.safetensors")
    image = np.random.default_rng(scale).random((2, 3, height, width), dtype=np.float32)
    onnx_model = OnnxModel(tiny_upscaler[f"x{scale}"], device="cpu")
    assert onnx_model.info.scale == scale
    ours = onnx_model.run({"image": image})
    with torch.no_grad():
        reference = model.use_scale(scale)(torch.from_numpy(image)).numpy()
    assert ours.shape == (2, 3, height * scale, width * scale)
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_training_moved_the_body_and_every_tail(tiny_upscaler) -> None:
    import torch

    from imgrestore.training.checkpoint import load_weights, read_metadata
    from imgrestore_upscale.model import build

    trained = load_weights(tiny_upscaler["run"] / "last.safetensors")
    torch.manual_seed(0)  # the trainer seeds torch with --seed (0) before building the model
    initial = build(**read_metadata(tiny_upscaler["run"] / "last.safetensors")["model_config"]).state_dict()
    assert set(trained) == set(initial)
    for name in ("head.weight", "body.0.weight", "tails.2.weight", "tails.3.weight"):
        assert not torch.equal(trained[name], initial[name]), name


def test_export_of_a_multi_scale_checkpoint_needs_a_scale(tiny_upscaler, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["export", "upscale", "--checkpoint", str(tiny_upscaler["run"] / "last.safetensors"),
                                      "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code != 0 and "choose one with --scale" in result.output


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_is_exactly_scale_times_input(tmp_path: Path, astronaut, scale: int) -> None:
    write_image(tmp_path / "in" / "odd.png", Picture(color=astronaut[:37, :53]))
    result = CliRunner().invoke(cli, ["upscale", str(tmp_path / "in"), str(tmp_path / "out"), "--scale", str(scale)])
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "out" / "odd.png").size == (37 * scale, 53 * scale)


def test_tiled_equals_untiled(astronaut) -> None:
    image = astronaut[100:201, 200:277]  # 101×77
    whole = imgrestore.run("upscale", image, scale=4)
    tiled = imgrestore.run("upscale", image, scale=4, tile=40)
    assert whole.shape == (404, 308, 3)
    assert np.abs(whole.astype(int) - tiled).max() <= 1


def test_large_outputs_stream_in_bands(astronaut) -> None:
    """run_bands hands out the output a tile row at a time; together the bands are the image."""
    from imgrestore.weights import locate

    model = OnnxModel(locate("upscale-x4").file, device="cpu")
    inputs = {"image": np.ascontiguousarray(astronaut[:150, :130].transpose(2, 0, 1), dtype=np.float32) / 255}
    bands = list(model.run_bands(inputs, tile=48))
    assert len(bands) > 2 and [top for top, _ in bands] == sorted(top for top, _ in bands)
    assert max(band.shape[1] for _, band in bands) <= 2 * 48 * 4
    stitched = np.concatenate([band for _, band in bands], axis=1)
    np.testing.assert_allclose(stitched, model.run_image(inputs, tile=10_000), atol=1e-4)


def test_sixteen_bit_gray_and_alpha_round_trips(tmp_path: Path, astronaut) -> None:
    crop = astronaut[200:240, 180:230]
    alpha = np.tile(np.linspace(0, 255, 50).astype(np.uint8), (40, 1))
    write_image(tmp_path / "in" / "deep.png", Picture(color=crop.astype(np.uint16) * 257))
    write_image(tmp_path / "in" / "gray.png", Picture(color=crop[:, :, 1:2]))
    write_image(tmp_path / "in" / "alpha.png", Picture(color=crop, alpha=alpha))
    result = CliRunner().invoke(cli, ["upscale", str(tmp_path / "in"), str(tmp_path / "out"), "--scale", "2"])
    assert result.exit_code == 0, result.output
    deep = read_image(tmp_path / "out" / "deep.png")
    assert deep.color.dtype == np.uint16 and deep.size == (80, 100)
    assert len(np.unique(deep.color % 257)) > 1  # real 16-bit output, not 8-bit values scaled up
    gray = read_image(tmp_path / "out" / "gray.png")
    assert gray.channels == 1 and gray.size == (80, 100)
    with_alpha = read_image(tmp_path / "out" / "alpha.png")
    assert with_alpha.alpha is not None and with_alpha.alpha.shape == (80, 100)
    expected_alpha = imresize(alpha.astype(np.float32), 2)
    assert np.abs(with_alpha.alpha.astype(float) - expected_alpha).max() <= 3  # bicubic (OpenCV's a = -0.75)
    eight_bit = imgrestore.run("upscale", crop, scale=2)
    assert np.abs(deep.color / 257.0 - eight_bit).max() <= 1.0


def test_scale_must_match_a_given_model(tmp_path: Path, astronaut) -> None:
    """One usage error before the batch (exit 2, nothing written), not a failure per file."""
    from imgrestore.weights import locate

    for name in ("a.png", "b.png"):
        write_image(tmp_path / "in" / name, Picture(color=astronaut[:32, :32]))
    result = CliRunner().invoke(cli, ["upscale", str(tmp_path / "in"), str(tmp_path / "out"),
                                      "--model", str(locate("upscale-x2").file), "--scale", "3"])
    assert result.exit_code == 2 and "--scale 3 asked for, but the model enlarges ×2" in result.output
    assert "a.png" not in result.output and not (tmp_path / "out").exists()


def test_shipped_x4_beats_bicubic_by_a_decibel() -> None:
    """A real photo not in the training data (the right view of scikit-image's stereo motorcycle;
    the left view was in train/photos), shrunk with MATLAB bicubic, enlarged ×4 again."""
    from skimage import data

    high = data.stereo_motorcycle()[1][64:448, 192:576]  # 384×384
    low = imresize(high, 1 / 4)
    ours = imgrestore.run("upscale", low, scale=4)
    bicubic = imresize(low, 4)
    border = 4
    reference = rgb_to_y(high)[border:-border, border:-border]
    gain = psnr(rgb_to_y(ours)[border:-border, border:-border], reference) - psnr(
        rgb_to_y(bicubic)[border:-border, border:-border], reference)
    assert gain >= 1.0, f"only {gain:.2f} dB above bicubic"


def test_colour_hidden_under_transparency_does_not_fringe_the_edges() -> None:
    """Exporters often store black under alpha 0; the network mixed it into the edge of a white
    logo (visible pixels as dark as 161)."""
    import imgrestore

    yy, xx = np.mgrid[:64, :64]
    alpha = (np.clip(20 - np.hypot(yy - 32, xx - 32), 0, 1) * 255).astype(np.uint8)
    logo = np.zeros((64, 64, 4), np.uint8)
    logo[..., :3] = 255
    logo[..., 3] = alpha
    logo[alpha == 0, :3] = 0
    out = imgrestore.run("upscale", logo, scale=2)
    visible = out[..., 3] >= 128
    assert out[visible, :3].min() >= 250


def test_an_output_too_large_for_its_format_fails_before_inference(tmp_path, monkeypatch) -> None:
    """A 4200-px-wide WebP enlarged ×4 (16800 px, over WebP's 16383) ran the whole model, then
    failed with OpenCV's "could not encode"."""
    from click.testing import CliRunner

    from imgrestore.cli import cli
    from imgrestore.images import Picture, write_image
    from imgrestore.runtime import OnnxModel

    write_image(tmp_path / "in" / "wide.webp", Picture(color=np.zeros((4, 4100, 3), np.uint8)), quality=90)
    runs = []
    monkeypatch.setattr(OnnxModel, "run", lambda self, batch: runs.append(1))
    result = CliRunner().invoke(cli, ["upscale", str(tmp_path / "in"), str(tmp_path / "out"), "--scale", "4"])
    assert result.exit_code == 1 and "16400×16, over the 16383-pixel side a WEBP can hold" in result.output
    assert "--format png" in result.output and not runs
