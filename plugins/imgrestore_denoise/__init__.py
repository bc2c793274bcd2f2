"""Built-in plugin: the `denoise` task. Registered through the `imgrestore` entry-point group,
exactly like a third-party plugin; this module imports only imgrestore and click."""

from __future__ import annotations

from typing import Callable

import click

from imgrestore import TaskSpec, hookimpl
from imgrestore.options import FiniteRange, Multiple

__version__ = "0.1.0"


def _sigma_range(_context: click.Context, _parameter: click.Parameter, value: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in value.split("-"))
    except ValueError:
        raise click.BadParameter("expected LOW-HIGH, e.g. 0-60") from None
    if not 0 <= low < high <= 255:
        raise click.BadParameter("need 0 <= LOW < HIGH <= 255")
    return low, high


@hookimpl
def imgrestore_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            name="denoise",
            summary="Remove noise from photos, gray or colour; noise level given (--sigma) or estimated.",
            select_model="imgrestore_denoise.inference:select_model",
            prepare="imgrestore_denoise.inference:prepare",
            options=(
                click.Option(
                    ["--sigma"],
                    type=FiniteRange(0, 255),
                    default=None,
                    help="Noise standard deviation on the 0..255 scale (also for 16-bit images). "
                    "Default: estimated per image (Chen et al. 2015 patch-PCA estimator). Below 0.5 the "
                    "image comes back as it is.",
                ),
            ),
            model_factory="imgrestore_denoise.model:build",
            recipe="imgrestore_denoise.recipe:recipe",
            checkpoint_options={"color": ("channels", lambda channels: channels == 3)},
            train_options=(
                click.Option(["--color/--gray"], default=True, show_default=True,
                             help="Train the colour (RGB) or the gray model."),
                click.Option(["--features"], type=click.IntRange(1), default=None,
                             help="Channels per layer [default: 96 colour, 64 gray]."),
                click.Option(["--depth"], type=click.IntRange(2), default=None,
                             help="Convolution layers [default: 12 colour, 15 gray]."),
                click.Option(["--batch-norm/--no-batch-norm"], default=None,
                             help="Batch normalisation in the body [default: on for colour, off for gray]."),
                click.Option(["--sigma-range"], default="0-60", show_default=True, callback=_sigma_range,
                             help="Training noise levels, drawn uniformly (0..255 scale)."),
                click.Option(["--low-sigma-share"], type=click.FloatRange(0, 1), default=0.0, show_default=True,
                             help="Share of patches whose noise level is drawn from 0..--low-sigma-max instead, "
                             "so nearly clean photos are left nearly as they are."),
                click.Option(["--low-sigma-max"], type=click.FloatRange(0, 255, min_open=True), default=5.0,
                             show_default=True, help="Top of the low noise range (0..255 scale)."),
                click.Option(["--patch-size"], type=Multiple(2, 16), default=96, show_default=True,
                             help="Training patch side (even)."),
            ),
            export="imgrestore_denoise.export:export_spec",
            equivariant=True,
            models=("denoise-gray", "denoise-color"),
        )
    )
