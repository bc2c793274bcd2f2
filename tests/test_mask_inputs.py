"""Tasks with a mask input: masks from a folder by name, one file, or alpha; exact pass-through
outside the mask; empty masks; clear per-file errors; masks through tiling and batching."""

from __future__ import annotations

import importlib.metadata as metadata
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from imgrestore import plugins
from imgrestore.cli import cli
from imgrestore.images import Picture, read_image, write_image
from imgrestore.runtime import METADATA_KEY, InputInfo, ModelInfo

FAKES = Path(__file__).parent / "fake_plugins"


@pytest.fixture
def invert_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Registers the toy `invert-holes` task and writes its ONNX model: output = 1 - image
    (changes every pixel; the mask input is wired in but only the core's composite keeps the
    unmasked pixels)."""
    monkeypatch.syspath_prepend(str(FAKES))
    real = plugins._entry_points()
    extra = metadata.EntryPoint(name="masked", value="masked_plugin", group=plugins.ENTRY_POINT_GROUP)
    monkeypatch.setattr(plugins, "_entry_points", lambda: real + [extra])
    plugins.reset_registry()
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, "h", "w"])
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["n", 1, "h", "w"])
    out = helper.make_tensor_value_info("filled", TensorProto.FLOAT, ["n", 3, "h", "w"])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    graph = helper.make_graph([
        helper.make_node("Sub", ["one", "image"], ["inverted"]),
        helper.make_node("Mul", ["mask", "zero"], ["nothing"]),
        helper.make_node("Add", ["inverted", "nothing"], ["filled"]),
    ], "invert", [image, mask], [out], initializer=[one, zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    info = ModelInfo(task="invert-holes", inputs=(InputInfo("image", "image"), InputInfo("mask", "mask")),
                     output="filled", channels=3, receptive_radius=0)
    model.metadata_props.add(key=METADATA_KEY, value=info.to_json())
    path = tmp_path / "invert.onnx"
    onnx.save(model, str(path))
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["invert-holes", *args])
    return result.exit_code, result.output


def _square_mask(height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4 : height // 2, width // 3 : width // 2] = 255
    return mask


def test_masks_folder_by_name_and_exact_pass_through(invert_model, tmp_path: Path, astronaut) -> None:
    images, masks = tmp_path / "in", tmp_path / "masks"
    for name, crop in (("a", astronaut[:60, :80]), ("b", astronaut[100:170, 50:101])):
        write_image(images / f"{name}.png", Picture(color=crop))
        write_image(masks / f"{name}.png", Picture(color=_square_mask(*crop.shape[:2])[:, :, None]))
    code, output = _run(str(images), str(tmp_path / "out"), "--masks", str(masks), "--model", str(invert_model))
    assert code == 0, output
    for name, crop in (("a", astronaut[:60, :80]), ("b", astronaut[100:170, 50:101])):
        result = read_image(tmp_path / "out" / f"{name}.png").color
        hole = _square_mask(*crop.shape[:2]) > 0
        assert np.array_equal(result[~hole], crop[~hole])  # bit for bit outside
        assert np.array_equal(result[hole], 255 - crop[hole])


def test_one_mask_for_all_tiled_and_sixteen_bit(invert_model, tmp_path: Path, astronaut) -> None:
    deep = astronaut[:150, :130].astype(np.uint16) * 257 + 3
    write_image(tmp_path / "in" / "deep.png", Picture(color=deep))
    write_image(tmp_path / "mask.png", Picture(color=_square_mask(150, 130)[:, :, None]))
    code, output = _run(str(tmp_path / "in"), str(tmp_path / "out"), "--mask", str(tmp_path / "mask.png"),
                        "--model", str(invert_model), "--tile", "64")
    assert code == 0, output
    result = read_image(tmp_path / "out" / "deep.png").color
    hole = _square_mask(150, 130) > 0
    assert result.dtype == np.uint16 and np.array_equal(result[~hole], deep[~hole])
    assert np.array_equal(result[hole], 65535 - deep[hole])


def test_mask_from_alpha_fills_transparent_pixels_and_makes_them_opaque(invert_model, tmp_path: Path, astronaut) -> None:
    crop = astronaut[:40, :50]
    alpha = np.full((40, 50), 255, np.uint8)
    alpha[10:20, 10:30] = 0
    write_image(tmp_path / "in" / "cut.png", Picture(color=crop, alpha=alpha))
    code, output = _run(str(tmp_path / "in"), str(tmp_path / "out"), "--mask-from-alpha", "--model", str(invert_model))
    assert code == 0, output
    result = read_image(tmp_path / "out" / "cut.png")
    hole = alpha == 0
    assert np.array_equal(result.color[hole], 255 - crop[hole]) and np.array_equal(result.color[~hole], crop[~hole])
    assert result.alpha is not None and np.all(result.alpha == 255)


def test_empty_mask_returns_the_image_unchanged(invert_model, tmp_path: Path, astronaut) -> None:
    write_image(tmp_path / "in" / "a.png", Picture(color=astronaut[:40, :50]))
    write_image(tmp_path / "empty.png", Picture(color=np.zeros((40, 50, 1), np.uint8)))
    code, output = _run(str(tmp_path / "in"), str(tmp_path / "out"), "--mask", str(tmp_path / "empty.png"),
                        "--model", str(invert_model))
    assert code == 0, output
    assert np.array_equal(read_image(tmp_path / "out" / "a.png").color, astronaut[:40, :50])


def test_missing_and_mismatched_masks_fail_per_file(invert_model, tmp_path: Path, astronaut) -> None:
    images, masks = tmp_path / "in", tmp_path / "masks"
    write_image(images / "good.png", Picture(color=astronaut[:40, :50]))
    write_image(images / "orphan.png", Picture(color=astronaut[:40, :50]))
    write_image(images / "small.png", Picture(color=astronaut[:40, :50]))
    write_image(masks / "good.png", Picture(color=_square_mask(40, 50)[:, :, None]))
    write_image(masks / "small.jpg", Picture(color=_square_mask(20, 25)[:, :, None]))
    code, output = _run(str(images), str(tmp_path / "out"), "--masks", str(masks), "--model", str(invert_model))
    assert code == 1
    assert "orphan.png: no mask for orphan.png" in output
    assert "small.png: mask" in output and "is 25×20, the image is 50×40" in output
    assert (tmp_path / "out" / "good.png").exists() and not (tmp_path / "out" / "orphan.png").exists()


def test_exactly_one_mask_source(invert_model, tmp_path: Path, astronaut) -> None:
    """A model with a mask input and no mask given is one usage error before the batch, not a
    failure per file; two sources are ambiguous."""
    write_image(tmp_path / "in" / "a.png", Picture(color=astronaut[:40, :50]))
    code, output = _run(str(tmp_path / "in"), str(tmp_path / "out"), "--model", str(invert_model))
    assert code == 2 and "give --masks DIR, --mask FILE or --mask-from-alpha" in output
    assert not (tmp_path / "out").exists()
    code, output = _run(str(tmp_path / "in"), str(tmp_path / "out"), "--mask-from-alpha",
                        "--mask", str(tmp_path / "in" / "a.png"), "--model", str(invert_model))
    assert code == 2 and "give exactly one of" in output
    code, output = _run(str(tmp_path / "in"), str(tmp_path / "out"), "--mask-from-alpha", "--model", str(invert_model))
    assert code == 1 and "has no alpha channel" in output


def test_python_api_takes_a_mask(invert_model, astronaut) -> None:
    import imgrestore

    crop = astronaut[:30, :40]
    mask = _square_mask(30, 40)
    out = imgrestore.run("invert-holes", crop, model=str(invert_model), mask=mask)
    assert np.array_equal(out[mask == 0], crop[mask == 0]) and np.array_equal(out[mask > 0], 255 - crop[mask > 0])


def test_large_pictures_run_only_around_the_holes(invert_model, tmp_path: Path, astronaut, monkeypatch) -> None:
    """Bigger than a tile: the model sees crops around the two holes (with context), not the
    whole picture, and the result is the same as a whole-picture run."""
    from imgrestore.runtime import OnnxModel

    seen: list[tuple[int, ...]] = []
    original = OnnxModel.run

    def spy(self, batch):
        seen.append(batch["image"].shape)
        return original(self, batch)

    monkeypatch.setattr(OnnxModel, "run", spy)
    image = astronaut[:400, :300]
    mask = np.zeros((400, 300), np.uint8)
    mask[20:40, 30:60] = 255
    mask[300:330, 200:210] = 255
    write_image(tmp_path / "in" / "big.png", Picture(color=image))
    write_image(tmp_path / "mask.png", Picture(color=mask[:, :, None]))
    code, output = _run(str(tmp_path / "in"), str(tmp_path / "out"), "--mask", str(tmp_path / "mask.png"),
                        "--model", str(invert_model), "--tile", "128")
    assert code == 0, output
    result = read_image(tmp_path / "out" / "big.png").color
    hole = mask > 0
    assert np.array_equal(result[~hole], image[~hole]) and np.array_equal(result[hole], 255 - image[hole])
    assert len(seen) == 2 and all(shape[2] * shape[3] < 100 * 100 for shape in seen)  # receptive radius 0: tight crops


def test_a_mask_is_found_by_the_whole_stem_or_with_a_mask_suffix(tmp_path: Path) -> None:
    """"scan.v2.jpg" takes "scan.v2.png", not "scan.png" (Path.with_suffix would cut at the last
    dot of the stem); "IMG_7.jpg" takes "IMG_7_mask.png" when there is no "IMG_7.png"."""
    from imgrestore.mask_inputs import MaskSource

    def write_mask(name: str, row: int) -> None:
        mask = np.zeros((8, 8), np.uint8)
        mask[row] = 255
        write_image(tmp_path / "masks" / name, Picture(color=mask[:, :, None]))

    write_mask("scan.v2.png", 1)
    write_mask("scan.png", 2)
    write_mask("IMG_7_mask.png", 3)
    write_mask("sub/deep.name_mask.tif", 4)
    picture = Picture(color=np.zeros((8, 8, 3), np.uint8))
    source = MaskSource(folder=tmp_path / "masks")
    for name, row in [("scan.v2.jpg", 1), ("scan.jpg", 2), ("IMG_7.jpg", 3), ("sub/deep.name.png", 4)]:
        assert np.flatnonzero(source.load(Path(name), picture).any(axis=1)).tolist() == [row], name


def test_masks_kept_beside_their_images_or_inside_the_input_are_never_inputs(invert_model, tmp_path: Path,
                                                                              astronaut) -> None:
    """`--masks photos` with photos/a.png and photos/a_mask.png (how LaMa's evaluation sets lay
    them out): a.png was its own mask and a_mask.png an input without one. A masks folder inside a
    --recursive INPUT had its masks taken as photos too, and so had a --mask file in INPUT."""
    crop = astronaut[:60, :80]
    hole = _square_mask(60, 80) > 0
    beside = tmp_path / "beside"
    write_image(beside / "a.png", Picture(color=crop))
    write_image(beside / "a_mask.png", Picture(color=_square_mask(60, 80)[:, :, None]))
    write_image(beside / "face_mask.png", Picture(color=crop))  # a photo whose name ends so: no "face" image
    write_image(beside / "face_mask_mask.png", Picture(color=_square_mask(60, 80)[:, :, None]))
    code, output = _run(str(beside), str(tmp_path / "out"), "--masks", str(beside), "--model", str(invert_model))
    assert code == 0, output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "face_mask.png"]
    result = read_image(tmp_path / "out" / "a.png").color
    assert np.array_equal(result[hole], 255 - crop[hole]) and np.array_equal(result[~hole], crop[~hole])

    nested = tmp_path / "nested"
    write_image(nested / "sub" / "b.png", Picture(color=crop))
    write_image(nested / "masks" / "sub" / "b.png", Picture(color=_square_mask(60, 80)[:, :, None]))
    code, output = _run(str(nested), str(tmp_path / "out2"), "--masks", str(nested / "masks"), "-r",
                        "--model", str(invert_model))
    assert code == 0, output
    assert [p.relative_to(tmp_path / "out2").as_posix() for p in (tmp_path / "out2").rglob("*.png")] == ["sub/b.png"]

    code, output = _run(str(nested / "sub"), str(tmp_path / "out3"), "--mask", str(nested / "sub" / "b.png"),
                        "--model", str(invert_model))
    assert code == 0 and "done 0" in output and not list((tmp_path / "out3").glob("*"))  # the mask is no input


def test_masks_beside_their_images_never_take_another_photo_as_a_mask(invert_model, tmp_path: Path, astronaut) -> None:
    """With --masks the input folder, b.jpg beside b.png was b.png's mask (and the reverse)."""
    folder = tmp_path / "shoot"
    write_image(folder / "a.png", Picture(color=astronaut[:40, :50]))
    write_image(folder / "a_mask.png", Picture(color=_square_mask(40, 50)[:, :, None]))
    write_image(folder / "b.png", Picture(color=astronaut[:40, :50]))
    write_image(folder / "b.jpg", Picture(color=astronaut[50:90, :50]), quality=95)
    code, output = _run(str(folder), str(tmp_path / "out"), "--masks", str(folder), "--model", str(invert_model))
    assert code == 1 and "b.png: no mask for b.png" in output and "b.jpg: no mask for b.jpg" in output
    assert (tmp_path / "out" / "a.png").exists() and not (tmp_path / "out" / "b.png").exists()


