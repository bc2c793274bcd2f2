"""Built-in plugin: the `sample` task, unconditional generation (a DCGAN and a VAE per data set).
The task has no input image: its input is a latent vector, drawn by the core from --seed.
Registered through the `imgrestore` entry-point group; imports only imgrestore and click."""

from __future__ import annotations

from typing import Callable

import click

from imgrestore import TaskSpec, hookimpl

__version__ = "0.1.0"
MODELS = ("dcgan-digits", "vae-digits", "dcgan-fashion", "vae-fashion")


@hookimpl
def imgrestore_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            name="sample",
            summary="Generate new images from random latent vectors (DCGAN or VAE; digits or fashion).",
            select_model="imgrestore_sample.inference:select_model",
            prepare="imgrestore_sample.inference:prepare",
            inputs=("latent",),
            model_factory="imgrestore_sample.networks:build",
            recipe="imgrestore_sample.recipe:recipe",
            checkpoint_options={"network": "kind"},
            train_options=(
                click.Option(["--network"], type=click.Choice(["dcgan", "vae", "classifier"]), default="dcgan",
                             show_default=True, help="What to train: a generator, or the evaluator's classifier."),
                click.Option(["--latent-dim"], type=click.IntRange(1), default=None,
                             help="Latent size [default: 64 for the DCGAN, 16 for the VAE]."),
                click.Option(["--features"], type=click.IntRange(1), default=None,
                             help="Channels of the widest-resolution layer [default: 32]."),
                click.Option(["--discriminator-features"], type=click.IntRange(1), default=None,
                             help="Channels of the DCGAN discriminator's first layer [default: 2 × --features]."),
                click.Option(["--discriminator-norm"], type=click.Choice(["none", "spectral"]), default="none",
                             show_default=True, help="Spectral normalisation of the DCGAN discriminator's weights."),
                click.Option(["--evaluator"], type=click.Path(exists=True, dir_okay=False), default=None,
                             help="Classifier checkpoint that scores samples during training [default: the "
                             "shipped one for the data set]."),
                click.Option(["--evaluation-samples"], type=click.IntRange(100), default=2000, show_default=True,
                             help="Samples scored at each validation."),
            ),
            export="imgrestore_sample.export:export_spec",
            models=MODELS,
        )
    )
