"""Shipped default models: weights/manifest.json names them, we locate and verify them offline.

Where weights live, first match wins:
  1. $IMGRESTORE_WEIGHTS (a folder holding manifest.json),
  2. the `weights/` folder beside the `imgrestore` package (a source checkout or editable install),
  3. <sys.prefix>/share/imgrestore/weights (where a wheel would put them).
Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


class WeightsError(RuntimeError):
    """A model is unknown, missing, or its file does not match the manifest's sha256."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str
    file: Path
    sha256: str
    record: dict[str, Any]


def weights_dir() -> Path:
    candidates = []
    if os.environ.get("IMGRESTORE_WEIGHTS"):
        candidates.append(Path(os.environ["IMGRESTORE_WEIGHTS"]))
    candidates.append(Path(__file__).resolve().parent.parent / "weights")
    candidates.append(Path(sys.prefix) / "share" / "imgrestore" / "weights")
    for candidate in candidates:
        if (candidate / MANIFEST).is_file():
            return candidate
    raise WeightsError("no weights folder found (looked in: " + ", ".join(str(c) for c in candidates) + "): "
                       "set IMGRESTORE_WEIGHTS to a folder holding manifest.json (the repository's weights/, "
                       "which an editable install, pip install -e, finds by itself), or give --model FILE.onnx")


def read_manifest(directory: Path | None = None) -> dict[str, Any]:
    directory = directory or weights_dir()
    return json.loads((directory / MANIFEST).read_text())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _verified(path: Path, size: int, mtime: float, expected: str) -> bool:
    return sha256_of(path) == expected


def locate(name: str, verify: bool = True, section: str = "models", task: str | None = None) -> ModelEntry:
    """The shipped model called `name`, its file checked against the manifest's sha256.

    `section` "models" holds what tasks run; "evaluators" holds networks that only score a
    task's output (e.g. the classifier behind the sampling task's Fréchet distance). With `task`,
    a name without the task's prefix is found too ("x4" for "upscale-x4", as typed after
    `imgrestore upscale --model`), case aside, and an unknown name is answered with that task's
    names only."""
    directory = weights_dir()
    models = read_manifest(directory).get(section, {})
    if name not in models:
        folded = {known.lower(): known for known in models}
        wanted = [name.lower()] + ([f"{task}-{name}".lower()] if task else [])
        found = next((folded[candidate] for candidate in wanted if candidate in folded), None)
        if found is None or (task is not None and models[found].get("task") != task):
            choices = sorted(n for n, record in models.items() if task is None or record.get("task") == task)
            which = f"{task} models" if task else "available"
            raise WeightsError(f"no shipped {section[:-1]} named {name!r} ({which}: {', '.join(choices) or 'none'})")
        name = found
    record = models[name]
    path = directory / record["file"]
    if not path.is_file():
        raise WeightsError(f"model {name!r}: file {path} is missing")
    if verify:
        stat = path.stat()
        if not _verified(path, stat.st_size, stat.st_mtime, record["sha256"]):
            raise WeightsError(f"model {name!r}: {path} does not match the manifest's sha256 (corrupt or replaced)")
    return ModelEntry(name=name, task=record["task"], file=path, sha256=record["sha256"], record=record)
