"""CycleGAN's training recipe (Zhu et al. 2017) on the core trainer: two phases per step.

  generators:     least-squares adversarial loss of both translations against both
                  discriminators, + λ_A·(cycle A→B→A + ½·identity G_B→A(a) ≈ a) L1
                  + λ_B·(cycle B→A→B + ½·identity G_A→B(b) ≈ b) L1 (the identity terms keep
                  colours and composition); λ_A = λ_B = λ = 10 in the paper;
                  (+ optionally, --off-edge-ink-weight: ink that G_A→B draws where its input has
                  no edge, for drawing domains; see _off_edge_ink)
  discriminators: least-squares real/fake loss, halved, on real images and on fakes drawn
                  from the history pool of 50.

Adam with lr 2e-4 and β₁ = 0.5, held for the first half of the steps, then decayed linearly to 0,
as in the paper (the recipe's training_defaults; the command line can override them). L1 is
taken on the paper's -1..1 scale, so λ = 10 means what it means there.

The defaults are sized for a CPU: generators of 32 features with 6 residual blocks (the
paper's 128 px network at half width, 1.9 M parameters each) on 128×128 crops, batch 1; the
discriminators are the paper's 70×70 PatchGAN.

Validation (every --validate-every steps) translates the held-out images of both domains there and
back and logs the cycle-reconstruction PSNR; <run>/samples/step_N.png shows, per domain, inputs,
translations and reconstructions. A CycleGAN's real quality needs a look at those sheets (or a
task-specific benchmark): a near-identity mapping also reconstructs well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from imgrestore.images import Picture, to_uint8, write_image
from imgrestore.metrics import psnr
from imgrestore.runtime import pad_to_multiple
from imgrestore.sampling import contact_sheet
from imgrestore.training.data import center_crop
from imgrestore.training.recipe import Batch, Evaluation, Phase, unwrap
from imgrestore_translate.domains import load_domain
from imgrestore_translate.networks import CycleGAN, Discriminators, build

SHEET_IMAGES = 6
SHEET_SIDE = 128


def _l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error on the -1..1 scale of the paper (images here are 0..1)."""
    return 2 * F.l1_loss(output.float(), target)


EDGE_STEP = 0.05
"""Sobel magnitude (normalised by 8: a step of height h gives 0.5·h beside it) at which a pixel counts
fully as an edge: a step of 0.1 (25 gray levels), so a silhouette or a fold counts, flat cloth or sky not."""


def edge_strength(images: torch.Tensor) -> torch.Tensor:
    """N×1×H×W in 0..1: how much each pixel of N×C×H×W 0..1 images lies on an edge (Sobel magnitude
    of their channel mean, over EDGE_STEP, capped at 1). A step edge lights the two pixels beside it."""
    gray = images.float().mean(1, keepdim=True)
    across = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=gray.device) / 8
    kernels = torch.stack([across, across.T])[:, None]
    gradients = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernels)
    return (gradients.square().sum(1, keepdim=True).sqrt() / EDGE_STEP).clamp(max=1.0)


