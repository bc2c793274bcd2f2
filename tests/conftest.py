"""Shared fixtures. Real images come from scikit-image's bundled data, so the tests need no
network and no ../shared/data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from imgrestore.plugins import reset_registry

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("IMGRESTORE_DISABLE_PLUGINS", raising=False)
    reset_registry()
    yield
    reset_registry()


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    from skimage import data

    return data.camera()  # 512×512 gray uint8


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()  # 512×512 RGB uint8


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    from skimage import data

    return data.coffee()  # 400×600 RGB uint8


@pytest.fixture
def cli_runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def training_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few real photos (scikit-image's bundled samples) as a training folder."""
    from skimage import data

    from imgrestore.images import Picture, write_image

    folder = tmp_path_factory.mktemp("train")
    for name in ["astronaut", "coffee", "chelsea", "rocket", "camera", "brick"]:
        image = getattr(data, name)()
        write_image(folder / f"{name}.png", Picture(color=image if image.ndim == 3 else image[:, :, None]))
    return folder


@pytest.fixture(scope="session")
def tiny_denoiser(tmp_path_factory: pytest.TempPathFactory, training_folder: Path) -> dict[str, Path]:
    """A small colour denoiser trained for real (40 steps) and exported through the CLI."""
    from imgrestore.cli import cli

    run = tmp_path_factory.mktemp("run")
    runner = CliRunner()
    result = runner.invoke(cli, [
        "train", "denoise", "--color", "--data", str(training_folder), "--out", str(run / "tiny"),
        "--steps", "40", "--batch-size", "4", "--patch-size", "48", "--features", "16", "--depth", "5",
        "--lr", "2e-3", "--validate-every", "20", "--checkpoint-every", "20", "--log-every", "10",
        "--precision", "fp32", "--val-fraction", "0.2",
    ])
    assert result.exit_code == 0, result.output
    onnx_path = run / "tiny.onnx"
    result = runner.invoke(cli, ["export", "denoise", "--checkpoint", str(run / "tiny" / "last.safetensors"),
                                 "-o", str(onnx_path)])
    assert result.exit_code == 0, result.output
    return {"run": run / "tiny", "onnx": onnx_path, "export_output": Path(result.output)}  # type: ignore[dict-item]