def test_what_a_mask_file_marks_is_what_it_shows(invert_model, tmp_path: Path, astronaut) -> None:
    """A transparent pixel of a mask is not fill, whatever colour it hides; 0/1 labels (or 8-bit
    values in a 16-bit file) are refused instead of read as an empty mask; a mask covering the
    whole image is refused (there is nothing to fill from: the output was black)."""
    write_image(tmp_path / "in" / "a.png", Picture(color=astronaut[:40, :50]))
    hole = _square_mask(40, 50)
    strokes = Picture(color=np.full((40, 50, 3), 255, np.uint8), alpha=hole)  # white everywhere, opaque on the hole
    write_image(tmp_path / "strokes.png", strokes)
    code, output = _run(str(tmp_path / "in"), str(tmp_path / "out"), "--mask", str(tmp_path / "strokes.png"),
                        "--model", str(invert_model))
    assert code == 0, output
    result = read_image(tmp_path / "out" / "a.png").color
    crop = astronaut[:40, :50]
    assert np.array_equal(result[hole == 0], crop[hole == 0]) and np.array_equal(result[hole > 0], 255 - crop[hole > 0])
    for name, values in (("labels.png", (hole > 0).astype(np.uint8)), ("wide.png", hole.astype(np.uint16)),
                         ("full.png", np.full((40, 50), 255, np.uint8))):
        write_image(tmp_path / name, Picture(color=values[:, :, None]))
        code, output = _run(str(tmp_path / "in"), str(tmp_path / f"out-{name[:-4]}"), "--mask", str(tmp_path / name),
                            "--model", str(invert_model))
        assert code == 1, output
        assert ("no pixel brighter than half" in output) if name != "full.png" else ("covers the whole image" in output)


