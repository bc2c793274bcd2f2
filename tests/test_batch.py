"""The folder pipeline: bad files never stop a batch, nothing is lost, runs resume, tiling is seamless."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imgrestore.atomic_files import remove_abandoned_temporaries, temporary_path, write_atomic
from imgrestore.cli import cli
from imgrestore.images import Picture, read_image, write_image
from imgrestore.runtime import OnnxModel
from jpeg_damage import damage_jpeg, encode_jpeg


@pytest.fixture
def photo_folder(tmp_path: Path, astronaut: np.ndarray, coffee: np.ndarray, camera: np.ndarray) -> Path:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    write_image(folder / "a.png", Picture(color=astronaut[:96, :128]))
    write_image(folder / "b.png", Picture(color=astronaut[100:196, 100:228]))  # same size as a: one batch
    write_image(folder / "c.jpg", Picture(color=coffee[:80, :120]))
    write_image(folder / "sub" / "d.png", Picture(color=coffee[:64, :64], alpha=np.full((64, 64), 200, np.uint8)))
    write_image(folder / "deep16.png", Picture(color=(astronaut[:40, :50].astype(np.uint16) * 257)))
    write_image(folder / "gray.png", Picture(color=camera[:50, :70, None]))
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not an image")
    (folder / "fake.jpg").write_text("not a jpeg either")
    (folder / "text.png").write_text("a text file renamed .png")
    (folder / "x.png").mkdir()  # a folder named like an image: an input folder with -r, a failure without
    write_image(folder / "x.png" / "inner.png", Picture(color=coffee[:30, :30]))
    buffer = io.BytesIO()
    Image.fromarray(coffee).save(buffer, format="JPEG")
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[:5000])
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_bad_files_are_reported_and_the_batch_goes_on(tiny_denoiser, photo_folder: Path, tmp_path: Path) -> None:
    before = _snapshot(photo_folder)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["denoise", str(photo_folder), str(out), "--model", str(tiny_denoiser["onnx"]),
                                      "--sigma", "10", "--recursive"])
    assert result.exit_code == 1
    for name, reason in [("empty.png", "empty file"), ("fake.jpg", "not a decodable image"),
                         ("text.png", "not a decodable image"), ("truncated.jpg", "truncated")]:
        assert f"{name}: {reason}" in result.output
    assert "done 7, skipped 0, failed 4" in result.output and "ignored 1 non-image file" in result.output
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "a.png", "b.png", "c.jpg", "deep16.png", "gray.png", "sub/d.png", "x.png/inner.png"]
    assert _snapshot(photo_folder) == before  # inputs untouched
    kept = read_image(out / "sub" / "d.png")
    assert kept.alpha is not None and (kept.alpha == 200).all()
    assert read_image(out / "deep16.png").color.dtype == np.uint16
    assert read_image(out / "gray.png").channels == 1


def test_a_jpeg_with_damaged_data_fails_by_name_and_is_not_restored(tiny_denoiser, coffee: np.ndarray,
                                                                    tmp_path: Path) -> None:
    """Bytes overwritten inside a JPEG's scan: OpenCV decoded smeared blocks with a warning on
    stderr only, and the batch denoised them and counted the file as done."""
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "whole.jpg").write_bytes(encode_jpeg(np.ascontiguousarray(coffee[:, :, ::-1])))
    (folder / "damaged.jpg").write_bytes(damage_jpeg(encode_jpeg(np.ascontiguousarray(coffee[:, :, ::-1]))))
    result = CliRunner().invoke(cli, ["denoise", str(folder), str(tmp_path / "out"), "--model",
                                      str(tiny_denoiser["onnx"]), "--sigma", "10"])
    assert result.exit_code == 1
    assert "damaged.jpg: corrupt JPEG data (" in result.output and "done 1, skipped 0, failed 1" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["whole.jpg"]


def test_report_lists_every_file_with_its_fate(tiny_denoiser, photo_folder: Path, tmp_path: Path) -> None:
    import json

    args = ["denoise", str(photo_folder), str(tmp_path / "out"), "--model", str(tiny_denoiser["onnx"]),
            "--sigma", "10", "--recursive", "--skip-existing", "--report"]
    (tmp_path / "out").mkdir()
    write_image(tmp_path / "out" / "a.png", Picture(color=np.zeros((4, 4, 3), np.uint8)))  # done before
    result = CliRunner().invoke(cli, [*args, str(tmp_path / "report.json")])
    assert result.exit_code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    fates = {Path(entry["input"]).name: entry["status"] for entry in report["files"]}
    assert fates["a.png"] == "skipped" and fates["b.png"] == "done" and fates["d.png"] == "done"
    assert fates["truncated.jpg"] == fates["text.png"] == fates["empty.png"] == "failed"
    assert report["done"] == sum(status == "done" for status in fates.values()) == 6
    assert report["failed"] == 4 and report["skipped"] == 1
    assert all(entry["reason"] for entry in report["files"] if entry["status"] == "failed")
    assert [Path(p).name for p in report["ignored"]] == ["notes.txt"]


def test_a_report_that_cannot_be_written_is_refused_before_the_batch(tiny_denoiser, photo_folder: Path,
                                                                     tmp_path: Path) -> None:
    """--report is written at the end: a path under a file (or an unwritable folder) was a
    traceback after the whole batch had run."""
    (tmp_path / "a_file").write_text("not a folder")
    result = CliRunner().invoke(cli, ["denoise", str(photo_folder), str(tmp_path / "out"), "--model",
                                      str(tiny_denoiser["onnx"]), "--sigma", "10", "--report",
                                      str(tmp_path / "a_file" / "run.json")])
    assert result.exit_code == 2 and "--report" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # refused before any image was processed


def test_skip_existing_resumes(tiny_denoiser, photo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["denoise", str(photo_folder), str(out), "--model", str(tiny_denoiser["onnx"]), "--sigma", "10"]
    CliRunner().invoke(cli, args)
    stamp = (out / "a.png").stat().st_mtime_ns
    (out / "b.png").unlink()  # as if the run had been interrupted before b
    result = CliRunner().invoke(cli, args + ["--skip-existing"])
    assert "done 1, skipped 4, failed 5" in result.output
    assert (out / "a.png").stat().st_mtime_ns == stamp and (out / "b.png").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="abandoned temporaries are only recognised on POSIX")
def test_a_killed_runs_temporaries_are_removed_by_the_next_run(tiny_denoiser, photo_folder: Path,
                                                               tmp_path: Path) -> None:
    """kill -9 (or running out of memory) mid-write leaves .a.png.MACHINE-PID-...part beside the
    outputs; the next run over them deletes those of dead processes, and nothing else: not a live
    run's, not one of another container or host writing the same folder (its PIDs mean nothing
    here) unless it is a day old, and a PID too large for any process is no traceback."""
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    out = tmp_path / "out"
    out.mkdir()
    abandoned = temporary_path(out / "a.png", pid=dead)
    running = temporary_path(out / "b.png")  # a run writing here now
    elsewhere = temporary_path(out / "c.jpg", pid=dead, machine="abc123")  # same PID, another machine
    old_elsewhere = temporary_path(out / "gray.png", pid=dead, machine="abc123")
    unrelated = [temporary_path(out / "notes.png", pid=dead), out / ".a.png.part", out / "a.png.bak",
                 out / f".a.png.{dead}-140-0123abcd.part", out / ".a.png.abc123-99999999999999999999-0123abcd.part"]
    for path in [abandoned, running, elsewhere, old_elsewhere, *unrelated]:
        path.write_bytes(b"half a png")
    day_ago = time.time() - 25 * 3600
    os.utime(old_elsewhere, (day_ago, day_ago))
    result = CliRunner().invoke(cli, ["denoise", str(photo_folder), str(out), "--model", str(tiny_denoiser["onnx"]),
                                      "--sigma", "10"])
    assert "done 5" in result.output, result.output
    assert not abandoned.exists() and not old_elsewhere.exists()
    assert running.exists() and elsewhere.exists() and all(path.exists() for path in unrelated)
    temporary_path(out / "e.png", pid=9_999_999_999).write_bytes(b"")
    assert remove_abandoned_temporaries([out / "e.png"]) == []


def test_an_output_with_a_name_near_the_longest_allowed_is_written(tmp_path: Path) -> None:
    """The temporary's name adds ~30 bytes: a 230-byte output name (a long download's, or 76 CJK
    characters) failed with "File name too long"."""
    for name in ["x" * 226 + ".png", "写" * 80 + ".png"]:
        write_atomic(tmp_path / name, b"data")
        assert (tmp_path / name).read_bytes() == b"data"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["x" * 226 + ".png", "写" * 80 + ".png"])
    long = tmp_path / ("y" * 240 + ".png")
    left = temporary_path(long, pid=2 ** 22 + 1)
    left.write_bytes(b"half")
    assert len(os.fsencode(left.name)) < 255
    assert remove_abandoned_temporaries([long]) == [left]


def test_ctrl_c_leaves_only_complete_outputs_and_skip_existing_goes_on(tiny_denoiser, photo_folder: Path,
                                                                        tmp_path: Path, monkeypatch) -> None:
    args = ["denoise", str(photo_folder), str(tmp_path / "out"), "--model", str(tiny_denoiser["onnx"]), "--sigma", "10",
            "--recursive", "--batch-size", "1", "--workers", "1"]
    original, calls = OnnxModel.run, {"n": 0}

    def interrupted_run(self, batch):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, batch)

    monkeypatch.setattr(OnnxModel, "run", interrupted_run)
    report = tmp_path / "report.json"
    report.write_text('{"done": 24}')  # an earlier run's report must not survive as this one's
    result = CliRunner().invoke(cli, [*args, "--report", str(report)])
    assert result.exit_code == 130 and "--skip-existing" in result.output
    first = sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert 1 <= len(first) < 7 and all(not name.startswith(".") for name in first)  # no temporary left behind
    written = json.loads(report.read_text())
    assert written["interrupted"] is True and written["done"] == len(first)
    assert written["done"] + written["failed"] + len(written["not_reached"]) == 11  # every input accounted for
    for name in first:
        assert read_image(next((tmp_path / "out").rglob(name))).size  # complete, readable files
    monkeypatch.setattr(OnnxModel, "run", original)
    result = CliRunner().invoke(cli, [*args, "--skip-existing"])
    assert f"skipped {len(first)}" in result.output
    assert len([p for p in (tmp_path / "out").rglob("*") if p.is_file()]) == 7


def test_never_overwrites_inputs(tiny_denoiser, photo_folder: Path) -> None:
    result = CliRunner().invoke(cli, ["denoise", str(photo_folder), str(photo_folder), "--model",
                                      str(tiny_denoiser["onnx"]), "--sigma", "10"])
    assert result.exit_code == 1 and "would overwrite an input" in result.output


def test_single_file_and_output_format(tiny_denoiser, photo_folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["denoise", str(photo_folder / "c.jpg"), str(tmp_path / "c.webp"),
                                 "--model", str(tiny_denoiser["onnx"])])
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "c.webp").size == (80, 120)
    result = runner.invoke(cli, ["denoise", str(photo_folder), str(tmp_path / "pngs"), "--format", "png",
                                 "--model", str(tiny_denoiser["onnx"])])
    assert (tmp_path / "pngs" / "c.png").exists()


def test_several_inputs_go_into_one_folder_as_cp_does(tiny_denoiser, photo_folder: Path, tmp_path: Path) -> None:
    """What `imgrestore denoise in/*.png out/` hands the command: files by name, a folder under its
    own name, the same file twice once."""
    inputs = [photo_folder / "a.png", photo_folder / "c.jpg", photo_folder / "a.png", photo_folder / "sub"]
    result = CliRunner().invoke(cli, ["denoise", *map(str, inputs), str(tmp_path / "out"),
                                      "--model", str(tiny_denoiser["onnx"]), "--sigma", "10"])
    assert result.exit_code == 0, result.output
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == ["a.png", "c.jpg", "sub/d.png"]
    assert "done 3" in result.output


def test_several_inputs_are_refused_when_two_would_write_one_file(photo_folder: Path, tmp_path: Path) -> None:
    from imgrestore.jobs import plan_many

    write_image(tmp_path / "other" / "a.png", Picture(color=np.zeros((8, 8, 1), np.uint8)))
    with pytest.raises(ValueError, match="would both be written to"):
        plan_many([photo_folder / "a.png", tmp_path / "other" / "a.png"], tmp_path / "out")
    with pytest.raises(ValueError, match="output must be one"):
        plan_many([photo_folder / "a.png", photo_folder / "b.png"], tmp_path / "ab.png")
    result = CliRunner().invoke(cli, ["denoise", str(photo_folder / "a.png")])
    assert result.exit_code == 2 and "INPUT... OUTPUT" in result.output
    write_image(photo_folder / "a.jpg", Picture(color=np.zeros((8, 8, 3), np.uint8)))  # a.png's twin
    with pytest.raises(ValueError, match="would both be written to"):
        plan_many([photo_folder], tmp_path / "out", output_format="png")


def test_tiled_equals_untiled(tiny_denoiser, coffee: np.ndarray) -> None:
    model = OnnxModel(tiny_denoiser["onnx"], device="cpu")
    image = np.ascontiguousarray(coffee[:301, :467].transpose(2, 0, 1), dtype=np.float32) / 255
    inputs = {"image": image, "sigma": np.array([0.1], np.float32)}
    whole = model.run_image(inputs, tile=1024)
    batches: list[int] = []
    run = model.run
    model.run = lambda batch: batches.append(len(batch["image"])) or run(batch)  # type: ignore[method-assign]
    tiled = model.run_image(inputs, tile=128, batch_size=3)
    assert tiled.shape == whole.shape == image.shape
    assert np.abs(tiled - whole).max() < 1e-4
    assert max(batches) == 3  # small tiles go together


def test_large_tiles_run_one_at_a_time_on_the_cpu(tiny_denoiser) -> None:
    """On the CPU a run holds at most one default tile's pixels (batching 1092-pixel inpainting
    tiles took 5.3 GB against 1.3 GB); on a GPU tiles are batched."""
    model = OnnxModel(tiny_denoiser["onnx"], device="cpu")
    image = np.random.default_rng(0).random((3, 900, 1700), dtype=np.float32)
    inputs = {"image": image, "sigma": np.array([0.1], np.float32)}
    batches: list[int] = []
    run = model.run
    model.run = lambda batch: batches.append(len(batch["image"])) or run(batch)  # type: ignore[method-assign]
    on_cpu = model.run_image(inputs, tile=800, batch_size=3)
    assert batches and set(batches) == {1}
    batches.clear()
    model.provider = "CUDAExecutionProvider"  # as on a GPU (the session itself stays on the CPU)
    assert np.abs(model.run_image(inputs, tile=800, batch_size=3) - on_cpu).max() < 1e-4
    assert max(batches) == 3


def test_inference_never_imports_torch(tiny_denoiser, photo_folder: Path, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from imgrestore.cli import main\n"
        f"sys.argv = ['imgrestore', 'denoise', {str(photo_folder / 'a.png')!r}, {str(tmp_path / 'x.png')!r},"
        f" '--model', {str(tiny_denoiser['onnx'])!r}]\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    assert not stop.code, stop.code\n"
        "print('torch imported' if 'torch' in sys.modules else 'no torch')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().endswith("no torch"), done.stdout + done.stderr
    assert (tmp_path / "x.png").exists()


def test_output_folder_inside_input_is_not_read_back(tmp_path: Path, astronaut: np.ndarray) -> None:
    from imgrestore.jobs import plan_jobs

    source = tmp_path / "photos"
    write_image(source / "a.png", Picture(color=astronaut[:32, :32]))
    write_image(source / "clean" / "a.png", Picture(color=astronaut[:32, :32]))  # an earlier run's output
    plan = plan_jobs(source, source / "clean", recursive=True)
    assert [job.source.name for job in plan.jobs] == ["a.png"]
    assert plan.jobs[0].destination == source / "clean" / "a.png"


def test_an_existing_file_as_output_is_refused_up_front(tmp_path: Path, astronaut: np.ndarray) -> None:
    from imgrestore.jobs import plan_jobs

    source = tmp_path / "photos"
    write_image(source / "a.png", Picture(color=astronaut[:32, :32]))
    (tmp_path / "notes").write_text("keep me")
    with pytest.raises(ValueError, match="must be a folder"):
        plan_jobs(source, tmp_path / "notes")
    with pytest.raises(ValueError, match="existing file without an image suffix"):
        plan_jobs(source / "a.png", tmp_path / "notes")
    assert (tmp_path / "notes").read_text() == "keep me"


def test_a_mistyped_output_suffix_is_refused_rather_than_made_a_folder(tmp_path: Path, astronaut: np.ndarray) -> None:
    """`imgrestore denoise a.png out.pgn` made a folder "out.pgn" holding a.png; an existing folder
    with a dot in its name still takes the file."""
    from imgrestore.jobs import plan_jobs

    source = tmp_path / "a.png"
    write_image(source, Picture(color=astronaut[:32, :32]))
    with pytest.raises(ValueError, match=r"out.pgn: .pgn is not an image suffix .*create it first"):
        plan_jobs(source, tmp_path / "out.pgn")
    assert not (tmp_path / "out.pgn").exists()
    (tmp_path / "run.2024").mkdir()
    assert plan_jobs(source, tmp_path / "run.2024").jobs[0].destination == tmp_path / "run.2024" / "a.png"
    assert plan_jobs(source, tmp_path / "new_folder").jobs[0].destination == tmp_path / "new_folder" / "a.png"


def test_self_ensemble_is_the_mean_of_the_eight_turned_runs(tiny_denoiser, coffee: np.ndarray) -> None:
    model = OnnxModel(tiny_denoiser["onnx"], device="cpu")
    image = np.ascontiguousarray(coffee[:61, :90].transpose(2, 0, 1), dtype=np.float32) / 255
    sigma = np.array([0.1], np.float32)
    expected = np.zeros_like(image)
    for k in range(4):
        for flip in (False, True):
            turned = np.rot90(image, k, axes=(1, 2))
            turned = turned[:, :, ::-1] if flip else turned
            out = model.run_image({"image": np.ascontiguousarray(turned), "sigma": sigma})
            out = out[:, :, ::-1] if flip else out
            expected += np.rot90(out, -k, axes=(1, 2)) / 8
    np.testing.assert_allclose(model.run_ensemble({"image": image, "sigma": sigma}), expected, atol=1e-5)


def test_walking_folders_planning_outputs_and_guarding_the_masks(tmp_path: Path, coffee: np.ndarray) -> None:
    """Found by a QA pass: OUTPUT and --masks swapped wrote photos over the masks; with -r a
    linked folder was never visited while files in hidden folders were processed; `--format` was
    ignored for an output file; --skip-existing took a folder at the output path for a result."""
    from imgrestore.jobs import plan_many

    inputs = tmp_path / "in"
    for relative in ("a.png", "sub/b.png", ".thumbnails/t.png", "Trip 2019.jpg/c.png"):
        write_image(inputs / relative, Picture(color=coffee[:24, :24]))
    elsewhere = tmp_path / "elsewhere"
    write_image(elsewhere / "d.png", Picture(color=coffee[:24, :24]))
    (inputs / "linked").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(inputs, target_is_directory=True)  # a link back up must not loop
    plan = plan_many([inputs], tmp_path / "out", recursive=True)
    assert sorted(str(job.name) for job in plan.jobs) == ["Trip 2019.jpg/c.png", "a.png", "linked/d.png", "sub/b.png"]
    assert sorted(str(job.name) for job in plan_many([inputs], tmp_path / "out").jobs) == ["Trip 2019.jpg", "a.png"]

    masks = tmp_path / "masks"
    write_image(masks / "a.png", Picture(color=np.zeros((24, 24, 1), np.uint8)))
    for output, given in ((masks, masks), (masks / "a.png", masks / "a.png")):
        with pytest.raises(ValueError, match="would overwrite the masks"):
            plan_many([inputs / "a.png"], output, companions=given)
    result = CliRunner().invoke(cli, ["inpaint", str(inputs), str(masks), "--masks", str(masks)])
    assert result.exit_code == 2 and "would overwrite the masks" in result.output
    assert read_image(masks / "a.png").color.max() == 0  # untouched

    with pytest.raises(ValueError, match="is a .jpg file but --format is png"):
        plan_many([inputs / "a.png"], tmp_path / "out.jpg", output_format="png")
    assert plan_many([inputs / "a.png"], tmp_path / "out.jpeg", output_format="jpg").jobs[0].destination.suffix == ".jpeg"

    (tmp_path / "out2" / "a.png").mkdir(parents=True)
    for _ in range(2):
        result = CliRunner().invoke(cli, ["denoise", str(inputs / "a.png"), str(tmp_path / "out2"), "--sigma", "5",
                                          "--skip-existing"])
        assert result.exit_code == 1 and "failed 1" in result.output


def test_a_report_names_files_whose_names_are_not_utf8(tmp_path: Path, coffee: np.ndarray) -> None:
    """Names from old Windows or zip archives (Latin-1 bytes) made --report a traceback after the
    batch had run: they are written as JSON escapes that read back to the same file."""
    name = os.fsdecode(b"caf\xe9.png")
    write_image(tmp_path / "in" / name, Picture(color=coffee[:24, :24]))
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in"), str(tmp_path / "out"), "--sigma", "5",
                                      "--report", str(tmp_path / "report.json")])
    assert result.exit_code == 0, result.output
    entry = json.loads((tmp_path / "report.json").read_text())["files"][0]
    assert Path(entry["input"]) == tmp_path / "in" / name and Path(entry["output"]).is_file()


def test_one_file_named_twice_by_two_paths_is_one_input(tmp_path: Path, coffee: np.ndarray, monkeypatch) -> None:
    from imgrestore.jobs import plan_many

    write_image(tmp_path / "a" / "x.png", Picture(color=coffee[:8, :8]))
    write_image(tmp_path / "a" / "y.png", Picture(color=coffee[:8, :8]))
    monkeypatch.chdir(tmp_path / "a")
    plan = plan_many([Path("x.png"), Path("../a/x.png"), Path("y.png")], tmp_path / "out")
    assert [str(job.source) for job in plan.jobs] == ["x.png", "y.png"]
