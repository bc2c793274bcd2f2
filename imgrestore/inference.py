"""One task applied to one picture: choose the model, prepare inputs, run, finish.

This is the piece the folder pipeline (batch.py) and the Python API (`imgrestore.run`) share.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from imgrestore.images import Picture, to_color_mode
from imgrestore.mask_inputs import MaskError, MaskSource
from imgrestore.masks import hole_boxes
from imgrestore.runtime import SPATIAL_KINDS, ModelInfo, OnnxModel
from imgrestore.task import TaskSpec, resolve
from imgrestore.weights import locate


def mask_input(picture: Picture) -> np.ndarray:
    """The picture's mask as the model's 1×H×W float32 input (1 = fill)."""
    if picture.mask is None:
        raise MaskError("this task needs a mask: give --masks DIR, --mask FILE or --mask-from-alpha")
    return picture.mask[None].astype(np.float32)


def image_input(picture: Picture, info: ModelInfo) -> np.ndarray:
    """The picture's colour as the model's C×H×W float32 input (gray <-> RGB converted as needed;
    a model of any channel count, `channels` 0, gets the picture's own). Under fully transparent
    pixels the colour of the nearby visible ones is put (see visible_colour_under_transparency)."""
    mode = "gray" if info.channels == 1 else "rgb"
    color = picture.color_float()
    if picture.alpha is not None and picture.mask is None:
        color = visible_colour_under_transparency(color, picture.alpha)
    if info.channels and color.shape[2] != info.channels:
        color = to_color_mode(color, mode)
    return np.ascontiguousarray(color.transpose(2, 0, 1))


def nothing_to_fill(picture: Picture) -> bool:
    """A masked task's picture whose mask marks no pixel: the input is the answer."""
    return picture.mask is not None and not picture.mask.any()


HIDDEN_COLOUR_REACH = 8.0
"""Gaussian sigma (pixels) over which visible colour spreads under transparent pixels: beyond the
reach of the networks' kernels at the edge that matters."""


def visible_colour_under_transparency(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """H×W×C float colour with each fully transparent pixel replaced by the alpha-weighted mean
    colour around it. What an exporter stores under alpha 0 (often black) is invisible, but a
    network mixes neighbours: an upscaled white logo on transparency came out with dark fringes
    (visible pixels as dark as 161 instead of 255). Pixels with no visible colour nearby keep
    theirs."""
    hidden = alpha == 0
    if not hidden.any() or hidden.all():
        return color
    weight = (alpha.astype(np.float32) / float(np.iinfo(alpha.dtype).max))
    spread = cv2.GaussianBlur(weight, (0, 0), HIDDEN_COLOUR_REACH)
    weighted = cv2.GaussianBlur(np.ascontiguousarray(color * weight[:, :, None]), (0, 0), HIDDEN_COLOUR_REACH)
    weighted = weighted.reshape(color.shape)
    reached = hidden & (spread > 1e-4)
    filled = color.copy()
    filled[reached] = weighted[reached] / spread[reached][:, None]
    return filled


class TaskRunner:
    """Holds a task, its options and the loaded models (one onnxruntime session per model)."""

    def __init__(
        self,
        spec: TaskSpec,
        options: dict[str, Any],
        model: str | Path | None = None,
        device: str = "auto",
        verbose: bool = False,
        masks: MaskSource | None = None,
    ) -> None:
        """`model` overrides the task's choice: an .onnx file, or a shipped model's name.
        `masks` says where the masks of a task with a "mask" input come from."""
        self.spec = spec
        self.masks = masks
        self.options = options
        chosen = [name for name in spec.model_options if options.get(name) is not None]
        if model is not None and chosen:
            flags = " and ".join("--" + name.replace("_", "-") for name in chosen)
            raise ValueError(f"--model {model} and {flags} both choose the model: give one of them")
        is_file = model is not None and (str(model).endswith(".onnx") or Path(model).is_file())
        if is_file and not Path(model).is_file():  # onnxruntime would say "NO_SUCHFILE : Load model ... failed"
            raise ValueError(f"--model {model}: no such file" + (" (a folder)" if Path(model).is_dir() else ""))
        self.model_path = Path(model) if is_file else None
        self.model_name = str(model) if model is not None and not is_file else None
        if self.model_name is not None and spec.model_name is not None:
            self.model_name = resolve(spec.model_name)(self.model_name, options)
        self.device = device
        self.verbose = verbose
        self._models: dict[str, OnnxModel] = {}
        self._failed: dict[str, Exception] = {}
        self._lock = threading.Lock()
        self._select = resolve(spec.select_model)
        self._prepare = resolve(spec.prepare)
        self._finish = resolve(spec.finish) if spec.finish else None
        self._check = resolve(spec.check_model) if spec.check_model else None
        build_engine = resolve(spec.engine)(options, device) if spec.engine else None
        if build_engine is not None and model is not None:  # before the build's own, costlier checks
            raise ValueError(f"--model {model} is not used: with these options {spec.name} runs no model file")
        self._engine = build_engine() if build_engine is not None else None
        if self._engine is not None:
            self._models["engine"] = self._engine  # reported like a loaded model

    def model_for(self, picture: Picture | None) -> OnnxModel:
        """The session for this picture (`--model FILE` wins over the task's choice). Thread-safe."""
        if self._engine is not None:
            return self._engine
        return self._load(self._model_key(picture))

    def preload(self) -> OnnxModel | None:
        """The model the options pick without seeing a picture, loaded now (and kept for the
        batch): the CLI calls this first so that a wrong --model or --style, a file that cannot
        load or a forgotten mask is one clear error before the batch, not a failure per file.
        A task that picks by the picture (denoise: gray or colour) names its usual model for no
        picture, which a gray-only batch then never uses: a session's load, paid for the early
        check. None when the plugin's choice cannot be made without a picture."""
        if self._engine is not None:
            return self._engine
        try:
            key = self._model_key(None)
        except Exception:  # a plugin that chooses by the picture: every file loads its own
            return None
        return self._load(key)

    def _model_key(self, picture: Picture | None) -> str:
        return str(self.model_path or self.model_name or self._select(self.options, picture))

    def _load(self, key: str) -> OnnxModel:
        with self._lock:
            if key in self._failed:  # a model that cannot load fails every file the same way, at once
                raise self._failed[key]
            if key not in self._models:
                try:
                    path = self.model_path or (
                        Path(key) if key.endswith(".onnx") else locate(key, task=self.spec.name).file)
                    model = OnnxModel(path, device=self.device, verbose=self.verbose)
                    if model.info.task != self.spec.name:
                        raise ValueError(f"{path} is a model of task {model.info.task!r}, not {self.spec.name!r}")
                    if self._check is not None:
                        self._check(self.options, model.info)
                except Exception as error:
                    self._failed[key] = error
                    raise
                self._models[key] = model
            return self._models[key]

    def with_companions(self, picture: Picture, name: Path, source: Path | None = None) -> Picture:
        """The picture with what the task reads beside it (its mask), for the input at `name`
        (read from `source`)."""
        if self.masks is None:
            return picture
        return replace(picture, mask=self.masks.load(name, picture, source))

    @property
    def loaded(self) -> list[OnnxModel]:
        return list(self._models.values())

    def prepare(self, picture: Picture | np.ndarray, model: OnnxModel) -> dict[str, np.ndarray] | None:
        """The model inputs of a picture, or of an N×dim latent batch for a task whose input is
        a latent vector (TaskSpec.inputs ("latent",))."""
        return self._prepare(picture, self.options, model.info)

    def finish(self, output: np.ndarray, picture: Picture) -> Picture:
        """Model output (C×H'×W', 0..1) back to a picture of the input's kind: sample type, gray or
        colour, alpha kept (resized bicubically when the task changes the size)."""
        color = output.transpose(1, 2, 0)
        if self._finish is not None:
            color = self._finish(color, picture, self.options)
        color = self._match_channels(color, picture)
        return self._keep_unmasked(replace(picture, color=picture.samples_from_float(color),
                                      alpha=_resized_alpha(picture, color.shape[:2])), picture)

    def render(self, picture: Picture, model: OnnxModel, inputs: dict[str, np.ndarray], tile: int | None = None,
               batch_size: int = 4, ensemble: bool = False) -> Picture:
        """Run one picture on its own (tiled when large) straight to the finished picture.

        Without a task `finish` hook the output is built band by band (OnnxModel.run_bands) in
        the picture's own sample type, so the only output-sized buffer is the result itself."""
        tile = tile or model.default_tile()
        if picture.mask is not None and model.info.scale == 1 and max(picture.size) > tile and not ensemble:
            return self._render_holes(picture, model, inputs, tile, batch_size)
        if ensemble or self._finish is not None:
            run = model.run_ensemble if ensemble else model.run_image
            return self.finish(run(inputs, tile=tile, batch_size=batch_size), picture)
        color: np.ndarray | None = None
        for top, band in model.run_bands(inputs, tile=tile, batch_size=batch_size):
            band_color = self._match_channels(band.transpose(1, 2, 0), picture)
            if color is None:
                out_height = picture.size[0] * model.info.scale
                color = np.empty((out_height, band_color.shape[1], picture.channels), picture.color.dtype)
            color[top : top + band_color.shape[0]] = picture.samples_from_float(band_color)
        assert color is not None
        return self._keep_unmasked(replace(picture, color=color, alpha=_resized_alpha(picture, color.shape[:2])), picture)

    def _render_holes(self, picture: Picture, model: OnnxModel, inputs: dict[str, np.ndarray], tile: int,
                      batch_size: int) -> Picture:
        """A masked task on a picture larger than a tile: run the model only on crops around the
        holes (each with the model's receptive radius of context, tiled if still large) and
        paste the filled pixels into a copy of the input. Memory: the output image plus crops."""
        spatial = {i.name for i in model.info.inputs if i.kind in SPATIAL_KINDS}
        assert picture.mask is not None
        color = picture.color.copy()
        for top, left, bottom, right in hole_boxes(picture.mask, model.info.receptive_radius,
                                                   model.info.size_multiple):
            crop = {k: v[:, top:bottom, left:right] if k in spatial else v for k, v in inputs.items()}
            output = model.run_image(crop, tile=tile, batch_size=batch_size).transpose(1, 2, 0)
            region = replace(picture, color=picture.color[top:bottom, left:right], alpha=None, mask=None)
            if self._finish is not None:
                output = self._finish(output, region, self.options)
            samples = picture.samples_from_float(self._match_channels(output, region))
            np.copyto(color[top:bottom, left:right], samples, where=picture.mask[top:bottom, left:right, None])
        return self._keep_unmasked(replace(picture, color=color), picture)

    def _keep_unmasked(self, result: Picture, picture: Picture) -> Picture:
        """A masked task changes only masked pixels: everything outside the mask is copied back
        from the input bit for bit (models blur a little everywhere). Where the mask is the
        image's transparency (--mask-from-alpha), the filled pixels become opaque, or the fill
        would stay invisible; a mask from a file leaves the alpha as it was (a cut-out keeps its
        transparent background)."""
        mask = picture.mask
        if mask is None or result.size != picture.size:
            return result
        color = result.color.copy() if result.color is picture.color else result.color
        np.copyto(color, picture.color, where=~mask[:, :, None])
        alpha = result.alpha
        transparent = picture.transparent
        if alpha is not None and transparent is not None and self.masks is not None and self.masks.from_alpha:
            alpha = np.where(mask & transparent, picture.max_value, alpha).astype(alpha.dtype)
        return replace(result, color=color, alpha=alpha, mask=None)

    def run_picture(self, picture: Picture, tile: int | None = None, ensemble: bool = False) -> Picture:
        model = self.model_for(picture)
        inputs = self.prepare(picture, model)
        if inputs is None or nothing_to_fill(picture):
            return replace(picture, mask=None)
        return self.render(picture, model, inputs, tile=tile, ensemble=ensemble)

    @staticmethod
    def _match_channels(color: np.ndarray, picture: Picture) -> np.ndarray:
        if color.shape[2] == picture.channels:
            return color
        return to_color_mode(np.ascontiguousarray(color), "gray" if picture.channels == 1 else "rgb")


def _resized_alpha(picture: Picture, size: tuple[int, int]) -> np.ndarray | None:
    """The picture's alpha at `size`: bicubic (OpenCV, in the alpha's own integer type, which
    cv2 rounds and saturates) when the task changed the size."""
    alpha = picture.alpha
    if alpha is None or alpha.shape == size:
        return alpha
    return cv2.resize(alpha, (size[1], size[0]), interpolation=cv2.INTER_CUBIC)
