"""The core trainer: it learns, logs validation PSNR, resumes exactly, and runs under torchrun."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from imgrestore.cli import cli


def _log(run: Path) -> list[dict[str, str]]:
    with (run / "log.csv").open() as stream:
        return list(csv.DictReader(stream))


def test_training_learns_and_validates(tiny_denoiser) -> None:
    rows = _log(tiny_denoiser["run"])
    psnrs = [float(r["val_psnr"]) for r in rows if r["val_psnr"]]
    assert len(psnrs) == 2
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < losses[0]  # 40 real steps already reduce the denoising loss
    assert psnrs[-1] > psnrs[0]
    for name in ["last.safetensors", "last.state.pt", "best.safetensors", "config.json"]:
        assert (tiny_denoiser["run"] / name).is_file()


def _train(out: Path, data: Path, steps: int, *extra: str) -> None:
    result = CliRunner().invoke(cli, [
        "train", "denoise", "--gray", "--data", str(data), "--out", str(out), "--steps", str(steps),
        "--batch-size", "2", "--patch-size", "32", "--features", "8", "--depth", "3", "--precision", "fp32",
        "--checkpoint-every", "3", "--validate-every", "100", "--seed", "7", "--threads", "1", *extra,
    ])
    assert result.exit_code == 0, result.output


def test_resume_continues_exactly(tmp_path: Path, training_folder: Path) -> None:
    from safetensors.torch import load_file

    # the 3-step first session stands for an interrupted run: the warm-up is pinned, because a
    # default one is a fifth of --steps and would differ between a 3- and a 6-step start
    _train(tmp_path / "straight", training_folder, 6, "--warmup", "4")
    _train(tmp_path / "split", training_folder, 3, "--warmup", "4")
    _train(tmp_path / "split", training_folder, 6, "--resume")  # keeps the warm-up it started with
    straight = load_file(str(tmp_path / "straight" / "last.safetensors"))
    split = load_file(str(tmp_path / "split" / "last.safetensors"))
    for key in straight:
        assert (straight[key] - split[key]).abs().max() < 1e-6, key


def test_refuses_to_overwrite_a_run_without_resume(tmp_path: Path, training_folder: Path) -> None:
    _train(tmp_path / "run", training_folder, 3)
    result = CliRunner().invoke(cli, ["train", "denoise", "--gray", "--data", str(training_folder), "--out",
                                      str(tmp_path / "run"), "--steps", "3", "--features", "8", "--depth", "3"])
    assert result.exit_code == 1 and "already holds a run: pass --resume" in result.output  # one line, no traceback


@pytest.mark.parametrize("length", [["--steps", "4"], ["--steps", "100000", "--time-budget", "3", "--warmup", "10"]],
                         ids=["steps", "time-budget"])
def test_runs_under_torchrun_with_ddp(tmp_path: Path, training_folder: Path, length: list[str]) -> None:
    """With --time-budget, every process times its own steps and all take rank 0's count (were
    they to differ, the one that ran on would wait for the others' gradients for ever)."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
        "-m", "imgrestore", "train", "denoise", "--gray", "--data", str(training_folder), "--out", str(tmp_path / "ddp"),
        *length, "--batch-size", "2", "--patch-size", "32", "--features", "8", "--depth", "3",
        "--precision", "fp32", "--validate-every", "4", "--threads", "1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "world size 2" in done.stderr
    assert done.stderr.count("weights: ") == 1  # said by rank 0 alone, not once per process
    rows = _log(tmp_path / "ddp")
    config = json.loads((tmp_path / "ddp" / "config.json").read_text())
    assert rows[-1]["step"] == str(config["steps"]) and rows[-1]["val_psnr"]
    if "--time-budget" in length:  # how many fit depends on the machine's load; that they were timed does not
        assert config["fitted"]["timed_steps"] == 30 and 0 < config["steps"] < 100000
    else:
        assert config["steps"] == 4


def test_init_fine_tunes_from_given_weights(tmp_path: Path, training_folder: Path) -> None:
    from safetensors.torch import load_file

    _train(tmp_path / "base", training_folder, 3)
    _train(tmp_path / "tuned", training_folder, 1, "--init", str(tmp_path / "base" / "last.safetensors"), "--lr", "1e-9")
    base = load_file(str(tmp_path / "base" / "last.safetensors"))
    tuned = load_file(str(tmp_path / "tuned" / "last.safetensors"))
    assert all((base[k] - tuned[k]).abs().max() < 1e-5 for k in base)  # started from base, barely moved
    result = CliRunner().invoke(cli, ["train", "denoise", "--gray", "--data", str(training_folder), "--out",
                                      str(tmp_path / "wrong"), "--steps", "1", "--features", "16", "--depth", "3",
                                      "--init", str(tmp_path / "base" / "last.safetensors")])
    assert result.exit_code == 1 and "Error: --init:" in result.output
    for not_a_checkpoint in (tmp_path / "base" / "last.state.pt", tmp_path / "base" / "config.json"):
        result = CliRunner().invoke(cli, ["train", "denoise", "--gray", "--data", str(training_folder), "--out",
                                          str(tmp_path / "wrong2"), "--steps", "1", "--init", str(not_a_checkpoint)])
        assert result.exit_code == 1 and "is not a training checkpoint" in result.output, result.output


