"""onnxruntime sessions: provider choice, padding to the model's size multiple, tiled runs.

Everything the runtime needs to know about a model comes from the JSON stored under the
"imgrestore" key of the ONNX metadata, so a user's own exported model runs with no task code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from imgrestore.tiling import Tile, plan_tiles, upscale_weight

METADATA_KEY = "imgrestore"
SPATIAL_KINDS = frozenset({"image", "mask"})
INPUT_KINDS = SPATIAL_KINDS | {"scalar", "latent"}
log = logging.getLogger("imgrestore")

# `auto` tries CUDA, then CPU. TensorRT is opt-in (`--device tensorrt`): it builds an engine for
# every new input shape, which costs minutes on a folder of photos of varied sizes.
PROVIDERS = {
    "auto": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
    "cpu": ["CPUExecutionProvider"],
}
DEFAULT_TILE = {"CPUExecutionProvider": 1024}
DEFAULT_GPU_TILE = 2048


class ModelMetadataError(ValueError):
    """The ONNX file lacks imgrestore's metadata, or it is malformed."""


@dataclass(frozen=True)
class InputInfo:
    name: str
    kind: str
    """"image" (N×C×H×W, 0..1), "mask" (N×1×H×W, 1 = fill), "scalar" (N×k), "latent" (N×k)."""


