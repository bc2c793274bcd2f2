"""A complete third-party imgrestore plugin: `imgrestore sharpen in/ out/ --amount 1.5`.

This module only registers the task: `imgrestore --help` imports every plugin's top module, so
what needs numpy or onnx lives in imgrestore_sharpen.inference, named by strings and imported
when the task runs."""

import click

from imgrestore import TaskSpec, hookimpl


@hookimpl
def imgrestore_register_tasks(register):
    register(TaskSpec(
        name="sharpen",
        summary="Sharpen photos by unsharp masking.",
        select_model="imgrestore_sharpen.inference:select_model",
        prepare="imgrestore_sharpen.inference:prepare",
        options=(click.Option(["--amount"], type=float, default=1.0, show_default=True),),
    ))
