"""The inpaint task's network, recipe and export: one real adversarial training step updates
both networks; ONNX parity with the mask input at odd sizes; holes filled, the rest passed through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from imgrestore.cli import cli
from imgrestore.runtime import OnnxModel


@pytest.fixture
def tiny_inpainter(tmp_path: Path, training_folder: Path) -> Path:
    result = CliRunner().invoke(cli, [
        "train", "inpaint", "--data", str(training_folder), "--out", str(tmp_path / "run"), "--steps", "2",
        "--batch-size", "2", "--patch-size", "64", "--features", "8", "--precision", "fp32", "--lr", "1e-3",
        "--checkpoint-every", "1", "--validate-every", "2", "--log-every", "1", "--val-fraction", "0.2",
    ])
    assert result.exit_code == 0, result.output
    return tmp_path / "run"


def test_one_adversarial_step_updates_both_networks(tmp_path: Path, training_folder: Path) -> None:
    from imgrestore.training.checkpoint import load_state, load_weights
    from imgrestore.training.trainer import TrainConfig, train
    from imgrestore_inpaint.recipe import recipe

    options = {"data": [training_folder], "val": None, "val_fraction": 0.2, "features": 8, "patch_size": 64,
               "area": (0.1, 0.4), "adversarial_weight": 0.01}
    inpaint = recipe(options)
    torch.manual_seed(0)
    initial_generator = {k: v.clone() for k, v in inpaint.build_model().state_dict().items()}
    initial_discriminator = {k: v.clone() for k, v in inpaint.extra_networks()["discriminator"].state_dict().items()}
    train(inpaint, TrainConfig(out_dir=tmp_path / "run", steps=1, batch_size=2, warmup=1, precision="fp32",
                               validate_every=1, checkpoint_every=1, options=options))
    generator = load_weights(tmp_path / "run" / "last.safetensors")
    discriminator = load_state(tmp_path / "run", "last")["networks"]["discriminator"]
    changed_g = [k for k in initial_generator if not torch.equal(generator[k], initial_generator[k])]
    changed_d = [k for k in initial_discriminator if not torch.equal(discriminator[k], initial_discriminator[k])]
    assert len(changed_g) == len(initial_generator)  # every generator tensor moved
    assert any("original" in k for k in changed_d) and len(changed_d) >= len(initial_discriminator) // 2


@pytest.mark.parametrize("height,width", [(67, 131), (50, 38)])
def test_onnx_parity_with_the_mask_input_at_odd_sizes(tiny_inpainter, tmp_path: Path, height: int, width: int) -> None:
    from imgrestore.export import load_model
    from imgrestore.plugins import get_registry
    from imgrestore.runtime import pad_to_multiple

    result = CliRunner().invoke(cli, ["export", "inpaint", "--checkpoint", str(tiny_inpainter / "last.safetensors"),
                                      "-o", str(tmp_path / "inpaint.onnx")])
    assert result.exit_code == 0, result.output
    model, _ = load_model(get_registry().task("inpaint"), tiny_inpainter / "last.safetensors")
    rng = np.random.default_rng(height)
    image = rng.random((2, 3, height, width), dtype=np.float32)
    mask = (rng.random((2, 1, height, width)) > 0.6).astype(np.float32)
    ours = OnnxModel(tmp_path / "inpaint.onnx", device="cpu").run({"image": image, "mask": mask})
    with torch.no_grad():
        reference = model(torch.from_numpy(pad_to_multiple(image, 4)), torch.from_numpy(pad_to_multiple(mask, 4)))
    np.testing.assert_allclose(ours, reference.numpy()[:, :, :height, :width], atol=1e-4)
    outside = np.broadcast_to(mask == 0, image.shape)
    assert np.array_equal(ours[outside], image[outside])  # the network itself passes unmasked pixels through