def test_weight_average_is_what_is_kept_and_resumes_exactly(tmp_path: Path, training_folder: Path) -> None:
    """--ema: last.safetensors holds the moving average (not the raw weights, which go to the
    state file), and a resumed run ends where a straight one does."""
    import torch
    from safetensors.torch import load_file

    _train(tmp_path / "straight", training_folder, 6, "--ema", "0.9", "--warmup", "4")  # pinned: see above
    _train(tmp_path / "split", training_folder, 3, "--ema", "0.9", "--warmup", "4")
    _train(tmp_path / "split", training_folder, 6, "--ema", "0.9", "--warmup", "4", "--resume")
    straight = load_file(str(tmp_path / "straight" / "last.safetensors"))
    split = load_file(str(tmp_path / "split" / "last.safetensors"))
    raw = torch.load(tmp_path / "straight" / "last.state.pt", weights_only=False)["raw_model"]
    weights = [key for key in straight if "running" not in key and "num_batches" not in key]
    for key in weights:
        assert (straight[key] - split[key]).abs().max() < 1e-6, key
    assert any((straight[key] - raw[key]).abs().max() > 1e-6 for key in weights)
    result = CliRunner().invoke(cli, ["train", "denoise", "--gray", "--data", str(training_folder), "--out",
                                      str(tmp_path / "split"), "--steps", "9", "--features", "8", "--depth", "3",
                                      "--patch-size", "32", "--resume"])
    assert result.exit_code == 1 and "Error: --resume:" in result.output and "--ema" in result.output


def test_linear_schedule_holds_the_peak_for_half_the_steps_then_falls_to_the_floor() -> None:
    from imgrestore.training.trainer import TrainConfig, _learning_rate

    config = TrainConfig(out_dir=Path("unused"), steps=100, lr=2e-4, min_lr=0.0, warmup=0, schedule="linear")
    rates = [_learning_rate(config, step) for step in range(100)]
    assert rates[:51] == [2e-4] * 51
    assert all(later < earlier for earlier, later in zip(rates[50:], rates[51:]))
    assert rates[75] == pytest.approx(1e-4) and rates[99] == pytest.approx(2e-4 / 50)
    with pytest.raises(ValueError, match="unknown schedule"):
        _learning_rate(TrainConfig(out_dir=Path("unused"), schedule="step"), 500)


def test_a_task_brings_its_own_training_defaults_and_the_command_line_wins(tmp_path: Path, training_folder: Path,
                                                                            cli_runner) -> None:
    """The CycleGAN recipe's lr 2e-4 / linear schedule / batch 1 / no clipping apply unless given; the denoiser
    keeps the trainer's defaults."""
    import json

    from imgrestore.cli import cli

    common = ["--steps", "1", "--validate-every", "1", "--threads", "1", "--precision", "fp32"]
    translate = ["train", "translate", "--domain-a", str(training_folder), "--domain-b", str(training_folder),
                 "--features", "4", "--blocks", "1", "--discriminator-features", "4", "--crop", "32", *common]
    assert cli_runner.invoke(cli, [*translate, "--out", str(tmp_path / "t1")]).exit_code == 0
    assert cli_runner.invoke(cli, [*translate, "--out", str(tmp_path / "t2"), "--lr", "1e-3",
                                   "--schedule", "cosine", "--clip-grad", "0.5"]).exit_code == 0
    first, second = (json.loads((tmp_path / run / "config.json").read_text()) for run in ("t1", "t2"))
    assert (first["lr"], first["schedule"], first["batch_size"], first["clip_grad"]) == (2e-4, "linear", 1, 0.0)
    assert (second["lr"], second["schedule"], second["batch_size"], second["clip_grad"]) == (1e-3, "cosine", 1, 0.5)
    result = cli_runner.invoke(cli, ["train", "denoise", "--data", str(training_folder), "--out", str(tmp_path / "d"),
                                     "--depth", "3", "--features", "8", *common])
    assert result.exit_code == 0, result.output
    denoise = json.loads((tmp_path / "d" / "config.json").read_text())
    assert (denoise["lr"], denoise["schedule"], denoise["batch_size"], denoise["clip_grad"]) == (1e-3, "cosine", 16, 1.0)


def test_unreadable_training_files_are_named_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import numpy as np

    from imgrestore.images import Picture, write_image
    from imgrestore.training.data import list_images, load_images

    write_image(tmp_path / "good.png", Picture(color=np.full((40, 50, 3), 7, np.uint8)))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    images = load_images(list_images([tmp_path]), "rgb")
    assert [image.shape for image in images] == [(40, 50, 3)]
    err = capsys.readouterr().err
    assert "broken.png" in err and "empty.jpg" in err
    (tmp_path / "good.png").unlink()
    with pytest.raises(ValueError, match="no usable training images"):
        load_images(list_images([tmp_path]), "rgb")


