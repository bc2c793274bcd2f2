"""The command line: help everywhere, fast start without torch, task listings."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from imgrestore.cli import cli


def _all_commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            found += _all_commands(command, prefix + [name])
        else:
            found.append(prefix + [name])
    return found


@pytest.mark.parametrize("path", _all_commands(cli, []), ids=lambda p: " ".join(p) or "imgrestore")
def test_help_works_on_every_command(path: list[str]) -> None:
    result = CliRunner().invoke(cli, path + ["--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_help_does_not_import_torch_or_onnxruntime() -> None:
    """Nor numpy (a third of the start-up time of `imgrestore --help`, 0.25 s before, 0.16 s after)."""
    script = (
        "import sys\nfrom imgrestore.cli import main\nsys.argv = ['imgrestore', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'onnxruntime', 'onnx', 'numpy') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().endswith("[]"), done.stdout + done.stderr
    assert "denoise" in done.stdout


def test_python_dash_m() -> None:
    done = subprocess.run([sys.executable, "-m", "imgrestore", "tasks"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "denoise" in done.stdout


def test_unknown_model_name_is_one_clear_error_before_the_batch(tmp_path, astronaut) -> None:
    from imgrestore.images import Picture, write_image

    for name in ("a.png", "b.png"):
        write_image(tmp_path / "in" / name, Picture(color=astronaut[:32, :32]))
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in"), str(tmp_path / "out"), "--model", "nope"])
    assert result.exit_code == 2 and result.output.count("no shipped model named 'nope'") == 1
    assert "(denoise models: denoise-color, denoise-gray)" in result.output  # only this task's names
    assert not (tmp_path / "out").exists()
    # a model file that is not there: said so, not onnxruntime's "[ONNXRuntimeError] : 3 : NO_SUCHFILE"
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in"), str(tmp_path / "out"), "--model", "color.onnx"])
    assert result.exit_code == 2 and "Error: --model color.onnx: no such file" in result.output, result.output
    assert "ONNXRuntimeError" not in result.output and not (tmp_path / "out").exists()


def test_a_tile_below_the_models_smallest_is_raised_and_said(tmp_path, astronaut) -> None:
    """--tile bounds memory: when the model's overlap forces larger tiles, the user is told the
    size actually used, and the result is the untiled one."""
    from imgrestore.images import Picture, read_image, write_image

    write_image(tmp_path / "a.png", Picture(color=astronaut[:256, :256]))
    runs = {}
    for tile in ("64", None):
        out = tmp_path / f"out-{tile}.png"
        result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "a.png"), str(out), "--sigma", "15",
                                          *(["--tile", tile] if tile else [])])
        assert result.exit_code == 0, result.output
        runs[tile] = (result.output, read_image(out).color.astype(int))
    assert "note: --tile 64 is below the smallest tile of color.onnx" in runs["64"][0]
    smallest = int(runs["64"][0].split("using ")[1].split()[0])
    assert 64 < smallest < 256  # really tiled, with the raised size
    assert "--tile" not in runs[None][0]
    assert abs(runs["64"][1] - runs[None][1]).max() <= 1
