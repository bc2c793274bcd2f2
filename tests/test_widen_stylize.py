"""tools/widen_stylize.py: a shipped style network widened to twice its channels paints the same
picture, and its channel copies are free to grow apart when fine-tuned."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import imgrestore
from imgrestore.export import load_model
from imgrestore.training.checkpoint import read_metadata
from imgrestore_stylize.networks import stylize_whole

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "weights" / "stylize" / "udnie.safetensors"


def _network(path: Path) -> torch.nn.Module:
    return load_model(imgrestore.load_task("stylize"), path)[0]


def test_a_widened_network_paints_the_same_and_its_copies_can_part(tmp_path: Path, astronaut: np.ndarray) -> None:
    wide_file = tmp_path / "udnie-wide.safetensors"
    done = subprocess.run([sys.executable, str(REPO / "tools" / "widen_stylize.py"), str(SHIPPED), str(wide_file)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    narrow_config = read_metadata(SHIPPED)["model_config"]
    assert read_metadata(wide_file)["model_config"] == {**narrow_config, "features": 2 * narrow_config["features"]}
    assert read_metadata(wide_file)["task"] == "stylize"  # what `train --init` checks

    narrow, wide = _network(SHIPPED), _network(wide_file)
    photo = torch.from_numpy(np.ascontiguousarray(astronaut[:150, :201].transpose(2, 0, 1)[None] / 255, np.float32))
    with torch.no_grad():
        assert float((stylize_whole(narrow, photo) - stylize_whole(wide, photo)).abs().max()) < 1e-4

    # the two copies of a channel get different gradients (else fine-tuning could never part them)
    wide.train()
    stylize_whole(wide, photo).pow(2).mean().backward()
    gradient = wide.body[5].weight.grad  # the first stride-2 conv: copies are output rows c and c + F
    half = gradient.shape[0] // 2
    assert not torch.allclose(gradient[:half], gradient[half:])