def test_ctrl_c_stops_after_the_step_and_resumes_exactly(tmp_path: Path, training_folder: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGINT in the middle of step 5 (between checkpoints every 3): the run finishes that step,
    writes `last` at step 5 and exits 130; --resume then ends where an uninterrupted run ends."""
    import signal

    from safetensors.torch import load_file

    from imgrestore.training.checkpoint import read_metadata
    from imgrestore_denoise.recipe import DenoiseRecipe

    _train(tmp_path / "straight", training_folder, 6)
    original = DenoiseRecipe.training_batch
    calls = {"n": 0}

    def interrupted_batch(self, rng, batch_size):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 5:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, rng, batch_size)

    monkeypatch.setattr(DenoiseRecipe, "training_batch", interrupted_batch)
    # Ctrl-C as in a terminal: a test run started in the background (CI, nohup) inherits SIGINT
    # ignored, which the trainer rightly leaves alone
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = CliRunner().invoke(cli, [
            "train", "denoise", "--gray", "--data", str(training_folder), "--out", str(tmp_path / "stopped"),
            "--steps", "6", "--batch-size", "2", "--patch-size", "32", "--features", "8", "--depth", "3",
            "--precision", "fp32", "--checkpoint-every", "3", "--validate-every", "100", "--seed", "7", "--threads", "1",
        ])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back
    finally:
        signal.signal(signal.SIGINT, outer)
    assert result.exit_code == 130, result.output
    assert "stopped at step 5" in result.output and "--resume" in result.output
    assert read_metadata(tmp_path / "stopped" / "last.safetensors")["step"] == 5
    monkeypatch.setattr(DenoiseRecipe, "training_batch", original)
    _train(tmp_path / "stopped", training_folder, 6, "--resume")
    straight = load_file(str(tmp_path / "straight" / "last.safetensors"))
    resumed = load_file(str(tmp_path / "stopped" / "last.safetensors"))
    for key in straight:
        assert (straight[key] - resumed[key]).abs().max() < 1e-6, key


@pytest.fixture
def small_gray_folder(tmp_path: Path) -> Path:
    """Twenty 60×60 gray crops of a real photo: a set shaped like Train400 (180×180 gray crops),
    smaller than the recipes' validation crops."""
    from skimage import data

    from imgrestore.images import Picture, write_image

    camera = data.camera()
    folder = tmp_path / "small"
    for index in range(20):
        top, left = divmod(index, 5)
        write_image(folder / f"crop_{index:02d}.png", Picture(color=camera[top * 100:, left * 100:][:60, :60, None]))
    return folder


def test_a_set_of_small_images_trains_and_validates_on_smaller_crops(tmp_path: Path, small_gray_folder: Path) -> None:
    """Every held-out image is below the 192-pixel validation crop: validation runs on 60-pixel crops
    instead of failing with 'no usable training images'."""
    _train(tmp_path / "run", small_gray_folder, 2, "--validate-every", "1", "--val-fraction", "0.3")
    psnrs = [float(row["val_psnr"]) for row in _log(tmp_path / "run")]
    assert len(psnrs) == 2 and all(10 < psnr < 60 for psnr in psnrs)


def test_validation_crops_keep_their_size_where_images_allow_it() -> None:
    from imgrestore.training.data import validation_crops

    small, large = np.zeros((60, 80, 1), np.uint8), np.zeros((300, 200, 1), np.uint8)
    assert [crop.shape for crop in validation_crops([small, large], 192)] == [(192, 192, 1)]
    assert [crop.shape for crop in validation_crops([small, small[:50]], 192, multiple=4)] == [(48, 48, 1)] * 2
    with pytest.raises(ValueError, match="validation images are too small.*--val"):
        validation_crops([small[:10]], 192)
    # a thumbnail among them is left out (it stopped the run), and does not shrink the others' crops
    assert [crop.shape for crop in validation_crops([small, small[:10], small[:50]], 192, multiple=4)] == [(48, 48, 1)] * 2


def test_a_colour_denoiser_on_gray_images_says_to_pass_gray(tmp_path: Path, small_gray_folder: Path,
                                                            cli_runner) -> None:
    result = cli_runner.invoke(cli, ["train", "denoise", "--data", str(small_gray_folder), "--out",
                                     str(tmp_path / "run"), "--steps", "1"])
    assert result.exit_code != 0
    assert "none of the 20 images of --data is in colour" in str(result.exception) + result.output
    assert "--gray" in str(result.exception) + result.output


def test_a_validation_share_of_zero_is_refused_with_what_to_do(tmp_path: Path, small_gray_folder: Path,
                                                                cli_runner) -> None:
    result = cli_runner.invoke(cli, ["train", "denoise", "--gray", "--data", str(small_gray_folder), "--out",
                                     str(tmp_path / "run"), "--steps", "1", "--val-fraction", "0"])
    assert result.exit_code == 2 and "--val-fraction" in result.output


def test_resuming_records_each_session_and_says_what_changed(tmp_path: Path, training_folder: Path) -> None:
    """config.json keeps the step every session resumed at and the settings it changed; a changed
    setting is printed (a mistyped --lr on resume would otherwise change the run silently)."""
    import json

    _train(tmp_path / "run", training_folder, 2)
    _train(tmp_path / "run", training_folder, 3, "--resume")
    result = CliRunner().invoke(cli, [
        "train", "denoise", "--gray", "--data", str(training_folder), "--out", str(tmp_path / "run"), "--steps", "4",
        "--batch-size", "2", "--patch-size", "32", "--features", "8", "--depth", "3", "--precision", "fp32",
        "--checkpoint-every", "3", "--validate-every", "100", "--seed", "7", "--threads", "1", "--lr", "0.01",
        "--resume"])
    assert result.exit_code == 0, result.output
    assert "resumed with changed settings: steps 3 -> 4; lr 0.001 -> 0.01" in result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["steps"], config["lr"]) == (4, 0.01)
    assert config["history"] == [{"resumed_at_step": 2, "changed": {"steps": [2, 3]}},
                                 {"resumed_at_step": 3, "changed": {"steps": [3, 4], "lr": [0.001, 0.01]}}]


def test_asking_for_a_missing_gpu_is_a_one_line_error(tmp_path: Path, training_folder: Path, cli_runner) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    result = cli_runner.invoke(cli, ["train", "denoise", "--gray", "--data", str(training_folder), "--out",
                                     str(tmp_path / "run"), "--steps", "1", "--device", "cuda"])
    assert result.exit_code == 1 and "Error: --device cuda was asked for but torch sees no CUDA device" in result.output


