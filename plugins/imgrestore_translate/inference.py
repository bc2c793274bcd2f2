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
    """`--model photo2outline --direction b2a` is the shipped model "translate-photo2outline-b2a";
    any other name (a direction's own name, a third party's model) is taken as it is."""
    return f"translate-{name}-{options.get('direction') or 'a2b'}" if name in PAIRS else name


def select_model(options: dict[str, Any], picture: Picture | None) -> str:
    return model_name(DEFAULT_PAIR, options)


def prepare(picture: Picture, options: dict[str, Any], info: ModelInfo) -> dict[str, np.ndarray]:
    return {"image": image_input(picture, info)}
