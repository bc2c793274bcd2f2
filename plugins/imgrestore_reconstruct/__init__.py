"""Built-in plugin: the `reconstruct` task, classical sparse representation (a patch is a sparse
combination of dictionary atoms) for denoising and for filling missing pixels.

Inference runs the learned variant, LISTA, through onnxruntime like every other task; the
dictionary it starts from is learned by K-SVD, and the classical solvers (batched OMP and
ISTA/FISTA in PyTorch, `imgrestore_reconstruct.sparse`) run on the same shipped dictionary for
the benchmark and from Python. Registered through the `imgrestore` entry-point group.
"""

from __future__ import annotations

from typing import Callable

import click

from imgrestore import TaskSpec, hookimpl
from imgrestore.options import FiniteRange, Range

__version__ = "0.1.0"
MODES = ("denoise", "fill")


@hookimpl
def imgrestore_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            name="reconstruct",
            summary="Sparse-coding reconstruction: denoise, or fill scattered missing pixels (--mode fill).",
            select_model="imgrestore_reconstruct.inference:select_model",
            check_model="imgrestore_reconstruct.inference:check_model",
            prepare="imgrestore_reconstruct.inference:prepare",
            inputs=("image", "mask"),
            options=(
                click.Option(["--mode"], type=click.Choice(MODES), default=None,
                             help="denoise: remove Gaussian noise; fill: reconstruct the pixels a mask marks "
                             "(white = missing; --masks, --mask or --mask-from-alpha) [default: the --model's "
                             "mode, else denoise]."),
                click.Option(["--sigma"], type=FiniteRange(0, 255), default=None,
                             help="Noise level, 0..255 scale (denoise; default: estimated per image)."),
            ),
            model_factory="imgrestore_reconstruct.lista:build",
            recipe="imgrestore_reconstruct.recipe:recipe",
            train_options=(
                click.Option(["--mode"], type=click.Choice(MODES), default="denoise", show_default=True,
                             help="What the LISTA network learns to do."),
                click.Option(["--dictionary"], type=click.Path(exists=True, dir_okay=False), default=None,
                             help="Start from this K-SVD dictionary (a reconstruct checkpoint or dictionary "
                             "file) instead of learning one first."),
                click.Option(["--patch"], type=click.IntRange(2), default=8, show_default=True, help="Patch side."),
                click.Option(["--atoms"], type=click.IntRange(1), default=256, show_default=True, help="Dictionary atoms."),
                click.Option(["--layers"], type=click.IntRange(1), default=16, show_default=True, help="Unrolled ISTA layers."),
                click.Option(["--stride"], type=click.IntRange(1), default=2, show_default=True,
                             help="Patch stride while training (the weights do not depend on it; export "
                             "picks its own)."),
                click.Option(["--ksvd-iterations"], type=click.IntRange(1), default=15, show_default=True),
                click.Option(["--ksvd-patches"], type=click.IntRange(1), default=60000, show_default=True,
                             help="Training patches K-SVD learns from."),
                click.Option(["--ksvd-sparsity"], type=click.IntRange(1), default=6, show_default=True,
                             help="Atoms per patch while K-SVD learns."),
                click.Option(["--crop"], type=click.IntRange(2), default=40, show_default=True, help="Training crop side."),
                click.Option(["--sigma-range"], default="0-55", show_default=True, type=Range(0),
                             help="Noise levels (0..255) drawn while training denoise."),
                click.Option(["--missing"], default="0.2-0.8", show_default=True, type=Range(0, 1),
                             help="Fraction of missing pixels drawn while training fill."),
            ),
            export="imgrestore_reconstruct.export:export_spec",
            export_options=(
                click.Option(["--stride"], type=click.IntRange(1), default=2, show_default=True,
                             help="Patch stride of the exported model: 2 is ~4× faster than 1 (every patch) "
                             "and 0.04-0.08 dB below it on Set12."),
            ),
            models=("reconstruct-denoise", "reconstruct-fill"),
        )
    )
