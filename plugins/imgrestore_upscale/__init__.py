"""Built-in plugin: the `upscale` task (super-resolution ×2, ×3, ×4). Registered through the
`imgrestore` entry-point group, exactly like a third-party plugin; imports only imgrestore and click."""

from __future__ import annotations

from typing import Any, Callable

import click

from imgrestore import TaskSpec, hookimpl

__version__ = "0.1.0"
SCALES = (2, 3, 4)


def _scales(_context: click.Context, _parameter: click.Parameter, value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        scales = tuple(sorted({int(part) for part in str(value).split(",")}))
    except ValueError:
        raise click.BadParameter("expected a comma-separated list, e.g. 2,3,4") from None
    if not scales or any(not 2 <= s <= 8 for s in scales):
        raise click.BadParameter("scales must be between 2 and 8")
    return scales


@hookimpl
def imgrestore_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            name="upscale",
            summary="Enlarge photos ×2, ×3 or ×4 (super-resolution); alpha, 16-bit and gray kept.",
            select_model="imgrestore_upscale.inference:select_model",
            prepare="imgrestore_upscale.inference:prepare",
            check_model="imgrestore_upscale.inference:check_model",
            options=(
                click.Option(["--scale"], type=click.Choice([str(s) for s in SCALES]), default=None,
                             help="Enlargement factor [default: 4, or the scale of the --model file]."),
            ),
            model_factory="imgrestore_upscale.model:build",
            recipe="imgrestore_upscale.recipe:recipe",
            train_options=(
                click.Option(["--scales"], default="2,3,4", show_default=True, callback=_scales,
                             help="Scales to train; each step draws one. The body is shared."),
                click.Option(["--model-scales"], default=None, callback=_scales,
                             help="Scales the model has tails for [default: --scales]; e.g. fine-tune "
                             "only ×4 of a 2,3,4 model with --scales 4 --model-scales 2,3,4."),
                click.Option(["--features"], type=click.IntRange(1), default=48, show_default=True, help="Channels per layer."),
                click.Option(["--depth"], type=click.IntRange(1), default=8, show_default=True, help="Body convolution layers."),
                click.Option(["--patch-size"], type=click.IntRange(8), default=48, show_default=True,
                             help="Low-resolution training patch side."),
            ),
            export="imgrestore_upscale.export:export_spec",
            export_options=(
                click.Option(["--scale"], type=int, default=None,
                             help="Which of the checkpoint's scales to export [default: its only one]."),
            ),
            equivariant=True,
            models=tuple(f"upscale-x{s}" for s in SCALES),
        )
    )
