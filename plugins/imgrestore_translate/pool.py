"""The history of generated images that CycleGAN's discriminators learn from (Shrivastava et al.
2017; Zhu et al. 2017, section 4): the discriminator sees a mix of the newest fakes and older
ones, so it cannot simply chase the generator's latest output and the two oscillate less."""

from __future__ import annotations

import torch
from torch import nn


class HistoryPool(nn.Module):
    """Up to `capacity` earlier generated images (the paper: 50).

    `query(images)` hands back one image per input: while the pool is not full each new image is
    stored and returned as is; afterwards, with probability 1/2, a stored image chosen at random
    is returned and the new one takes its place, else the new image is returned and the pool is
    left alone. The pool is made of buffers, so it is saved with the training state and a resumed
    run continues with the same history; draws use torch's generator, which the trainer restores.
    """

    def __init__(self, capacity: int, channels: int, size: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.register_buffer("images", torch.zeros(capacity, channels, size, size))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        images = images.detach()  # the discriminators' step must not reach back into the generators
        if self.capacity == 0:
            return images
        images = images.to(self.images.dtype)
        chosen = []
        for image in images:
            stored = int(self.count)
            if stored < self.capacity:
                self.images[stored] = image
                self.count += 1
                chosen.append(image)
            elif float(torch.rand(())) < 0.5:
                slot = int(torch.randint(self.capacity, ()))
                chosen.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                chosen.append(image)
        return torch.stack(chosen)
