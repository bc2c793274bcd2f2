"""The stylize task: the feature network and its input conventions, the losses, one real
training step, ONNX parity (fresh exports and the shipped files), --strength, --method optimize,
large photos, and the clear error when no feature network is available."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import imgrestore
from imgrestore.images import Picture, read_image, write_image
from imgrestore.weights import read_manifest, weights_dir
from imgrestore_stylize.features import CONVOLUTIONS, CAFFE_MEANS_RGB, VGGFeatures, feature_network
from imgrestore_stylize.losses import LAYERS, PerceptualLoss, gram

CHANNELS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512)


def _random_vgg(seed: int = 0) -> dict[str, torch.Tensor]:
    """A VGG16 trunk (conv1_1..conv4_3) with He-initialised random weights: a real, if untrained,
    feature network, small enough to keep in a test."""
    generator = torch.Generator().manual_seed(seed)
    weights, in_channels = {}, 3
    for index, out_channels in zip(CONVOLUTIONS, CHANNELS):
        std = (2 / (9 * in_channels)) ** 0.5
        weights[f"features.{index}.weight"] = torch.randn(out_channels, in_channels, 3, 3, generator=generator) * std
        weights[f"features.{index}.bias"] = torch.randn(out_channels, generator=generator) * 0.01
        in_channels = out_channels
    return weights


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("features") / "vgg16.pth"
    torch.save(_random_vgg(), path)
    return path


@pytest.fixture(autouse=True)
def _empty_torch_cache(tmp_path: Path):
    """No test may find (or fetch) torchvision's weights in the real cache."""
    before = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "torch-hub"))
    yield
    torch.hub.set_dir(before)


# ---------------------------------------------------------------- feature network and losses


def test_a_caffe_convention_file_is_fed_bgr_0_to_255_minus_the_means(tmp_path: Path) -> None:
    """The .npz convention (HED's VGG16): the module takes RGB 0..1 and must compute exactly what
    the raw network computes on BGR 0..255 minus the channel means."""
    weights = _random_vgg(1)
    np.savez(tmp_path / "vgg.npz", **{k: v.numpy() for k, v in weights.items()})
    network = feature_network(tmp_path / "vgg.npz", ("relu1_1",))
    image = torch.rand(1, 3, 20, 24)
    bgr = image.flip(1) * 255 - torch.tensor(CAFFE_MEANS_RGB[::-1]).view(1, 3, 1, 1)
    expected = torch.relu(torch.nn.functional.conv2d(bgr, weights["features.0.weight"], weights["features.0.bias"], padding=1))
    assert torch.allclose(network(image)["relu1_1"], expected, atol=1e-3)


