"""Shipped weights: every manifest entry is present, verified, self-describing and reproducible."""

from __future__ import annotations

import onnx
import pytest

from imgrestore.plugins import get_registry
from imgrestore.runtime import METADATA_KEY, ModelInfo
from imgrestore.weights import WeightsError, locate, read_manifest, sha256_of, weights_dir

MODELS = read_manifest()["models"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_manifest_entry(name: str) -> None:
    record = MODELS[name]
    entry = locate(name)  # verifies the sha256
    assert sha256_of(weights_dir() / record["checkpoint"]) == record["checkpoint_sha256"]
    assert record["training_command"].startswith("imgrestore train ")
    assert record["parameters"] > 0 and record["data"]
    assert entry.file.stat().st_size < 8 * 1024 * 1024  # small weights
    info = ModelInfo.from_json({p.key: p.value for p in onnx.load(str(entry.file)).metadata_props}[METADATA_KEY])
    assert info.task == record["task"]
    assert name in get_registry().task(record["task"]).models


def test_every_default_model_of_every_task_ships() -> None:
    for spec in get_registry().tasks.values():
        for name in spec.models:
            assert name in MODELS, f"task {spec.name} names {name}, which weights/manifest.json lacks"


def test_tampered_file_is_refused(tmp_path, monkeypatch) -> None:
    import shutil

    source = weights_dir()
    copy = tmp_path / "weights"
    shutil.copytree(source, copy)
    name = sorted(MODELS)[0]
    target = copy / MODELS[name]["file"]
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setenv("IMGRESTORE_WEIGHTS", str(copy))
    with pytest.raises(WeightsError, match="sha256"):
        locate(name)


EVALUATORS = read_manifest().get("evaluators", {})


@pytest.mark.parametrize("name", sorted(EVALUATORS))
def test_evaluator_entry(name: str) -> None:
    """Networks that only score a task's output (the sampling task's classifiers) are shipped
    and verified like models, with their statistics file."""
    record = EVALUATORS[name]
    entry = locate(name, section="evaluators")  # verifies the sha256
    assert sha256_of(entry.companion("statistics")) == record["statistics_sha256"]
    assert record["training_command"].startswith("imgrestore train ") and record["data"]
    assert entry.file.stat().st_size < 8 * 1024 * 1024


def test_an_install_without_weights_says_how_to_give_them(tmp_path, monkeypatch) -> None:
    """A non-editable install (pip install .) has no weights/ beside the package: the error names
    where it looked and the two ways out."""
    import sys

    import imgrestore.weights

    monkeypatch.delenv("IMGRESTORE_WEIGHTS", raising=False)
    monkeypatch.setattr(imgrestore.weights, "__file__", str(tmp_path / "site" / "imgrestore" / "weights.py"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    with pytest.raises(WeightsError, match="IMGRESTORE_WEIGHTS.*--model") as error:
        weights_dir()
    assert str(tmp_path / "site" / "weights") in str(error.value)


def test_a_shipped_model_is_found_by_its_short_name_within_its_task() -> None:
    """`imgrestore upscale --model x4`, `denoise --model gray`, `stylize --style Udnie`."""
    assert locate("x4", task="upscale").name == "upscale-x4"
    assert locate("Gray", task="denoise").name == "denoise-gray"
    assert locate("UPSCALE-X2").name == "upscale-x2"
    with pytest.raises(WeightsError, match=r"no shipped model named 'gray' \(upscale models: upscale-x2"):
        locate("gray", task="upscale")
    with pytest.raises(WeightsError, match="no shipped model named 'x4' "):
        locate("x4")  # without a task, a short name is ambiguous


def test_a_weights_folder_given_by_the_user_is_the_only_place_looked(tmp_path, monkeypatch) -> None:
    """IMGRESTORE_WEIGHTS pointing at a missing folder, or at `~/w` (not expanded by the shell when
    quoted), fell back to the shipped weights: the user ran models they had not chosen."""
    monkeypatch.setenv("IMGRESTORE_WEIGHTS", str(tmp_path / "no-such-folder"))
    with pytest.raises(WeightsError, match="no-such-folder.*manifest.json"):
        locate("upscale-x2")
    (tmp_path / "home" / "w").mkdir(parents=True)
    (tmp_path / "home" / "w" / "manifest.json").write_text('{"models": {}}')
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMGRESTORE_WEIGHTS", "~/w")
    assert weights_dir() == tmp_path / "home" / "w"
    with pytest.raises(WeightsError, match="no shipped model named 'upscale-x2'"):
        locate("upscale-x2")


def test_a_broken_manifest_is_named(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("IMGRESTORE_WEIGHTS", str(tmp_path))
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"models": {\n')
    with pytest.raises(WeightsError, match=f"cannot read the weights manifest {manifest}"):
        locate("upscale-x2")
    manifest.write_text('{"models": {"upscale-x2": {"task": "upscale", "file": "upscale/x2.onnx"}}}')
    with pytest.raises(WeightsError, match="'upscale-x2' lacks 'sha256'"):
        locate("upscale-x2")


def test_a_model_of_another_task_is_not_found_by_its_exact_name() -> None:
    with pytest.raises(WeightsError, match="no shipped model named 'denoise-color' \\(upscale models: "):
        locate("denoise-color", task="upscale")


def test_files_beside_a_model_are_verified_too(tmp_path, monkeypatch) -> None:
    """The reconstruct dictionary is read from its checkpoint, the sampling scores from the
    evaluator's statistics: both are checked against the manifest like the models."""
    import shutil

    shutil.copytree(weights_dir(), tmp_path / "weights")
    monkeypatch.setenv("IMGRESTORE_WEIGHTS", str(tmp_path / "weights"))
    entry = locate("reconstruct-denoise")
    assert entry.companion("checkpoint") == tmp_path / "weights" / entry.record["checkpoint"]
    with entry.companion("checkpoint").open("r+b") as stream:
        stream.seek(200)
        stream.write(b"\0\1\2\3")
    with pytest.raises(WeightsError, match="checkpoint.*sha256"):
        entry.companion("checkpoint")
    with pytest.raises(WeightsError, match="no 'statistics'"):
        entry.companion("statistics")