def _off_edge_ink(drawing: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """Mean ink (1 - brightness) of a drawing where its source image has no edge.

    Why: an unpaired cycle cannot say *where* on an edge a line belongs. photo2outline's
    generators settled on lines about 2 px inside the silhouette (the true outlines straddle it),
    and the B→A generator on figures whose edge lies about 2 px further out than the true one (19%
    more area, on the true outlines of the training pairs): both cycles close, and no
    discriminator sees a photo and its outline together. This term pins lines to the edges of the
    photo they trace. It is one-sided: it never asks for a line at an edge, so it does not bring
    back the interior lines that --cycle-weight-a removes; the discriminator still decides which
    edges a drawing has."""
    ink = 1 - drawing.float().mean(1, keepdim=True)
    return (ink * (1 - edge_strength(source))).mean()


def _least_squares(scores: torch.Tensor, real: bool) -> torch.Tensor:
    return F.mse_loss(scores.float(), torch.full_like(scores, 1.0 if real else 0.0, dtype=torch.float32))


class CycleGANRecipe:
    task = "translate"
    validation_metric = "cycle_psnr"
    training_defaults = {"lr": 2e-4, "schedule": "linear", "warmup": 0, "min_lr": 0.0, "batch_size": 1,
                         "clip_grad": 0.0}

    def __init__(self, options: dict[str, Any]) -> None:
        if not options.get("domain_a") or not options.get("domain_b"):
            raise ValueError("give both domains: --domain-a DIR_A --domain-b DIR_B (folders of images or .npz files)")
        self.options = options
        crop = int(options.get("crop") or 128)
        multiple = 2 ** int(options.get("downsamplings") or 2)
        if crop % multiple:
            raise ValueError(f"--crop {crop} must be a multiple of {multiple} (the generator halves it "
                             f"{multiple.bit_length() - 1} times and must double back to the same size)")
        fraction = float(options.get("val_fraction") or 0.05)
        domain_a = load_domain(options["domain_a"], crop, fraction, pad=int(options.get("pad_a") or 0))
        domain_b = load_domain(options["domain_b"], crop, fraction)
        self.mode = "gray" if domain_a.gray and domain_b.gray else "rgb"  # colour if either domain has colour
        self.domain_a, self.domain_b = domain_a.in_mode(self.mode), domain_b.in_mode(self.mode)
        if self.domain_a.size != self.domain_b.size:
            raise ValueError(f"the domains' training images differ in size ({self.domain_a.size} and "
                             f"{self.domain_b.size} px): pad or crop them to one size (--pad-a, --crop)")
        self.gray_outputs = [] if self.mode == "gray" or options.get("color_outputs") else [
            name for name, domain in (("a", self.domain_a), ("b", self.domain_b)) if domain.colorless]
        """Colorless domains stored as colour, whose generator draws one channel (networks.ResnetGenerator)."""
        cycle_weight = float(10.0 if options.get("cycle_weight") is None else options["cycle_weight"])
        self.cycle_weights = {domain: cycle_weight if options.get(f"cycle_weight_{domain}") is None
                              else float(options[f"cycle_weight_{domain}"]) for domain in ("a", "b")}
        """λ per cycle, as the authors' code has lambda_A (A→B→A, and B→A's identity term) and lambda_B."""
        identity = options.get("identity_weight")
        self.identity_weight = 0.5 if identity is None else float(identity)
        self.off_edge_ink_weight = float(options.get("off_edge_ink_weight") or 0.0)
        if self.off_edge_ink_weight and np.mean([image.mean() for image in self.domain_b.train]) < 128:
            raise ValueError("--off-edge-ink-weight counts dark pixels as ink: domain B must be drawings in dark "
                             f"lines on a light page, and {options['domain_b']} is mostly dark")

    def model_config(self) -> dict[str, Any]:
        config = {"channels": 1 if self.mode == "gray" else 3, "features": int(self.options.get("features") or 32),
                  "blocks": int(self.options.get("blocks") or 6),
                  "downsamplings": int(self.options.get("downsamplings") or 2)}
        config.update({f"gray_{name}": True for name in self.gray_outputs})  # absent when False: older
        return config  # checkpoints' configs have neither key

    def build_model(self) -> nn.Module:
        return build(**self.model_config())

    def extra_networks(self) -> dict[str, nn.Module]:
        pool = self.options.get("pool")
        return {"discriminators": Discriminators(
            self.model_config()["channels"], int(self.options.get("discriminator_features") or 64),
            int(self.options.get("discriminator_layers") or 3), pool=50 if pool is None else int(pool),
            size=self.domain_a.size)}

    def phases(self) -> list[Phase]:
        return [Phase("generators", ("model",), betas=(0.5, 0.999)),
                Phase("discriminators", ("discriminators",), betas=(0.5, 0.999))]

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        return {"a": torch.from_numpy(self.domain_a.sample(rng, batch_size)),
                "b": torch.from_numpy(self.domain_b.sample(rng, batch_size))}

    def phase_loss(self, phase: str, networks: dict[str, nn.Module], batch: Batch,
                   cache: dict[str, torch.Tensor]) -> torch.Tensor:
        discriminators = networks["discriminators"]
        real_a, real_b = batch["a"], batch["b"]
        if phase == "generators":
            out = networks["model"](real_a, real_b)
            cache["fake_a"], cache["fake_b"] = out["fake_a"], out["fake_b"]
            score_a, score_b = discriminators(out["fake_a"], out["fake_b"])
            adversarial = _least_squares(score_a, True) + _least_squares(score_b, True)
            loss = adversarial + sum(weight * (_l1(out[f"cycle_{domain}"], batch[domain])
                                               + self.identity_weight * _l1(out[f"identity_{domain}"], batch[domain]))
                                     for domain, weight in self.cycle_weights.items())
            if self.off_edge_ink_weight:
                loss = loss + self.off_edge_ink_weight * _off_edge_ink(out["fake_b"], real_a)
            return loss
        pools = unwrap(discriminators)
        fake_a = pools.pool_a.query(cache["fake_a"])
        fake_b = pools.pool_b.query(cache["fake_b"])
        score_a, score_b = discriminators(torch.cat([real_a, fake_a]), torch.cat([real_b, fake_b]))
        count = len(real_a)
        return 0.5 * sum(_least_squares(real, True) + _least_squares(fake, False)
                         for real, fake in (score_a.split(count), score_b.split(count)))

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["a"])

    def evaluate(self, model: nn.Module, device: torch.device, out_dir: Path, step: int) -> Evaluation:
        multiple = 2 ** self.model_config()["downsamplings"]
        pair: CycleGAN = model  # type: ignore[assignment]
        scores, rows = {}, []
        for label, domain, there, back in (("a", self.domain_a, pair.a2b, pair.b2a),
                                           ("b", self.domain_b, pair.b2a, pair.a2b)):
            values, shown = [], []
            for image in domain.validation or domain.train[:8]:
                height, width = image.shape[:2]
                tensor = torch.from_numpy(pad_to_multiple(image.transpose(2, 0, 1)[None].astype(np.float32) / 255,
                                                          multiple)).to(device)
                translated = there(tensor).float().clamp(0, 1)
                cycled = back(translated).float().clamp(0, 1)
                as_images = [t[0, :, :height, :width].permute(1, 2, 0).cpu().numpy() for t in (tensor, translated, cycled)]
                values.append(psnr(as_images[2], as_images[0], data_range=1.0))
                if len(shown) < SHEET_IMAGES:
                    shown.append([_thumbnail(x) for x in as_images])
            scores[f"cycle_{label}"] = float(np.mean(values))
            blank = [np.zeros_like(shown[0][0])] * (SHEET_IMAGES - len(shown))
            rows += [np.stack(list(column) + blank) for column in zip(*shown)]  # inputs, translations, cycles
        sheet = contact_sheet(np.concatenate(rows), SHEET_IMAGES)
        write_image(out_dir / "samples" / f"step_{step:06d}.png", Picture(color=sheet))
        return Evaluation("cycle_psnr", float(np.mean(list(scores.values()))), details=scores)


def _thumbnail(image: np.ndarray) -> np.ndarray:
    """An H×W×C float image as a SHEET_SIDE square uint8 tile: its centre square, enlarged by
    pixel repetition when small (28 px digits), padded with black to the tile."""
    side = min(SHEET_SIDE, *image.shape[:2])
    square = center_crop(image, side)
    factor = SHEET_SIDE // side
    square = square.repeat(factor, axis=0).repeat(factor, axis=1)
    tile = np.zeros((SHEET_SIDE, SHEET_SIDE, image.shape[2]), np.uint8)
    tile[: square.shape[0], : square.shape[1]] = to_uint8(square)
    return tile


def recipe(options: dict[str, Any]) -> CycleGANRecipe:
    return CycleGANRecipe(options)