def test_a_mask_from_a_file_leaves_the_alpha_alone(invert_model, tmp_path: Path, astronaut) -> None:
    """Only --mask-from-alpha makes filled pixels opaque: a cut-out's transparent background
    under a --mask stroke gained an opaque patch."""
    alpha = np.full((40, 50), 255, np.uint8)
    alpha[:, :20] = 0
    alpha[:, 20:25] = 100
    write_image(tmp_path / "in" / "cut.png", Picture(color=astronaut[:40, :50], alpha=alpha))
    write_image(tmp_path / "mask.png", Picture(color=np.pad(np.full((10, 40), 255, np.uint8), ((10, 20), (0, 10)))[:, :, None]))
    code, output = _run(str(tmp_path / "in"), str(tmp_path / "out"), "--mask", str(tmp_path / "mask.png"),
                        "--model", str(invert_model))
    assert code == 0, output
    assert np.array_equal(read_image(tmp_path / "out" / "cut.png").alpha, alpha)


def test_an_empty_mask_returns_a_jpeg_byte_for_byte(invert_model, tmp_path: Path, astronaut) -> None:
    """It was decoded and re-encoded at quality 95: most pixels changed by a few levels."""
    write_image(tmp_path / "in" / "a.jpg", Picture(color=astronaut[:40, :48]), quality=80)
    write_image(tmp_path / "empty.png", Picture(color=np.zeros((40, 48, 1), np.uint8)))
    code, output = _run(str(tmp_path / "in"), str(tmp_path / "out"), "--mask", str(tmp_path / "empty.png"),
                        "--model", str(invert_model))
    assert code == 0, output
    assert (tmp_path / "out" / "a.jpg").read_bytes() == (tmp_path / "in" / "a.jpg").read_bytes()
