"""The task contract: what a plugin tells the core about one CLI verb.

Everything is plain data or "package.module:attr" strings resolved on use, so registering a task
imports nothing heavy. Image preparation and finishing are numpy-only: inference never needs torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import click


def resolve(reference: str | Callable[..., Any]) -> Any:
    """Import "package.module:attr" (or return a callable given directly)."""
    if not isinstance(reference, str):
        return reference
    module_name, _, attribute = reference.partition(":")
    if not attribute:
        raise ValueError(f"expected 'package.module:attr', got {reference!r}")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


@dataclass(frozen=True)
class TaskSpec:
    """One task (one CLI verb), registered by a plugin through `imgrestore_register_tasks`."""

    name: str
    """The CLI verb, e.g. "denoise"; unique across all plugins."""

    summary: str
    """One line for `imgrestore --help` and `imgrestore tasks`."""

    select_model: str | Callable[..., str]
    """(options: dict, picture: Picture | None) -> a model name in weights/manifest.json, or the
    path of an .onnx file (how a third-party plugin ships its own model). Called per image, so one
    run can use different models (e.g. the gray and the colour denoiser)."""

    prepare: str | Callable[..., Any]
    """(picture: Picture, options: dict, info: ModelInfo) -> dict[input name, numpy array]:
    the model inputs of one image, without batch axis (images C×H×W float32, scalars shape (k,)),
    or None when the image needs nothing done (a denoiser given a noise-free photo): the input
    comes back as it is, the file itself where the format allows. A task whose input is a latent
    vector gets (latents: N×dim float32, options, info) instead and returns batched inputs: the
    core draws the latents from --seed (imgrestore.sampling)."""

    model_name: str | Callable[..., str] | None = None
    """(name: str, options: dict) -> the shipped model that `--model NAME` means, when the task's
    options complete the name (e.g. a CycleGAN pair "photo2outline" with `--direction b2a` is the
    model "translate-photo2outline-b2a"). None: NAME is the model's own name."""

    model_options: tuple[str, ...] = ()
    """Options that choose the shipped model (stylize's `--style`): given together with `--model`,
    which would silently win, they are refused. Such an option defaults to None, so that a
    choice the user made is told apart from the default."""

    check_model: str | Callable[..., None] | None = None
    """(options: dict, info: ModelInfo) -> None, raising ValueError when the options ask for what
    the model cannot do (e.g. `--scale 4` with a ×2 model given by `--model`). Called once when a
    model loads, so a mismatch is one error before the batch, not a failure per file."""

    finish: str | Callable[..., Any] | None = None
    """(output: H×W×C float32 0..1, picture: Picture, options: dict) -> H×W×C float32: a last
    numpy step on the model output (e.g. blending). None keeps the output as is."""

    engine: str | Callable[..., Any] | None = None
    """(options: dict, device: "auto"|"cpu"|"cuda") -> None to run the task's ONNX models, or, when
    an option picks a method that is not a fixed network (such as style transfer by optimisation),
    a function of no arguments that builds an object standing in for one (the OnnxModel interface
    the pipeline uses: `info`, `run`, `run_image`, `default_tile`, `device_label`, `path`,
    `provider`). Only such a method may import torch. Deciding and building are apart so that the
    core refuses a --model (an engine runs no model file) before the build's costlier checks: the
    feature network a style optimisation loads was looked for first."""

    inputs: tuple[str, ...] = ("image",)
    """What the task reads besides options: "image" (a folder or file of images), "mask"
    (--masks/--mask/--mask-from-alpha), or "latent" alone: no input image, and the command
    becomes `imgrestore VERB OUT_DIR -n N --seed S` (imgrestore.generate)."""

    options: tuple["click.Parameter", ...] = ()
    """Extra click parameters of the inference command (e.g. --sigma)."""

    model_factory: str = ""
    """"package.module:build": keyword arguments come from the checkpoint's model_config."""

    recipe: str = ""
    """"package.module:recipe": (options: dict) -> a training Recipe for the core trainer."""

    train_options: tuple["click.Parameter", ...] = ()
    """Extra click parameters of `imgrestore train <task>` (passed to the recipe in `options`)."""

    checkpoint_options: dict[str, str | tuple[str, Callable[[Any], Any]]] = field(default_factory=dict)
    """Train options whose model_config key has another name (stylize's `--width` is "features"),
    or (key, function of that value) where the value differs too (denoise's `--color` is
    channels == 3): with --init or --resume, options left unset take the checkpoint's values,
    and an option is found in the checkpoint by its own name unless it is listed here."""

    export: str = ""
    """"package.module:export_spec": (model, model_config, options) -> ExportSpec (example inputs,
    metadata); `options` holds the values of `export_options`."""

    export_options: tuple["click.Parameter", ...] = ()
    """Extra click parameters of `imgrestore export <task>` (e.g. which scale of a multi-scale model)."""

    equivariant: bool = False
    """True when flipping/rotating the input flips/rotates the output the same way (denoising,
    super-resolution), so the CLI offers --ensemble (average of the 8 flips and rotations)."""

    models: tuple[str, ...] = ()
    """Names of the shipped default models this task may select (listed by `imgrestore tasks`)."""

    plugin: str = field(default="", compare=False)
    """Filled in by the plugin manager: the plugin that registered the task."""
