"""The pipeline of tasks whose input is a latent vector (`imgrestore sample OUT_DIR -n 64`):
draw seeded latents -> prepare -> run in batches -> write each image atomically, plus an
optional contact sheet, or latent walks written as frames and a sheet.

Output names carry the seed and the index (seed0_00017.png), so runs with different seeds can
share a folder and `--skip-existing` resumes an interrupted run: sample i is the same image
whatever -n or the batch size (see imgrestore.sampling). What else decides the images (the model,
--truncation, the frames per walk) is recorded beside them (.seed0_samples.imgrestore.json), so
a resume with other settings is refused rather than mixing two runs' images under one sheet.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from imgrestore.atomic_files import remove_abandoned_temporaries, write_atomic
from imgrestore.images import Picture, to_uint8, write_image
from imgrestore.inference import TaskRunner
from imgrestore.runtime import OnnxModel
from imgrestore.sampling import contact_sheet, latent_vectors, slerp, square_columns
from imgrestore.weights import sha256_of


class OutputConflict(ValueError):
    """The outputs asked for would overwrite or mix with other images: nothing was written."""


@dataclass
class GenerateOptions:
    count: int = 64
    seed: int = 0
    batch_size: int = 64
    truncation: float | None = None
    interpolate: int | None = None
    """Frames per latent walk: walk w goes from sample w to sample w+1 (so -n walks, -n + 1 points)."""
    grid: Path | None = None
    """Where to write the contact sheet (of the samples, or of the walks, one walk per row)."""
    output_format: str = "png"
    skip_existing: bool = False
    quality: int = 95
    workers: int = 2


@dataclass
class GenerateSummary:
    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    device: str = ""
    sheet: Path | None = None

    def line(self) -> str:
        rate = self.written / self.seconds if self.seconds > 0 else 0.0
        sheet = f"; sheet {self.sheet}" if self.sheet else ""
        return (f"wrote {self.written}, skipped {self.skipped} in {self.seconds:.1f} s "
                f"({rate:.0f} images/s, on {self.device}){sheet}")


def latent_dim(model: OnnxModel) -> int:
    """The latent width, from the ONNX input's static second dimension."""
    latent = model.info.input("latent")
    if latent is None:
        raise ValueError(f"{model.path} has no latent input: it is not a sampling model")
    shape = next(i.shape for i in model.session.get_inputs() if i.name == latent.name)
    if len(shape) != 2 or not isinstance(shape[1], int):
        raise ValueError(f"{model.path}: latent input shape {shape} is not N×dim with a fixed dim")
    return shape[1]


def render_latents(runner: TaskRunner, model: OnnxModel, latents: np.ndarray, batch_size: int) -> np.ndarray:
    """N×H×W×C uint8 images for N latents."""
    chunks = []
    for start in range(0, len(latents), batch_size):
        output = model.run(runner.prepare(latents[start : start + batch_size], model))
        chunks.append(to_uint8(output).transpose(0, 2, 3, 1))
    return np.concatenate(chunks) if chunks else np.zeros((0, 1, 1, 1), np.uint8)


def generate(runner: TaskRunner, out_dir: Path, options: GenerateOptions,
             progress: Callable[[int], None] | None = None) -> GenerateSummary:
    """Write the samples (or walks) of `options` into `out_dir`."""
    started = time.perf_counter()
    model = runner.model_for(None)
    dim = latent_dim(model)
    summary = GenerateSummary(device=model.device_label)
    suffix = "." + options.output_format
    if options.interpolate:
        points = latent_vectors(options.seed, range(options.count + 1), dim, options.truncation)
        frames = np.linspace(0.0, 1.0, options.interpolate)
        names = [f"seed{options.seed}_walk{w:04d}_frame{k:03d}{suffix}"
                 for w in range(options.count) for k in range(options.interpolate)]
        latents = np.concatenate([slerp(points[w], points[w + 1], frames) for w in range(options.count)])
        columns = options.interpolate
        sheet_path = options.grid or out_dir / f"seed{options.seed}_walks.png"
    else:
        latents = latent_vectors(options.seed, range(options.count), dim, options.truncation)
        names = [f"seed{options.seed}_{i:05d}{suffix}" for i in range(options.count)]
        columns = square_columns(options.count)
        sheet_path = options.grid
    paths = [out_dir / name for name in names]
    if sheet_path is not None and sheet_path.resolve() in {path.resolve() for path in paths}:
        raise OutputConflict(f"--grid {sheet_path} is the name of one of the samples: choose another")
    settings = {"model": model.path.name, "model_sha256": sha256_of(model.path), "truncation": options.truncation,
                "frames_per_walk": options.interpolate}
    _record_settings(out_dir / f".seed{options.seed}_{'walks' if options.interpolate else 'samples'}.imgrestore.json",
                     settings, options.skip_existing)
    remove_abandoned_temporaries(paths)
    wanted = [i for i, path in enumerate(paths) if not (options.skip_existing and path.exists())]
    summary.skipped = len(paths) - len(wanted)
    if progress is not None and summary.skipped:
        progress(summary.skipped)
    needed = list(range(len(paths))) if sheet_path is not None else wanted
    images: dict[int, np.ndarray] = {}
    wanted_set = set(wanted)
    with ThreadPoolExecutor(max_workers=options.workers) as pool:
        writes = []
        for start in range(0, len(needed), options.batch_size):
            chunk = needed[start : start + options.batch_size]
            rendered = render_latents(runner, model, latents[chunk], options.batch_size)
            for index, image in zip(chunk, rendered):
                if sheet_path is not None:
                    images[index] = image
                if index in wanted_set:
                    writes.append(pool.submit(write_image, paths[index], Picture(color=image), options.quality))
            for future in writes:  # surface write errors now, and keep memory bounded
                future.result()
                summary.written += 1
                if progress is not None:
                    progress(1)
            writes = []
    if sheet_path is not None and images:
        sheet = contact_sheet(np.stack([images[i] for i in range(len(paths))]), columns)
        write_image(sheet_path, Picture(color=sheet), options.quality)
        summary.sheet = sheet_path
    summary.seconds = time.perf_counter() - started
    return summary


def _record_settings(record: Path, settings: dict[str, object], skip_existing: bool) -> None:
    """Refuse a resume whose settings differ from those the folder's images were made with
    (a file from before such records existed is trusted, as before), then record these. The
    model is compared by its bytes and named by its file name (a hash alone told the user
    nothing; a renamed copy of the same model is the same model)."""
    if skip_existing and record.exists():
        try:
            earlier = json.loads(record.read_text())
        except (OSError, ValueError):
            earlier = None
        compared = [key for key in settings if key != "model"]
        if isinstance(earlier, dict) and any(earlier.get(key) != settings[key] for key in compared):
            changed = "; ".join(
                f"model {earlier.get('model', earlier.get(key, '?')[:12] + '…')} -> {settings['model']}"
                if key == "model_sha256" else f"{key} {earlier.get(key)} -> {settings[key]}"
                for key in compared if earlier.get(key) != settings[key])
            raise OutputConflict(f"{record.parent} holds images of this seed made with other settings ({changed}): "
                                 "--skip-existing would mix the two runs; write to another folder, or drop "
                                 "--skip-existing to replace them")
    write_atomic(record, json.dumps(settings, sort_keys=True).encode())
