"""onnxruntime sessions: the device asked for is the device used, and a model's metadata is
checked against its graph when it loads."""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest

from imgrestore.cli import cli
from imgrestore.images import Picture, write_image
from imgrestore.runtime import METADATA_KEY, ModelMetadataError, OnnxModel
from imgrestore.weights import locate


@pytest.mark.skipif(os.path.exists("/dev/nvidiactl"), reason="a GPU may start these providers")
@pytest.mark.parametrize("device", ["tensorrt", "cuda"])
def test_a_device_that_cannot_start_is_one_error_and_no_banner(device, cli_runner, tmp_path, astronaut) -> None:
    """onnxruntime's own fallback printed a five-line "EP Error" banner on stdout and retried on
    the next provider, so `--device tensorrt` could run on CUDA while saying tensorrt."""
    write_image(tmp_path / "a.png", Picture(color=astronaut[:32, :32]))
    result = cli_runner.invoke(cli, ["denoise", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--device", device])
    assert result.exit_code == 2, result.output
    assert f"--device {device}" in result.output
    assert "EP Error" not in result.output and "Falling back" not in result.output
    assert not (tmp_path / "b.png").exists()
    assert OnnxModel(locate("denoise-color").file, device="auto").provider == "CPUExecutionProvider"


def _with_metadata(tmp_path, **changes) -> str:
    model = onnx.load(str(locate("denoise-color").file))
    entry = next(p for p in model.metadata_props if p.key == METADATA_KEY)
    metadata = json.loads(entry.value)
    metadata.update(changes)
    entry.value = json.dumps(metadata)
    path = tmp_path / f"edited-{len(list(tmp_path.glob('edited-*')))}.onnx"
    onnx.save(model, str(path))
    return str(path)


@pytest.mark.parametrize("changes, complaint", [
    ({"size_multiple": 0}, "size_multiple must be at least 1"),
    ({"scale": 0}, "size_multiple must be at least 1"),
    ({"output": "nope"}, "output 'nope' is not one of the graph's"),
    ({"inputs": [{"name": "x", "kind": "image"}, {"name": "sigma", "kind": "scalar"}]}, "are not the graph's"),
    ({"inputs": [{"name": "image", "kind": "picture"}, {"name": "sigma", "kind": "scalar"}]}, "input kinds ['picture']"),
])
def test_metadata_that_contradicts_the_graph_is_refused_before_the_batch(changes, complaint, tmp_path, cli_runner,
                                                                           astronaut) -> None:
    """It failed every file with "integer division or modulo by zero", an OpenCV assertion, or
    "Invalid output name", one image at a time."""
    real = OnnxModel(locate("denoise-color").file)
    assert {i.name for i in real.session.get_inputs()} == {"image", "sigma"}, "the test edits these names"
    path = _with_metadata(tmp_path, **changes)
    with pytest.raises(ModelMetadataError, match="does not fit the model"):
        OnnxModel(path)
    write_image(tmp_path / "a.png", Picture(color=astronaut[:32, :32]))
    result = cli_runner.invoke(cli, ["denoise", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--model", path])
    assert result.exit_code == 2 and complaint in result.output, result.output


def test_unchanged_metadata_runs(tmp_path) -> None:
    model = OnnxModel(_with_metadata(tmp_path))
    out = model.run({"image": np.zeros((1, 3, 9, 9), np.float32), "sigma": np.full((1, 1), 0.1, np.float32)})
    assert out.shape == (1, 3, 9, 9)
