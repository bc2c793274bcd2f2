"""The denoise network itself: shape contract and batch norm that survives bf16 training."""

from __future__ import annotations

import torch

from imgrestore_denoise.model import build


def test_output_has_input_shape_and_identity_start() -> None:
    model = build(channels=3, features=16, depth=4).eval()
    x = torch.rand(2, 3, 34, 50)
    with torch.no_grad():
        y = model(x, torch.full((2, 1), 0.1))
    assert y.shape == x.shape
    assert (y - x).abs().mean() < 0.05  # the untrained net starts near the identity


def test_precise_batch_norm_makes_eval_match_train_mode() -> None:
    """Running statistics left stale by fast-changing weights are recomputed for the current ones."""

    from imgrestore.training.trainer import precise_batch_norm

    torch.manual_seed(0)
    model = build(channels=3, features=32, depth=6, batch_norm=True)
    x, sigma = torch.rand(16, 3, 48, 48), torch.rand(16, 1) * 0.2
    with torch.no_grad():
        model.train()
        for _ in range(5):  # running statistics of these weights...
            model(x, sigma)
        for parameter in model.parameters():  # ...then the weights move on, as they do in training
            parameter.mul_(1.5)

    class FixedBatches:
        def training_batch(self, rng, batch_size):
            return {"input": x, "sigma": sigma}

        def predict(self, model, batch):
            return model(batch["input"], batch["sigma"])

    def eval_gap() -> float:
        with torch.no_grad():
            model.train()
            batch_stats = model(x, sigma)
            model.eval()
            return float((batch_stats - model(x, sigma)).abs().max())

    model.train()
    with torch.no_grad():
        reference = model(x, sigma)
    stale = eval_gap()
    precise_batch_norm(FixedBatches(), model, torch.device("cpu"), seed=0, batches=4)
    assert stale > 0.05
    assert eval_gap() < 1e-4
    with torch.no_grad():
        model.train()
        assert torch.allclose(model(x, sigma), reference)  # training behaviour untouched


def test_the_gray_model_given_for_a_colour_photo_fails_it_instead_of_dropping_its_colour(tmp_path, astronaut) -> None:
    from click.testing import CliRunner

    from imgrestore.cli import cli
    from imgrestore.images import Picture, read_image, write_image

    write_image(tmp_path / "in" / "colour.png", Picture(color=astronaut[:48, :48]))
    write_image(tmp_path / "in" / "gray.png", Picture(color=astronaut[:48, :48, :1]))
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in"), str(tmp_path / "out"), "--model", "gray",
                                      "--sigma", "10"])
    assert result.exit_code == 1 and "colour.png: the gray model would drop this image's colour" in result.output
    assert read_image(tmp_path / "out" / "gray.png").channels == 1 and not (tmp_path / "out" / "colour.png").exists()
