"""imgrestore: plugin-based image restoration and translation.

The public API works on numpy arrays and files; it never imports torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imgrestore.hookspecs import hookimpl
from imgrestore.task import TaskSpec

__version__ = "0.1.0"
__all__ = ["TaskSpec", "hookimpl", "list_tasks", "load_task", "run", "sample_images", "__version__"]


def list_tasks() -> list[str]:
    from imgrestore.plugins import get_registry

    return sorted(get_registry().tasks)


def load_task(name: str) -> TaskSpec:
    from imgrestore.plugins import get_registry

    return get_registry().task(name)


def run(task: str, image: np.ndarray, model: str | None = None, device: str = "auto", tile: int | None = None,
        mask: np.ndarray | None = None, **options: Any) -> np.ndarray:
    """Apply a task to an H×W or H×W×C array: uint8, uint16, or floats in 0..1; C = 1 (gray),
    2 (gray + alpha), 3 (RGB) or 4 (RGBA). The result has the input's type and channels.

    >>> clean = imgrestore.run("denoise", noisy_rgb, sigma=25)

    `tile` (input pixels) overrides the automatic tile size of large images. `mask` (H×W, nonzero =
    fill) is for tasks that take one; pixels outside it come back unchanged.
    """
    from imgrestore.images import Picture
    from imgrestore.inference import TaskRunner

    spec = load_task(name=task)
    given = np.asarray(image)
    array = given[:, :, None] if given.ndim == 2 else given
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"image of shape {given.shape}: give H×W or H×W×C with C = 1, 2, 3 or 4")
    floating = np.issubdtype(array.dtype, np.floating)
    if floating:  # run as 16-bit samples: steps of 1.5e-5, far below any model's error
        array = np.round(np.clip(array, 0.0, 1.0) * 65535).astype(np.uint16)
    elif array.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"image dtype {array.dtype}: give uint8, uint16 or floats in 0..1")
    colors = 3 if array.shape[2] >= 3 else 1
    alpha = array[:, :, colors].copy() if array.shape[2] in (2, 4) else None
    picture = Picture(color=np.ascontiguousarray(array[:, :, :colors]), alpha=alpha,
                      mask=None if mask is None else np.asarray(mask) != 0)
    all_options = {p.name: p.default for p in spec.options}
    all_options.update(options)
    result = TaskRunner(spec, all_options, model=model, device=device).run_picture(picture, tile=tile)
    out = result.color if result.alpha is None else np.dstack([result.color, result.alpha])
    if floating:
        out = (out.astype(np.float32) / np.float32(65535)).astype(given.dtype)
    return out[:, :, 0] if out.shape[2] == 1 and given.ndim == 2 else out


def sample_images(task: str = "sample", count: int = 64, seed: int = 0, model: str | None = None,
                  truncation: float | None = None, device: str = "auto", batch_size: int = 64,
                  **options: Any) -> np.ndarray:
    """Generate `count` images with a task whose input is a latent vector: N×H×W×C uint8.

    >>> digits = imgrestore.sample_images(count=16, seed=0, model="dcgan-digits")

    Image i depends only on `seed` and i (the same as `imgrestore sample OUT -n ... --seed ...`).
    """
    from imgrestore.generate import latent_dim, render_latents
    from imgrestore.inference import TaskRunner
    from imgrestore.sampling import latent_vectors

    spec = load_task(name=task)
    if "latent" not in spec.inputs:
        raise ValueError(f"task {task!r} takes images, not latent vectors: use imgrestore.run")
    all_options = {p.name: p.default for p in spec.options}
    all_options.update(options)
    runner = TaskRunner(spec, all_options, model=model, device=device)
    onnx_model = runner.model_for(None)
    latents = latent_vectors(seed, range(count), latent_dim(onnx_model), truncation)
    return render_latents(runner, onnx_model, latents, batch_size)
