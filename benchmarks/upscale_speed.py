"""Super-resolution speed: output megapixels per second of the shipped ×2/×3/×4 models through
onnxruntime vs PyTorch eager, and of bicubic enlargement (OpenCV INTER_CUBIC and our numpy
MATLAB-style `imresize`), on the same real-photo input. Medians of repeated runs, ratios measured in
the same run; on CPU, and on CUDA when both torch and onnxruntime see a GPU. Also the size of each
network: parameters and multiply-adds per output pixel (from the model_config in the ONNX metadata).

The bar: ×4 at 256×256 input through onnxruntime on CPU must produce ≥ 1 output megapixel per second.

    python benchmarks/upscale_speed.py [--size 256] [--repeats 7] [--scales 2,3,4] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root, median_seconds, model_file, save  # noqa: E402

from imgrestore.images import read_image  # noqa: E402
from imgrestore.plugins import get_registry  # noqa: E402
from imgrestore.resize import imresize  # noqa: E402
from imgrestore.runtime import OnnxModel  # noqa: E402
from imgrestore.weights import WeightsError, locate, weights_dir  # noqa: E402

SCALES = (2, 3, 4)
BAR_MP_PER_S = 1.0  # ×4, onnxruntime, CPU
SHIPPED_CHECKPOINT = "upscale/model.safetensors"


def photo_crop(root: Path, size: int) -> np.ndarray:
    """A size×size RGB uint8 centre crop of the first test photo large enough (Kodak24, then
    Set14), or of the first Kodak24 photo enlarged to cover it."""
    for folder in ("Kodak24", "Set14"):
        for path in sorted((root / "test" / folder).glob("*.png")):
            pixels = read_image(path).color
            if pixels.shape[2] == 3 and min(pixels.shape[:2]) >= size:
                top, left = (pixels.shape[0] - size) // 2, (pixels.shape[1] - size) // 2
                return np.ascontiguousarray(pixels[top : top + size, left : left + size])
    pixels = read_image(sorted((root / "test" / "Kodak24").glob("*.png"))[0]).color
    factor = size / min(pixels.shape[:2])
    big = cv2.resize(pixels, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
    return np.ascontiguousarray(big[:size, :size])


def model_path(model_dir: Path | None, scale: int) -> Path:
    """DIR/x{scale}.onnx with --model-dir, else the shipped upscale-x{scale}."""
    return model_file(f"upscale-x{scale}", None if model_dir is None else model_dir / f"x{scale}.onnx")


def checkpoint_path(given: Path | None, model_dir: Path | None, scale: int) -> Path | None:
    """The multi-scale training checkpoint for the torch eager runs: --checkpoint, else
    DIR/model.safetensors with --model-dir, else the shipped model's manifest `checkpoint`
    (weights/upscale/model.safetensors)."""
    if given is not None:
        return given
    if model_dir is not None:
        candidate = model_dir / "model.safetensors"
    else:
        try:
            candidate = weights_dir() / locate(f"upscale-x{scale}").record.get("checkpoint", SHIPPED_CHECKPOINT)
        except WeightsError:
            return None
    return candidate if candidate.is_file() else None


def network_size(session: OnnxModel, scale: int) -> dict[str, Any]:
    from imgrestore_upscale.model import multiply_adds_per_output_pixel

    config = session.info.extra.get("model_config", {})
    features, depth, channels = int(config["features"]), int(config["depth"]), session.info.channels
    # head + body + this scale's tail: what the single-scale ONNX file holds
    parameters = (9 * channels * features + features + depth * (9 * features * features + features)
                  + 9 * features * channels * scale * scale + channels * scale * scale)
    return {"model_config": config, "parameters": parameters,
            "multiply_adds_per_output_pixel": multiply_adds_per_output_pixel(features, depth, scale, channels)}


def model_speed(path: Path, checkpoint: Path | None, image: np.ndarray, scale: int, repeats: int, device: str,
                threads: int) -> dict[str, Any]:
    session = OnnxModel(path, device=device, threads=threads)
    if session.info.task != "upscale" or session.info.scale != scale:
        sys.exit(f"{path} is a {session.info.task!r} ×{session.info.scale} model, not upscale ×{scale}")
    batch = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32) / 255
    output_mp = batch.shape[2] * batch.shape[3] * scale * scale / 1e6
    ort_seconds = median_seconds(lambda: session.run({"image": batch}), repeats)
    checkpoint_info = json.loads(session.session.get_modelmeta().custom_metadata_map.get("imgrestore.checkpoint", "{}"))
    row: dict[str, Any] = {"file": str(path), "provider": session.provider, "checkpoint_step": checkpoint_info.get("step"),
                           **network_size(session, scale), "onnxruntime_mp_per_s": output_mp / ort_seconds}
    if checkpoint is not None:
        import torch

        from imgrestore.export import load_model

        model, _ = load_model(get_registry().task("upscale"), checkpoint)
        model.use_scale(scale)
        torch_device = torch.device("cuda" if device == "cuda" else "cpu")
        model = model.to(torch_device)
        x = torch.from_numpy(batch).to(torch_device)

        def eager() -> None:
            with torch.inference_mode():
                model(x)
            if torch_device.type == "cuda":
                torch.cuda.synchronize()

        torch_seconds = median_seconds(eager, repeats)
        row.update({"checkpoint": str(checkpoint), "torch_eager_mp_per_s": output_mp / torch_seconds,
                    "onnxruntime_over_torch": torch_seconds / ort_seconds})
    return row


def bicubic_speed(image: np.ndarray, scale: int, repeats: int) -> dict[str, float]:
    height, width = image.shape[:2]
    output_mp = height * width * scale * scale / 1e6
    opencv = median_seconds(lambda: cv2.resize(image, (width * scale, height * scale), interpolation=cv2.INTER_CUBIC),
                            repeats)
    matlab = median_seconds(lambda: imresize(image, scale), repeats)
    return {"opencv_cubic_mp_per_s": output_mp / opencv, "imresize_mp_per_s": output_mp / matlab}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256, help="input side (output is scale × size)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--scales", default=",".join(map(str, SCALES)))
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="use DIR/x2.onnx, x3.onnx, x4.onnx (and DIR/model.safetensors for torch) "
                             "instead of the shipped models")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="multi-scale training checkpoint for the torch eager runs "
                             f"[default: DIR/model.safetensors, or weights/{SHIPPED_CHECKPOINT}]")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for onnxruntime and torch (0 = theirs)")
    parser.add_argument("--name", default="upscale_speed")
    args = parser.parse_args()
    root = data_root()
    import onnxruntime
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    scales = [int(s) for s in args.scales.split(",")]
    image = photo_crop(root, args.size)
    devices = ["cpu"]
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers() and torch.cuda.is_available():
        devices.append("cuda")
    else:
        print("GPU: not measured (no CUDA device visible to both torch and onnxruntime)")

    load = os.getloadavg()[0]  # other work on the machine (a training run, say) slows every figure alike
    results: dict[str, Any] = {"input_size": f"{args.size}x{args.size}", "threads": args.threads,
                               "load_average_1min_at_start": load,
                               "torch_threads": torch.get_num_threads(), "models": {}, "bicubic": {}}
    for scale in scales:
        row = bicubic_speed(image, scale, args.repeats)
        results["bicubic"][f"x{scale}"] = row
        checkpoint = checkpoint_path(args.checkpoint, args.model_dir, scale)
        if checkpoint is None:
            print(f"×{scale} torch eager: not measured (no checkpoint: pass --checkpoint, or put "
                  "model.safetensors in --model-dir)")
        for device in devices:
            results["models"][f"x{scale}@{device}"] = model_speed(
                model_path(args.model_dir, scale), checkpoint, image, scale, args.repeats, device, args.threads)
        cpu = results["models"][f"x{scale}@cpu"]
        row["onnxruntime_cpu_over_opencv_time"] = row["opencv_cubic_mp_per_s"] / cpu["onnxruntime_mp_per_s"]
        row["onnxruntime_cpu_over_imresize_time"] = row["imresize_mp_per_s"] / cpu["onnxruntime_mp_per_s"]

    out = args.size
    print(f"\ninput {out}×{out} RGB photo crop; output megapixels per second (medians of {args.repeats}); "
          f"torch threads {torch.get_num_threads()}; load average at start {load:.2f} on {os.cpu_count()} CPUs")
    header = (f"{'scale':<5} {'device':<6} {'output':>11} {'params':>8} {'MAC/out px':>10} {'onnxruntime':>11} "
              f"{'torch':>7} {'ort/torch':>9} {'cv2 cubic':>9} {'imresize':>9}")
    print(header)
    print("-" * len(header))
    for scale in scales:
        bicubic = results["bicubic"][f"x{scale}"]
        for device in devices:
            row = results["models"][f"x{scale}@{device}"]
            torch_cells = (f"{row['torch_eager_mp_per_s']:>7.2f} {row['onnxruntime_over_torch']:>8.2f}×"
                           if "torch_eager_mp_per_s" in row else f"{'-':>7} {'-':>9}")
            print(f"×{scale:<4} {device:<6} {out * scale:>5}×{out * scale:<5} {row['parameters']:>8,} "
                  f"{row['multiply_adds_per_output_pixel']:>10,.0f} {row['onnxruntime_mp_per_s']:>11.2f} {torch_cells} "
                  f"{bicubic['opencv_cubic_mp_per_s']:>9.1f} {bicubic['imresize_mp_per_s']:>9.2f}")
    if 4 in scales:
        measured = results["models"]["x4@cpu"]["onnxruntime_mp_per_s"]
        passed = measured >= BAR_MP_PER_S
        results["bar"] = {"needed_mp_per_s": BAR_MP_PER_S, "x4_onnxruntime_cpu_mp_per_s": measured, "passed": passed,
                          "input_size": f"{args.size}x{args.size}"}
        print(f"\nbar: ×4 onnxruntime CPU {measured:.2f} output MP/s, needed >= {BAR_MP_PER_S:.1f}: "
              f"{'PASS' if passed else 'FAIL'}")
    save(args.name, results)


if __name__ == "__main__":
    main()
