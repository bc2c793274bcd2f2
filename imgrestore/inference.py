"""One task applied to one picture: choose the model, prepare inputs, run, finish.

This is the piece the folder pipeline (batch.py) and the Python API (`imgrestore.run`) share.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from imgrestore.images import Picture, to_color_mode
from imgrestore.runtime import ModelInfo, OnnxModel
from imgrestore.task import TaskSpec, resolve
from imgrestore.weights import locate


def image_input(picture: Picture, info: ModelInfo) -> np.ndarray:
    """The picture's colour as the model's C×H×W float32 input (gray <-> RGB converted as needed)."""
    mode = "gray" if info.channels == 1 else "rgb"
    color = picture.color_float()
    if color.shape[2] != info.channels:
        color = to_color_mode(color, mode)
    return np.ascontiguousarray(color.transpose(2, 0, 1))


class TaskRunner:
    """Holds a task, its options and the loaded models (one onnxruntime session per model)."""

    def __init__(
        self,
        spec: TaskSpec,
        options: dict[str, Any],
        model: str | Path | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        """`model` overrides the task's choice: an .onnx file, or a shipped model's name."""
        self.spec = spec
        self.options = options
        is_file = model is not None and (str(model).endswith(".onnx") or Path(model).is_file())
        self.model_path = Path(model) if is_file else None
        self.model_name = str(model) if model is not None and not is_file else None
        self.device = device
        self.verbose = verbose
        self._models: dict[str, OnnxModel] = {}
        self._failed: dict[str, Exception] = {}
        self._lock = threading.Lock()
        self._select = resolve(spec.select_model)
        self._prepare = resolve(spec.prepare)
        self._finish = resolve(spec.finish) if spec.finish else None

    def model_for(self, picture: Picture | None) -> OnnxModel:
        """The session for this picture (`--model FILE` wins over the task's choice). Thread-safe."""
        key = str(self.model_path or self.model_name or self._select(self.options, picture))
        with self._lock:
            if key in self._failed:  # a model that cannot load fails every file the same way, at once
                raise self._failed[key]
            if key not in self._models:
                try:
                    path = self.model_path or (Path(key) if key.endswith(".onnx") else locate(key).file)
                    model = OnnxModel(path, device=self.device, verbose=self.verbose)
                    if model.info.task != self.spec.name:
                        raise ValueError(f"{path} is a {model.info.task!r} model, not a {self.spec.name!r} model")
                except Exception as error:
                    self._failed[key] = error
                    raise
                self._models[key] = model
            return self._models[key]

    @property
    def loaded(self) -> list[OnnxModel]:
        return list(self._models.values())

    def prepare(self, picture: Picture, model: OnnxModel) -> dict[str, np.ndarray]:
        return self._prepare(picture, self.options, model.info)

    def finish(self, output: np.ndarray, picture: Picture) -> Picture:
        """Model output (C×H'×W', 0..1) back to a picture of the input's kind: sample type, gray or
        colour, alpha kept (resized bicubically when the task changes the size)."""
        color = output.transpose(1, 2, 0)
        if self._finish is not None:
            color = self._finish(color, picture, self.options)
        if color.shape[2] != picture.channels:
            color = to_color_mode(np.ascontiguousarray(color), "gray" if picture.channels == 1 else "rgb")
        alpha = picture.alpha
        if alpha is not None and alpha.shape != color.shape[:2]:
            resized = cv2.resize(alpha.astype(np.float32), (color.shape[1], color.shape[0]), interpolation=cv2.INTER_CUBIC)
            limit = np.iinfo(alpha.dtype).max
            alpha = np.clip(np.round(resized), 0, limit).astype(alpha.dtype)
        return picture.with_color_float(color, alpha)

    def run_picture(self, picture: Picture, tile: int | None = None) -> Picture:
        model = self.model_for(picture)
        output = model.run_image(self.prepare(picture, model), tile=tile)
        return self.finish(output, picture)
