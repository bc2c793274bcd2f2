"""Denoising speed: onnxruntime vs PyTorch eager on the same inputs, and the folder pipeline vs
decoding + encoding alone. Medians of repeated runs, ratios measured in the same run.

    python benchmarks/denoise_speed.py [--size 512] [--repeats 7] [--folder-set CBSD68]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root, median_seconds, save  # noqa: E402

from imgrestore.batch import BatchOptions, run_jobs  # noqa: E402
from imgrestore.images import read_image, write_image  # noqa: E402
from imgrestore.inference import TaskRunner  # noqa: E402
from imgrestore.jobs import plan_jobs  # noqa: E402
from imgrestore.plugins import get_registry  # noqa: E402
from imgrestore.runtime import OnnxModel  # noqa: E402
from imgrestore.weights import locate, weights_dir  # noqa: E402


def model_speed(name: str, size: int, repeats: int, device: str) -> dict[str, float]:
    import torch

    from imgrestore.export import load_model

    entry = locate(name)
    session = OnnxModel(entry.file, device=device)
    channels = session.info.channels
    rng = np.random.default_rng(0)
    image = rng.random((1, channels, size, size), dtype=np.float32)
    sigma = np.array([[25 / 255]], np.float32)
    ort_seconds = median_seconds(lambda: session.run({"image": image, "sigma": sigma}), repeats)

    torch_device = torch.device("cuda" if device == "cuda" else "cpu")
    model, _ = load_model(get_registry().task("denoise"), weights_dir() / entry.record["checkpoint"])
    model = model.to(torch_device)
    x, s = torch.from_numpy(image).to(torch_device), torch.from_numpy(sigma).to(torch_device)

    def eager() -> None:
        with torch.inference_mode():
            model(x, s)
        if torch_device.type == "cuda":
            torch.cuda.synchronize()

    torch_seconds = median_seconds(eager, repeats)
    megapixels = size * size / 1e6
    return {
        "provider": session.provider,
        "onnxruntime_mp_per_s": megapixels / ort_seconds,
        "torch_eager_mp_per_s": megapixels / torch_seconds,
        "onnxruntime_over_torch": torch_seconds / ort_seconds,
    }


def pipeline_speed(folder: Path, workers: int, batch_size: int) -> dict[str, float]:
    plan = plan_jobs(folder, Path("unused"))
    megapixels = sum(np.prod(read_image(job.source).size) for job in plan.jobs) / 1e6
    scratch = Path(tempfile.mkdtemp())
    try:
        def decode_encode() -> None:
            def one(job):
                write_image(scratch / "io" / job.source.name, read_image(job.source))

            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(one, plan.jobs))

        io_seconds = median_seconds(decode_encode, repeats=3)
        runner = TaskRunner(get_registry().task("denoise"), {"sigma": 25.0})
        jobs = plan_jobs(folder, scratch / "out").jobs
        options = BatchOptions(batch_size=batch_size, workers=workers)
        run_jobs(runner, jobs[:4], options)  # load sessions before timing
        times = []
        for _ in range(3):
            start = time.perf_counter()
            summary = run_jobs(runner, jobs, options)
            times.append(time.perf_counter() - start)
            assert summary.failed == 0
        pipeline_seconds = float(np.median(times))
    finally:
        shutil.rmtree(scratch)
    return {"images": len(plan.jobs), "megapixels": megapixels,
            "decode_encode_mp_per_s": megapixels / io_seconds,
            "pipeline_mp_per_s": megapixels / pipeline_seconds,
            "pipeline_over_decode_encode_time": pipeline_seconds / io_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--folder-set", default="CBSD68")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()
    root = data_root()
    import onnxruntime
    import torch

    devices = ["cpu"]
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers() and torch.cuda.is_available():
        devices.append("cuda")
    else:
        print("GPU: not measured (no CUDA device visible to both torch and onnxruntime)")
    results: dict[str, object] = {"size": args.size, "models": {}}
    for device in devices:
        for name in ("denoise-gray", "denoise-color"):
            row = model_speed(name, args.size, args.repeats, device)
            results["models"][f"{name}@{device}"] = row  # type: ignore[index]
            print(f"{name:<14} {device}: onnxruntime {row['onnxruntime_mp_per_s']:.2f} MP/s, torch eager "
                  f"{row['torch_eager_mp_per_s']:.2f} MP/s at {args.size}×{args.size}: "
                  f"onnxruntime/torch = {row['onnxruntime_over_torch']:.2f}×", flush=True)
    folder = root / "test" / args.folder_set
    row = pipeline_speed(folder, args.workers, args.batch_size)
    results["pipeline"] = row
    print(f"pipeline on {args.folder_set} ({row['images']} images, {row['megapixels']:.1f} MP, sigma 25 given): "
          f"{row['pipeline_mp_per_s']:.2f} MP/s; decode+encode alone {row['decode_encode_mp_per_s']:.2f} MP/s")
    save("denoise_speed", results)


if __name__ == "__main__":
    main()
