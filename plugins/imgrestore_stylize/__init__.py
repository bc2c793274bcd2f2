"""Built-in plugin: the `stylize` task, neural style transfer.

Two methods:
  fast      (default) a feed-forward network per style (Johnson et al. 2016), run by onnxruntime:
            `imgrestore stylize in/ out/ --style starry-night`; shipped styles are STYLES;
  optimize  the image itself is optimised against any painting (Gatys et al. 2016), no training
            needed, ~1000× slower and needs torch and a feature network:
            `imgrestore stylize in/ out/ --method optimize --style-image S.jpg --features vgg16.npz`.
`--strength` blends the result with the input. Registered through the `imgrestore` entry-point
group; imports only imgrestore and click.
"""

from __future__ import annotations

from typing import Callable

import click

from imgrestore import TaskSpec, hookimpl
from imgrestore.options import FiniteRange

__version__ = "0.1.0"
PAINTINGS = {
    "starry-night": "starry_night_google.jpg",  # Vincent van Gogh, The Starry Night (1889)
    "the-scream": "the_scream.jpg",  # Edvard Munch, The Scream (1893)
    "shipwreck": "shipwreck.jpg",  # J. M. W. Turner, The Shipwreck (1805)
    "udnie": "udnie.jpg",  # Francis Picabia, Udnie (1913)
}
"""The shipped styles and the file in ../shared/data/style/styles each was trained on: all
public-domain paintings."""
STYLES = tuple(PAINTINGS)


def _features_option() -> click.Option:
    return click.Option(
        ["--features"], type=click.Path(exists=True, dir_okay=False), default=None,
        help="The VGG16 of the style losses: a torchvision state dict (.pth) or a Caffe-convention .npz "
        "(e.g. ../shared/data/features/vgg16_hed.npz) [default: torchvision's ImageNet VGG16 if already in "
        "the torch cache; nothing is downloaded].")


def _weight_options() -> list[click.Option]:
    return [
        click.Option(["--content-weight"], type=FiniteRange(0), default=None, help="[default: 1]"),
        click.Option(["--style-weight"], type=FiniteRange(0), default=None,
                     help="Style against content: higher paints more [default: 2]."),
        click.Option(["--tv-weight"], type=FiniteRange(0), default=None,
                     help="Total-variation smoothing [default: 0]."),
    ]


def _style_size_option() -> click.Option:
    return click.Option(["--style-size"], type=click.IntRange(32), default=256, show_default=True,
                        help="Long side the painting is shrunk to: smaller = bigger strokes.")


@hookimpl
def imgrestore_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            name="stylize",
            summary="Render photos in a painting's style (fast networks: " + ", ".join(STYLES) + "; or any "
            "painting by optimisation).",
            select_model="imgrestore_stylize.inference:select_model",
            prepare="imgrestore_stylize.inference:prepare",
            finish="imgrestore_stylize.inference:finish",
            engine="imgrestore_stylize.inference:engine",
            model_options=("style",),
            options=(
                click.Option(["--style"], default=None,
                             help="A shipped style (" + ", ".join(STYLES) + ") or the name of another "
                             f"stylize model in the manifest; --model FILE.onnx runs your own [default: {STYLES[0]}]."),
                click.Option(["--strength"], type=FiniteRange(0, 1), default=1.0, show_default=True,
                             help="Blend with the input: 0 = the input unchanged, 1 = fully stylized."),
                click.Option(["--working-size"], type=click.IntRange(64), default=None,
                             help="Stylize at this long side and enlarge the result back: bigger strokes on "
                             "large photos, and faster [default: the photo's own size, tiled]."),
                click.Option(["--method"], type=click.Choice(["fast", "optimize"]), default="fast", show_default=True,
                             help="fast: the style's network (onnxruntime); optimize: optimise the image "
                             "against --style-image (Gatys et al.; needs torch and a feature network, "
                             "minutes per image on a CPU)."),
                click.Option(["--style-image"], type=click.Path(exists=True, dir_okay=False), default=None,
                             help="The painting for --method optimize."),
                _features_option(),
                click.Option(["--iterations"], type=click.IntRange(1), default=300, show_default=True,
                             help="L-BFGS iterations of --method optimize (strong-Wolfe line search)."),
                click.Option(["--optimize-size"], type=click.IntRange(32), default=512, show_default=True,
                             help="--method optimize works at this long side and enlarges the result back."),
                _style_size_option(),
                *_weight_options(),
                click.Option(["--threads"], type=click.IntRange(0), default=0,
                             help="torch threads of --method optimize (0 = torch's default)."),
            ),
            model_factory="imgrestore_stylize.networks:build",
            recipe="imgrestore_stylize.recipe:recipe",
            checkpoint_options={"width": "features"},
            train_options=(
                click.Option(["--style-image"], type=click.Path(exists=True, dir_okay=False), default=None,
                             help="The painting to learn (required)."),
                _features_option(),
                _style_size_option(),
                click.Option(["--content-size"], type=click.IntRange(32), multiple=True, default=(256,),
                             show_default=True,
                             help="Long side the content photos are shrunk to before cropping. Repeat to train "
                                  "at several scales (e.g. 128 and 256): each batch is drawn at one of them, so "
                                  "small and large photos are painted alike."),
                click.Option(["--crop"], type=click.IntRange(16), default=128, show_default=True,
                             help="Side of the random training crops."),
                click.Option(["--width"], type=click.IntRange(1), default=16, show_default=True,
                             help="Channels of the network's first layer (Johnson et al.: 32)."),
                click.Option(["--blocks"], type=click.IntRange(0), default=5, show_default=True,
                             help="Residual blocks."),
                *_weight_options(),
            ),
            export="imgrestore_stylize.export:export_spec",
            models=tuple(f"stylize-{style}" for style in STYLES),
        )
    )
