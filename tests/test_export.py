"""ONNX export: dynamic shapes, metadata, checker, parity with torch at odd sizes, fp16."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from imgrestore.cli import cli
from imgrestore.runtime import METADATA_KEY, ModelInfo, OnnxModel


def test_export_reports_parity(tiny_denoiser) -> None:
    text = str(tiny_denoiser["export_output"])
    assert "onnx.checker passed" in text and "67×131" in text


def test_metadata_says_everything_the_runtime_needs(tiny_denoiser) -> None:
    model = onnx.load(str(tiny_denoiser["onnx"]))
    props = {p.key: p.value for p in model.metadata_props}
    info = ModelInfo.from_json(props[METADATA_KEY])
    assert info.task == "denoise" and info.channels == 3 and info.size_multiple == 2 and info.scale == 1
    assert [(i.name, i.kind) for i in info.inputs] == [("image", "image"), ("sigma", "scalar")]


@pytest.mark.parametrize("batch,height,width", [(1, 67, 131), (3, 50, 38), (2, 129, 257)])
def test_dynamic_batch_and_odd_sizes(tiny_denoiser, batch: int, height: int, width: int) -> None:
    import torch

    from imgrestore.export import load_model
    from imgrestore.plugins import get_registry
    from imgrestore.runtime import pad_to_multiple

    torch_model, _ = load_model(get_registry().task("denoise"), tiny_denoiser["run"] / "last.safetensors")
    rng = np.random.default_rng(1)
    image = rng.random((batch, 3, height, width), dtype=np.float32)
    sigma = rng.uniform(0, 0.2, (batch, 1)).astype(np.float32)
    onnx_out = OnnxModel(tiny_denoiser["onnx"], device="cpu").run({"image": image, "sigma": sigma})
    assert onnx_out.shape == image.shape
    with torch.no_grad():
        reference = torch_model(torch.from_numpy(pad_to_multiple(image, 2)), torch.from_numpy(sigma)).numpy()
    np.testing.assert_allclose(onnx_out, reference[:, :, :height, :width], atol=1e-4)


def test_fp16_export(tiny_denoiser, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["export", "denoise", "--checkpoint", str(tiny_denoiser["run"] / "last.safetensors"),
                                      "-o", str(tmp_path / "half.onnx"), "--fp16"])
    assert result.exit_code == 0, result.output
    weights = [t for t in onnx.load(str(tmp_path / "half.onnx")).graph.initializer if len(t.dims) == 4]
    assert weights and all(t.data_type == onnx.TensorProto.FLOAT16 for t in weights)  # conv kernels in fp16
    assert "±" not in result.output and "tolerance 0.02" in result.output  # parity checked at fp16 tolerance


def test_fp16_parity_is_measured_against_the_fp32_checkpoint(tiny_denoiser, tmp_path: Path) -> None:
    """The half-precision wrapper halved the checkpoint's model in place, so the parity check
    compared the export with its own rounded weights and could not see what rounding cost."""
    from imgrestore.export import export_onnx, load_model, parity_difference
    from imgrestore.plugins import get_registry

    spec = get_registry().tasks["denoise"]
    checkpoint = tiny_denoiser["run"] / "last.safetensors"
    report = export_onnx(spec, checkpoint, tmp_path / "half.onnx", fp16=True)
    model, metadata = load_model(spec, checkpoint)
    from imgrestore.task import resolve

    export_spec = resolve(spec.export)(model, metadata["model_config"], {})
    against_fp32 = parity_difference(model, export_spec, tmp_path / "half.onnx")
    assert report.max_difference == pytest.approx(against_fp32, rel=1e-6)
    assert report.max_difference > 1e-5  # fp16 weights and arithmetic leave more than float32's rounding


def test_export_rejects_another_tasks_checkpoint(tiny_denoiser, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    weights = load_file(str(tiny_denoiser["run"] / "last.safetensors"))
    save_file(weights, str(tmp_path / "other.safetensors"), metadata={"task": '"upscale"', "model_config": "{}"})
    result = CliRunner().invoke(cli, ["export", "denoise", "--checkpoint", str(tmp_path / "other.safetensors"),
                                      "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 1 and "is a checkpoint of task 'upscale'" in result.output


def test_an_export_that_fails_parity_leaves_the_previous_model_in_place(tiny_denoiser, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The parity check runs on a temporary file: a wrong graph never takes the output's name, so
    re-exporting over a working model and failing keeps the working model, and leaves no debris."""
    import imgrestore.export

    output = tmp_path / "model.onnx"
    output.write_bytes(b"the model that worked")
    monkeypatch.setattr(imgrestore.export, "parity_difference", lambda *args, **kwargs: 0.5)
    result = CliRunner().invoke(cli, ["export", "denoise", "--checkpoint", str(tiny_denoiser["run"] / "last.safetensors"),
                                      "-o", str(output)])
    assert result.exit_code == 1 and "differs from torch by 0.5" in result.output and "was not written" in result.output
    assert output.read_bytes() == b"the model that worked"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.onnx"]