def test_a_torchvision_file_is_fed_imagenet_normalised_rgb(vgg_file: Path) -> None:
    weights = torch.load(vgg_file)
    network = feature_network(vgg_file, ("relu1_1",))
    image = torch.rand(1, 3, 16, 16)
    normalised = (image - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = torch.relu(torch.nn.functional.conv2d(normalised, weights["features.0.weight"], weights["features.0.bias"], padding=1))
    assert torch.allclose(network(image)["relu1_1"], expected, atol=1e-4)


def test_the_trunk_stops_at_the_deepest_layer_asked_for(vgg_file: Path) -> None:
    network = feature_network(vgg_file, ("relu2_2",))
    assert len(network.convs) == 4 and set(network(torch.rand(1, 3, 32, 32))) == {"relu2_2"}
    with pytest.raises(ValueError, match="not a VGG16 trunk"):
        feature_network(_save({"x": torch.zeros(1)}), ("relu1_1",))
    with pytest.raises(ValueError, match="convention"):
        VGGFeatures(_random_vgg(), "keras", ("relu1_1",))


def _save(state: dict) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "bad.pth"
    torch.save(state, path)
    return path


def test_losses_are_zero_at_their_targets_and_the_gram_ignores_size(vgg_file: Path, coffee: np.ndarray) -> None:
    features = feature_network(vgg_file, LAYERS)
    style = torch.from_numpy(coffee[:200, :200].transpose(2, 0, 1)[None].astype(np.float32) / 255)
    perceptual = PerceptualLoss(features, style)
    same = perceptual(style, perceptual.content_activation(style))
    assert float(same.content) == 0 and float(same.style) < 1e-6
    tiled = style.repeat(1, 1, 2, 2)  # the same texture over 4× the area: the same style statistics, nearly
    assert float(perceptual(tiled, perceptual.content_activation(tiled)).style) < 0.05
    other = torch.rand_like(style)
    assert float(perceptual(other, perceptual.content_activation(style)).style) > 0.1
    assert gram(torch.ones(2, 3, 4, 5)).shape == (2, 3, 3)


def test_total_variation_of_a_one_pixel_strip_is_a_number() -> None:
    """The mean of no differences was NaN, and 0 × NaN made --method optimize's whole loss NaN on a
    1-pixel-tall image (an IndexError inside L-BFGS's line search)."""
    from imgrestore_stylize.losses import total_variation

    strip = torch.rand(1, 3, 1, 40)
    assert torch.isfinite(total_variation(strip)).all()
    assert float(total_variation(strip)) == pytest.approx(float((strip[..., 1:] - strip[..., :-1]).abs().mean()))
    assert torch.isfinite(total_variation(torch.rand(1, 3, 40, 1))).all()


# ---------------------------------------------------------------- one real training step


@pytest.fixture(scope="module")
def trained(vgg_file: Path, training_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from skimage import data

    from imgrestore.training.trainer import TrainConfig, train
    from imgrestore_stylize.recipe import recipe

    style_path = tmp_path_factory.mktemp("style") / "painting.png"
    write_image(style_path, Picture(color=data.chelsea()))
    options = {"style_image": str(style_path), "features": str(vgg_file), "data": [training_folder],
               "val": None, "val_fraction": 0.2, "width": 4, "blocks": 1, "crop": 48, "content_size": 96}
    built = recipe(dict(options))
    torch.manual_seed(0)
    initial = {k: v.clone() for k, v in built.build_model().state_dict().items()}
    out = tmp_path_factory.mktemp("stylize-run")
    train(built, TrainConfig(out_dir=out, steps=1, validate_every=1, checkpoint_every=1, log_every=1, threads=1,
                             options=options, **{**built.training_defaults, "batch_size": 2, "warmup": 0}))
    return out, initial


def test_one_training_step_moves_every_weight_and_logs_both_losses(trained) -> None:
    from imgrestore.training.checkpoint import load_weights

    out, initial = trained
    after = load_weights(out / "last.safetensors")
    moved = [name for name, value in initial.items() if value.is_floating_point() and not torch.allclose(value, after[name])]
    assert len(moved) == len([v for v in initial.values() if v.is_floating_point()])
    evaluation = json.loads((out / "evaluations.jsonl").read_text().splitlines()[-1])
    assert 0 < evaluation["style"] < 10 and 0 < evaluation["content"] < 10
    assert read_image(out / "samples" / "step_000001.png").channels == 3


def test_several_content_sizes_train_at_each_scale(vgg_file: Path, training_folder: Path, tmp_path: Path) -> None:
    """Two --content-size values: batches come at both scales (the smaller one's crops shrink to fit
    its photos), and validation stylizes the held-out photos at both."""
    from skimage import data

    from imgrestore_stylize.recipe import crop_at, recipe

    write_image(tmp_path / "painting.png", Picture(color=data.chelsea()))
    options = {"style_image": str(tmp_path / "painting.png"), "features": str(vgg_file), "data": [training_folder],
               "val": None, "val_fraction": 0.2, "width": 4, "blocks": 1, "crop": 96, "content_size": (64, 160)}
    built = recipe(options)
    rng = np.random.default_rng(0)
    sides = {built.training_batch(rng, 2)["content"].shape[-1] for _ in range(40)}
    assert sides == {crop_at(64, 96), 96} == {48, 96}
    long_sides = sorted({max(image.shape[:2]) for image in built.validation})
    assert long_sides == [64, 160]


def test_training_without_a_feature_network_says_what_to_provide(cli_runner, training_folder: Path,
                                                                    coffee: np.ndarray, tmp_path: Path) -> None:
    from imgrestore.cli import cli

    write_image(tmp_path / "style.png", Picture(color=coffee))
    result = cli_runner.invoke(cli, ["train", "stylize", "--style-image", str(tmp_path / "style.png"),
                                     "--data", str(training_folder), "--out", str(tmp_path / "run")])
    assert result.exit_code != 0 and "--features PATH" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------- export


def test_a_trained_network_exports_with_parity(trained, tmp_path: Path) -> None:
    from imgrestore.export import export_onnx, load_model
    from imgrestore.runtime import OnnxModel
    from imgrestore_stylize.networks import stylize_whole

    out, _ = trained
    spec = imgrestore.load_task("stylize")
    report = export_onnx(spec, out / "last.safetensors", tmp_path / "style.onnx")
    assert report.max_difference <= report.tolerance
    onnx_model = OnnxModel(report.path, device="cpu")
    model, _ = load_model(spec, out / "last.safetensors")
    image = np.random.default_rng(0).random((1, 3, 42, 57), dtype=np.float32)  # not a multiple of 4
    with torch.no_grad():
        expected = stylize_whole(model, torch.from_numpy(image)).numpy()
    assert np.abs(onnx_model.run({"image": image}) - expected).max() < 1e-4


def _shipped() -> list[str]:
    return sorted(name for name, record in read_manifest()["models"].items() if record.get("task") == "stylize")


def test_every_shipped_style_is_in_the_manifest() -> None:
    from imgrestore_stylize import STYLES

    assert len(STYLES) >= 4 and {f"stylize-{style}" for style in STYLES} <= set(_shipped())


@pytest.mark.parametrize("name", _shipped())
def test_onnx_matches_torch_for_every_shipped_style(name: str) -> None:
    from imgrestore.export import load_model
    from imgrestore.runtime import OnnxModel

    record = read_manifest()["models"][name]
    model, _ = load_model(imgrestore.load_task("stylize"), weights_dir() / record["checkpoint"])
    onnx_model = OnnxModel(weights_dir() / record["file"], device="cpu")
    image = np.random.default_rng(1).random((2, 3, 48, 64), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(image)).numpy()
    assert np.abs(onnx_model.run({"image": image}) - expected).max() < 1e-4


# ---------------------------------------------------------------- inference


def test_strength_zero_returns_the_input_and_strength_blends(astronaut: np.ndarray) -> None:
    image = astronaut[:160, :200]
    assert np.array_equal(imgrestore.run("stylize", image, strength=0.0, device="cpu"), image)
    deep = np.asarray(image, np.uint16) * 257  # 16-bit too
    assert np.array_equal(imgrestore.run("stylize", deep, strength=0.0, device="cpu"), deep)
    full = imgrestore.run("stylize", image, device="cpu").astype(float)
    half = imgrestore.run("stylize", image, strength=0.5, device="cpu").astype(float)
    assert np.abs(full - image).mean() > 20  # visibly painted
    assert np.abs(half - (full + image) / 2).max() <= 1.0  # the halfway blend, to rounding


@pytest.mark.parametrize("style", ["the-scream", "udnie"])
def test_each_style_paints_differently(astronaut: np.ndarray, style: str) -> None:
    default = imgrestore.run("stylize", astronaut[:128, :128], device="cpu").astype(int)
    other = imgrestore.run("stylize", astronaut[:128, :128], style=style, device="cpu").astype(int)
    assert np.abs(default - other).mean() > 10


def test_gray_and_alpha_come_back_as_they_went_in(camera: np.ndarray, astronaut: np.ndarray) -> None:
    gray = imgrestore.run("stylize", camera[:96, :96], device="cpu")
    assert gray.shape == (96, 96) and gray.dtype == np.uint8
    rgba = np.dstack([astronaut[:96, :96], np.full((96, 96), 77, np.uint8)])
    out = imgrestore.run("stylize", rgba, device="cpu")
    assert out.shape == (96, 96, 4) and np.all(out[:, :, 3] == 77)


def test_a_4000x3000_photo_stylizes_on_the_cpu(astronaut: np.ndarray) -> None:
    """Tiled in 1024 px tiles; instance normalisation sees each tile's statistics, so the large
    run is compared with a whole-image run of the same content at a size that needs no tiles."""
    import cv2

    photo = cv2.resize(astronaut, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    out = imgrestore.run("stylize", photo, device="cpu")
    assert out.shape == (3000, 4000, 3)
    assert np.abs(out.astype(int) - photo).mean() > 20


def test_tiles_stay_close_to_a_whole_image_run(astronaut: np.ndarray) -> None:
    """Instance normalisation sees a tile's statistics, not the image's; with the runtime's blended
    overlap the tiled run stays close. Measured on the astronaut with 256 px tiles: starry-night
    2.6 grey levels of mean change and no pixel off by more than 32 (the-scream 2.4 / 0%,
    shipwreck 2.8 / 0.7%, udnie 2.8 / 0.3%), against a mean change of 34-59 levels from the photo."""
    whole = imgrestore.run("stylize", astronaut, device="cpu").astype(int)
    tiled = imgrestore.run("stylize", astronaut, device="cpu", tile=256).astype(int)
    difference = np.abs(whole - tiled)
    assert difference.max() > 0  # it was tiled
    assert difference.mean() < TILE_MEAN_LEVELS and (difference > 32).mean() < TILE_FAR_FRACTION


TILE_MEAN_LEVELS = 4.0
TILE_FAR_FRACTION = 0.005


def test_optimize_method_paints_any_style_image(cli_runner, vgg_file: Path, coffee: np.ndarray, astronaut: np.ndarray,
                                                tmp_path: Path) -> None:
    from imgrestore.cli import cli

    write_image(tmp_path / "painting.png", Picture(color=coffee))
    rgba = np.dstack([astronaut[::4, ::4], np.full((128, 128), 200, np.uint8)])
    write_image(tmp_path / "in" / "a.png", Picture(color=rgba[:, :, :3], alpha=rgba[:, :, 3]))
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    result = cli_runner.invoke(cli, ["stylize", str(tmp_path / "in"), str(tmp_path / "out"), "--method", "optimize",
                                     "--style-image", str(tmp_path / "painting.png"), "--features", str(vgg_file),
                                     "--iterations", "5", "--optimize-size", "64", "--threads", "1"])
    assert result.exit_code == 1, result.output  # the broken file failed, reported by name; a.png was done
    assert "broken.png" in result.output and "1 file(s) failed" in result.output
    out = read_image(tmp_path / "out" / "a.png")
    assert out.size == (128, 128) and out.alpha is not None and np.all(out.alpha == 200)
    assert np.abs(out.color.astype(int) - rgba[:, :, :3]).mean() > 1


def test_optimize_without_a_feature_network_is_a_clear_error(cli_runner, coffee: np.ndarray, tmp_path: Path) -> None:
    from imgrestore.cli import cli

    write_image(tmp_path / "painting.png", Picture(color=coffee))
    write_image(tmp_path / "in" / "a.png", Picture(color=coffee[:64, :64]))
    result = cli_runner.invoke(cli, ["stylize", str(tmp_path / "in"), str(tmp_path / "out"), "--method", "optimize",
                                     "--style-image", str(tmp_path / "painting.png")])
    assert result.exit_code == 2 and "--features PATH" in result.output and "vgg16-397923af.pth" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out" / "a.png").exists()
    result = cli_runner.invoke(cli, ["stylize", str(tmp_path / "in"), str(tmp_path / "out"), "--method", "optimize"])
    assert result.exit_code == 2 and "--style-image" in result.output


def test_the_fast_method_never_imports_torch(tmp_path: Path, astronaut: np.ndarray) -> None:
    import subprocess
    import sys

    write_image(tmp_path / "in.png", Picture(color=astronaut[:64, :64]))
    code = ("import sys, imgrestore.cli as c\n"
            "try:\n c.main()\nexcept SystemExit as e:\n assert not e.code, e.code\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    done = subprocess.run([sys.executable, "-c", code, "stylize", str(tmp_path / "in.png"), str(tmp_path / "out.png"),
                           "--style", "udnie", "--device", "cpu"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert read_image(tmp_path / "out.png").size == (64, 64)


def test_a_working_size_stylizes_small_and_returns_the_photo_size(astronaut: np.ndarray) -> None:
    """--working-size 128 on a 512 px photo: strokes 4× larger, the output still 512 px."""
    native = imgrestore.run("stylize", astronaut, device="cpu").astype(int)
    small = imgrestore.run("stylize", astronaut, device="cpu", working_size=128)
    assert small.shape == astronaut.shape and small.dtype == np.uint8
    assert np.abs(small.astype(int) - native).mean() > 5  # a different rendering, not the same one resized
    untouched = imgrestore.run("stylize", astronaut, device="cpu", working_size=128, strength=0.0)
    assert np.array_equal(untouched, astronaut)


def test_an_option_of_the_other_method_is_refused_not_ignored(cli_runner, vgg_file: Path, coffee: np.ndarray,
                                                              tmp_path: Path) -> None:
    """--style-image without --method optimize rendered Starry Night, and --style-weight 50 changed
    nothing; --style or --model with --method optimize were dropped (and --model was refused only
    after the feature network was looked for)."""
    from imgrestore.cli import cli

    write_image(tmp_path / "painting.png", Picture(color=coffee))
    write_image(tmp_path / "in" / "a.png", Picture(color=coffee[:64, :64]))
    base = ["stylize", str(tmp_path / "in"), str(tmp_path / "out")]
    for extra, complaint in ((["--style-image", str(tmp_path / "painting.png")], "--style-image: for --method optimize"),
                             (["--iterations", "7"], "--iterations: for --method optimize"),
                             (["--style-weight", "50", "--tv-weight", "5"], "--style-weight, --tv-weight: for --method optimize"),
                             (["--style-size", "64"], "--style-size: for --method optimize"),
                             (["--content-weight", "9"], "--content-weight: for --method optimize"),
                             (["--threads", "4"], "--threads: for --method optimize"),
                             (["--method", "optimize", "--style-image", str(tmp_path / "painting.png"), "--features",
                               str(vgg_file), "--style", "udnie"], "--style names a fast network"),
                             (["--method", "optimize", "--style-image", str(tmp_path / "painting.png"), "--features",
                               str(vgg_file), "--model", "udnie"], "--model udnie is not used"),
                             # without --features too: it said first that no feature network was found
                             (["--method", "optimize", "--style-image", str(tmp_path / "painting.png"), "--model",
                               "udnie"], "--model udnie is not used")):
        result = cli_runner.invoke(cli, base + extra)
        assert result.exit_code == 2 and complaint in result.output, (extra, result.output)
    assert not (tmp_path / "out").exists()


def test_files_that_are_not_what_an_option_needs_are_named(cli_runner, training_folder: Path, coffee: np.ndarray,
                                                           tmp_path: Path) -> None:
    """A text file as --features said "Error: 174812789" (a traceback in training); an upper-case
    .NPZ was read as a torch file; a style image that is no image did not say which file; a
    --crop not a multiple of 4 was a shape-mismatch traceback at the first step."""
    from imgrestore.cli import cli
    from imgrestore_stylize.features import load_weights

    junk = tmp_path / "junk.pth"
    junk.write_text("not weights")
    with open(tmp_path / "VGG.NPZ", "wb") as stream:  # (np.savez would append .npz to a name)
        np.savez(stream, **{k: v.numpy() for k, v in _random_vgg().items()})
    assert load_weights(tmp_path / "VGG.NPZ")[1] == "caffe"
    write_image(tmp_path / "style.png", Picture(color=coffee))
    (tmp_path / "notimage.jpg").write_text("text")
    train = ["train", "stylize", "--data", str(training_folder), "--out", str(tmp_path / "run"), "--steps", "1"]
    result = cli_runner.invoke(cli, train + ["--style-image", str(tmp_path / "style.png"), "--features", str(junk)])
    assert result.exit_code != 0 and f"{junk} is not a VGG16 feature file" in result.output, result.output
    result = cli_runner.invoke(cli, train + ["--style-image", str(tmp_path / "notimage.jpg"), "--features",
                                             str(tmp_path / "VGG.NPZ")])
    assert result.exit_code != 0 and f"--style-image {tmp_path / 'notimage.jpg'}" in result.output, result.output
    result = cli_runner.invoke(cli, train + ["--style-image", str(tmp_path / "style.png"), "--features",
                                             str(tmp_path / "VGG.NPZ"), "--crop", "34"])
    assert result.exit_code != 0 and "--crop must be a multiple of 4" in result.output, result.output
    assert "Traceback" not in result.output


def test_model_and_style_together_are_refused_and_strength_zero_copies_the_file(tmp_path: Path,
                                                                                astronaut: np.ndarray) -> None:
    """--model udnie --style the-scream rendered udnie without a word; --strength 0 ran the network
    and re-encoded a JPEG input (up to 20 levels off) although the input is the answer."""
    from click.testing import CliRunner

    from imgrestore.cli import cli

    from PIL import Image

    Image.fromarray(astronaut[:64, :64]).save(tmp_path / "in.jpg", quality=80)
    result = CliRunner().invoke(cli, ["stylize", str(tmp_path / "in.jpg"), str(tmp_path / "a.png"),
                                      "--model", "udnie", "--style", "the-scream"])
    assert result.exit_code == 2 and "--model udnie and --style both choose the model" in result.output
    for flags in (["--model", "udnie"], ["--style", "udnie"]):
        result = CliRunner().invoke(cli, ["stylize", str(tmp_path / "in.jpg"), str(tmp_path / "out.png"), *flags])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["stylize", str(tmp_path / "in.jpg"), str(tmp_path / "same.jpg"), "--strength", "0"])
    assert result.exit_code == 0 and (tmp_path / "same.jpg").read_bytes() == (tmp_path / "in.jpg").read_bytes()
