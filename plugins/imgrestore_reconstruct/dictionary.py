"""Where the K-SVD dictionary lives: inside every reconstruct checkpoint (the `ksvd_dictionary`
buffer, the dictionary LISTA started from), including the shipped ones, so the classical solvers
in `imgrestore_reconstruct.sparse` run on exactly the dictionary the shipped models began with:

    >>> from imgrestore_reconstruct.dictionary import shipped_dictionary
    >>> from imgrestore_reconstruct.sparse import denoise_image
    >>> clean = denoise_image(noisy_gray_0_to_1, shipped_dictionary(), sigma_255=25)
"""

from __future__ import annotations

from pathlib import Path

import torch

from imgrestore.training.checkpoint import load_weights
from imgrestore.weights import locate

SHIPPED_MODEL = "reconstruct-denoise"


def read_dictionary(path: str | Path) -> torch.Tensor:
    """The n×k K-SVD dictionary of a reconstruct checkpoint, or of a file holding only `dictionary`."""
    tensors = load_weights(path)
    for key in ("ksvd_dictionary", "dictionary"):
        if key in tensors:
            return tensors[key].float()
    raise ValueError(f"{path} holds no dictionary (expected a reconstruct checkpoint)")


def shipped_dictionary() -> torch.Tensor:
    """The dictionary in the checkpoint of the shipped default model (verified by its sha256)."""
    return read_dictionary(locate(SHIPPED_MODEL).companion("checkpoint"))
