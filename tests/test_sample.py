"""The sampling task: seeded latents, the generation pipeline, its CLI, the Fréchet distance,
ONNX parity of the shipped generators, and one real training step of each recipe (on
scikit-learn's bundled 8×8 digits, enlarged to 28×28, so no ../shared/data is needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import imgrestore
from imgrestore.cli import cli
from imgrestore.images import read_image
from imgrestore.sampling import contact_sheet, latent_vectors, slerp
from imgrestore.weights import locate, read_manifest, weights_dir
from imgrestore_sample import MODELS
from imgrestore_sample.evaluator import FeatureStatistics, frechet_distance

SIDE = 28


def test_latents_depend_only_on_seed_and_index() -> None:
    many = latent_vectors(3, range(10), 16)
    assert np.array_equal(latent_vectors(3, range(4), 16), many[:4])
    assert np.array_equal(latent_vectors(3, [7, 2], 16), many[[7, 2]])
    assert not np.allclose(latent_vectors(4, range(4), 16), many[:4])
    truncated = latent_vectors(3, range(200), 16, truncation=0.5)
    assert np.abs(truncated).max() <= 0.5 and truncated.std() > 0.2
    with pytest.raises(ValueError):
        latent_vectors(0, range(1), 4, truncation=0)


def test_slerp_keeps_endpoints_and_typical_norm() -> None:
    start, end = latent_vectors(0, range(2), 64)
    path = slerp(start, end, np.linspace(0, 1, 9))
    np.testing.assert_allclose(path[0], start, atol=1e-5)
    np.testing.assert_allclose(path[-1], end, atol=1e-5)
    linear_middle = np.linalg.norm((start + end) / 2)
    assert np.linalg.norm(path[4]) > linear_middle * 1.2  # a straight line would sag towards 0


def test_contact_sheet_layout() -> None:
    images = np.arange(5, dtype=np.uint8)[:, None, None, None] * np.ones((5, 3, 4, 1), np.uint8)
    sheet = contact_sheet(images, columns=2, gap=1)
    assert sheet.shape == (3 * 3 + 4, 2 * 4 + 3, 1)
    assert sheet[1, 1, 0] == 0 and sheet[1, 6, 0] == 1 and sheet[5, 1, 0] == 2 and sheet[9, 1, 0] == 4


def test_frechet_distance_matches_the_closed_form() -> None:
    from scipy import linalg

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    first = FeatureStatistics(rng.standard_normal(6), a @ a.T, 100)
    second = FeatureStatistics(rng.standard_normal(6), b @ b.T, 100)
    root = linalg.sqrtm(first.covariance @ second.covariance).real
    expected = (np.sum((first.mean - second.mean) ** 2) + np.trace(first.covariance)
                + np.trace(second.covariance) - 2 * np.trace(root))
    assert frechet_distance(first, second) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(first, first) == pytest.approx(0.0, abs=1e-6)
    features = rng.standard_normal((500, 4))
    assert frechet_distance(features, features + 1.0) == pytest.approx(4.0, rel=1e-6)  # a shift of 1 per axis


# ---------------------------------------------------------------- the command and the API


def _sample(tmp_path: Path, name: str, *args: str) -> tuple[Path, str]:
    out = tmp_path / name
    result = CliRunner().invoke(cli, ["sample", str(out), *args])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_same_seed_same_images_whatever_the_batch_size(tmp_path: Path) -> None:
    first, _ = _sample(tmp_path, "a", "-n", "6", "--seed", "3", "--batch-size", "4", "--grid", str(tmp_path / "g.png"))
    second, _ = _sample(tmp_path, "b", "-n", "6", "--seed", "3", "--batch-size", "6")
    other, _ = _sample(tmp_path, "c", "-n", "6", "--seed", "4")
    names = sorted(p.name for p in first.iterdir() if not p.name.startswith("."))
    assert names == [f"seed3_{i:05d}.png" for i in range(6)]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert (first / names[0]).read_bytes() != (other / "seed4_00000.png").read_bytes()
    picture = read_image(first / names[0])
    assert picture.size == (SIDE, SIDE) and picture.channels == 1 and picture.color.std() > 20
    sheet = read_image(tmp_path / "g.png")
    assert sheet.size == (2 * SIDE + 3 * 2, 3 * SIDE + 4 * 2)  # 6 images: 3 columns, 2 rows, 2 px gaps
    api = imgrestore.sample_images(count=6, seed=3)
    assert np.array_equal(api[2, :, :, 0], read_image(first / names[2]).color[:, :, 0])


def test_interpolation_walks_from_sample_to_sample(tmp_path: Path) -> None:
    samples = imgrestore.sample_images(count=4, seed=5, model="vae-digits")
    out, output = _sample(tmp_path, "walks", "-n", "3", "--interpolate", "5", "--seed", "5", "--model", "vae-digits")
    frames = sorted(out.glob("seed5_walk*_frame*.png"))
    assert len(frames) == 15 and "sheet" in output

    def frame(walk: int, index: int) -> np.ndarray:
        return read_image(out / f"seed5_walk{walk:04d}_frame{index:03d}.png").color[:, :, 0].astype(int)

    for walk in range(3):
        assert np.abs(frame(walk, 0) - samples[walk, :, :, 0]).max() <= 1
        assert np.abs(frame(walk, 4) - samples[walk + 1, :, :, 0]).max() <= 1
        assert np.abs(frame(walk, 2) - frame(walk, 0)).mean() > 1  # the middle is somewhere else
    assert read_image(out / "seed5_walks.png").size == (3 * SIDE + 4 * 2, 5 * SIDE + 6 * 2)


def test_truncation_gives_more_typical_samples(tmp_path: Path) -> None:
    """On 1,000 samples: on 32 the pixel spread moves by more than truncation at 0.5 takes off
    (44.6 loose against 45.0 truncated for seed 1; 48.5 against 44.4 on 1,000)."""
    loose = imgrestore.sample_images(count=1000, seed=1, model="dcgan-digits").astype(float)
    tight = imgrestore.sample_images(count=1000, seed=1, model="dcgan-digits", truncation=0.5).astype(float)
    assert not np.array_equal(loose, tight)
    spread = lambda images: images.reshape(len(images), -1).std(0).mean()  # noqa: E731
    assert spread(tight) < spread(loose)


def test_skip_existing_resumes(tmp_path: Path) -> None:
    out, _ = _sample(tmp_path, "r", "-n", "4")
    (out / "seed0_00001.png").unlink()
    kept = (out / "seed0_00002.png").stat().st_mtime_ns
    _, output = _sample(tmp_path, "r", "-n", "6", "--skip-existing")
    assert "wrote 3, skipped 3" in output
    assert (out / "seed0_00002.png").stat().st_mtime_ns == kept
    assert len(list(out.glob("*.png"))) == 6


def test_a_model_of_another_task_is_refused(tmp_path: Path) -> None:
    """By name, before any session loads, with this task's names; by file, from its metadata."""
    result = CliRunner().invoke(cli, ["sample", str(tmp_path / "x"), "--model", "denoise-gray"])
    assert result.exit_code == 2 and "no shipped model named 'denoise-gray' (sample models: dcgan-digits" in result.output
    result = CliRunner().invoke(cli, ["sample", str(tmp_path / "x"), "--model", str(locate("denoise-gray").file)])
    assert result.exit_code == 2 and "is a model of task 'denoise', not 'sample'" in result.output


