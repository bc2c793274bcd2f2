"""Export a training run into weights/ and record it in weights/manifest.json.

    python tools/publish_weights.py denoise-gray --task denoise --run runs/denoise-gray \
        --train-command "imgrestore train denoise ..." --data ../shared/data/train/Train400 ...

Writes weights/<task>/<file>.onnx (via `imgrestore export`, which checks parity) and copies the
checkpoint beside it; quality figures are added later by `--quality FILE.json`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from imgrestore.training.checkpoint import read_metadata  # noqa: E402
from imgrestore.weights import MANIFEST, sha256_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--task", required=True)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--checkpoint", default="last.safetensors")
    parser.add_argument("--file", help="file stem under weights/<task>/ [default: name minus task prefix]")
    parser.add_argument("--checkpoint-file", help="stem of the copied checkpoint [default: --file]; models "
                        "exported from one multi-scale checkpoint share it")
    parser.add_argument("--export-args", default="", help="extra `imgrestore export` options, e.g. '--scale 4'")
    parser.add_argument("--train-command", required=True)
    parser.add_argument("--data", nargs="+", required=True)
    parser.add_argument("--weights", type=Path, default=REPO / "weights")
    parser.add_argument("--quality", type=Path, help="JSON of measured quality to record")
    args = parser.parse_args()

    stem = args.file or args.name.removeprefix(args.task + "-")
    folder = args.weights / args.task
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / f"{stem}.onnx"
    checkpoint = args.run / args.checkpoint
    extra = args.export_args.split()
    export_command = ["imgrestore", "export", args.task, "--checkpoint", str(checkpoint), "-o", str(onnx_path), *extra]
    done = subprocess.run([sys.executable, "-m", "imgrestore", *export_command[1:]], capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr)
    print(done.stdout.strip())
    checkpoint_stem = args.checkpoint_file or stem
    shutil.copyfile(checkpoint, folder / f"{checkpoint_stem}.safetensors")
    metadata = read_metadata(checkpoint)
    exported = re.search(r"\(([\d,]+) parameters\)", done.stdout)

    manifest_path = args.weights / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"models": {}}
    assert exported, done.stdout
    parameters = int(exported.group(1).replace(",", ""))  # those in the exported ONNX model
    record = manifest["models"].get(args.name, {})
    record.update({
        "task": args.task,
        "file": f"{args.task}/{stem}.onnx",
        "sha256": sha256_of(onnx_path),
        "checkpoint": f"{args.task}/{checkpoint_stem}.safetensors",
        "checkpoint_sha256": sha256_of(folder / f"{checkpoint_stem}.safetensors"),
        "parameters": parameters,
        "model_config": metadata["model_config"],
        "steps": metadata.get("step"),
        "training_command": args.train_command,
        "export_command": " ".join(export_command[:3] + ["--checkpoint", f"{args.run}/{args.checkpoint}",
                                                        "-o", f"weights/{args.task}/{stem}.onnx", *extra]),
        "data": args.data,
        **{f"validation_{key[4:]}": value for key, value in metadata.items() if key.startswith("val_")},
    })
    if args.quality:
        record["quality"] = json.loads(args.quality.read_text())
    manifest["models"][args.name] = record
    manifest["models"] = dict(sorted(manifest["models"].items()))
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"recorded {args.name} in {manifest_path}")


if __name__ == "__main__":
    main()
