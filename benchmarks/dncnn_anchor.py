"""Our own DnCNN definition, to load the third-party DnCNN-S (sigma 25) anchor weights for
side-by-side comparison only. Never shipped, never used to initialise our models."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_dncnn(path: Path):
    import torch
    from torch import nn

    layers: list[nn.Module] = [nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(15):
        layers += [nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(64, 1, 3, padding=1))
    net = nn.Module()
    net.model = nn.Sequential(*layers)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    net.eval()

    def denoise(noisy_uint8: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(noisy_uint8.astype(np.float32) / 255)[None, None]
        with torch.no_grad():
            clean = x - net.model(x)
        return np.clip(clean[0, 0].numpy() * 255, 0, 255)

    return denoise
