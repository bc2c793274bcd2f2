"""Copy the measured quality of the shipped denoisers from benchmark JSON into weights/manifest.json."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SETS = {"denoise-gray": ("Set12", "BSD68"), "denoise-color": ("CBSD68", "Kodak24", "McMaster")}


def main() -> None:
    quality = json.loads((REPO / "benchmarks/results/denoise_quality.json").read_text())["results"]
    manifest_path = REPO / "weights/manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for name, sets in SETS.items():
        summary = {}
        for set_name in sets:
            for sigma, row in quality.get(set_name, {}).items():
                summary[f"{set_name} {sigma}"] = {
                    method: round(row[method]["psnr"], 2) for method in ("ours", "ours-blind", "ours-x8", "bm3d", "nlmeans", "dncnn-anchor")
                    if method in row
                }
        manifest["models"][name]["measured_psnr_db"] = summary
        manifest["models"][name]["measured_by"] = (
            "python benchmarks/denoise_quality.py (noise: float Gaussian, rounded and clipped to 8-bit, seed 0; "
            "'ours' with sigma given, 'ours-blind' with sigma estimated)")
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
