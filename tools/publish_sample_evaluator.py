"""Ship a trained classifier as the sampling task's evaluator for one data set.

    python tools/publish_sample_evaluator.py ../shared/data/digits/mnist_10k.npz --run runs/classifier-digits \
        --train-command "imgrestore train sample --network classifier ..."

Measures its accuracy on the set's test split, writes the feature statistics of the real train
and test images (so samples can be scored without the images), copies the checkpoint to
weights/sample/ and records both in the "evaluators" section of weights/manifest.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from imgrestore.training.checkpoint import read_metadata  # noqa: E402
from imgrestore.weights import MANIFEST, sha256_of  # noqa: E402
from imgrestore.training.image_sets import load_image_set  # noqa: E402
from imgrestore_sample.evaluator import Evaluator, FeatureStatistics, evaluator_name, frechet_distance  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--checkpoint", default="last.safetensors")
    parser.add_argument("--train-command", required=True)
    parser.add_argument("--weights", type=Path, default=REPO / "weights")
    args = parser.parse_args()

    data = load_image_set(args.data)
    checkpoint = args.run / args.checkpoint
    evaluator = Evaluator(checkpoint)
    train_features, _ = evaluator.embed(data.train_images)
    test_features, test_probabilities = evaluator.embed(data.test_images)
    accuracy = float((test_probabilities.argmax(1) == data.test_labels).mean())
    stats = {"train": FeatureStatistics.of(train_features), "test": FeatureStatistics.of(test_features)}
    floor = frechet_distance(stats["train"], stats["test"])

    folder = args.weights / "sample"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"evaluator-{data.name}"
    shutil.copyfile(checkpoint, folder / f"{stem}.safetensors")
    arrays = {}
    for split, value in stats.items():
        arrays.update({f"{split}_mean": value.mean.astype(np.float64), f"{split}_covariance": value.covariance,
                       f"{split}_count": np.array(value.count)})
    np.savez_compressed(folder / f"{stem}.stats.npz", **arrays)

    metadata = read_metadata(checkpoint)
    manifest_path = args.weights / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest.setdefault("evaluators", {})[evaluator_name(data.name)] = {
        "task": "sample",
        "file": f"sample/{stem}.safetensors",
        "sha256": sha256_of(folder / f"{stem}.safetensors"),
        "statistics": f"sample/{stem}.stats.npz",
        "statistics_sha256": sha256_of(folder / f"{stem}.stats.npz"),
        "parameters": sum(p.numel() for p in evaluator.model.parameters()),
        "model_config": metadata["model_config"],
        "steps": metadata.get("step"),
        "training_command": args.train_command,
        "data": [str(args.data)],
        "split": f"train {len(data.train_images)} / test {len(data.test_images)} images",
        "test_accuracy": round(accuracy, 4),
        "frechet_train_vs_test": round(floor, 4),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{evaluator_name(data.name)}: test accuracy {accuracy:.4f}, Fréchet train vs test {floor:.4f}")


if __name__ == "__main__":
    main()