def test_export_without_onnxscript_says_what_to_install(tiny_denoiser, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    result = CliRunner().invoke(cli, ["export", "denoise", "--checkpoint", str(tiny_denoiser["run"] / "last.safetensors"),
                                      "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 1 and "pip install 'imgrestore[export]'" in result.output
    assert not (tmp_path / "x.onnx").exists()


def test_export_refuses_to_overwrite_its_checkpoint_and_names_what_is_not_one(tiny_denoiser, tmp_path: Path) -> None:
    """`-o` equal to --checkpoint replaced the weights with ONNX bytes; an .onnx or a .state.pt
    given as the checkpoint was a safetensors traceback; -o under a file was a FileExistsError."""
    import shutil

    checkpoint = tmp_path / "ck.safetensors"
    shutil.copyfile(tiny_denoiser["run"] / "last.safetensors", checkpoint)
    kept = checkpoint.read_bytes()
    result = CliRunner().invoke(cli, ["export", "denoise", "--checkpoint", str(checkpoint), "-o", str(checkpoint)])
    assert result.exit_code == 1 and "is the checkpoint itself" in result.output
    assert checkpoint.read_bytes() == kept
    for wrong in (tiny_denoiser["onnx"], tiny_denoiser["run"] / "last.state.pt"):
        result = CliRunner().invoke(cli, ["export", "denoise", "--checkpoint", str(wrong), "-o", str(tmp_path / "x.onnx")])
        assert result.exit_code == 1 and "is not a training checkpoint" in result.output, result.output
        assert "Traceback" not in result.output
    (tmp_path / "plainfile").write_text("")
    result = CliRunner().invoke(cli, ["export", "denoise", "--checkpoint", str(checkpoint),
                                      "-o", str(tmp_path / "plainfile" / "x.onnx")])
    assert result.exit_code == 1 and "cannot create the folder of -o" in result.output, result.output


def test_an_opset_the_exporter_cannot_reach_is_an_error_not_another_opset(tmp_path: Path) -> None:
    """Reflection padding has no opset-17 form in the exporter: it wrote opset 18 with a warning,
    and `--opset 17` looked honoured. The exported file's opset is checked."""
    from imgrestore.weights import locate

    checkpoint = locate("stylize-udnie").companion("checkpoint")
    result = CliRunner().invoke(cli, ["export", "stylize", "--checkpoint", str(checkpoint), "--opset", "17",
                                      "-o", str(tmp_path / "s.onnx")])
    assert result.exit_code == 1 and "cannot be exported at --opset 17" in result.output, result.output
    assert "--opset 18" in result.output and not (tmp_path / "s.onnx").exists()


def test_reconstruct_stride_zero_is_refused() -> None:
    """It was taken as "not given" and exported as stride 2."""
    result = CliRunner().invoke(cli, ["export", "reconstruct", "--checkpoint", __file__, "-o", "x.onnx", "--stride", "0"])
    assert result.exit_code == 2 and "--stride" in result.output


def test_an_opset_newer_than_onnxruntime_and_a_checkpoint_as_model_are_explained(tiny_denoiser, tmp_path: Path,
                                                                                 astronaut: np.ndarray) -> None:
    """--opset 27 ended in a 50-line onnxruntime traceback; --model last.safetensors in "Protobuf
    parsing failed"."""
    checkpoint = tiny_denoiser["run"] / "last.safetensors"
    newest = onnx.defs.onnx_opset_version()  # the onnx package's newest: 27 here, onnxruntime 1.2x stops at 26
    result = CliRunner().invoke(cli, ["export", "denoise", "--checkpoint", str(checkpoint), "--opset", str(newest),
                                      "-o", str(tmp_path / "new.onnx")])
    if result.exit_code == 0:
        pytest.skip(f"this onnxruntime loads opset {newest}")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "onnxruntime cannot load the exported model" in result.output and "lower --opset" in result.output
    assert not (tmp_path / "new.onnx").exists()

    from imgrestore.images import Picture, write_image

    write_image(tmp_path / "a.png", Picture(color=astronaut[:32, :32]))
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--model", str(checkpoint)])
    assert result.exit_code == 2 and "is a training checkpoint, not an ONNX model: export it" in result.output
