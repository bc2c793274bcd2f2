"""Which files a run reads and where each result goes. Pure path logic, no I/O beyond listing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from imgrestore.images import IMAGE_SUFFIXES, same_format


@dataclass(frozen=True)
class Job:
    source: Path
    destination: Path
    name: Path = Path()
    """The input's path relative to INPUT (its file name for a file INPUT): how companions such
    as masks are matched to it."""


@dataclass(frozen=True)
class JobPlan:
    jobs: list[Job]
    ignored: list[Path]
    """Files in the input folder without an image suffix: listed, never read."""


def plan_jobs(source: Path, destination: Path, recursive: bool = False, output_format: str | None = None,
              companions: Path | None = None) -> JobPlan:
    """Map INPUT (file or folder) to output paths.

    A file INPUT goes to OUTPUT itself when OUTPUT has an image suffix, else into the folder OUTPUT.
    A folder INPUT is mirrored into OUTPUT (subfolders too with `recursive`). `output_format`
    (e.g. "png") replaces the suffix of every output; otherwise an output keeps its input's.
    `companions` is the folder of the inputs' masks, or the one mask file: masks are never inputs
    themselves (see `_is_companion`).
    """
    suffix = None if output_format is None else "." + output_format.lower().lstrip(".")
    if source.is_file():
        if destination.suffix.lower() in IMAGE_SUFFIXES and not destination.is_dir():
            if suffix is not None and not same_format(destination, Path("output" + suffix)):
                raise ValueError(f"output {destination} is a {destination.suffix} file but --format is {output_format}: "
                                 "an output file's suffix sets its format; leave out --format or change the suffix")
            return JobPlan([Job(source, destination, Path(source.name))], [])
        if destination.is_file():
            raise ValueError(f"output {destination} is an existing file without an image suffix: name the "
                             "output file with one (.png, .jpg, ...) or give a folder")
        if destination.suffix and not destination.exists():  # out.pgn: a mistyped file name, not a folder
            raise ValueError(f"output {destination}: {destination.suffix} is not an image suffix "
                             f"({', '.join(sorted(IMAGE_SUFFIXES))}); to write into a new folder of that name, "
                             "create it first")
        return JobPlan([Job(source, _with_suffix(destination / source.name, suffix), Path(source.name))], [])
    if not source.is_dir():
        raise FileNotFoundError(f"input not found: {source}")
    if _names_a_file(destination):
        raise ValueError(f"input {source} is a folder, so the output must be a folder, not {destination}")
    walker = _walk(source) if recursive else source.iterdir()
    output_root = destination.resolve()
    nested_output = output_root != source.resolve() and output_root.is_relative_to(source.resolve())
    jobs, ignored = [], []
    for path in sorted(walker):
        if path.name.startswith(".") or (nested_output and path.resolve().is_relative_to(output_root)):
            continue  # hidden files, and OUTPUT inside INPUT: never re-read results
        if recursive and path.is_dir():
            continue  # a folder named like an image (Trip 2019.jpg/): its contents are the inputs
        if companions is not None and _is_companion(path, source.resolve(), companions.resolve()):
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            if path.is_file():
                ignored.append(path)
            continue
        # A folder named like an image (x.png) is kept as a job: it fails with a clear reason
        # instead of vanishing from the report.
        relative = path.relative_to(source)
        jobs.append(Job(path, _with_suffix(destination / relative, suffix), relative))
    return JobPlan(jobs, ignored)


def _walk(folder: Path) -> Iterator[Path]:
    """Everything under `folder`, following linked folders (each real folder once, so a link
    back up cannot loop) and skipping hidden folders (.thumbnails/, .git/) as hidden files are."""
    seen: set[str] = set()
    for root, folders, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            folders[:] = []
            continue
        seen.add(real)
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in folders + files:
            yield Path(root) / name


def _is_companion(path: Path, source_root: Path, companion_root: Path) -> bool:
    """A mask, not an input: the --mask file, or anything in a masks folder nested inside INPUT
    (in/masks/), or, in a masks folder that is INPUT's own folder (masks beside their images, as
    LaMa's evaluation sets keep them), a NAME_mask.* file beside an image NAME.*."""
    resolved = path.resolve()
    if companion_root != source_root:
        return companion_root.is_relative_to(source_root) and resolved.is_relative_to(companion_root)
    stem = Path(path.name).stem
    if not stem.endswith("_mask") or not resolved.is_relative_to(companion_root):
        return False
    image_stem = stem[: -len("_mask")]
    return any(sibling.is_file() for sibling in (path.parent / f"{image_stem}{suffix}" for suffix in IMAGE_SUFFIXES))


def plan_many(sources: list[Path], destination: Path, recursive: bool = False,
              output_format: str | None = None, companions: Path | None = None) -> JobPlan:
    """Several INPUTs (what a shell glob such as `photos/*.jpg` expands to) into the folder
    OUTPUT, as `cp` does: a file goes to OUTPUT/its name, a folder to OUTPUT/its name/... One
    INPUT is `plan_jobs`. Either way, two inputs that would write one output are refused up front."""
    # an overlapping glob names a file twice, perhaps by two paths (x.png, ../in/x.png)
    first: dict[Path, Path] = {}
    for source in sources:
        first.setdefault(source.resolve(), source)
    unique = list(first.values())
    if len(unique) == 1:
        return _refuse_collisions(plan_jobs(unique[0], destination, recursive, output_format, companions), companions)
    if _names_a_file(destination):
        raise ValueError(f"{len(unique)} inputs go into a folder, so the output must be one, not {destination}")
    jobs, ignored = [], []
    for source in unique:
        if not source.exists():
            raise FileNotFoundError(f"input not found: {source}")
        target = destination if source.is_file() else destination / source.name
        plan = plan_jobs(source, target, recursive, output_format, companions)
        jobs += plan.jobs
        ignored += plan.ignored
    return _refuse_collisions(JobPlan(jobs, ignored), companions)


def _refuse_collisions(plan: JobPlan, companions: Path | None = None) -> JobPlan:
    """Two inputs bound for one output (a.png and a.jpg with --format png; two inputs of one name)
    would have the second silently replace the first: refuse the plan, naming both. An output
    that would land on the --mask file or in the --masks folder (OUTPUT and the masks swapped)
    is refused too: masks are inputs, and inputs are never overwritten."""
    writers: dict[Path, Path] = {}
    masks = None if companions is None else companions.resolve()
    for job in plan.jobs:
        if masks is not None and job.destination.resolve().is_relative_to(masks):
            raise ValueError(f"output {job.destination} would overwrite the masks ({companions}): "
                             "give the output after the inputs and the masks with --masks/--mask")
        first = writers.setdefault(job.destination, job.source)
        if first != job.source:
            raise ValueError(f"{first} and {job.source} would both be written to {job.destination}")
    return plan


def _names_a_file(destination: Path) -> bool:
    """OUTPUT is an existing file, or a new name with an image suffix: not a folder to fill."""
    return destination.is_file() or (destination.suffix.lower() in IMAGE_SUFFIXES and not destination.is_dir())


def _with_suffix(path: Path, suffix: str | None) -> Path:
    return path if suffix is None else path.with_suffix(suffix)
