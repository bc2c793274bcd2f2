"""pluggy hook specifications. Importing this module never imports torch.

Two hooks only: tasks are data (TaskSpec), and anything else a plugin wants on the command line
goes through the click escape hatch, as datasette does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    import click

    from imgrestore.task import TaskSpec

PROJECT = "imgrestore"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def imgrestore_register_tasks(register: Callable[["TaskSpec"], None]) -> None:
    """Call `register(TaskSpec(...))` once for each task the plugin provides."""


@hookspec
def imgrestore_register_commands(cli: "click.Group") -> None:
    """Add extra click commands to the `imgrestore` group."""
