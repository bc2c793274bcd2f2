"""Checkpoints: weights in safetensors (what export reads), training state beside them.

`NAME.safetensors` holds the model weights and, in its metadata, the task, the model config and
the step, so `imgrestore export` can rebuild the network from the file alone.
`NAME.state.pt` holds what only --resume needs: optimizer, scheduler, step and every RNG state.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from safetensors import safe_open
from torch import nn


def save_checkpoint(
    directory: Path, name: str, model: nn.Module, metadata: dict[str, Any], state: dict[str, Any] | None
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    weights = {key: value.detach().contiguous().cpu() for key, value in model.state_dict().items()}
    meta = {key: json.dumps(value, default=str) for key, value in metadata.items()}
    target = directory / f"{name}.safetensors"
    temporary = target.with_suffix(".safetensors.part")
    save_file(weights, str(temporary), metadata=meta)
    replacements = [(temporary, target)]
    if state is not None:
        state_target = directory / f"{name}.state.pt"
        state_temporary = state_target.with_suffix(".pt.part")
        torch.save(state, state_temporary)
        replacements.append((state_temporary, state_target))
    # Both files are written before either replaces its predecessor: a run killed while writing
    # the (larger) state used to leave new weights beside an older state, which resumed from the
    # wrong step. Now only a kill between the two renames can part them; --resume checks for it.
    for written, final in replacements:
        os.replace(written, final)
    return target


class CheckpointError(ValueError):
    """A file given as a checkpoint is not one (an .onnx, a .state.pt, a truncated file)."""


def read_metadata(path: str | Path) -> dict[str, Any]:
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = handle.metadata() or {}
        return {key: json.loads(value) for key, value in raw.items()}
    except Exception as error:  # safetensors raises its own SafetensorError; OSError; bad JSON
        raise CheckpointError(f"{path} is not a training checkpoint (the .safetensors a run writes): {error}") from None


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def load_state(directory: Path, name: str) -> dict[str, Any]:
    return torch.load(directory / f"{name}.state.pt", weights_only=False)
