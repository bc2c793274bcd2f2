"""Quality of the shipped CycleGAN translations (imgrestore_translate.evaluation says how each
figure is computed):

  photo2outline  a2b on the 30 test pairs: PSNR / SSIM of our outline against the true one, beside
                 Canny and XDoG tuned for SSIM on the 125 training pairs, and a blank white page
                 (what SSIM gives for drawing nothing); b2a (outline -> photo) PSNR / SSIM for
                 reference. Bar: our SSIM above the better classical method's.
  digits2mnist   on the test splits (1000 OpenCV digits, 2000 MNIST digits): label preservation
                 of each direction, read by an SVM trained on the target domain's training split
                 (also: the readers' accuracy on their own test split, and how the target reader
                 does on untranslated inputs), and cycle-reconstruction PSNR both ways.
                 Bars: preservation ≥ 90% both ways, cycle PSNR ≥ 25 dB.

Writes benchmarks/results/translate_quality.json and translate_sheet.png (rows: photos, ours,
the best classical outline, the true outline; then OpenCV digits, ours, MNIST digits, ours).

    python benchmarks/translate_quality.py [--sets photo2outline digits2mnist] [--model NAME=FILE.onnx]

Reads ../shared/data (or $IMGRESTORE_DATA); skips with a message when it is absent.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, data_root, model_file, save  # noqa: E402

from imgrestore.images import Picture, write_image  # noqa: E402
from imgrestore.metrics import psnr, ssim  # noqa: E402
from imgrestore.sampling import contact_sheet  # noqa: E402
from imgrestore_translate import evaluation as ev  # noqa: E402

SHEET_PHOTOS = 6
SHEET_DIGITS = 12


def _model(name: str, overrides: dict[str, str]) -> Path:
    return model_file(name, Path(overrides[name]) if name in overrides else None)


def photo2outline(data: Path, overrides: dict[str, str]) -> tuple[dict, list[np.ndarray]]:
    import imgrestore

    train = ev.read_pairs(data / "domains" / "photo2outline" / "train")
    test = ev.read_pairs(data / "domains" / "photo2outline" / "test")
    truths = [outline for _, _, outline in test]
    rows: dict[str, dict] = {}
    drawings: dict[str, list[np.ndarray]] = {}
    for method in ev.BASELINES:
        parameters, train_ssim = ev.tune(method, [(photo, outline) for _, photo, outline in train])
        draw = ev.BASELINES[method][0]
        drawings[method] = [draw(photo, **parameters) for _, photo, _ in test]
        rows[method] = {**vars(ev.score_outlines(drawings[method], truths)), "parameters": parameters,
                        "train_ssim": train_ssim}
        print(f"{method}: tuned {parameters} (train SSIM {train_ssim:.4f})")
    blank = [np.full_like(truth, 255) for truth in truths]
    rows["blank"] = vars(ev.score_outlines(blank, truths))
    a2b, b2a = _model("translate-photo2outline-a2b", overrides), _model("translate-photo2outline-b2a", overrides)
    ours = [ev.gray(imgrestore.run("translate", photo, model=str(a2b), device="cpu")) for _, photo, _ in test]
    rows["ours"] = vars(ev.score_outlines(ours, truths))
    back = [imgrestore.run("translate", np.repeat(outline[:, :, None], 3, axis=2), model=str(b2a), device="cpu")
            for _, _, outline in test]
    photos = [photo for _, photo, _ in test]
    reverse = {"psnr": float(np.mean([psnr(b, p) for b, p in zip(back, photos)])),
               "ssim": float(np.mean([ssim(b, p) for b, p in zip(back, photos)]))}
    classical = max(ev.BASELINES, key=lambda m: rows[m]["ssim"])
    result = {"a2b": rows, "b2a": reverse, "best_classical": classical,
              "bar_ssim_above_classical": rows["ours"]["ssim"] > rows[classical]["ssim"], "pairs": len(test)}
    print(f"{'photo->outline':16} {'PSNR':>7} {'SSIM':>7}")
    for method, row in rows.items():
        print(f"{method:16} {row['psnr']:7.2f} {row['ssim']:7.4f}")
    print(f"outline->photo   {reverse['psnr']:7.2f} {reverse['ssim']:7.4f}")
    print(f"bar (SSIM above {classical}): {'met' if result['bar_ssim_above_classical'] else 'NOT met'}")

    def tiles(images: list[np.ndarray]) -> list[np.ndarray]:
        side = 224
        out = []
        for image in images[:SHEET_PHOTOS]:
            image = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
            tile = np.full((side, side, 3), 255, np.uint8)
            crop = image[:side, :side]
            tile[: crop.shape[0], : crop.shape[1]] = crop
            out.append(tile)
        return out

    sheet = [tiles(photos), tiles(ours), tiles(drawings[classical]), tiles(truths)]
    return result, [np.stack(row) for row in sheet]


def digits2mnist(data: Path, overrides: dict[str, str]) -> tuple[dict, list[np.ndarray]]:
    domains = ev.digit_domains(data / "digits")
    readers = {"a": ev.DigitReader(domains.a.train_images, domains.a.train_labels),
               "b": ev.DigitReader(domains.b.train_images, domains.b.train_labels)}
    a2b, b2a = _model("translate-digits2mnist-a2b", overrides), _model("translate-digits2mnist-b2a", overrides)
    result: dict[str, dict] = {"readers": {
        "a_on_own_test": readers["a"].accuracy(domains.a.test_images, domains.a.test_labels),
        "b_on_own_test": readers["b"].accuracy(domains.b.test_images, domains.b.test_labels)}}
    sheet = []
    for direction, source, target, there, back in (("a2b", domains.a, "b", a2b, b2a), ("b2a", domains.b, "a", b2a, a2b)):
        translated = ev.translate_digits(there, source.test_images)
        cycled = ev.translate_digits(back, translated)
        result[direction] = {
            "label_preservation": readers[target].accuracy(translated, source.test_labels),
            "untranslated_read_by_target": readers[target].accuracy(source.test_images, source.test_labels),
            "cycle_psnr": ev.mean_psnr(cycled, source.test_images),
            "images": len(source.test_images),
        }
        picks = np.random.default_rng(0).permutation(len(source.test_images))[:SHEET_DIGITS]
        sheet += [np.repeat(source.test_images[picks, :, :, None], 3, axis=3),
                  np.repeat(translated[picks, :, :, None], 3, axis=3)]
    result["bar_met"] = all(result[d]["label_preservation"] >= 0.9 and result[d]["cycle_psnr"] >= 25
                            for d in ("a2b", "b2a"))
    print(f"digit readers (SVM) on their own test split: OpenCV {result['readers']['a_on_own_test']:.2%}, "
          f"MNIST {result['readers']['b_on_own_test']:.2%}")
    for direction in ("a2b", "b2a"):
        row = result[direction]
        print(f"{direction}: label preservation {row['label_preservation']:.2%} (untranslated "
              f"{row['untranslated_read_by_target']:.2%}), cycle PSNR {row['cycle_psnr']:.2f} dB")
    print(f"bar (≥ 90% both ways, cycle ≥ 25 dB): {'met' if result['bar_met'] else 'NOT met'}")
    return result, sheet


def _sheet(photo_rows: list[np.ndarray], digit_rows: list[np.ndarray]) -> np.ndarray:
    """Photo rows, then digit rows enlarged ×4 and laid out at the same width."""
    parts = []
    if photo_rows:
        parts.append(contact_sheet(np.concatenate(photo_rows), SHEET_PHOTOS, background=1.0))
    if digit_rows:
        enlarged = np.concatenate(digit_rows).repeat(4, axis=1).repeat(4, axis=2)
        parts.append(contact_sheet(enlarged, SHEET_DIGITS, background=0.5))
    width = max(part.shape[1] for part in parts)
    return np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=128) for p in parts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=["photo2outline", "digits2mnist"],
                        default=["photo2outline", "digits2mnist"])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=FILE.onnx",
                        help="score this .onnx instead of a shipped direction, e.g. translate-digits2mnist-a2b=run.onnx")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.model)
    data = data_root()
    results, photo_rows, digit_rows = {}, [], []
    if "photo2outline" in args.sets:
        results["photo2outline"], photo_rows = photo2outline(data, overrides)
    if "digits2mnist" in args.sets:
        results["digits2mnist"], digit_rows = digits2mnist(data, overrides)
    write_image(RESULTS / "translate_sheet.png", Picture(color=_sheet(photo_rows, digit_rows)))
    save("translate_quality", results)
    print(f"sheet: {RESULTS / 'translate_sheet.png'}")


if __name__ == "__main__":
    main()
