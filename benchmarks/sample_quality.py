"""Quality of the shipped sampling models, scored by our own evaluator (weights/sample/
evaluator-*.safetensors, a classifier trained on the real training images):

  accuracy     the classifier on the real test images (bars: ≥ 98% MNIST, ≥ 90% Fashion-MNIST)
  floor        Fréchet distance between the real training and the real test images, in the
               classifier's penultimate features: what a perfect generator would score
  per model    10,000 samples through onnxruntime (seed 0): Fréchet distance to the real test
               images, the fraction classified with probability ≥ 0.9, the share of each class

The MNIST bar: the DCGAN has ≥ 90% confident samples (over the samples of --confidence-seeds,
0, 1 and 2 by default, together), every class between 7% and 13% on each of those seeds, a
Fréchet distance below the VAE's and within 10× the floor. Fashion-MNIST: the DCGAN beats the VAE.

    python benchmarks/sample_quality.py [--sets digits fashion] [--samples 10000] [--truncation 1.0]
                                        [--confidence-seeds 0 1 2]

Reads ../shared/data/digits/mnist_10k.npz and /usr/share/datasets/fashion-mnist (the Debian
package dataset-fashion-mnist); a set that is absent is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, RESULTS, save  # noqa: E402

import imgrestore  # noqa: E402
from imgrestore.training.image_sets import FASHION_MNIST, load_image_set  # noqa: E402
from imgrestore_sample.evaluator import (  # noqa: E402
    Evaluator, FeatureStatistics, SampleScore, frechet_distance, shipped_evaluator)

SETS = {
    "digits": (REPO.parent / "shared" / "data" / "digits" / "mnist_10k.npz", 0.98),
    "fashion": (FASHION_MNIST, 0.90),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=sorted(SETS))
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--confidence-seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="the MNIST DCGAN's confidence bar is scored over these seeds' samples together, as "
                             "tests/test_quality_sample.py does: on 10,000 samples one seed moves it by about "
                             "±0.3 points, enough to meet a bar by chance")
    parser.add_argument("--truncation", type=float, default=None, help="also score the DCGAN with this truncation")
    parser.add_argument("--model", action="append", default=[], metavar="SET=KIND=FILE.onnx",
                        help="score this .onnx instead of the shipped one, e.g. digits=dcgan=run.onnx")
    args = parser.parse_args()
    overrides = {tuple(item.split("=")[:2]): item.split("=", 2)[2] for item in args.model}

    results: dict[str, dict] = {}
    for set_name in args.sets:
        path, accuracy_bar = SETS[set_name]
        if not path.exists():
            print(f"SKIPPED {set_name}: {path} not found")
            continue
        data = load_image_set(path)
        evaluator = Evaluator(shipped_evaluator(data.name))
        train_features, _ = evaluator.embed(data.train_images)
        test_features, test_probabilities = evaluator.embed(data.test_images)
        test = FeatureStatistics.of(test_features)
        accuracy = float((test_probabilities.argmax(1) == data.test_labels).mean())
        floor = frechet_distance(FeatureStatistics.of(train_features), test)
        row: dict[str, object] = {"accuracy": round(accuracy, 4), "accuracy_bar": accuracy_bar,
                                  "floor": round(floor, 3), "train_images": len(data.train_images),
                                  "test_images": len(data.test_images), "models": {}}
        print(f"{set_name}: classifier test accuracy {accuracy:.2%} (bar {accuracy_bar:.0%}); "
              f"Fréchet floor (real train vs real test) {floor:.3f}")
        runs = [("dcgan", None), ("vae", None)] + ([("dcgan", args.truncation)] if args.truncation else [])
        for kind, truncation in runs:
            model = overrides.get((set_name, kind), f"{kind}-{set_name}")
            score = score_samples(evaluator, test, model, args.samples, args.seed, truncation)
            label = kind if truncation is None else f"{kind} truncation {truncation:g}"
            row["models"][label] = {"model": model, **score.as_dict(), "ratio_to_floor": round(score.frechet / floor, 2)}
            print(f"  {label:<22} Fréchet {score.frechet:8.3f} ({score.frechet / floor:5.1f}× floor)  "
                  f"confident {score.confident:6.1%}  classes {min(score.class_shares):5.1%}..{max(score.class_shares):5.1%}")
        models = row["models"]
        gan, vae = models["dcgan"], models["vae"]
        checks = {"dcgan_below_vae": gan["frechet"] < vae["frechet"]}
        if set_name == "digits":
            by_seed = {seed: gan if seed == args.seed else
                       score_samples(evaluator, test, gan["model"], args.samples, seed).as_dict()
                       for seed in args.confidence_seeds}
            confident = {seed: score["confident"] for seed, score in by_seed.items()}
            shares = [share for score in by_seed.values() for share in score["class_shares"]]
            gan["confident_by_seed"] = {str(seed): round(share, 4) for seed, share in confident.items()}
            gan["confident_mean_of_seeds"] = round(sum(confident.values()) / len(confident), 4)
            gan["class_range_over_seeds"] = [min(shares), max(shares)]
            print(f"  dcgan confident by seed {', '.join(f'{seed}: {share:.2%}' for seed, share in confident.items())}; "
                  f"over all {gan['confident_mean_of_seeds']:.2%} (the bar's figure); classes on every seed "
                  f"{min(shares):.1%}..{max(shares):.1%}")
            checks.update({"accuracy": accuracy >= accuracy_bar, "confident_90": gan["confident_mean_of_seeds"] >= 0.9,
                           "classes_7_13": all(0.07 <= share <= 0.13 for share in shares),
                           "within_10x_floor": gan["frechet"] <= 10 * floor})
        else:
            checks["accuracy"] = accuracy >= accuracy_bar
        row["bars"] = checks
        print("  bars: " + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in checks.items()))
        results[set_name] = row
    if results:
        save("sample_quality", {"samples": args.samples, "seed": args.seed,
                                "confidence_seeds": args.confidence_seeds, "sets": {**_earlier_sets(), **results}})


def score_samples(evaluator: Evaluator, test: FeatureStatistics, model: str, count: int, seed: int,
                  truncation: float | None = None) -> SampleScore:
    """`count` samples of `model` from `seed`, through onnxruntime, scored against the real test images."""
    samples = imgrestore.sample_images(count=count, seed=seed, model=model, truncation=truncation, device="cpu",
                                       batch_size=500)
    return evaluator.score(samples.transpose(0, 3, 1, 2), test)


def _earlier_sets() -> dict[str, dict]:
    """The saved results of sets this run did not measure, marked as such, so that a machine
    without one data set (Fashion-MNIST is a Debian package) does not erase its figures."""
    path = RESULTS / "sample_quality.json"
    if not path.exists():
        return {}
    earlier = json.loads(path.read_text()).get("sets", {})
    return {name: {**row, "reused_from": row.get("reused_from", f"an earlier run of this benchmark ({path.name})")}
            for name, row in earlier.items()}


if __name__ == "__main__":
    main()
