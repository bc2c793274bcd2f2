"""Our own VDSR definition, to load the third-party VDSR anchor weights (twtygqyy/pytorch-vdsr,
`anchors/vdsr_state_dict.pth`) for side-by-side super-resolution comparison only. Never shipped,
never used to initialise, fine-tune or distil our models.

VDSR (Kim et al. 2016): 20 bias-free 3×3 convolutions of 64 channels, ReLU(input conv), 18 ×
(conv + ReLU), output conv, and a global skip `y = net(x) + x`. It enlarges nothing itself: its
input is the Y channel (MATLAB BT.601 luma, 16..235) of the low-resolution image already enlarged
to the target size with MATLAB-style bicubic, divided by 255. One network serves ×2, ×3 and ×4.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from imgrestore.resize import imresize, rgb_to_y

DEPTH = 20
FEATURES = 64


def load_vdsr(path: Path, threads: int = 0) -> Callable[[np.ndarray, int], np.ndarray]:
    """A function (low-resolution RGB (or gray) uint8 H×W×C, scale) -> enlarged Y, float64 sH×sW
    on the 0..255 scale (clipped, not rounded)."""
    import torch
    from torch import nn

    if threads:
        torch.set_num_threads(threads)

    class Block(nn.Module):  # named `conv` inside, as the state_dict's residual_layer.N.conv.weight
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(FEATURES, FEATURES, 3, padding=1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.conv(x))

    class VDSR(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.input = nn.Conv2d(1, FEATURES, 3, padding=1, bias=False)
            self.residual_layer = nn.Sequential(*(Block() for _ in range(DEPTH - 2)))
            self.output = nn.Conv2d(FEATURES, 1, 3, padding=1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.output(self.residual_layer(torch.relu(self.input(x)))) + x

    net = VDSR()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    net.eval()

    def upscale(low_rgb: np.ndarray, scale: int) -> np.ndarray:
        low = low_rgb if low_rgb.ndim == 3 else low_rgb[:, :, None]
        if low.shape[2] == 1:
            low = np.repeat(low, 3, axis=2)
        # luma in float first (as the reference MATLAB scripts resize YCbCr doubles), then enlarge
        luma = imresize(rgb_to_y(low), scale).astype(np.float32)
        x = torch.from_numpy(luma / 255)[None, None]
        with torch.inference_mode():
            y = net(x)
        return np.clip(y[0, 0].double().numpy() * 255, 0, 255)

    return upscale
