"""imgrestore: plugin-based image restoration and translation.

The public API works on numpy arrays and files; it never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imgrestore.hookspecs import hookimpl
from imgrestore.task import TaskSpec

if TYPE_CHECKING:  # numpy is imported where arrays are handled: `imgrestore --help` needs none
    import numpy as np

__version__ = "0.1.0"
FLOAT_CEILING = 2.0
"""Float images are read in 0..1: a small overshoot (1.02 after sharpening) is clipped, values
above this are 0..255 data passed as floats, which clipping would turn white."""
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
    fill) is for tasks that take one; pixels outside it come back unchanged. `options` are the
    task's command-line options by their Python name (`sigma`, `scale`, `style`...), checked as
    the command line checks them: an unknown name or a value out of range is an error.
    """
    import numpy as np

    from imgrestore.images import Picture
    from imgrestore.inference import TaskRunner

    spec = load_task(name=task)
    if "latent" in spec.inputs:
        raise ValueError(f"task {task!r} takes no image, it generates them: use imgrestore.sample_images")
    given = np.asarray(image)
    array = given[:, :, None] if given.ndim == 2 else given
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"image of shape {given.shape}: give H×W or H×W×C with C = 1, 2, 3 or 4")
    if array.size == 0:
        raise ValueError(f"image of shape {given.shape} is empty")
    floating = np.issubdtype(array.dtype, np.floating)
    if floating:  # run as 16-bit samples: steps of 1.5e-5, far below any model's error
        array = array.astype(np.float32)  # float16 would overflow when scaled to 65535
        peak = float(np.nanmax(array))
        if peak > FLOAT_CEILING:
            raise ValueError(f"float image with values up to {peak:g}: floats are read in 0..1 "
                             "(divide 0..255 data by 255, or pass it as uint8)")
        array = np.round(np.clip(np.nan_to_num(array), 0.0, 1.0) * 65535).astype(np.uint16)
    elif array.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"image dtype {array.dtype}: give uint8, uint16 or floats in 0..1")
    colors = 3 if array.shape[2] >= 3 else 1
    alpha = array[:, :, colors].copy() if array.shape[2] in (2, 4) else None
    picture = Picture(color=np.ascontiguousarray(array[:, :, :colors]), alpha=alpha,
                      mask=_mask_for(spec, mask, array.shape[:2]))
    runner = TaskRunner(spec, _task_options(spec, options), model=model, device=device)
    loaded = runner.preload()
    if mask is None and loaded is not None and loaded.info.input("mask") is not None:
        raise ValueError(f"this {task} model fills what a mask marks: pass mask= (H×W, nonzero = fill)")
    if mask is not None and loaded is not None and loaded.info.input("mask") is None:
        raise ValueError(f"the {task} model {loaded.path.name} takes no mask: leave mask= out, or choose a "
                         "model that fills (imgrestore tasks lists them)")
    result = runner.run_picture(picture, tile=tile)
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

    for what, value, least in (("count", count, 1), ("seed", seed, 0), ("batch_size", batch_size, 1)):
        if int(value) != value or value < least:
            raise ValueError(f"{what} must be a whole number of at least {least}, not {value!r}")
    count, seed, batch_size = int(count), int(seed), int(batch_size)  # 1.0 passes, numpy wants an int
    spec = load_task(name=task)
    if "latent" not in spec.inputs:
        raise ValueError(f"task {task!r} takes images, not latent vectors: use imgrestore.run")
    runner = TaskRunner(spec, _task_options(spec, options), model=model, device=device)
    onnx_model = runner.model_for(None)
    latents = latent_vectors(seed, range(count), latent_dim(onnx_model), truncation)
    return render_latents(runner, onnx_model, latents, batch_size)


def _task_options(spec: TaskSpec, given: dict[str, Any]) -> dict[str, Any]:
    """The task's options with their defaults, `given` ones converted and checked by their click
    parameter (a float for --sigma, one of the choices for --scale...), so that a typo such as
    `sigm=25` is an error rather than a silently estimated noise level."""
    import click

    parameters = {parameter.name: parameter for parameter in spec.options if parameter.name}
    unknown = sorted(set(given) - set(parameters))
    if unknown:
        known = ", ".join(sorted(parameters)) or "none"
        raise TypeError(f"task {spec.name!r} has no option {', '.join(map(repr, unknown))} (its options: {known})")
    context = click.Context(click.Command(spec.name))
    values = {name: parameter.default for name, parameter in parameters.items()}
    for name, value in given.items():
        if value is None:
            continue
        try:
            values[name] = parameters[name].type_cast_value(context, value)
        except click.BadParameter as error:
            raise ValueError(f"option {name!r} of task {spec.name!r}: {error.message}") from None
    return values


def _mask_for(spec: TaskSpec, mask: np.ndarray | None, size: tuple[int, ...]) -> np.ndarray | None:
    """`mask` as H×W bool, checked against the task and the image."""
    import numpy as np

    if mask is None:
        return None
    if "mask" not in spec.inputs:
        raise ValueError(f"task {spec.name!r} takes no mask")
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.shape != tuple(size):
        raise ValueError(f"mask of shape {mask.shape} does not match the image's {tuple(size)}")
    return mask != 0