def test_batch_norm_statistics_hold_the_spread_between_small_batches() -> None:
    """Images of one brightness each, drawn from 0..1: their variance is all between images. With
    the training batch of 2, averaging per-batch variances kept about half of it (0.05 of 0.083);
    the statistics are now gathered in batches of at least 16, which keep 15/16 of it."""
    import torch
    from torch import nn

    from imgrestore.training.trainer import precise_batch_norm

    class FlatImages:
        def training_batch(self, rng: np.random.Generator, batch_size: int) -> dict:
            levels = rng.uniform(0, 1, (batch_size, 1, 1, 1)).astype(np.float32)
            return {"input": torch.from_numpy(np.broadcast_to(levels, (batch_size, 1, 8, 8)).copy())}

        def predict(self, model: nn.Module, batch: dict) -> torch.Tensor:
            return model(batch["input"])

    model = nn.Sequential(nn.BatchNorm2d(1))
    precise_batch_norm(FlatImages(), model, torch.device("cpu"), seed=0, batches=64, batch_size=2)
    variance = float(model[0].running_var[0])
    assert abs(variance - 1 / 12) < 0.02  # the variance of U(0, 1)


def test_fine_tuning_takes_the_checkpoints_architecture_unless_told_otherwise(tmp_path: Path, training_folder: Path,
                                                                              cli_runner) -> None:
    """--init with a 12-wide model and no --features: the run is 12 wide (the default would be 64,
    and the shipped upscaler's 64 against the default 48 made every fine-tune fail). --resume
    without the model options continues the same model; an explicit option still wins."""
    import json

    from imgrestore.training.checkpoint import read_metadata

    _train(tmp_path / "base", training_folder, 1, "--features", "12")

    def run(out: str, steps: int, *extra: str):  # type: ignore[no-untyped-def]
        return cli_runner.invoke(cli, [
            "train", "denoise", "--gray", "--data", str(training_folder), "--out", str(tmp_path / out),
            "--steps", str(steps), "--batch-size", "2", "--patch-size", "32", "--depth", "3", "--threads", "1",
            "--precision", "fp32", *extra])

    result = run("tuned", 1, "--init", str(tmp_path / "base" / "last.safetensors"))
    assert result.exit_code == 0, result.output
    assert "features 12" in result.output
    assert read_metadata(tmp_path / "tuned" / "last.safetensors")["model_config"]["features"] == 12
    result = run("tuned", 2, "--resume")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "tuned" / "config.json").read_text())["history"][0]["changed"] == {"steps": [1, 2]}
    result = run("wide", 1, "--features", "16", "--init", str(tmp_path / "base" / "last.safetensors"))
    assert result.exit_code == 1 and "Error: --init:" in result.output


def test_a_run_inside_its_data_folder_does_not_train_on_its_own_sheets(tmp_path: Path, training_folder: Path) -> None:
    """--out inside --data: the run folder is marked, and listing the data skips it (a translate or
    sample run writes sheets of samples there, which a resumed run would otherwise train on)."""
    import shutil

    from imgrestore.images import Picture, write_image
    from imgrestore.training.data import list_images

    data = tmp_path / "photos"
    shutil.copytree(training_folder, data)
    before = list_images([data])
    _train(data / "run", data, 1)
    write_image(data / "run" / "samples" / "step_000001.png", Picture(color=np.zeros((8, 8, 3), np.uint8)))
    assert list_images([data]) == before


