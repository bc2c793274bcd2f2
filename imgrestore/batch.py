"""The folder pipeline: read -> prepare -> run -> write, with I/O overlapping inference.

Worker threads decode and prepare images (OpenCV and numpy release the GIL) while the main
thread feeds onnxruntime; finished images are encoded and written atomically on a second pool.
Same-size images that use the same model are batched; images larger than the tile size are
tiled. Every file ends as done, skipped or failed-with-a-reason; nothing stops the batch.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from imgrestore.atomic_files import remove_abandoned_temporaries, write_atomic
from imgrestore.images import Picture, check_encodable, read_image, same_format, stored_upright, write_image
from imgrestore.inference import TaskRunner, nothing_to_fill
from imgrestore.jobs import Job
from imgrestore.runtime import OnnxModel


@dataclass(frozen=True)
class Failure:
    path: Path
    reason: str


@dataclass
class Summary:
    written: list[tuple[Path, Path]] = field(default_factory=list)
    """(input, output) of every file done."""
    skipped_inputs: list[Path] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    megapixels: float = 0.0
    devices: tuple[str, ...] = ()

    @property
    def done(self) -> int:
        return len(self.written)

    @property
    def skipped(self) -> int:
        return len(self.skipped_inputs)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def report(self) -> dict[str, Any]:
        """What --report writes: the counts and every file by name, so a pipeline can act on the
        failures (retry, drop from a data set) without parsing the console."""
        return {
            "done": self.done, "skipped": self.skipped, "failed": self.failed,
            "seconds": round(self.seconds, 3), "megapixels": round(self.megapixels, 3), "devices": list(self.devices),
            "files": sorted([{"input": str(source), "output": str(output), "status": "done"}
                             for source, output in self.written]
                            + [{"input": str(path), "status": "skipped"} for path in self.skipped_inputs]
                            + [{"input": str(f.path), "status": "failed", "reason": f.reason} for f in self.failures],
                            key=lambda entry: entry["input"]),
        }

    def line(self) -> str:
        rate = self.megapixels / self.seconds if self.seconds > 0 else 0.0
        device = f", on {'/'.join(self.devices)}" if self.devices else ""
        return (
            f"done {self.done}, skipped {self.skipped}, failed {self.failed} in {self.seconds:.1f} s "
            f"({self.megapixels:.1f} MP, {rate:.2f} MP/s{device})"
        )


@dataclass
class _Prepared:
    job: Job
    picture: Picture
    model: OnnxModel
    inputs: dict[str, np.ndarray] | None
    """None: the task needs nothing done to this picture (TaskSpec.prepare)."""


@dataclass
class BatchOptions:
    batch_size: int = 4
    tile: int | None = None
    workers: int = 2
    skip_existing: bool = False
    quality: int = 95
    ensemble: bool = False
    strip_metadata: bool = False
    """Write no ICC profile or EXIF (by default the input's are carried over: imgrestore.metadata)."""


class _Progress:
    """Thread-safe wrapper around an optional progress callback (one call per finished file)."""

    def __init__(self, callback: Callable[[int], None] | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()

    def advance(self) -> None:
        if self._callback is not None:
            with self._lock:
                self._callback(1)


def run_jobs(
    runner: TaskRunner,
    jobs: list[Job],
    options: BatchOptions,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    summary = Summary()
    started = time.perf_counter()
    tracker = _Progress(progress)
    lock = threading.Lock()
    inputs = {job.source.resolve() for job in jobs}
    remove_abandoned_temporaries(job.destination for job in jobs)

    def fail(job: Job, reason: str) -> None:
        with lock:
            summary.failures.append(Failure(job.source, reason))
        tracker.advance()

    todo = []
    for job in jobs:
        if job.destination.resolve() in inputs:
            fail(job, f"output {job.destination} would overwrite an input")
        elif options.skip_existing and job.destination.is_file():  # a folder in its place is no output
            summary.skipped_inputs.append(job.source)
            tracker.advance()
        else:
            todo.append(job)

    def load(job: Job) -> _Prepared:
        picture = runner.with_companions(read_image(job.source), job.name, job.source)
        model = runner.model_for(picture)
        check_encodable(job.destination, *(side * model.info.scale for side in picture.size))
        return _Prepared(job, picture, model, runner.prepare(picture, model))

    def save(item: _Prepared, output: np.ndarray | Picture | Path) -> None:
        """Write a model output, a finished picture, or (a Path: the input is the answer) that
        file's bytes unchanged, unless it is stored on its side: then it is written upright,
        like every output."""
        try:
            result = None
            if not isinstance(output, Path):
                result = output if isinstance(output, Picture) else runner.finish(output, item.picture)
            else:
                data = output.read_bytes()
                if stored_upright(data):
                    write_atomic(item.job.destination, data)
                else:
                    result = replace(item.picture, mask=None)
            if result is not None:
                if options.strip_metadata:
                    result = replace(result, metadata=None)
                write_image(item.job.destination, result, quality=options.quality)
        except Exception as error:  # an unwritable file must not stop the others
            fail(item.job, f"cannot write {item.job.destination}: {_reason(error)}")
            return
        height, width = item.picture.size
        with lock:
            summary.written.append((item.job.source, item.job.destination))
            summary.megapixels += height * width / 1e6
        tracker.advance()

    writes: list[Future[None]] = []
    with ThreadPoolExecutor(options.workers, thread_name_prefix="read") as readers, ThreadPoolExecutor(
        options.workers, thread_name_prefix="write"
    ) as writers:

        def submit_write(item: _Prepared, output: np.ndarray | Picture | Path) -> None:
            """Queue an encode+write, first waiting while too many finished outputs are in memory
            (on a GPU inference outruns PNG encoding; each 12 MP output is ~150 MB of floats)."""
            writes[:] = [w for w in writes if not w.done()]
            while len(writes) >= 2 * options.workers:
                writes.pop(0).result()
            writes.append(writers.submit(save, item, output))

        def run_group(group: list[_Prepared]) -> None:
            try:
                names = group[0].inputs.keys()
                outputs = group[0].model.run({name: np.stack([item.inputs[name] for item in group]) for name in names})
            except Exception as error:
                for item in group:
                    fail(item.job, f"inference failed: {_reason(error)}")
                return
            for item, output in zip(group, outputs):
                submit_write(item, output)

        def run_single(item: _Prepared) -> None:
            """One image on its own: tiled when large, and the self-ensemble path."""
            try:
                output = runner.render(item.picture, item.model, item.inputs, tile=options.tile,
                                       batch_size=options.batch_size, ensemble=options.ensemble)
            except Exception as error:
                fail(item.job, f"inference failed: {_reason(error)}")
                return
            submit_write(item, output)

        try:
            pending: OrderedDict[tuple[Any, ...], list[_Prepared]] = OrderedDict()
            window = max(2 * options.batch_size, 2 * options.workers)
            futures: list[tuple[Job, Future[_Prepared]]] = []
            queue = iter(todo)
            for job in queue:
                futures.append((job, readers.submit(load, job)))
                if len(futures) >= window:
                    break
            while futures:
                job, future = futures.pop(0)
                next_job = next(queue, None)
                if next_job is not None:
                    futures.append((next_job, readers.submit(load, next_job)))
                try:
                    item = future.result()
                except Exception as error:
                    fail(job, _reason(error))
                    continue
                if item.inputs is None or nothing_to_fill(item.picture):  # the input is the answer
                    if same_format(item.job.source, item.job.destination) and not options.strip_metadata:
                        submit_write(item, item.job.source)  # the file itself: a JPEG is not re-encoded
                    else:
                        submit_write(item, replace(item.picture, mask=None))
                    continue
                tile = options.tile or item.model.default_tile()
                height, width = item.picture.size
                if height > tile or width > tile or options.ensemble:
                    run_single(item)
                    continue
                key = (id(item.model),) + tuple((name, value.shape) for name, value in item.inputs.items())
                pending.setdefault(key, []).append(item)
                if len(pending[key]) >= options.batch_size:
                    run_group(pending.pop(key))
                elif sum(len(group) for group in pending.values()) > 2 * options.batch_size:
                    run_group(pending.pop(next(iter(pending))))
            for group in pending.values():
                run_group(group)
            for write in writes:
                write.result()
        except KeyboardInterrupt:  # Ctrl-C: drop what is queued; writes in flight finish (atomic) on exit
            readers.shutdown(wait=False, cancel_futures=True)
            writers.shutdown(wait=False, cancel_futures=True)
            summary.seconds = time.perf_counter() - started
            raise BatchInterrupted(summary) from None  # leaving the pools waits for those writes

    summary.seconds = time.perf_counter() - started
    summary.devices = tuple(sorted({model.device_label for model in runner.loaded}))
    summary.failures.sort(key=lambda failure: str(failure.path))
    return summary


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during run_jobs; `summary` holds what was finished (complete once the exception
    has left run_jobs, whose thread pools wait for the writes in flight)."""

    def __init__(self, summary: Summary) -> None:
        super().__init__()
        self.summary = summary


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0] if text else type(error).__name__


def write_report(summary: Summary, path: Path, ignored: list[Path] | None = None,
                 interrupted_jobs: list[Job] | None = None) -> None:
    """The run's report as JSON, written atomically like the images; `ignored`: the files the
    plan passed over (no image suffix), listed with that status. After Ctrl-C, `interrupted_jobs`
    is the plan: its inputs that were neither done, skipped nor failed are listed as "not
    reached", so a pipeline knows what the resumed run has left to do. Names that are not valid
    UTF-8 (old archives) are written as JSON escapes, which Python's json reads back to the
    same file name."""
    report = summary.report()
    report["ignored"] = [str(p) for p in ignored or []]
    if interrupted_jobs is not None:
        reached = {str(entry["input"]) for entry in report["files"]}
        report["interrupted"] = True
        report["not_reached"] = [str(job.source) for job in interrupted_jobs if str(job.source) not in reached]
    try:
        text = json.dumps(report, indent=1, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a name with undecodable bytes (a surrogate escape)
        text = json.dumps(report, indent=1).encode()
    write_atomic(path, text + b"\n")


def print_failures(summary: Summary) -> None:
    import click

    if summary.failures:
        click.echo(f"{summary.failed} file(s) failed:", err=True)
        for failure in summary.failures:
            click.echo(f"  {failure.path}: {failure.reason}", err=True)
