"""Inference side of the translate task (numpy only): which model, and its input."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgrestore.images import Picture
from imgrestore.inference import image_input
from imgrestore.runtime import ModelInfo
from imgrestore_translate import PAIRS

DEFAULT_PAIR = "photo2outline"


def model_name(name: str, options: dict[str, Any]) -> str:
    """`--model photo2outline --direction b2a` is the shipped model "translate-photo2outline-b2a",
    and so are "photo2outline-b2a" and "translate-photo2outline" with `--direction b2a`; a name
    whose direction contradicts --direction is an error. Any other name (a third party's model) is
    taken as it is."""
    pair, direction = name.lower().removeprefix("translate-"), options.get("direction")  # any case, as
    if pair in PAIRS:  # every task's shipped names
        return f"translate-{pair}-{direction or 'a2b'}"
    pair, _, named = pair.rpartition("-")
    if pair in PAIRS and named in ("a2b", "b2a"):
        if direction not in (None, named):
            raise ValueError(f"--model {name} runs {named}, but --direction {direction} was given")
        return f"translate-{pair}-{named}"
    return name


def check_model(options: dict[str, Any], info: ModelInfo) -> None:
    """A model file of one direction run with --direction of the other (a shipped name is already
    resolved to its direction by model_name)."""
    wanted, made = options.get("direction"), info.extra.get("direction")
    if wanted is not None and made is not None and wanted != made:
        raise ValueError(f"--direction {wanted} asked for, but the model translates {made}")


def select_model(options: dict[str, Any], picture: Picture | None) -> str:
    return model_name(DEFAULT_PAIR, options)


def prepare(picture: Picture, options: dict[str, Any], info: ModelInfo) -> dict[str, np.ndarray]:
    return {"image": image_input(picture, info)}
