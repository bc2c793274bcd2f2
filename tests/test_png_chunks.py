"""A PNG's text chunks (a generator's prompt and settings, title, author) and colour chunks (gAMA,
cHRM) reach a PNG output byte for byte, but ImageMagick's hex copies of EXIF and the chunks about
the stored samples are left out, and --strip-metadata writes none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image, PngImagePlugin

from imgrestore.cli import cli
from imgrestore.metadata import png_chunk
from imgrestore.png_chunks import carried_chunks

SETTINGS = "a lighthouse at dusk\nSteps: 30, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 80x60"


def _generated_png(path: Path, astronaut: np.ndarray) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", SETTINGS)  # tEXt, as Stable Diffusion web UIs write it
    info.add_text("Title", "Phare", zip=True)  # zTXt
    info.add_itxt("Description", "Der Leuchtturm bei Dämmerung", lang="de")  # iTXt
    info.add_text("Raw profile type exif", "\nexif\n      8\n4d4d002a00000008\n")  # ImageMagick's hex EXIF
    Image.fromarray(astronaut[:60, :80]).save(path, pnginfo=info)


def _text_of(path: Path) -> dict:
    with Image.open(path) as image:
        image.load()  # text chunks after the image data are read with it
        return dict(image.text)


def test_upscale_keeps_a_generators_settings_and_the_text_byte_for_byte(tmp_path: Path,
                                                                       astronaut: np.ndarray) -> None:
    _generated_png(tmp_path / "gen.png", astronaut)
    result = CliRunner().invoke(cli, ["upscale", str(tmp_path / "gen.png"), str(tmp_path / "big.png"), "--scale", "2"])
    assert result.exit_code == 0, result.output
    text = _text_of(tmp_path / "big.png")
    assert text["parameters"] == SETTINGS and text["Title"] == "Phare"
    assert text["Description"] == "Der Leuchtturm bei Dämmerung"
    assert "Raw profile type exif" not in text
    assert carried_chunks((tmp_path / "big.png").read_bytes()) == carried_chunks((tmp_path / "gen.png").read_bytes())


def test_strip_metadata_and_other_formats_write_no_png_text(tmp_path: Path, astronaut: np.ndarray) -> None:
    _generated_png(tmp_path / "gen.png", astronaut)
    for arguments in (["gen.png", "stripped.png", "--strip-metadata"], ["gen.png", "out.jpg"]):
        paths = [str(tmp_path / arguments[0]), str(tmp_path / arguments[1]), *arguments[2:]]
        result = CliRunner().invoke(cli, ["denoise", *paths, "--sigma", "5"])
        assert result.exit_code == 0, result.output
    assert _text_of(tmp_path / "stripped.png") == {}
    assert b"lighthouse" not in (tmp_path / "out.jpg").read_bytes()  # JPEG has no place for PNG text


def test_a_damaged_chunk_list_gives_the_text_before_the_damage() -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + b"\x00" * 4

    good = chunk(b"tEXt", b"Author\x00me")
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", b"\x00" * 13) + good + b"\x00\x00\xff\xfftEXt" + b"x" * 20
    assert carried_chunks(data) == (good,)


def test_a_linear_light_png_keeps_its_gamma_and_chromaticities(tmp_path: Path, astronaut: np.ndarray) -> None:
    """gAMA 1.0 (linear light) and cHRM: without them the output would be shown as sRGB."""
    Image.fromarray(astronaut[:60, :80]).save(tmp_path / "plain.png")
    data = (tmp_path / "plain.png").read_bytes()
    colour = png_chunk(b"gAMA", (100000).to_bytes(4, "big")) + png_chunk(b"cHRM", bytes(range(32)))
    sample_bits = png_chunk(b"sBIT", b"\x05\x05\x05")  # about the stored samples, which the output replaces
    (tmp_path / "linear.png").write_bytes(data[:33] + colour + sample_bits + data[33:])
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "linear.png"), str(tmp_path / "out.png"), "--sigma", "5"])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "out.png").read_bytes()
    assert colour in written and b"sBIT" not in written
    with Image.open(tmp_path / "out.png") as image:
        assert image.info["gamma"] == 1.0
