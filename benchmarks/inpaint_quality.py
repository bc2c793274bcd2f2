"""Inpainting quality: PSNR/SSIM of our inpainting model against OpenCV's Telea and Navier-Stokes fills.

Protocol: every image of CBSD68 and Kodak24 gets one fixed free-form mask (brush strokes and
boxes, `imgrestore.masks.free_form_mask`, style "mixed") per hole-area range 10-20%, 20-30% and
30-40%: mask i of a range is free_form_mask(MaskSpec(h, w, range), seed=SEED[range], index=i), with
i the image's place in the sorted set, so `--limit` keeps the same masks and a rerun anywhere
makes identical ones. The holes of the input are zeroed (no method ever sees the ground truth
there). Every method's output, as 8-bit RGB, is composited as the CLI saves it: the input's
unmasked pixels are pasted back bit for bit, so the pixels outside the holes equal the ground
truth exactly and every difference between methods comes from the holes alone. PSNR (dB) and
SSIM are computed on the whole RGB image, data range 255, against the clean 8-bit original;
psnr_hole is the PSNR over the hole pixels only (whole = hole - 10*log10(hole fraction), per image).

Methods: telea and ns (cv2.inpaint, INPAINT_TELEA / INPAINT_NS, radius 5: on six 320-px crops of
training images (train/Sun_Hays80, never test images) radius 3 -> 5 gains 0.1-0.2 dB for
Telea, 5 -> 11 at most 0.15 dB more with SSIM flat), and ours (the shipped `inpaint` ONNX model,
or --model FILE.onnx; output clipped, rounded to 8 bits, composited; skipped with a message when
there is none). The bar for ours: PSNR >= best(telea, ns) + 1.5 dB and SSIM above both, at every
area range on both sets.

    python benchmarks/inpaint_quality.py                                  # both sets, 3 ranges, every method
    python benchmarks/inpaint_quality.py --methods telea,ns --name inpaint_baselines
    python benchmarks/inpaint_quality.py --methods ours --reuse benchmarks/results/inpaint_baselines.json
    python benchmarks/inpaint_quality.py --sets Kodak24 --limit 2 --model /tmp/inpaint.onnx --name scratch
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (RESULTS, any_reused, data_root, measured_line, methods_present, reused_rows,  # noqa: E402
                    save)

from imgrestore.images import Picture, read_image, write_image  # noqa: E402
from imgrestore.masks import MaskSpec, free_form_mask  # noqa: E402
from imgrestore.metrics import psnr, ssim  # noqa: E402
from imgrestore.runtime import OnnxModel  # noqa: E402
from imgrestore.weights import WeightsError, locate  # noqa: E402

SETS = ("CBSD68", "Kodak24")
AREAS = {"10-20": ((0.1, 0.2), 1000), "20-30": ((0.2, 0.3), 2000), "30-40": ((0.3, 0.4), 3000)}
"""Hole-area range key -> (fraction range, mask seed)."""
MASK_STYLE = "mixed"
ALL_METHODS = ("telea", "ns", "ours")
RADIUS = 5
BAR_DB = 1.5
SHEET_AREA = "30-40"
SHEET_CELL = 256  # px wide
HOLE_COLOR = (255, 0, 255)  # magenta, RGB


def load_set(root: Path, name: str, limit: int | None) -> list[tuple[str, np.ndarray]]:
    images = []
    for path in sorted((root / "test" / name).glob("*.png"))[:limit]:
        pixels = read_image(path).color_8bit()
        images.append((path.stem, pixels if pixels.shape[2] == 3 else np.repeat(pixels[:, :, :1], 3, axis=2)))
    return images


def mask_for(image: np.ndarray, area_key: str, index: int) -> np.ndarray:
    """H×W uint8, 255 = fill: the fixed mask of image `index` of its set at this area range."""
    area, seed = AREAS[area_key]
    return free_form_mask(MaskSpec(image.shape[0], image.shape[1], area, MASK_STYLE), seed=seed, index=index)


def opencv_fill(flag: int, radius: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    # cv2.inpaint fills each channel alike, so RGB order needs no conversion
    return lambda holed, mask: cv2.inpaint(holed, mask, radius, flag)


def model_path(given: Path | None) -> tuple[Path | None, str]:
    """The ONNX file for `ours` and where it came from, or (None, why not)."""
    if given is not None:
        if not given.is_file():
            sys.exit(f"--model: {given} does not exist")
        return given, "--model"
    try:
        return locate("inpaint").file, "shipped (weights/manifest.json: inpaint)"
    except WeightsError as error:
        return None, str(error)


def checkpoint_of(model: OnnxModel) -> dict:
    raw = model.session.get_modelmeta().custom_metadata_map.get("imgrestore.checkpoint")
    return json.loads(raw) if raw else {}


def ours_fill(model: OnnxModel) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The model through the task's own pipeline, as the CLI runs it: the plugin's prepare (which
    puts the Telea coarse fill in the holes), tiling, 8-bit output; one runner, so the model's
    session is loaded once, not per image."""
    from imgrestore import load_task
    from imgrestore.inference import TaskRunner

    runner = TaskRunner(load_task(name="inpaint"), {}, model=model.path, device="cpu")

    def fill(holed: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return runner.run_picture(Picture(color=holed, mask=mask > 127)).color

    return fill


def composite(output: np.ndarray, holed: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The output inside the holes, the input bit for bit everywhere else (as the CLI saves it)."""
    result = holed.copy()
    np.copyto(result, output, where=hole[:, :, None])
    return result


def score(result: np.ndarray, clean: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    return {"psnr": psnr(result, clean), "ssim": ssim(result, clean), "psnr_hole": psnr(result[hole], clean[hole])}


def sheet_picks(sets: list[str], count: int, available: dict[str, int]) -> dict[str, list[int]]:
    """Image indices for the contact sheet, shared round-robin among the sets."""
    picks: dict[str, list[int]] = {name: [] for name in sets}
    for k in range(count):
        name = sets[k % len(sets)]
        index = len(picks[name])
        if index < available[name]:
            picks[name].append(index)
    return picks


def cell(pixels: np.ndarray, label: str) -> np.ndarray:
    height = round(pixels.shape[0] * SHEET_CELL / pixels.shape[1])
    small = cv2.resize(pixels, (SHEET_CELL, height), interpolation=cv2.INTER_AREA)
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.42, 1
    (width, text_h), base = cv2.getTextSize(label, font, scale, thick)
    cv2.rectangle(small, (0, 0), (width + 6, text_h + base + 6), (0, 0, 0), -1)
    cv2.putText(small, label, (3, text_h + 3), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return small


def write_sheet(rows: list[list[np.ndarray]], path: Path) -> None:
    gap = 4
    width = max(len(r) for r in rows) * (SHEET_CELL + gap) + gap
    strips = []
    for cells in rows:
        height = cells[0].shape[0]
        strip = np.full((height + gap, width, 3), 255, np.uint8)
        for k, c in enumerate(cells):
            left = gap + k * (SHEET_CELL + gap)
            strip[gap:, left : left + SHEET_CELL] = c
        strips.append(strip)
    sheet = np.concatenate(strips + [np.full((gap, width, 3), 255, np.uint8)], axis=0)
    write_image(path, Picture(color=sheet))
    print(f"contact sheet written to {path.relative_to(RESULTS.parent.parent)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--areas", default=",".join(AREAS), help=f"hole-area ranges, of {', '.join(AREAS)} (percent)")
    parser.add_argument("--methods", default=",".join(ALL_METHODS))
    parser.add_argument("--model", type=Path, default=None,
                        help="ONNX inpainting model for `ours` instead of the shipped `inpaint`")
    parser.add_argument("--radius", type=int, default=RADIUS, help="cv2.inpaint radius for telea and ns")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for onnxruntime (0 = all)")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set (same masks)")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="results JSON of an earlier run with the same masks: its rows (set, range, method) "
                             "not measured now are kept, marked reused_from")
    parser.add_argument("--sheet", type=int, default=4,
                        help=f"contact sheet of N images at {SHEET_AREA}%% holes: benchmarks/results/inpaint_sheet.png "
                             "(0 = none)")
    parser.add_argument("--name", default="inpaint_quality")
    args = parser.parse_args()
    root = data_root()
    sets = args.sets.split(",")
    areas = args.areas.split(",")
    methods = args.methods.split(",")
    for given, known, what in ((sets, SETS, "set"), (areas, AREAS, "area range"), (methods, ALL_METHODS, "method")):
        unknown = set(given) - set(known)
        if unknown:
            sys.exit(f"unknown {what}(s) {', '.join(sorted(unknown))} (choose from {', '.join(known)})")
    print(__doc__.split("\n\n")[1])

    model = None
    model_record: dict = {}
    if "ours" in methods:
        path, source = model_path(args.model)
        if path is None:
            print(f"SKIPPED ours: {source}\n(no shipped inpaint model yet? pass --model FILE.onnx)")
            methods.remove("ours")
        else:
            model = OnnxModel(path, device="cpu", threads=args.threads)
            if model.info.task != "inpaint" or model.info.input("mask") is None:
                sys.exit(f"{path} is a {model.info.task!r} model, not inpaint")
            model_record = {"file": str(path), "source": source, "checkpoint": checkpoint_of(model),
                            "model_config": model.info.extra.get("model_config")}
            print(f"ours: {path} ({source}; checkpoint step {model_record['checkpoint'].get('step')})")
    runners: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "telea": opencv_fill(cv2.INPAINT_TELEA, args.radius),
        "ns": opencv_fill(cv2.INPAINT_NS, args.radius),
    }
    if model is not None:
        runners["ours"] = ours_fill(model)

    results: dict[str, dict[str, dict[str, dict]]] = {}
    masks: dict[str, dict[str, dict]] = {}
    if args.reuse:
        earlier = json.loads(args.reuse.read_text())
        if earlier.get("seeds") != {k: s for k, (_, s) in AREAS.items()} or earlier.get("mask_style") != MASK_STYLE:
            sys.exit(f"--reuse: {args.reuse} used other masks (seeds {earlier.get('seeds')}, "
                     f"style {earlier.get('mask_style')})")
        results = reused_rows(earlier["results"], args.reuse)
        masks = earlier.get("masks", {})
        if not model_record and earlier.get("model"):
            model_record = {**earlier["model"], "reused_from": str(args.reuse)}

    loaded = {name: load_set(root, name, args.limit) for name in sets}
    picks = sheet_picks(sets, args.sheet, {name: len(images) for name, images in loaded.items()})
    sheet_area = SHEET_AREA if SHEET_AREA in areas else areas[-1]
    kept: dict[tuple[str, int], dict[str, np.ndarray]] = {}  # sheet images' outputs, so none is run twice
    for set_name, images in loaded.items():
        for area in areas:
            cases = []
            for index, (name, clean) in enumerate(images):
                mask = mask_for(clean, area, index)
                hole = mask > 127
                holed = clean.copy()
                holed[hole] = 0
                cases.append((name, clean, mask, hole, holed))
            fractions = {name: float(hole.mean()) for name, _, _, hole, _ in cases}
            earlier_masks = masks.get(set_name, {}).get(area, {}).get("hole_fraction", {})
            if any(abs(earlier_masks[n] - f) > 1e-12 for n, f in fractions.items() if n in earlier_masks):
                sys.exit(f"--reuse: the masks of {set_name} {area}% differ from the reused run")
            fractions = {**earlier_masks, **fractions}  # a reused run's images stay listed
            masks.setdefault(set_name, {})[area] = {
                "area": list(AREAS[area][0]), "seed": AREAS[area][1],
                "hole_fraction_mean": float(np.mean(list(fractions.values()))), "hole_fraction": fractions}
            row = results.setdefault(set_name, {}).setdefault(area, {})
            for method in methods:
                started = time.perf_counter()
                per_image = {}
                for index, (name, clean, mask, hole, holed) in enumerate(cases):
                    result = composite(runners[method](holed, mask), holed, hole)
                    assert np.array_equal(result[~hole], clean[~hole])  # unmasked pixels are the input's
                    per_image[name] = score(result, clean, hole)
                    if area == sheet_area and index in picks[set_name]:
                        kept.setdefault((set_name, index), {})[method] = result
                row[method] = {
                    **{key: float(np.mean([v[key] for v in per_image.values()])) for key in ("psnr", "ssim", "psnr_hole")},
                    "images": len(per_image),
                    "hole_fraction_mean": float(np.mean([hole.mean() for _, _, _, hole, _ in cases])),
                    "seconds_per_image": (time.perf_counter() - started) / len(cases),
                    **({"radius": args.radius} if method in ("telea", "ns") else {}),
                    "per_image": per_image,
                }
            print(f"{set_name:<8} {area}%: {measured_line(row)}", flush=True)

    # table: one line per set and range, one column per method: PSNR dB / SSIM / hole-only PSNR dB
    print()
    columns = methods_present(results, ALL_METHODS)
    header = f"{'set':<8} {'holes':>6} {'mean':>5}  " + "  ".join(f"{m + ' psnr/ssim (hole) [n]':>30}" for m in columns)
    print(header)
    print("-" * len(header))
    for set_name, rows in results.items():
        for area in [a for a in AREAS if a in rows]:
            row = rows[area]
            fraction = masks.get(set_name, {}).get(area, {}).get("hole_fraction_mean", float("nan"))
            cells = "  ".join(
                (f"{row[m]['psnr']:.2f}/{row[m]['ssim']:.4f} ({row[m]['psnr_hole']:.2f}) "
                 f"[{row[m]['images']}]{'*' if 'reused_from' in row[m] else ''}" if m in row else "-").rjust(30)
                for m in columns)
            print(f"{set_name:<8} {area + '%':>6} {fraction:>5.1%}  {cells}")
    print("[n]: images scored; holes composited (unmasked pixels = input), so all differences come from the holes")
    if any_reused(results):
        print(f"*: measured by an earlier run ({args.reuse}), rows marked reused_from in the JSON")

    bar: dict[str, dict] = {}
    for set_name in SETS:
        for area in AREAS:
            row = results.get(set_name, {}).get(area, {})
            if "ours" not in row:
                continue
            # the baselines on exactly the images ours was scored on (a reused full run serves a --limit run)
            names = set(row["ours"]["per_image"])
            baselines = {m: {key: float(np.mean([row[m]["per_image"][n][key] for n in names])) for key in ("psnr", "ssim")}
                         for m in ("telea", "ns") if m in row and names <= set(row[m]["per_image"])}
            entry: dict = {"ours_psnr": row["ours"]["psnr"], "ours_ssim": row["ours"]["ssim"], "images": len(names)}
            if len(baselines) < 2:
                entry.update(passed=False, note="telea and ns not both measured on the images ours was scored on")
            else:
                best = max(baselines, key=lambda m: baselines[m]["psnr"])
                best_ssim = max(v["ssim"] for v in baselines.values())
                entry.update(best_baseline=best, baseline_best_psnr=baselines[best]["psnr"],
                             needed_psnr=baselines[best]["psnr"] + BAR_DB,
                             baseline_best_ssim=best_ssim,
                             passed=bool(row["ours"]["psnr"] >= baselines[best]["psnr"] + BAR_DB
                                         and row["ours"]["ssim"] > best_ssim))
            bar[f"{set_name} {area}"] = entry
    full = {name: len(list((root / "test" / name).glob("*.png"))) for name in SETS}
    complete = len(bar) == len(SETS) * len(AREAS) and all(e["images"] == full[key.split()[0]]
                                                           for key, e in bar.items())
    if bar:
        print(f"\nbar (ours PSNR >= best(telea, ns) + {BAR_DB} dB and SSIM above both, every range, both sets):")
        for key, entry in bar.items():
            if "needed_psnr" in entry:
                print(f"  {key:<15} {entry['ours_psnr']:.2f} dB / {entry['ours_ssim']:.4f}  needed >= "
                      f"{entry['needed_psnr']:.2f} dB ({entry['best_baseline']} + {BAR_DB}) / > "
                      f"{entry['baseline_best_ssim']:.4f}  {'PASS' if entry['passed'] else 'FAIL'}")
            else:
                print(f"  {key:<15} {entry['note']}")
        verdict = all(e["passed"] for e in bar.values()) and complete
        print(f"  overall: {'PASS' if verdict else 'FAIL'}"
              f"{'' if complete else ' (not every set and range measured on the full sets)'}")
    else:
        verdict = None
        print("\nbar: not evaluated (ours not measured)")

    if kept:
        rows_out = []
        for (set_name, index), outputs in sorted(kept.items(), key=lambda item: (sets.index(item[0][0]), item[0][1])):
            name, clean = loaded[set_name][index]
            mask = mask_for(clean, sheet_area, index)
            hole = mask > 127
            shown = clean.copy()
            shown[hole] = HOLE_COLOR
            cells = [cell(shown, f"{set_name}/{name} {hole.mean():.0%} holes")]
            telea = outputs.get("telea")
            if telea is None:  # not among --methods: cheap, made for the sheet only
                holed = clean.copy()
                holed[hole] = 0
                telea = composite(runners["telea"](holed, mask), holed, hole)
            cells.append(cell(telea, f"Telea {psnr(telea, clean):.2f} dB"))
            if "ours" in outputs:
                cells.append(cell(outputs["ours"], f"ours {psnr(outputs['ours'], clean):.2f} dB"))
            cells.append(cell(clean, "ground truth"))
            rows_out.append(cells)
        write_sheet(rows_out, RESULTS / "inpaint_sheet.png")

    save(args.name, {
        "protocol": "fixed free-form masks per image and area range (imgrestore.masks, seeds below, index = place "
                    "in the sorted set); holes zeroed in the input; every output 8-bit RGB composited with the "
                    "input's unmasked pixels; PSNR dB / SSIM on the whole RGB image (data range 255); psnr_hole "
                    "over the hole pixels only",
        "seeds": {k: s for k, (_, s) in AREAS.items()},
        "mask_style": MASK_STYLE,
        "radius": args.radius,
        "model": model_record,
        "bar": {"rule": f"ours psnr >= max(telea, ns) psnr + {BAR_DB} dB and ours ssim > max(telea, ns) ssim, "
                        "every area range, CBSD68 and Kodak24",
                "passed": verdict, "complete": complete if bar else False, "cells": bar},
        "masks": masks,
        "results": results,
    })


if __name__ == "__main__":
    main()
