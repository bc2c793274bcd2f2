"""Style transfer by optimisation (Gatys et al. 2016): the image itself is optimised.

Starting from the content image, L-BFGS (as in the paper) minimises the same content + style +
total-variation loss the fast networks are trained on, for any style image and with no training,
at the cost of a feature-network forward and backward per function evaluation.

L-BFGS runs with a strong-Wolfe line search. Without one (a fixed step of 1, as in
jcjohnson/neural-style) it can diverge: on udnie and golden_gate at 192 px the same 300 steps
ended at style loss 0.054 with two torch threads and 0.388 (content 0.74, a ruined image) with
one, as rounding differed. With the line search both thread counts reach 0.046 (within 1%).
`imgrestore stylize --method optimize` runs it through the usual batch pipeline (errors per file,
atomic writes, 16-bit, alpha and gray kept) via OptimizeEngine, which stands in for an ONNX model.
This is the one inference path that needs torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from imgrestore.runtime import InputInfo, ModelInfo
from imgrestore_stylize.images import as_batch, fit_long_side
from imgrestore_stylize.losses import DEFAULT_WEIGHTS, Losses, PerceptualLoss, loss_weights, perceptual_loss


LINE_SEARCH = "strong_wolfe"


def optimize_image(perceptual: PerceptualLoss, content: torch.Tensor, iterations: int = 300,
                   weights: dict[str, float] | None = None) -> tuple[torch.Tensor, Losses]:
    """1×3×H×W content (RGB 0..1) -> (the stylized image, its losses) after `iterations` L-BFGS
    iterations (strong-Wolfe line search, at most 1.25 function evaluations per iteration on
    average: torch's default budget)."""
    weights = weights or DEFAULT_WEIGHTS
    target = perceptual.content_activation(content)
    image = content.clone().requires_grad_(True)

    def objective() -> torch.Tensor:
        return perceptual(image, target).total(**weights).sum()

    lbfgs = torch.optim.LBFGS([image], lr=1.0, max_iter=iterations, history_size=50,
                              tolerance_grad=0.0, tolerance_change=0.0, line_search_fn=LINE_SEARCH)

    def closure() -> torch.Tensor:
        with torch.no_grad():
            image.clamp_(0, 1)
        lbfgs.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    lbfgs.step(closure)
    with torch.no_grad():
        image.clamp_(0, 1)
        return image.detach(), perceptual(image, target)


class OptimizeEngine:
    """The batch pipeline's "model" for --method optimize: each image is shrunk to the working
    size (--optimize-size, long side) and optimised there; the task's `finish` enlarges the
    result back to the picture's size, once, as it does after --working-size."""

    def __init__(self, options: dict[str, Any], device: str = "auto") -> None:
        if not options.get("style_image"):
            raise ValueError("--method optimize needs the painting: --style-image FILE")
        threads = int(options.get("threads") or 0)
        if threads:
            torch.set_num_threads(threads)
        self.options = options
        use_cuda = device in ("cuda", "tensorrt") or (device == "auto" and torch.cuda.is_available())
        self.torch_device = torch.device("cuda" if use_cuda else "cpu")
        self.perceptual = perceptual_loss(options).to(self.torch_device)
        self.info = ModelInfo(task="stylize", inputs=(InputInfo("image", "image"),), output="stylized", channels=3,
                              extra={"method": "optimize"})
        self.path = Path(options["style_image"])  # what `-v` reports as the "model"
        self.provider = (f"torch L-BFGS optimisation on {self.torch_device.type}"
                         + ("" if use_cuda else f", {torch.get_num_threads()} threads"))
        self.device_label = f"{self.torch_device.type} (torch)"

    def default_tile(self) -> int:
        return 1 << 30  # never tiled: the image is optimised whole at the working size

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        return np.stack([self.run_image({name: value[i] for name, value in batch.items()})
                         for i in range(len(batch["image"]))])

    def run_image(self, inputs: dict[str, np.ndarray], tile: int | None = None, batch_size: int = 1) -> np.ndarray:
        work = fit_long_side(inputs["image"].transpose(1, 2, 0), int(self.options.get("optimize_size") or 512))
        result, _ = optimize_image(self.perceptual, torch.from_numpy(as_batch(work)).to(self.torch_device),
                                   iterations=int(self.options.get("iterations") or 300),
                                   weights=loss_weights(self.options))
        return result[0].cpu().numpy()

