"""Built-in plugin: the `inpaint` task (fill masked regions). Registered through the `imgrestore`
entry-point group, exactly like a third-party plugin; imports only imgrestore and click."""

from __future__ import annotations

from typing import Callable

import click

from imgrestore import TaskSpec, hookimpl
from imgrestore.options import FiniteRange, Multiple, Range

__version__ = "0.1.0"


@hookimpl
def imgrestore_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            name="inpaint",
            summary="Fill masked regions of photos (white mask = fill); everything else is kept exactly.",
            select_model="imgrestore_inpaint.inference:select_model",
            prepare="imgrestore_inpaint.inference:prepare",
            inputs=("image", "mask"),
            model_factory="imgrestore_inpaint.model:build",
            recipe="imgrestore_inpaint.recipe:recipe",
            train_options=(
                click.Option(["--features"], type=click.IntRange(1), default=24, show_default=True,
                             help="Channels of the first layer (the bottleneck has 4×)."),
                click.Option(["--patch-size"], type=Multiple(4, 32), default=128, show_default=True,
                             help="Training crop side (multiple of 4)."),
                click.Option(["--area"], default="0.05-0.45", show_default=True, type=Range(0, 1, open_bounds=True),
                             help="Hole area range of the training masks."),
                click.Option(["--adversarial-weight"], type=FiniteRange(0), default=0.01, show_default=True,
                             help="Weight of the PatchGAN loss beside the L1 reconstruction."),
            ),
            export="imgrestore_inpaint.export:export_spec",
            models=("inpaint",),
        )
    )