def test_a_file_option_is_never_taken_from_the_checkpoint(tmp_path: Path) -> None:
    """stylize's --features is its VGG16 file, while its model_config's "features" is a width: a
    fine-tune that leaves --features to its default must not get the path 16."""
    import click
    import torch
    from safetensors.torch import save_file

    from imgrestore.cli import _adopt_checkpoint_architecture
    from imgrestore.task import TaskSpec

    checkpoint = tmp_path / "init.safetensors"
    save_file({"w": torch.zeros(1)}, str(checkpoint), metadata={"model_config": '{"features": 16, "blocks": 3}'})
    spec = TaskSpec(name="toy", summary="", select_model=str, prepare=str, train_options=(
        click.Option(["--features"], type=click.Path(), default=None), click.Option(["--blocks"], type=int, default=5)))
    seen = {}

    @click.command(params=[*spec.train_options, click.Option(["--init"]), click.Option(["--out"]),
                           click.Option(["--resume"], is_flag=True)])
    def command(**values) -> None:  # type: ignore[no-untyped-def]
        _adopt_checkpoint_architecture(spec, values)
        seen.update(values)

    result = CliRunner().invoke(command, ["--init", str(checkpoint), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert seen["features"] is None and seen["blocks"] == 3


def test_validation_images_given_with_val(tmp_path: Path, training_folder: Path, small_gray_folder: Path) -> None:
    """--val (repeatable) replaces the held-out share: it failed with "'PosixPath' object is not
    iterable" in every recipe. One image in --data, with nothing to hold out, says to use --val."""
    import json

    _train(tmp_path / "run", training_folder, 1, "--val", str(small_gray_folder), "--val", str(training_folder / "camera.png"))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["options"]["val"] == [str(small_gray_folder), str(training_folder / "camera.png")]
    result = CliRunner().invoke(cli, ["train", "denoise", "--gray", "--data", str(training_folder / "camera.png"),
                                      "--out", str(tmp_path / "one"), "--steps", "1"])
    assert result.exit_code == 1 and "--data holds one image" in result.output and "--val" in result.output


def _weights(run: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(run / "last.safetensors"))


def _same_weights(a: Path, b: Path) -> bool:
    first, second = _weights(a), _weights(b)
    return all((first[key] - second[key]).abs().max() < 1e-6 for key in first)


def test_a_run_killed_while_checkpointing_resumes_exactly_and_logs_each_step_once(
        tmp_path: Path, training_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The weights file used to be replaced before the (larger) training state was written: a run
    killed in between resumed from an older step's optimizer with newer weights, and the steps it
    repeated stood twice in log.csv."""
    import torch

    real_save = torch.save

    def dying_save(state, target, *args, **kwargs):  # the process dies while writing step 6's state
        if isinstance(state, dict) and state.get("step") == 6:
            raise SystemExit(137)
        return real_save(state, target, *args, **kwargs)

    _train(tmp_path / "straight", training_folder, 9, "--log-every", "1")
    monkeypatch.setattr(torch, "save", dying_save)
    killed = CliRunner().invoke(cli, [
        "train", "denoise", "--gray", "--data", str(training_folder), "--out", str(tmp_path / "killed"), "--steps", "9",
        "--batch-size", "2", "--patch-size", "32", "--features", "8", "--depth", "3", "--precision", "fp32",
        "--checkpoint-every", "3", "--validate-every", "100", "--seed", "7", "--threads", "1", "--log-every", "1"])
    assert killed.exit_code == 137
    monkeypatch.setattr(torch, "save", real_save)
    from imgrestore.training.checkpoint import load_state, read_metadata

    assert read_metadata(tmp_path / "killed" / "last.safetensors")["step"] == 3  # both files still of step 3
    assert load_state(tmp_path / "killed", "last")["step"] == 3
    _train(tmp_path / "killed", training_folder, 9, "--log-every", "1", "--resume")
    assert _same_weights(tmp_path / "straight", tmp_path / "killed")
    assert [row["step"] for row in _log(tmp_path / "killed")] == [str(step) for step in range(1, 10)]


def test_mixed_precision_resumes_with_the_loss_scale_it_had(tmp_path: Path, training_folder: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """fp16 on a GPU trains through a GradScaler, whose scale grows and shrinks with the gradients;
    it was not in the checkpoint, so a resumed run started again from the initial scale and skipped
    other steps than an uninterrupted one. No GPU here: the scaler runs on the CPU, starting so high
    that it overflows (and skips steps) deterministically."""
    import torch

    class ScalerOnCpu(torch.amp.GradScaler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__("cpu", init_scale=3e7, growth_interval=1)

    monkeypatch.setattr(torch.amp, "GradScaler", ScalerOnCpu)
    common = ("--precision", "fp16", "--lr", "0.1", "--warmup", "100")
    _train(tmp_path / "straight", training_folder, 6, *common)
    _train(tmp_path / "split", training_folder, 3, *common)
    _train(tmp_path / "split", training_folder, 6, *common, "--resume")
    assert _same_weights(tmp_path / "straight", tmp_path / "split")


def test_resuming_with_another_set_of_networks_is_a_one_line_error(tmp_path: Path, training_folder: Path) -> None:
    """The README's "reconstruction first, then the GAN" invites resuming an L1-only inpainting run
    with an adversarial weight: that adds a discriminator the run never had (a KeyError traceback)."""
    def inpaint(steps: int, *extra: str):
        return CliRunner().invoke(cli, [
            "train", "inpaint", "--data", str(training_folder), "--out", str(tmp_path / "run"), "--steps", str(steps),
            "--batch-size", "2", "--patch-size", "32", "--features", "8", "--threads", "1", "--validate-every", "100",
            *extra])

    assert inpaint(1, "--adversarial-weight", "0").exit_code == 0
    result = inpaint(2, "--adversarial-weight", "0.01", "--resume")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "discriminator" in result.output and "--init" in result.output


def test_resuming_with_the_same_options_reports_no_change(tmp_path: Path, training_folder: Path) -> None:
    """A colour denoiser's --batch-norm is unset by default (the task decides); on --resume the
    value was filled from the checkpoint and reported as a setting changed from None to True."""
    import json

    def colour(steps: int, *extra: str):
        return CliRunner().invoke(cli, [
            "train", "denoise", "--color", "--data", str(training_folder), "--out", str(tmp_path / "run"),
            "--steps", str(steps), "--batch-size", "2", "--patch-size", "32", "--features", "8", "--depth", "3",
            "--precision", "fp32", "--validate-every", "100", "--threads", "1", *extra])

    assert colour(1).exit_code == 0
    result = colour(2, "--resume")
    assert result.exit_code == 0, result.output
    assert "changed settings: steps 1 -> 2\n" in result.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["history"] == [
        {"resumed_at_step": 1, "changed": {"steps": [1, 2]}}]


def test_data_lists_each_image_once_without_hidden_files_and_never_validates_on_training_images(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`--data D --data D/a.png` counted a.png twice (and could hold out one copy while training on
    the other); a Mac's `._a.png` resource fork was the fallback validation image, so the run
    failed with "no usable validation images"; `--val` inside `--data` trained on it."""
    from imgrestore.images import Picture, write_image
    from imgrestore.training.data import list_images, split_holdout, training_and_validation_paths

    rng = np.random.default_rng(0)
    for name in ["img0", "img1", "img2", "img3"]:
        write_image(tmp_path / "d" / f"{name}.png", Picture(color=rng.integers(0, 256, (40, 40, 3), np.uint8)))
    (tmp_path / "d" / "._img0.png").write_bytes(b"\0\5\26\7 resource fork")
    (tmp_path / "d" / ".cache").mkdir()
    write_image(tmp_path / "d" / ".cache" / "thumb.png", Picture(color=np.zeros((40, 40, 3), np.uint8)))
    (tmp_path / "d" / "aa_empty.png").write_bytes(b"")
    found = list_images([tmp_path / "d", tmp_path / "d" / "img1.png", tmp_path / "d" / "." / "img2.png"])
    assert [p.name for p in found] == ["aa_empty.png", "img0.png", "img1.png", "img2.png", "img3.png"]
    kept, held = split_holdout(found, 0.0001)  # no name hashes that low: the fallback holds one out
    assert len(held) == 1 and held[0].name != "aa_empty.png" and held[0] not in kept
    train, validation = training_and_validation_paths({"data": [tmp_path / "d"], "val": [tmp_path / "d" / "img3.png"]})
    assert [p.name for p in validation] == ["img3.png"] and "img3.png" not in [p.name for p in train]
    assert "left out of training: 1 image(s)" in capsys.readouterr().err


def test_a_broken_npz_set_is_explained(tmp_path: Path) -> None:
    from imgrestore.training.image_sets import load_image_set

    images = np.zeros((10, 8, 8), np.uint8)
    np.savez(tmp_path / "labels_only.npz", labels=np.arange(10))
    np.savez(tmp_path / "floats.npz", images=images.astype(np.float32) / 255, labels=np.arange(10))
    np.savez(tmp_path / "onehot.npz", images=images, labels=np.eye(10))
    for name, complaint in (("labels_only", "expected `images`"), ("floats", "must be N×H×W uint8"),
                            ("onehot", "one integer class per image")):
        with pytest.raises(ValueError, match=complaint):
            load_image_set(tmp_path / f"{name}.npz")
    with open(tmp_path / "UNLABELLED.NPZ", "wb") as stream:  # images only: enough for translate
        np.savez(stream, images=images)
    unlabelled = load_image_set(tmp_path / "UNLABELLED.NPZ")
    assert len(unlabelled.train_images) + len(unlabelled.test_images) == 10
    with pytest.raises(ValueError, match="no labels"):
        unlabelled.classes


def test_a_set_larger_than_the_memory_budget_is_memory_mapped_from_a_decode_cache(
        tmp_path: Path, training_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Thousands of 12 MP photos decode to more than memory holds: past the budget, each image is
    decoded once into the cache and memory-mapped; the pixels are the same, a second run decodes
    nothing, an edited file is decoded again, and a training run on the mapped set learns."""
    from imgrestore.training import data, image_cache
    from imgrestore.training.data import PatchSampler, list_images, load_images

    paths = list_images([training_folder])
    monkeypatch.setenv(image_cache.CACHE_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.setenv(image_cache.MEMORY_VARIABLE, "1T")
    in_memory = load_images(paths, "gray")
    assert not any(isinstance(image, np.memmap) for image in in_memory) and not (tmp_path / "cache").exists()

    monkeypatch.setenv(image_cache.MEMORY_VARIABLE, "1K")
    mapped = load_images(paths, "gray")
    assert "memory-mapped" in capsys.readouterr().err
    assert all(isinstance(image, np.memmap) for image in mapped)
    assert all(np.array_equal(a, b) for a, b in zip(in_memory, mapped))
    assert len(list((tmp_path / "cache").glob("*.npy"))) == len(paths)
    assert PatchSampler(mapped, 16).sample(np.random.default_rng(0), 4).shape == (4, 1, 16, 16)

    decoded = []
    real_read = data.read_image
    monkeypatch.setattr(data, "read_image", lambda path: decoded.append(path) or real_read(path))
    load_images(paths, "gray")
    assert decoded == []  # all from the cache
    edited = paths[0]
    os.utime(edited, ns=(edited.stat().st_atime_ns, edited.stat().st_mtime_ns + 10**9))
    load_images(paths, "gray")
    assert decoded == [edited]

    _train(tmp_path / "run", training_folder, 6)
    rows = _log(tmp_path / "run")
    assert len(rows) >= 1 and all(np.isfinite(float(r["loss"])) for r in rows)


def test_the_memory_budget_and_the_cache_disk_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from imgrestore.training import image_cache

    for text, expected in (("8G", 8 << 30), ("512M", 512 << 20), ("1000", 1000), ("1.5GiB", 1.5 * (1 << 30))):
        monkeypatch.setenv(image_cache.MEMORY_VARIABLE, text)
        assert image_cache.memory_budget() == expected
    monkeypatch.setenv(image_cache.MEMORY_VARIABLE, "lots")
    with pytest.raises(ValueError, match="IMGRESTORE_TRAIN_MEMORY='lots'"):
        image_cache.memory_budget()
    monkeypatch.delenv(image_cache.MEMORY_VARIABLE)
    assert 0 < image_cache.memory_budget() < float("inf")  # half of what this machine has free
    with pytest.raises(ValueError, match="has only .* GB free"):
        image_cache.check_cache_space(tmp_path / "cache", 1 << 60)


def test_a_resumed_run_validates_on_the_images_it_held_out_even_when_files_are_added(
        tmp_path: Path, training_folder: Path) -> None:
    """The fallback image of a small set moved into training when an added file hashed lower,
    and added files that hash below the fraction joined validation: `best` then compared scores
    on different sets. The split is recorded in the run folder and a resumed run keeps it."""
    import shutil

    from imgrestore.training.data import SPLIT_RECORD_NAME, _unit_hash, list_images, recorded_split, split_holdout

    data = tmp_path / "data"
    shutil.copytree(training_folder, data)
    _train(tmp_path / "run", data, 3, "--val-fraction", "0.0001")
    record = tmp_path / "run" / SPLIT_RECORD_NAME
    held_before = json.loads(record.read_text())["held_out"]
    assert len(held_before) == 1 and Path(held_before[0]).parent == data.resolve()
    lowest = min(_unit_hash(p.name) for p in list_images([data]))
    newcomer = next(f"new{i}.png" for i in range(10**6) if _unit_hash(f"new{i}.png") < min(lowest, 0.0001))
    shutil.copy(data / "camera.png", data / newcomer)
    assert split_holdout(list_images([data]), 0.0001)[1] == [data / newcomer]  # unrecorded, the newcomer would validate
    with recorded_split(record):
        kept, held = split_holdout(list_images([data]), 0.0001)
    assert [str(p.resolve()) for p in held] == held_before and data / newcomer in kept
    _train(tmp_path / "run", data, 6, "--val-fraction", "0.0001", "--resume")
    assert json.loads(record.read_text())["held_out"] == held_before
    record.write_text("{not json")
    with recorded_split(record), pytest.raises(ValueError, match="delete it to hold out a new validation split"):
        split_holdout(list_images([data]), 0.0001)


@pytest.mark.parametrize("task,flags,message", [
    ("denoise", ["--patch-size", "33"], "33 is not a multiple of 2"),
    ("denoise", ["--features", "0"], "0 is not in the range x>=1"),
    ("inpaint", ["--patch-size", "62"], "62 is not a multiple of 4"),
    ("upscale", ["--scales", "2", "--model-scales", "3"], "--scales 2 must be among --model-scales 3"),
    ("reconstruct", ["--stride", "9"], "--stride 9 is larger than --patch 8"),
    ("reconstruct", ["--atoms", "0"], "0 is not in the range x>=1"),
])
def test_impossible_model_options_are_one_line_errors(tmp_path: Path, training_folder: Path, task: str,
                                                      flags: list[str], message: str) -> None:
    """Each was a traceback from the network after the data had loaded, or (--features 0) was
    silently replaced by the default."""
    result = CliRunner().invoke(cli, ["train", task, "--data", str(training_folder), "--out", str(tmp_path / "run"),
                                      "--steps", "1", *flags])
    assert result.exit_code in (1, 2) and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run" / "last.safetensors").exists()


def test_run_folder_mistakes_are_caught_before_training(tmp_path: Path, training_folder: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a QA pass: --out equal to --data marked the photos' folder as a run, so it was never
    training data again; --out naming a file gave a wrong message; --resume into an empty folder
    silently started over; --init from another task's checkpoint copied its options and then
    advised options no model could match; a Ctrl-C while the data loaded exited 1 ("Aborted!")."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(training_folder, data)
    base = ["train", "denoise", "--gray", "--data", str(data), "--steps", "2", "--batch-size", "2", "--patch-size", "32",
            "--features", "8", "--depth", "3", "--threads", "1"]
    result = CliRunner().invoke(cli, [*base, "--out", str(data)])
    assert result.exit_code == 1 and "is a folder the run reads images from" in result.output
    assert not (data / ".imgrestore-run").exists()
    (tmp_path / "notes.txt").write_text("x")
    result = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "notes.txt")])
    assert result.exit_code == 1 and "is a file: give a folder" in result.output
    result = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "typo"), "--resume"])
    assert result.exit_code == 0 and "no checkpoint in" in result.output and "starts a new run" in result.output
    assert "warm-up: 0 steps, a fifth of --steps 2" in result.output  # the default 300 would never decay

    result = CliRunner().invoke(cli, ["train", "upscale", "--data", str(data), "--out", str(tmp_path / "up"),
                                      "--steps", "1", "--init", str(tmp_path / "typo" / "last.safetensors")])
    assert result.exit_code == 1 and "is a checkpoint of the denoise task, not upscale" in result.output

    from imgrestore_denoise import recipe as denoise_recipe

    def interrupted(options):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(denoise_recipe, "recipe", interrupted)
    result = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "stopped")])
    assert result.exit_code == 130 and "interrupted before a checkpoint" in result.output


def test_a_run_started_again_after_dying_before_its_first_checkpoint_logs_each_step_once(
        tmp_path: Path, training_folder: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.csv").write_text("step,loss,lr,seconds,val_psnr\n1,0.5,0.001,1,\n2,0.4,0.001,2,\n")
    (run / "evaluations.jsonl").write_text('{"step": 2, "psnr": 20}\n')
    _train(run, training_folder, 3)
    steps = [row["step"] for row in _log(run)]
    assert steps == sorted(set(steps)) and steps[-1] == "3"
    assert '"psnr": 20' not in (run / "evaluations.jsonl").read_text()  # the dead attempt's evaluation went too


def test_fine_tuning_a_narrow_stylize_network_takes_its_width_from_the_checkpoint(tmp_path: Path,
                                                                                   training_folder: Path) -> None:
    """--width is the model_config's "features": matched by name only, it was not adopted, and the
    error then advised --features, which is stylize's VGG16 file."""
    features = Path(__file__).resolve().parents[2] / "shared" / "data" / "features" / "vgg16_hed.npz"
    if not features.is_file():
        pytest.skip("needs ../shared/data/features/vgg16_hed.npz")
    common = ["train", "stylize", "--data", str(training_folder), "--style-image", str(training_folder / "brick.png"),
              "--features", str(features), "--steps", "1", "--crop", "32", "--content-size", "64",
              "--style-size", "64", "--threads", "1"]
    result = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "narrow"), "--width", "4", "--blocks", "1"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "tuned"),
                                      "--init", str(tmp_path / "narrow" / "last.safetensors")])
    assert result.exit_code == 0 and "width 4, blocks 1" in result.output, result.output


