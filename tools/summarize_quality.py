"""Copy the measured quality of shipped models from benchmark JSON into weights/manifest.json.

    python tools/summarize_quality.py            # every task whose benchmark results exist
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
DENOISE_SETS = {"denoise-gray": ("Set12", "BSD68"), "denoise-color": ("CBSD68", "Kodak24", "McMaster")}


DENOISE_METHODS = ("ours", "ours-blind", "ours-x8", "ours-x8-blind", "bm3d", "nlmeans", "dncnn-anchor")


def ensemble_rows(rows: dict[str, Any], plain: dict[str, Any], where: str) -> dict[str, Any]:
    """The `-x8` rows of one set and sigma, refused when their noisy input differs from the plain
    run's (another seed or protocol would make the two rows incomparable)."""
    if not rows:
        return {}
    if abs(rows["noisy"]["psnr"] - plain["noisy"]["psnr"]) > 1e-9:
        raise SystemExit(f"denoise_quality_x8.json {where}: noisy input differs from denoise_quality.json's")
    return {method: row for method, row in rows.items() if method.startswith("ours-x8")}


def denoise(models: dict[str, Any]) -> None:
    """The rows of denoise_quality.json, with the self-ensemble rows (`--ensemble`, 8 times the
    time, measured on fewer sets) of denoise_quality_x8.json added where it has them."""
    quality = json.loads((RESULTS / "denoise_quality.json").read_text())["results"]
    ensemble_file = RESULTS / "denoise_quality_x8.json"
    ensemble = json.loads(ensemble_file.read_text())["results"] if ensemble_file.exists() else {}
    for name, sets in DENOISE_SETS.items():
        summary = {}
        for set_name in sets:
            for sigma, row in quality.get(set_name, {}).items():
                row = {**row, **ensemble_rows(ensemble.get(set_name, {}).get(sigma, {}), row, f"{set_name} {sigma}")}
                summary[f"{set_name} {sigma}"] = {
                    method: round(row[method]["psnr"], 2) for method in DENOISE_METHODS if method in row
                }
        models[name]["measured_psnr_db"] = summary
        models[name]["measured_by"] = (
            "python benchmarks/denoise_quality.py (noise: float Gaussian, rounded and clipped to 8-bit, seed 0; "
            "'ours' with sigma given, 'ours-blind' with sigma estimated; '-x8' rows, where measured, with --ensemble, "
            "from benchmarks/results/denoise_quality_x8.json)")


def upscale(models: dict[str, Any]) -> None:
    report = json.loads((RESULTS / "upscale_quality.json").read_text())
    for scale in (2, 3, 4):
        name = f"upscale-x{scale}"
        if name not in models:
            continue
        summary = {}
        for set_name, rows in report["results"].items():
            row = rows.get(f"x{scale}", {})
            summary[set_name] = {method: {"psnr": round(v["psnr"], 2), "ssim": round(v["ssim"], 4)}
                                 for method, v in row.items()}
        models[name]["measured_y_psnr_ssim"] = summary
        models[name]["measured_by"] = (
            "python benchmarks/upscale_quality.py (MATLAB-bicubic LR; Y-PSNR/SSIM on BT.601 luma, border = scale)")


def inpaint(models: dict[str, Any]) -> None:
    report = json.loads((RESULTS / "inpaint_quality.json").read_text())
    models["inpaint"]["measured_psnr_ssim"] = {
        set_name: {area: {method: {"psnr": round(v["psnr"], 2), "ssim": round(v["ssim"], 4)} for method, v in row.items()}
                   for area, row in areas.items()}
        for set_name, areas in report["results"].items()}
    models["inpaint"]["measured_by"] = (
        "python benchmarks/inpaint_quality.py (seeded free-form masks per area range; whole-image RGB PSNR/SSIM, "
        "holes composited; telea/ns = cv2.inpaint radius 5)")


def reconstruct(models: dict[str, Any]) -> None:
    report = json.loads((RESULTS / "reconstruct_quality.json").read_text())
    for name, conditions in (("reconstruct-denoise", ("sigma15", "sigma25", "sigma50")), ("reconstruct-fill", ("missing50",))):
        models[name]["measured_psnr_db_seconds"] = {
            f"Set12 {condition}": {method: {"psnr": round(row["psnr"], 2),
                                            **{k: round(row[k], 2) for k in ("seconds", "images") if k in row}}
                                   for method, row in report["results"][condition].items()}
            for condition in conditions if condition in report["results"]}
        models[name]["measured_by"] = "python benchmarks/reconstruct_quality.py (Set12; seconds summed over the 12 images)"


def main() -> None:
    manifest_path = REPO / "weights/manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if (RESULTS / "denoise_quality.json").exists():
        denoise(manifest["models"])
    if (RESULTS / "upscale_quality.json").exists():
        upscale(manifest["models"])
    if (RESULTS / "inpaint_quality.json").exists() and "inpaint" in manifest["models"]:
        inpaint(manifest["models"])
    if (RESULTS / "reconstruct_quality.json").exists() and "reconstruct-denoise" in manifest["models"]:
        reconstruct(manifest["models"])
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
