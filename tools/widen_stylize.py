"""Widen a trained fast style network (Net2WiderNet, Chen et al. 2016) to start a wider one.

    python tools/widen_stylize.py weights/stylize/shipwreck.safetensors runs/shipwreck-w32-init.safetensors

Every channel is doubled: a conv's output channels and the instance-norm affine parameters are
copied, and the next conv's weights for the two copies of an input channel are w/2 + e and
w/2 - e. The copies carry equal activations (instance norm gives equal statistics), so the
wider network computes the same stylization as the narrow one to rounding (checked here), while
the opposite +-e make their gradients differ, so fine-tuning (`imgrestore train stylize --width
2F --init OUT`) lets the copies grow apart. Why: at 16 features the networks stopped improving
at 128 px (see the manifest); training a 32-feature network from nothing costs thousands of
CPU steps that a widened one skips.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "plugins"))

from imgrestore.training.checkpoint import load_weights, read_metadata  # noqa: E402
from imgrestore_stylize.networks import build  # noqa: E402
from safetensors.torch import save_file  # noqa: E402


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
            in_copies = new.in_channels // old.in_channels
            weight = old.weight.repeat(out_copies, 1, 1, 1)
            if in_copies == 2:
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

    metadata = read_metadata(args.checkpoint)
    config = metadata["model_config"]
    narrow = build(**config)
    narrow.load_state_dict(load_weights(args.checkpoint))
    wide_config = {**config, "features": 2 * config["features"]}
    wide = build(**wide_config)
    widen(narrow, wide, torch.Generator().manual_seed(args.seed), args.noise)

    probe = torch.rand(2, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        difference = float((narrow.eval()(probe) - wide.eval()(probe)).abs().max())
    if difference > 1e-4:
        sys.exit(f"widening changed the output by {difference:.2e}: not a faithful copy")
    out_metadata = {"task": metadata["task"], "model_config": wide_config, "widened_from": str(args.checkpoint)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: value.contiguous() for key, value in wide.state_dict().items()}, str(args.out),
              metadata={key: json.dumps(value) for key, value in out_metadata.items()})
    print(f"{args.out}: {wide_config}, {sum(p.numel() for p in wide.parameters()):,} parameters, "
          f"output within {difference:.1e} of {args.checkpoint}")


if __name__ == "__main__":
    main()