def test_a_validation_fraction_that_takes_every_image_leaves_one_to_train_on(tmp_path: Path, camera: np.ndarray) -> None:
    """Two images at --val-fraction 0.5 whose names both hash below it were both held out, and
    the run said it found no usable training images (they were big enough)."""
    from imgrestore.images import Picture, write_image
    from imgrestore.training.data import _unit_hash, hash_holdout

    names = [f"img{i}.png" for i in range(10**4) if _unit_hash(f"img{i}.png") < 0.5][:2]
    paths = []
    for name in names:
        paths.append(tmp_path / name)
        write_image(paths[-1], Picture(color=camera[:64, :64, None]))
    kept, held = hash_holdout(paths, 0.5)
    assert kept == [max(paths, key=lambda p: _unit_hash(p.name))] and len(held) == 1
    kept, held = hash_holdout(paths[:1], 0.5)
    assert kept == paths[:1] and held == []


def test_sizes_are_said_in_a_unit_that_shows_them() -> None:
    """IMGRESTORE_TRAIN_MEMORY=1K said the set decodes to "0.0 GB, more than the budget of 0.0 GB"."""
    from imgrestore.training.image_cache import byte_size

    assert [byte_size(n) for n in (800, 1024, 5 << 20, 3 << 30)] == ["800 bytes", "1.0 KB", "5.0 MB", "3.0 GB"]


