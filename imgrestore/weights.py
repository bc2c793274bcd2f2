"""Shipped default models: weights/manifest.json names them, we locate and verify them offline.

Where weights live:
  1. $IMGRESTORE_WEIGHTS (a folder holding manifest.json); when it is set, only there: a user who
     points it at their own weights must never silently get the shipped ones,
  2. else the `weights/` folder beside the `imgrestore` package (a source checkout or editable install),
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

    def companion(self, key: str, verify: bool = True) -> Path:
        """A file the manifest lists beside the model (`checkpoint`, `statistics`), checked
        against its `<key>_sha256` like the model itself."""
        if key not in self.record:
            raise WeightsError(f"model {self.name!r} has no {key!r} in the manifest")
        path = _root_of(self) / self.record[key]
        _check(path, self.record.get(f"{key}_sha256"), f"model {self.name!r}: {key}", verify)
        return path


def _root_of(entry: ModelEntry) -> Path:
    """The weights folder an entry came from (every path in the manifest is relative to it)."""
    return Path(str(entry.file)[: -len(entry.record["file"])])


def _check(path: Path, expected: str | None, what: str, verify: bool) -> None:
    if not path.is_file():
        raise WeightsError(f"{what}: file {path} is missing")
    if verify:
        if not expected:
            raise WeightsError(f"{what}: the manifest records no sha256 for {path}")
        stat = path.stat()
        if not _verified(path, stat.st_size, stat.st_mtime, expected):
            raise WeightsError(f"{what}: {path} does not match the manifest's sha256 (corrupt or replaced)")


def weights_dir() -> Path:
    chosen = os.environ.get("IMGRESTORE_WEIGHTS")
    if chosen:
        folder = Path(chosen).expanduser()
        if not (folder / MANIFEST).is_file():
            raise WeightsError(f"IMGRESTORE_WEIGHTS is {chosen}, which holds no {MANIFEST}: point it at a weights "
                               "folder (like the repository's weights/), or unset it to use the shipped weights")
        return folder
    candidates = []
    candidates.append(Path(__file__).resolve().parent.parent / "weights")
    candidates.append(Path(sys.prefix) / "share" / "imgrestore" / "weights")
    for candidate in candidates:
        if (candidate / MANIFEST).is_file():
            return candidate
    raise WeightsError("no weights folder found (looked in: " + ", ".join(str(c) for c in candidates) + "): "
                       "set IMGRESTORE_WEIGHTS to a folder holding manifest.json (the repository's weights/, "
                       "which an editable install, pip install -e, finds by itself), or give --model FILE.onnx")


def read_manifest(directory: Path | None = None) -> dict[str, Any]:
    path = (directory or weights_dir()) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise WeightsError(f"cannot read the weights manifest {path}: {error}") from None
    if not isinstance(manifest, dict) or not all(isinstance(manifest.get(section, {}), dict)
                                                 for section in ("models", "evaluators")):
        raise WeightsError(f"{path} is not a weights manifest (expected an object with \"models\")")
    return manifest


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
    found = name if name in models else None
    if found is None:
        folded = {known.lower(): known for known in models}
        wanted = [name.lower()] + ([f"{task}-{name}".lower()] if task else [])
        found = next((folded[candidate] for candidate in wanted if candidate in folded), None)
    if found is None or (task is not None and models[found].get("task") != task):
        choices = sorted(n for n, record in models.items() if task is None or record.get("task") == task)
        which = f"{task} models" if task else "available"
        raise WeightsError(f"no shipped {section[:-1]} named {name!r} ({which}: {', '.join(choices) or 'none'})")
    record = models[found]
    missing = [key for key in ("task", "file", "sha256") if not isinstance(record.get(key), str)]
    if missing:
        raise WeightsError(f"{directory / MANIFEST}: {section[:-1]} {found!r} lacks {', '.join(map(repr, missing))}")
    path = directory / record["file"]
    _check(path, record["sha256"], f"model {found!r}", verify)
    return ModelEntry(name=found, task=record["task"], file=path, sha256=record["sha256"], record=record)