@dataclass(frozen=True)
class ModelInfo:
    task: str
    inputs: tuple[InputInfo, ...]
    output: str
    channels: int
    """Channels of the image input and of the output; 0 = any (a model that works per channel)."""
    scale: int = 1
    size_multiple: int = 1
    receptive_radius: int = 16
    value_range: tuple[float, float] = (0.0, 1.0)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({
            "task": self.task,
            "inputs": [{"name": i.name, "kind": i.kind} for i in self.inputs],
            "output": self.output,
            "channels": self.channels,
            "scale": self.scale,
            "size_multiple": self.size_multiple,
            "receptive_radius": self.receptive_radius,
            "value_range": list(self.value_range),
            "extra": self.extra,
        }, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelInfo":
        try:
            raw = json.loads(text)
            return cls(
                task=raw["task"],
                inputs=tuple(InputInfo(i["name"], i["kind"]) for i in raw["inputs"]),
                output=raw["output"],
                channels=int(raw["channels"]),
                scale=int(raw.get("scale", 1)),
                size_multiple=int(raw.get("size_multiple", 1)),
                receptive_radius=int(raw.get("receptive_radius", 16)),
                value_range=tuple(raw.get("value_range", (0.0, 1.0))),
                extra=dict(raw.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelMetadataError(f"malformed imgrestore metadata: {error}") from None

    def check_against(self, session: Any, path: Path) -> None:
        """Metadata that contradicts the graph (a hand-edited or foreign file) would fail every
        image with a cryptic error deep in a run (division by zero, an unknown output): refuse
        it once, when the model loads."""
        problems = []
        graph_inputs = {i.name for i in session.get_inputs()}
        declared = {i.name for i in self.inputs}
        if declared != graph_inputs:
            problems.append(f"inputs {sorted(declared)} are not the graph's {sorted(graph_inputs)}")
        if self.output not in {o.name for o in session.get_outputs()}:
            problems.append(f"output {self.output!r} is not one of the graph's")
        unknown = sorted({i.kind for i in self.inputs} - INPUT_KINDS)
        if unknown:
            problems.append(f"input kinds {unknown} (known: {', '.join(sorted(INPUT_KINDS))})")
        if self.scale < 1 or self.size_multiple < 1 or self.channels < 0 or self.receptive_radius < 0:
            problems.append(f"scale {self.scale}, size_multiple {self.size_multiple}, channels {self.channels}, "
                            f"receptive_radius {self.receptive_radius} (scale and size_multiple must be at least 1)")
        if problems:
            raise ModelMetadataError(f"{path}: its imgrestore metadata does not fit the model: " + "; ".join(problems))

    def input(self, kind: str) -> InputInfo | None:
        return next((i for i in self.inputs if i.kind == kind), None)


_preloaded = False


def _quiet_onnxruntime(verbose: bool, device: str) -> Any:
    """onnxruntime, logging only fatal errors unless verbose (a CUDA provider that fails to load
    is an expected, handled event on CPU machines). Where an NVIDIA device exists, the CUDA and
    cuDNN libraries of the nvidia-* wheels (installed with torch) are preloaded so the CUDA
    provider loads without LD_LIBRARY_PATH."""
    global _preloaded
    import os

    import onnxruntime

    onnxruntime.set_default_logger_severity(2 if verbose else 4)
    if device != "cpu" and not _preloaded and os.path.exists("/dev/nvidiactl"):
        _preloaded = True
        try:
            onnxruntime.preload_dlls()
        except Exception as error:  # older onnxruntime, or libraries elsewhere: the provider may still load
            log.debug("onnxruntime.preload_dlls failed: %s", error)
    return onnxruntime


def _start_session(onnxruntime: Any, path: Path, options: Any, device: str) -> Any:
    """A session on the providers `device` asks for. onnxruntime's own fallback is off: it prints
    a banner on stdout, and it would run `--device tensorrt` on CUDA, or switch a running session
    to the CPU while we report the GPU. `auto` falls back to the CPU here, quietly; an explicit
    device that cannot start is an error, unless the model cannot start anywhere (then that is
    what is reported)."""
    available = set(onnxruntime.get_available_providers())
    wanted = [p for p in PROVIDERS[device] if p in available]
    if device in ("cuda", "tensorrt") and PROVIDERS[device][0] not in available:
        raise RuntimeError(f"--device {device}: this onnxruntime has no {PROVIDERS[device][0]} "
                           "(install onnxruntime-gpu)")

    def start(providers: list[str]) -> Any:
        return onnxruntime.InferenceSession(str(path), sess_options=options, providers=providers, enable_fallback=0)

    try:
        session = start(wanted)
    except Exception as error:
        if wanted == ["CPUExecutionProvider"]:
            raise
        session = start(["CPUExecutionProvider"])  # raises what is wrong with the model itself, if anything
        if device != "auto":
            raise RuntimeError(f"--device {device}: onnxruntime could not start {PROVIDERS[device][0]}: "
                               f"{str(error).strip().splitlines()[-1][:300]}") from None
        log.debug("falling back to the CPU: %s", error)
        return session
    if device != "auto" and session.get_providers()[0] != PROVIDERS[device][0]:
        raise RuntimeError(
            f"--device {device}: onnxruntime could not load the {PROVIDERS[device][0]} "
            "(is onnxruntime-gpu installed, with CUDA and cuDNN libraries on the library path?)"
        )
    return session


class OnnxModel:
    """One onnxruntime session and the metadata that says how to feed it."""

    def __init__(self, path: str | Path, device: str = "auto", threads: int = 0, verbose: bool = False) -> None:
        onnxruntime = _quiet_onnxruntime(verbose, device)
        self.path = Path(path)
        if device not in PROVIDERS:
            raise ValueError(f"unknown device {device!r} (choose from {', '.join(PROVIDERS)})")
        if self.path.suffix.lower() in (".safetensors", ".pt", ".pth"):
            raise ModelMetadataError(f"{self.path} is a training checkpoint, not an ONNX model: export it with "
                                     f"`imgrestore export TASK --checkpoint {self.path} -o model.onnx` and pass that")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 2 if verbose else 4
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        self.session = _start_session(onnxruntime, self.path, options, device)
        self.provider = self.session.get_providers()[0]
        meta = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in meta:
            raise ModelMetadataError(f"{self.path} has no imgrestore metadata: export it with `imgrestore export`")
        self.info = ModelInfo.from_json(meta[METADATA_KEY])
        self.info.check_against(self.session, self.path)

    @property
    def device_label(self) -> str:
        return {"CUDAExecutionProvider": "cuda", "TensorrtExecutionProvider": "tensorrt"}.get(self.provider, "cpu")

    def default_tile(self) -> int:
        """Tile side in input pixels. Enlarging models get a quarter: their output tiles (and the
        bands run_bands holds) are scale² times bigger. 3000×2000 at ×4 on 2 CPU cores peaked at
        2.8 GiB with 512 px tiles and 1.3 GiB with 256 (benchmarks/upscale_memory.py)."""
        tile = DEFAULT_TILE.get(self.provider, DEFAULT_GPU_TILE)
        return tile // 4 if self.info.scale > 1 else tile

    def smallest_side(self) -> int:
        """The side a tiny image (an icon, a 1-pixel strip) is padded up to. Reflection padding
        inside a network fails on a side not larger than the pad: the usual pads are 3-4 px at
        full resolution (7×7 and 9×9 convolutions), 7 px for 8×8 patches and 1 px on the coarsest
        grid, which 8 px and two cells of that grid cover. Larger images are never touched."""
        multiple = self.info.size_multiple
        return -(-max(8, 2 * multiple) // multiple) * multiple

    def tile_overlap(self) -> int:
        """Overlap of neighbouring tiles: four receptive radii (imgrestore.tiling says why), on the
        model's pixel grid."""
        multiple = self.info.size_multiple
        return -(-4 * self.info.receptive_radius // multiple) * multiple

    def smallest_tile(self) -> int:
        """The smallest tile side that leaves each tile a core of its own beside the two overlaps;
        a smaller `--tile` is raised to it (and the command says so)."""
        return 2 * self.tile_overlap() + self.info.size_multiple

    def run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Run a batch (every input with a leading batch axis); spatial inputs are padded to the
        model's size multiple here and the output cropped back, so callers never think about it."""
        multiple = self.info.size_multiple
        spatial = [i.name for i in self.info.inputs if i.kind in SPATIAL_KINDS]
        height = width = None
        feed = {}
        for name, value in batch.items():
            value = np.ascontiguousarray(value, dtype=np.float32)
            if name in spatial:
                height, width = value.shape[2], value.shape[3]
                value = pad_to_multiple(value, multiple, minimum=self.smallest_side())
            feed[name] = value
        output = self.session.run([self.info.output], feed)[0]
        if height is not None:
            output = output[:, :, : height * self.info.scale, : width * self.info.scale]
        return output

    def run_ensemble(self, inputs: dict[str, np.ndarray], tile: int | None = None, batch_size: int = 4) -> np.ndarray:
        """Geometric self-ensemble: the mean of the outputs for the 8 flips/rotations of the input,
        each turned back. About 8× the time, typically +0.1 to +0.2 dB for restoration models."""
        spatial = {i.name for i in self.info.inputs if i.kind in SPATIAL_KINDS}
        total = None
        for rotations in range(4):
            for flip in (False, True):
                def forward(a: np.ndarray) -> np.ndarray:
                    a = np.rot90(a, rotations, axes=(1, 2))
                    return np.ascontiguousarray(a[:, :, ::-1] if flip else a)

                def backward(a: np.ndarray) -> np.ndarray:
                    a = a[:, :, ::-1] if flip else a
                    return np.rot90(a, -rotations, axes=(1, 2))

                turned = {k: forward(v) if k in spatial else v for k, v in inputs.items()}
                output = backward(self.run_image(turned, tile=tile, batch_size=batch_size))
                total = output.copy() if total is None else total + output
        assert total is not None
        return total / 8

    def run_image(self, inputs: dict[str, np.ndarray], tile: int | None = None, batch_size: int = 4) -> np.ndarray:
        """One image's inputs (no batch axis) -> C×H'×W' output, tiled when larger than `tile`."""
        bands = list(self.run_bands(inputs, tile=tile, batch_size=batch_size))
        return bands[0][1] if len(bands) == 1 else np.concatenate([band for _, band in bands], axis=1)

    def run_bands(self, inputs: dict[str, np.ndarray], tile: int | None = None,
                  batch_size: int = 4) -> Iterator[tuple[int, np.ndarray]]:
        """One image's output as horizontal bands, top to bottom: (first output row, C×rows×W').

        A large image is cut into overlapping tiles, run a row of tiles at a time, and each band
        of output rows is handed out as soon as no later tile touches it. So the float32 working
        memory is about two tile rows of output, not the whole output (1.07 GiB of floats for a
        12000×8000 result), and the caller writes each band into the final 8- or 16-bit image.

        Up to `batch_size` tiles run together; on the CPU only as many as fit in one default
        tile's pixels. Batching large tiles there bought little and multiplied the peak memory:
        four 1024-pixel tiles of the colour denoiser ran 10% faster together but took 1.06 GB
        against 0.32 GB, and four 1092-pixel tiles of the inpainter (whose wide context makes
        tiles large) ran 20% slower together and took 5.3 GB against 1.3 GB. The small tiles of
        enlarging models still go four at a time, where batching saves per-run overhead."""
        spatial = [i.name for i in self.info.inputs if i.kind in SPATIAL_KINDS]
        if not spatial:
            yield 0, self.run({k: v[None] for k, v in inputs.items()})[0]
            return
        height, width = inputs[spatial[0]].shape[1:]
        tile = tile or self.default_tile()
        if height <= tile and width <= tile:
            yield 0, self.run({k: v[None] for k, v in inputs.items()})[0]
            return
        # Pad once to the size multiple, so every tile starts on the model's pixel grid (a
        # pixel-unshuffle model gives different results on a tile shifted by one pixel).
        multiple = self.info.size_multiple
        inputs = {k: pad_to_multiple(v[None], multiple)[0] if k in spatial else v for k, v in inputs.items()}
        padded_height, padded_width = inputs[spatial[0]].shape[1:]
        overlap = self.tile_overlap()
        tile = max(tile // multiple * multiple, self.smallest_tile())
        if self.provider == "CPUExecutionProvider":
            batch_size = max(1, min(batch_size, DEFAULT_TILE["CPUExecutionProvider"] ** 2 // tile**2))
        scale = self.info.scale
        out_height, out_width = height * scale, width * scale
        image = self.info.input("image")
        channels = self.info.channels or inputs[image.name if image else spatial[0]].shape[0]
        pending = np.zeros((channels, 0, padded_width * scale), dtype=np.float32)
        pending_top = 0  # output row of pending[:, 0]
        for row in _tile_rows(plan_tiles(padded_height, padded_width, tile, overlap)):
            top, bottom = row[0].top * scale, (row[0].top + row[0].height) * scale
            if top > pending_top:  # rows above this tile row are final
                done = min(top, out_height) - pending_top
                if done > 0:
                    yield pending_top, pending[:, :done, :out_width]
                pending, pending_top = pending[:, top - pending_top :], top
            grow = bottom - pending_top - pending.shape[1]
            if grow > 0:
                pending = np.concatenate(
                    [pending, np.zeros((channels, grow, pending.shape[2]), np.float32)], axis=1)
            for group in _chunks(row, batch_size):
                feed = {}
                for name, value in inputs.items():
                    if name in spatial:
                        feed[name] = np.stack([value[:, t.top : t.top + t.height, t.left : t.left + t.width] for t in group])
                    else:
                        feed[name] = np.stack([value] * len(group))
                results = self.run(feed)
                for t, result in zip(group, results):
                    cols = slice(t.left * scale, (t.left + t.width) * scale)
                    pending[:, top - pending_top : bottom - pending_top, cols] += result * upscale_weight(t.weight, scale)
        if out_height > pending_top:
            yield pending_top, pending[:, : out_height - pending_top, :out_width]


def _tile_rows(tiles: list[Tile]) -> list[list[Tile]]:
    """Tiles grouped by row, top to bottom (plan_tiles lists them row by row)."""
    rows: dict[int, list[Tile]] = {}
    for t in tiles:
        rows.setdefault(t.top, []).append(t)
    return list(rows.values())


def pad_to_multiple(batch: np.ndarray, multiple: int, minimum: int = 0) -> np.ndarray:
    """Pad N×C×H×W at the bottom and right (mirrored) so H and W are multiples of `multiple`
    and at least `minimum`."""
    def padding(length: int) -> int:
        target = max(length, minimum)
        return target + (-target) % multiple - length

    height, width = batch.shape[2], batch.shape[3]
    pad_h, pad_w = padding(height), padding(width)
    if not (pad_h or pad_w):
        return batch
    mode = "reflect" if height > pad_h and width > pad_w else "edge"
    return np.pad(batch, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode=mode)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]