def test_a_time_budget_fits_the_step_count_and_the_run_repeats_with_it(tmp_path: Path, training_folder: Path) -> None:
    """--time-budget times a few steps, runs the whole schedule to the count that fits (so it ends at
    the floor learning rate, not cut at a deadline), and leaves no trace of the timed steps: --steps N
    with the recorded count gives the same weights."""
    import time

    started = time.perf_counter()
    _train(tmp_path / "budget", training_folder, 100000, "--time-budget", "4", "--warmup", "10",
           "--checkpoint-every", "100000", "--log-every", "1")
    seconds = time.perf_counter() - started
    config = json.loads((tmp_path / "budget" / "config.json").read_text())
    steps, fitted = config["steps"], config["fitted"]
    assert 0 < steps < 100000 and fitted["max_steps"] == 100000 and fitted["timed_steps"] == 30
    assert steps * fitted["seconds_per_step"] < 4
    assert seconds < 4 + 15  # the budget held (the rest: reading the images, writing the run)
    rows = _log(tmp_path / "budget")
    assert int(rows[-1]["step"]) == steps and float(rows[-1]["lr"]) == pytest.approx(1e-5, rel=0.05)  # decayed
    _train(tmp_path / "repeat", training_folder, steps, "--warmup", "10", "--checkpoint-every", "100000")
    assert _same_weights(tmp_path / "budget", tmp_path / "repeat")


