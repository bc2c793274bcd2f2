"""Built-in plugin: the `translate` task, unpaired image-to-image translation with CycleGAN.

A shipped model is a pair (e.g. "photo2outline"); each direction is its own ONNX file
("translate-photo2outline-a2b", "translate-photo2outline-b2a"), picked with --direction. Registered through the
`imgrestore` entry-point group; imports only imgrestore and click."""

from __future__ import annotations

from typing import Callable

import click

from imgrestore import TaskSpec, hookimpl
from imgrestore.options import FiniteRange

__version__ = "0.1.0"
PAIRS = ("photo2outline", "digits2mnist")
DIRECTION = click.Option(["--direction"], type=click.Choice(["a2b", "b2a"]), default=None,
                         help="Which way to run the pair chosen with --model (photo2outline, the default, or "
                         "digits2mnist): a2b = domain A to B (photo -> outline, OpenCV digit -> MNIST digit), "
                         "b2a = back [default: a2b, or the direction --model names].")


@hookimpl
def imgrestore_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            name="translate",
            summary="Translate images between two domains with a CycleGAN (photo <-> outline, digits).",
            select_model="imgrestore_translate.inference:select_model",
            model_name="imgrestore_translate.inference:model_name",
            check_model="imgrestore_translate.inference:check_model",
            prepare="imgrestore_translate.inference:prepare",
            options=(DIRECTION,),
            model_factory="imgrestore_translate.networks:build",
            recipe="imgrestore_translate.recipe:recipe",
            train_options=(
                click.Option(["--domain-a"], type=click.Path(exists=True), default=None,
                             help="Domain A: a folder of images, or an .npz of `images` (N×H×W uint8)."),
                click.Option(["--domain-b"], type=click.Path(exists=True), default=None,
                             help="Domain B, unpaired with A: a folder of images or an .npz."),
                click.Option(["--pad-a"], type=click.IntRange(0), default=0, show_default=True,
                             help="Black border added around every domain-A image (4 frames OpenCV's 20×20 "
                             "digit cells as MNIST's 28×28)."),
                click.Option(["--crop"], type=click.IntRange(16), default=128, show_default=True,
                             help="Side of the random training crops from folder domains."),
                click.Option(["--features"], type=click.IntRange(1), default=32, show_default=True,
                             help="Generator channels at full resolution (the paper: 64)."),
                click.Option(["--blocks"], type=click.IntRange(1), default=6, show_default=True,
                             help="Residual blocks of each generator (the paper: 6 at 128 px, 9 at 256 px)."),
                click.Option(["--downsamplings"], type=click.IntRange(1, 4), default=2, show_default=True,
                             help="Stride-2 convolutions before the residual blocks (the paper: 2). Small "
                                  "images keep detail with 1: digits2mnist's 28×28 digits cycle back 1 dB "
                                  "better with blocks at 14×14 than at 7×7, at no more cost per step (half the "
                                  "channels at twice the side)."),
                click.Option(["--discriminator-features"], type=click.IntRange(1), default=64, show_default=True),
                click.Option(["--discriminator-layers"], type=click.IntRange(1, 5), default=3, show_default=True,
                             help="Stride-2 layers of the PatchGAN: 3 = 70×70 patches, 2 = 34×34, 1 = 16×16."),
                click.Option(["--color-outputs"], is_flag=True, default=False,
                             help="Colour generators into a colorless domain too (a folder of gray drawings "
                             "stored as RGB); by default they draw gray, which leaves no colour channels to "
                             "hide the way back in. Models trained before this was automatic need it for --init."),
                click.Option(["--cycle-weight"], type=FiniteRange(0), default=10.0, show_default=True,
                             help="λ of the cycle-consistency L1 loss."),
                click.Option(["--cycle-weight-a"], type=FiniteRange(0), default=None,
                             help="λ of the A→B→A cycle alone (and of B→A's identity term), as the CycleGAN "
                             "authors' lambda_A; default --cycle-weight. Lower it when A→B discards what A "
                             "holds (photo → outline): a high λ there pushes the generator to hide the photo "
                             "in the drawing, as extra lines a discriminator cannot tell from outlines."),
                click.Option(["--cycle-weight-b"], type=FiniteRange(0), default=None,
                             help="λ of the B→A→B cycle alone (and of A→B's identity term); default "
                             "--cycle-weight."),
                click.Option(["--identity-weight"], type=FiniteRange(0), default=0.5, show_default=True,
                             help="Identity loss weight, as a fraction of λ (λ_A for B→A's G(a) ≈ a, λ_B for A→B's)."),
                click.Option(["--off-edge-ink-weight"], type=FiniteRange(0), default=0.0, show_default=True,
                             help="For a domain B of drawings (dark lines on white): weight of a penalty on "
                             "the ink A→B draws where its input has no edge (0 = off). An unpaired cycle "
                             "cannot say where on an edge a line belongs; this pins lines to the edges they "
                             "trace (photo2outline's lines sat 2 px inside the silhouette without it)."),
                click.Option(["--pool"], type=click.IntRange(0), default=50, show_default=True,
                             help="Generated images kept in each discriminator's history pool."),
            ),
            export="imgrestore_translate.export:export_spec",
            export_options=(click.Option(["--direction"], type=click.Choice(["a2b", "b2a"]), default="a2b",
                                         show_default=True,
                                         help="Which of the checkpoint's two generators to export: a2b maps "
                                         "--domain-a to --domain-b, b2a back."),),
            models=tuple(f"translate-{pair}-{direction}" for pair in PAIRS for direction in ("a2b", "b2a")),
        )
    )
