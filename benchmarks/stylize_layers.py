"""Where the fast style networks fall short of the optimisation method: the style loss of
benchmarks/stylize_quality.py taken apart by VGG16 layer, on one photo.

The style loss is the mean over relu1_2, relu2_2, relu3_3 and relu4_3 of the relative error of
each layer's Gram matrix. For the fast network (the shipped ONNX, onnxruntime on CPU) and for 300
L-BFGS iterations of `--method optimize` on the same photo, this prints each layer's error, and
two numbers that say what kind of error it is:
  norm    ‖G(output)‖ / ‖G(painting)‖: 1 = the output has as much texture energy as the painting
  cosine  of the angle between G(output) and G(painting): 1 = the same mix of features
So a layer with norm near 1 and a low cosine has the energy but paints the wrong patterns.

    python benchmarks/stylize_layers.py [--styles shipwreck] [--photo golden_gate] [--size 128]

Writes benchmarks/results/stylize_layers.json. About 3 minutes per style on 2 cores at 128 px
(measured with a training run sharing them; the 300 iterations are most of it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch only when the benchmark runs, as elsewhere in benchmarks/
    import torch

    from imgrestore_stylize.losses import PerceptualLoss

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root, save  # noqa: E402

import imgrestore  # noqa: E402
from imgrestore.images import to_uint8  # noqa: E402


def layer_rows(perceptual: "PerceptualLoss", image: "torch.Tensor") -> dict[str, dict[str, float]]:
    """Per style layer of a 1×3×H×W image: relative Gram error, norm ratio and cosine against the painting."""
    import torch

    from imgrestore_stylize.losses import STYLE_LAYERS, gram

    with torch.no_grad():
        activations = perceptual.features(image)
        errors = perceptual.style_by_layer(activations)[:, 0]
        rows = {}
        for name, error in zip(STYLE_LAYERS, errors):
            output, painting = gram(activations[name])[0], perceptual.painting_gram(name)[0]
            rows[name] = {"error": round(float(error), 4),
                          "norm": round(float(output.norm() / painting.norm()), 3),
                          "cosine": round(float((output * painting).sum() / output.norm() / painting.norm()), 3)}
    return rows


def main() -> None:
    import torch

    from imgrestore_stylize import PAINTINGS, STYLES
    from imgrestore_stylize.images import as_batch, read_rgb
    from imgrestore_stylize.losses import perceptual_loss
    from imgrestore_stylize.optimize import optimize_image

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--styles", nargs="+", choices=STYLES, default=list(STYLES))
    parser.add_argument("--photo", default="golden_gate", help="a photo of style/content, by name")
    parser.add_argument("--size", type=int, default=128, help="long side of the photo [128, as tests/test_quality_stylize.py]")
    parser.add_argument("--style-size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()

    data = data_root()
    features = data / "features" / "vgg16_hed.npz"
    photo = read_rgb(data / "style" / "content" / f"{args.photo}.jpg", args.size)
    content = torch.from_numpy(as_batch(photo))
    results = {}
    for style in args.styles:
        perceptual = perceptual_loss({"style_image": data / "style" / "styles" / PAINTINGS[style],
                                      "features": features, "style_size": args.style_size})
        fast = imgrestore.run("stylize", to_uint8(photo), style=style, device="cpu")
        fast_image = torch.from_numpy(as_batch(fast.astype(np.float32) / 255))
        optimized, _ = optimize_image(perceptual, content, iterations=args.iterations)
        results[style] = {"fast": layer_rows(perceptual, fast_image), "optimize": layer_rows(perceptual, optimized)}
        print(f"{style}: layer  fast error/norm/cosine   optimize error/norm/cosine")
        for layer, row in results[style]["fast"].items():
            other = results[style]["optimize"][layer]
            print(f"  {layer:<8} {row['error']:7.4f} {row['norm']:6.3f} {row['cosine']:6.3f}    "
                  f"{other['error']:7.4f} {other['norm']:6.3f} {other['cosine']:6.3f}", flush=True)
    save("stylize_layers", {"photo": args.photo, "size": args.size, "style_size": args.style_size,
                            "iterations": args.iterations, "feature_network": "HED VGG16 (features/vgg16_hed.npz)",
                            "styles": results})


if __name__ == "__main__":
    main()
