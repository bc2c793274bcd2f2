"""Widen a trained fast style network (Net2WiderNet, Chen et al. 2016) to start a wider one.

    python tools/widen_stylize.py weights/stylize/shipwreck.safetensors runs/shipwreck-w32-init.safetensors

Every channel is doubled: a conv's output channels and the instance-norm affine parameters are
copied, and the next conv's weights for the two copies of an input channel are w/2 + e and
w/2 - e. The copies carry equal activations (instance norm gives equal statistics), so the
wider network computes the same stylization as the narrow one to rounding (checked here), while
the opposite +-e make their gradients differ, so fine-tuning (`imgrestore train stylize --width
2F --init OUT`) lets the copies grow apart. Why: at 16 features, fine-tuning the shipped
`shipwreck` and `the-scream` further, at 128 px alone or at a higher style weight, no longer
lowered their style loss on photos shown at 128 px; training a 32-feature network from nothing
costs thousands of CPU steps that a widened one skips. OUT must end in .safetensors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

import imgrestore
from imgrestore.export import load_model
from imgrestore.training.checkpoint import save_checkpoint
from imgrestore_stylize.networks import build


def _layers(model: nn.Module) -> list[nn.Module]:
    return [module for module in model.modules() if isinstance(module, (nn.Conv2d, nn.InstanceNorm2d))]


def widen(narrow: nn.Module, wide: nn.Module, generator: torch.Generator, noise: float) -> None:
    """Fill `wide` (same layout, twice the channels but RGB in and out) from `narrow`."""
    with torch.no_grad():
        for old, new in zip(_layers(narrow), _layers(wide), strict=True):
            if isinstance(old, nn.InstanceNorm2d):
                copies = new.num_features // old.num_features
                new.weight.copy_(old.weight.repeat(copies))
                new.bias.copy_(old.bias.repeat(copies))
                continue
            out_copies = new.out_channels // old.out_channels
            weight = old.weight.repeat(out_copies, 1, 1, 1)
            if new.in_channels == 2 * old.in_channels:  # every input but the RGB photo
                jitter = noise * weight.std() * torch.randn(weight.shape, generator=generator)
                weight = torch.cat([weight / 2 + jitter, weight / 2 - jitter], dim=1)
            new.weight.copy_(weight)
            new.bias.copy_(old.bias.repeat(out_copies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="a stylize .safetensors (shipped or a run's)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--noise", type=float, default=0.01, help="symmetry-breaking jitter, in weight std")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.out.suffix != ".safetensors":
        parser.error(f"{args.out}: the widened checkpoint is a .safetensors file")

    try:  # the core's loader: a clear error for what is not a stylize checkpoint
        narrow, metadata = load_model(imgrestore.load_task("stylize"), args.checkpoint)
    except ValueError as error:
        sys.exit(str(error))
    config = metadata["model_config"]
    wide_config = {**config, "features": 2 * config["features"]}
    wide = build(**wide_config)
    widen(narrow, wide, torch.Generator().manual_seed(args.seed), args.noise)

    probe = torch.rand(2, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        difference = float((narrow(probe) - wide.eval()(probe)).abs().max())
    if difference > 1e-4:
        sys.exit(f"widening changed the output by {difference:.2e}: not a faithful copy")
    save_checkpoint(args.out.parent, args.out.stem, wide,
                    {"task": metadata["task"], "model_config": wide_config, "widened_from": str(args.checkpoint)}, None)
    print(f"{args.out}: {wide_config}, {sum(p.numel() for p in wide.parameters()):,} parameters, "
          f"output within {difference:.1e} of {args.checkpoint}")


if __name__ == "__main__":
    main()