def test_workers_change_the_speed_not_the_batches(tmp_path: Path, training_folder: Path) -> None:
    """Each step's batch is drawn from its own seed (run seed, rank, step), so batches prepared by
    worker processes ahead of the steps are the ones the training process would have drawn."""
    _train(tmp_path / "here", training_folder, 6, "--warmup", "2")
    _train(tmp_path / "workers", training_folder, 6, "--warmup", "2", "--workers", "2")
    assert _same_weights(tmp_path / "here", tmp_path / "workers")
    _train(tmp_path / "other-seed", training_folder, 6, "--warmup", "2", "--workers", "2", "--seed", "8")
    assert not _same_weights(tmp_path / "here", tmp_path / "other-seed")  # the comparison can fail


def test_a_low_sigma_share_puts_that_share_of_patches_at_nearly_clean_noise(training_folder: Path) -> None:
    """--low-sigma-share 0.25 --low-sigma-max 5: a quarter of the patches get sigma 0..5, the rest
    keep --sigma-range, so 0.25 + 0.75 * 5/60 of them lie below 5 (1 in 12 without it). Left at 0,
    the draws are the ones older training commands made, so their runs still replay."""
    from imgrestore_denoise.recipe import recipe

    options = {"color": False, "data": [str(training_folder)], "val": None, "val_fraction": 0.2,
               "sigma_range": (0.0, 60.0), "patch_size": 32}
    plain = recipe(options)
    mixed = recipe({**options, "low_sigma_share": 0.25, "low_sigma_max": 5.0})

    sigmas = mixed.training_sigmas(np.random.default_rng(0), 20000)
    assert sigmas.shape == (20000, 1) and sigmas.dtype == np.float32
    assert 0 <= sigmas.min() and sigmas.max() <= 60
    assert abs((sigmas < 5).mean() - (0.25 + 0.75 * 5 / 60)) < 0.01
    assert abs((plain.training_sigmas(np.random.default_rng(0), 20000) < 5).mean() - 5 / 60) < 0.01
    assert np.array_equal(plain.training_sigmas(np.random.default_rng(3), 8),
                          np.random.default_rng(3).uniform(0, 60, size=(8, 1)).astype(np.float32))

    batch = mixed.training_batch(np.random.default_rng(1), 64)
    residual = ((batch["input"] - batch["target"]) * 255).flatten(1).std(dim=1).numpy()
    told = batch["sigma"].numpy()[:, 0] * 255
    # the network is told the noise each patch got (clipping at 0 and 255 only takes some away)
    assert (residual <= told * 1.05 + 0.6).all() and np.corrcoef(residual, told)[0, 1] > 0.9
    assert (told < 5).sum() >= 10
