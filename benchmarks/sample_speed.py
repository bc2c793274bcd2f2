"""Sampling speed of the shipped generators: images per second through onnxruntime at several
batch sizes, against PyTorch eager on the same checkpoint in the same run (same threads), and
end to end (`imgrestore sample`'s pipeline: latents, model, PNG encoding, atomic writes).
Medians of repeated runs.

    python benchmarks/sample_speed.py [--batches 1 64 512] [--repeats 5] [--threads 2] [--end-to-end 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_seconds, save  # noqa: E402

import imgrestore  # noqa: E402
from imgrestore.generate import GenerateOptions, generate  # noqa: E402
from imgrestore.inference import TaskRunner  # noqa: E402
from imgrestore.runtime import OnnxModel  # noqa: E402
from imgrestore.sampling import latent_vectors  # noqa: E402
from imgrestore.weights import locate  # noqa: E402
from imgrestore_sample import MODELS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 512])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--end-to-end", type=int, default=2000, help="images written by the full pipeline")
    args = parser.parse_args()

    import torch

    from imgrestore.export import load_model

    torch.set_num_threads(args.threads)
    spec = imgrestore.load_task("sample")
    rows: dict[str, dict] = {}
    for name in MODELS:
        entry = locate(name)
        onnx_model = OnnxModel(entry.file, device=args.device, threads=args.threads)
        torch_model, _ = load_model(spec, entry.file.parent / entry.record["checkpoint"].split("/")[-1])
        device = torch.device("cuda" if args.device == "cuda" else "cpu")
        torch_model.to(device)
        dim = entry.record["model_config"]["latent_dim"]
        rows[name] = {"provider": onnx_model.provider, "batches": {}}
        for batch in args.batches:
            latents = latent_vectors(0, range(batch), dim)
            on_torch = torch.from_numpy(latents).to(device)

            def eager() -> None:
                with torch.no_grad():
                    torch_model(on_torch).cpu()

            ort_seconds = median_seconds(lambda: onnx_model.run({"latent": latents}), repeats=args.repeats)
            torch_seconds = median_seconds(eager, repeats=args.repeats)
            rows[name]["batches"][str(batch)] = {
                "onnxruntime_images_per_s": round(batch / ort_seconds, 1),
                "torch_images_per_s": round(batch / torch_seconds, 1),
                "speedup_vs_torch": round(torch_seconds / ort_seconds, 2),
            }
            print(f"{name:<14} batch {batch:>4}: onnxruntime {batch / ort_seconds:9.0f} img/s, torch eager "
                  f"{batch / torch_seconds:9.0f} img/s ({torch_seconds / ort_seconds:.2f}×)")
        if args.end_to_end:
            runner = TaskRunner(spec, {}, model=name, device=args.device)
            with tempfile.TemporaryDirectory() as scratch:
                summary = generate(runner, Path(scratch), GenerateOptions(count=args.end_to_end, batch_size=256))
            rows[name]["end_to_end_images_per_s"] = round(summary.written / summary.seconds, 1)
            print(f"{name:<14} end to end ({args.end_to_end} PNGs written): {summary.written / summary.seconds:.0f} img/s")
    save("sample_speed", {"threads": args.threads, "repeats": args.repeats, "device": args.device, "models": rows})


if __name__ == "__main__":
    main()