def test_sampling_never_imports_torch(tmp_path: Path) -> None:
    script = (
        "import sys\nfrom imgrestore.cli import main\n"
        f"sys.argv = ['imgrestore', 'sample', {str(tmp_path / 'o')!r}, '-n', '3']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().endswith("False"), done.stdout + done.stderr
    assert len(list((tmp_path / "o").glob("*.png"))) == 3


@pytest.mark.parametrize("name", MODELS)
def test_onnx_matches_torch_for_every_shipped_generator(name: str) -> None:
    import torch

    from imgrestore.export import load_model
    from imgrestore.runtime import OnnxModel

    record = read_manifest()["models"][name]
    model, _ = load_model(imgrestore.load_task("sample"), weights_dir() / record["checkpoint"])
    onnx_model = OnnxModel(weights_dir() / record["file"], device="cpu")
    latents = latent_vectors(11, range(7), record["model_config"]["latent_dim"])
    with torch.no_grad():
        expected = model(torch.from_numpy(latents)).numpy()
    produced = onnx_model.run({"latent": latents})
    assert produced.shape == (7, 1, SIDE, SIDE)
    assert np.abs(produced - expected).max() < 1e-4


def test_spectral_discriminator_has_unit_spectral_norms() -> None:
    import torch

    from imgrestore_sample.networks import Discriminator

    discriminator = Discriminator(features=8, spectral=True)
    for _ in range(30):  # each training-mode call takes one power-iteration step
        discriminator(torch.rand(4, 1, SIDE, SIDE))
    weights = [module.weight for module in discriminator.modules() if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(weights) == 4
    for weight in weights:
        assert torch.linalg.matrix_norm(weight.detach().flatten(1), ord=2) == pytest.approx(1.0, abs=0.02)
    plain = Discriminator(features=8)
    assert max(torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)
               for m in plain.modules() if isinstance(m, torch.nn.Linear)) != pytest.approx(1.0, abs=0.02)


# ---------------------------------------------------------------- one real training step per recipe


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.stack([cv2.resize((image * 16).clip(0, 255).astype(np.uint8), (SIDE, SIDE),
                                  interpolation=cv2.INTER_LINEAR) for image in digits.images])
    path = tmp_path_factory.mktemp("digits") / "sk_digits.npz"
    np.savez_compressed(path, images=images, labels=digits.target.astype(np.uint8))
    return path


def _train(network: str, data: Path, out: Path, steps: int = 2, **extra: object) -> object:
    import torch

    from imgrestore.training.trainer import TrainConfig, train
    from imgrestore_sample.recipe import recipe

    options = {"data": [data], "network": network, "evaluation_samples": 100, **extra}
    built = recipe(dict(options))
    torch.manual_seed(0)  # the trainer seeds the same way before building: these are its initial weights
    initial = {"model": built.build_model()}
    if hasattr(built, "extra_networks"):
        initial.update(built.extra_networks())
    train(built, TrainConfig(out_dir=out, steps=steps, batch_size=8, lr=1e-3, warmup=1, validate_every=steps,
                             checkpoint_every=steps, log_every=1, threads=1, options=options))
    return initial


def _changed(before: dict, after: dict) -> bool:
    return any(not np.allclose(before[key].numpy(), after[key].numpy()) for key in before if "running" not in key
               and "num_batches" not in key)


@pytest.fixture(scope="module")
def trained_classifier(digits_npz: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("classifier")
    initial = _train("classifier", digits_npz, out, steps=3)
    return out / "last.safetensors", initial


def test_one_training_step_of_the_classifier(trained_classifier) -> None:
    from imgrestore.training.checkpoint import load_weights

    checkpoint, initial = trained_classifier
    assert _changed(initial["model"].state_dict(), load_weights(checkpoint))
    rows = (checkpoint.parent / "log.csv").read_text().splitlines()
    assert rows[0].startswith("step,loss") and "val_accuracy" in rows[0]
    assert 0.0 <= float(rows[-1].split(",")[-1]) <= 1.0


@pytest.mark.parametrize("network, extra", [("dcgan", {}), ("dcgan", {"discriminator_norm": "spectral"}), ("vae", {})],
                         ids=["dcgan", "dcgan-spectral", "vae"])
def test_one_training_step_of_each_generator(network: str, extra: dict, digits_npz: Path, trained_classifier,
                                             tmp_path: Path) -> None:
    import json

    from imgrestore.training.checkpoint import load_state, load_weights

    initial = _train(network, digits_npz, tmp_path, steps=2, evaluator=str(trained_classifier[0]), **extra)
    assert _changed(initial["model"].state_dict(), load_weights(tmp_path / "last.safetensors"))
    if network == "dcgan":  # the discriminator's phase ran too
        state = load_state(tmp_path, "last")
        assert _changed(initial["discriminator"].state_dict(), state["networks"]["discriminator"])
    sheet = read_image(tmp_path / "samples" / "step_000002.png")
    assert sheet.size == (8 * SIDE + 9 * 2, 8 * SIDE + 9 * 2)
    evaluation = json.loads((tmp_path / "evaluations.jsonl").read_text().splitlines()[-1])
    assert evaluation["frechet"] > 0 and 0 <= evaluation["confident"] <= 1
    header, *rows = (tmp_path / "log.csv").read_text().splitlines()
    assert "val_frechet" in header and float(rows[-1].split(",")[-1]) == pytest.approx(evaluation["frechet"], rel=1e-3)


def test_a_grid_without_an_image_suffix_is_refused_before_sampling(tmp_path: Path, cli_runner) -> None:
    from imgrestore.cli import cli

    result = cli_runner.invoke(cli, ["sample", str(tmp_path / "out"), "-n", "2", "--grid", str(tmp_path / "sheet")])
    assert result.exit_code == 2 and "has no image suffix" in result.output
    assert not (tmp_path / "out").exists()


def test_a_resume_with_other_settings_is_refused_rather_than_mixed(tmp_path: Path) -> None:
    """--skip-existing took files named seed0_walk0000_frame001.png from a 10-frame walk as done in a
    5-frame one, and untruncated samples as done in a truncated run, under one new sheet."""
    out, _ = _sample(tmp_path, "k", "-n", "1", "--interpolate", "10")
    result = CliRunner().invoke(cli, ["sample", str(out), "-n", "1", "--interpolate", "5", "--skip-existing"])
    assert result.exit_code == 2 and "frames_per_walk 10 -> 5" in result.output, result.output
    out, _ = _sample(tmp_path, "t", "-n", "2")
    before = {p.name: p.read_bytes() for p in out.glob("*.png")}
    result = CliRunner().invoke(cli, ["sample", str(out), "-n", "4", "--truncation", "0.5", "--skip-existing"])
    assert result.exit_code == 2 and "truncation None -> 0.5" in result.output
    assert {p.name: p.read_bytes() for p in out.glob("*.png")} == before  # nothing written
    result = CliRunner().invoke(cli, ["sample", str(out), "-n", "4", "--model", "vae-digits", "--skip-existing"])
    assert result.exit_code == 2 and "model dcgan-digits.onnx -> vae-digits.onnx" in result.output, result.output
    _, output = _sample(tmp_path, "t", "-n", "4", "--skip-existing")  # the same settings resume
    assert "wrote 2, skipped 2" in output
    _, output = _sample(tmp_path, "t", "-n", "4", "--truncation", "0.5")  # replacing them is asked for
    assert "wrote 4, skipped 0" in output


def test_a_grid_named_like_a_sample_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "g"
    result = CliRunner().invoke(cli, ["sample", str(out), "-n", "2", "--grid", str(out / "seed0_00000.png")])
    assert result.exit_code == 2 and "is the name of one of the samples" in result.output
    assert not out.exists() or not list(out.glob("*.png"))
