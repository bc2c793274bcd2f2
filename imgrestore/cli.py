"""The `imgrestore` command line.

Task commands are built lazily from the plugin registry: `imgrestore --help` imports the plugin
modules (light by contract) but never torch or onnxruntime. `train` and `export` import torch
only once a task's subcommand actually runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from imgrestore import __version__
from imgrestore.options import SMALLEST_TRUNCATION, FiniteRange
from imgrestore.plugins import PluginConflictError, Registry, get_registry
from imgrestore.task import TaskSpec

if TYPE_CHECKING:
    from imgrestore.inference import TaskRunner

DEVICES = click.Choice(["auto", "cpu", "cuda", "tensorrt"])
_warned = False


def _registry() -> Registry:
    global _warned
    try:
        registry = get_registry(reserved=frozenset(cli.commands))
    except PluginConflictError as error:
        raise click.ClickException(str(error)) from None
    if not _warned:
        _warned = True
        for info in registry.failures:
            click.echo(f"imgrestore: plugin {info.name!r} ({info.module}) failed to load: {info.error} "
                       "(imgrestore plugins -v shows where)", err=True)
        for name in registry.unknown_disabled:
            click.echo(f"imgrestore: IMGRESTORE_DISABLE_PLUGINS names {name!r}, which no installed plugin is called "
                       f"(installed: {', '.join(registry.plugins) or 'none'})", err=True)
    return registry


class _TaskGroup(click.Group):
    """A group whose extra subcommands come from the registered tasks, built on demand."""

    def __init__(self, *args: Any, task_command: Any = None, needs: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._task_command = task_command
        self._needs = needs  # a TaskSpec field the task must fill to appear here ("recipe", "export")

    def _tasks(self) -> dict[str, TaskSpec]:
        tasks = _registry().tasks
        return {name: spec for name, spec in tasks.items() if not self._needs or getattr(spec, self._needs)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        own = super().list_commands(ctx)
        return own + sorted(name for name in self._tasks() if name not in own)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        spec = self._tasks().get(name)
        if spec is None:
            plugin = _registry().plugins.get(name)
            if plugin is not None and plugin.blocked:
                raise click.UsageError(f"no command {name!r}: the plugin {name!r} is disabled by IMGRESTORE_DISABLE_PLUGINS")
            return None
        return self._task_command(spec)


# ---------------------------------------------------------------- inference commands


def _model_options() -> list[click.Parameter]:
    """--model and --device, the same on every inference command."""
    return [
        click.Option(["--model"], default=None, help="A shipped model name or an .onnx file (default: chosen by the task)."),
        click.Option(["--device"], type=DEVICES, default="auto", show_default=True,
                     help="auto = CUDA when onnxruntime can load it, else CPU."),
    ]


def _quality_option() -> click.Option:
    return click.Option(["--quality"], type=click.IntRange(1, 101), default=95, show_default=True,
                        help="JPEG/WebP quality (101 = lossless WebP).")


def _inference_command(spec: TaskSpec) -> click.Command:
    if "latent" in spec.inputs:
        return _sampling_command(spec)

    def callback(**values: Any) -> None:
        _run_inference(spec, values)

    params: list[click.Parameter] = [
        click.Argument(["paths"], nargs=-1, required=True, type=click.Path(path_type=Path),
                       metavar="INPUT... OUTPUT"),
        *spec.options,
        *_model_options(),
        click.Option(["--batch-size"], type=click.IntRange(1), default=4, show_default=True,
                     help="Images of the same size run together, and tiles of a large one (on the CPU only "
                          "as many tiles as fit in one default tile, to bound memory)."),
        click.Option(["--tile"], type=click.IntRange(64), default=None,
                     help="Tile side for large images, in input pixels [default: 1024 on CPU, 2048 on GPU; "
                     "a quarter of that for tasks that enlarge]."),
        click.Option(["-r", "--recursive"], is_flag=True, help="Process subfolders, mirrored in OUTPUT."),
        click.Option(["--skip-existing"], is_flag=True, help="Skip inputs whose output exists (resume a run)."),
        click.Option(["--format", "output_format"], type=click.Choice(["png", "jpg", "tif", "webp", "bmp"]),
                     default=None, help="Output format for a folder run [default: the input's]."),
        _quality_option(),
        click.Option(["--strip-metadata"], is_flag=True,
                     help="Write no colour profile (nor PNG gAMA/cHRM), EXIF, XMP, IPTC or PNG text [default: the "
                     "input's are kept in JPEG, PNG, WebP and TIFF outputs, with orientation set upright and the "
                     "pixel size updated]."),
        click.Option(["--workers"], type=click.IntRange(1), default=2, show_default=True,
                     help="Threads decoding and encoding images."),
        click.Option(["--report"], type=click.Path(dir_okay=False, path_type=Path), default=None,
                     callback=_writable_report,
                     help="Write a JSON report: the counts and every input with its output, or why it "
                     "failed, or that it was skipped; the files ignored as no image; on Ctrl-C, those "
                     "not reached."),
        click.Option(["-v", "--verbose"], is_flag=True, help="Show onnxruntime's messages and per-model details."),
    ]
    if "mask" in spec.inputs:
        params[2:2] = [
            click.Option(["--masks"], type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                         help="Folder of masks named like the inputs (same relative path and stem, any image suffix, "
                         "or STEM_mask.png); white = fill. It may be the input folder itself: then only "
                         "STEM_mask.png beside STEM.png, and the masks are not inputs."),
            click.Option(["--mask"], type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                         help="One mask for every image; white = fill."),
            click.Option(["--mask-from-alpha"], is_flag=True, help="Fill the transparent pixels (alpha below half)."),
        ]
    if spec.equivariant:
        params.insert(-1, click.Option(["--ensemble"], is_flag=True,
                                       help="Average the 8 flips/rotations (about 8× slower, slightly better)."))
    return click.Command(
        spec.name,
        callback=callback,
        params=params,
        help=f"{spec.summary}\n\nINPUT is an image file or a folder, or several (a shell glob such as "
        "photos/*.jpg); OUTPUT is a file or a folder (a folder when there are several inputs).",
        short_help=spec.summary,
    )


def _ready_runner(spec: TaskSpec, values: dict[str, Any]) -> TaskRunner:
    """The task's runner with its model loaded, so that what the options get wrong (an unknown
    --model or --style, a missing feature network, a mask-taking model without a mask) is one
    usage error before the batch rather than a failure per file."""
    from imgrestore.inference import TaskRunner
    from imgrestore.mask_inputs import MaskSource

    task_options = {p.name: values[p.name] for p in spec.options}
    masks = None
    if "mask" in spec.inputs and (values["masks"] or values["mask"] or values["mask_from_alpha"]):
        try:
            masks = MaskSource(values["masks"], values["mask"], values["mask_from_alpha"])
        except ValueError as error:
            raise click.UsageError(str(error)) from None
    try:
        runner = TaskRunner(spec, task_options, model=values["model"], device=values["device"],
                            verbose=values["verbose"], masks=masks)
        model = runner.preload()
    except Exception as error:  # a method's missing input, an unknown model, a file that is no model
        raise click.UsageError(str(error)) from None
    if masks is None and model is not None and model.info.input("mask") is not None:
        raise click.UsageError("this model fills what a mask marks: give --masks DIR, --mask FILE or --mask-from-alpha")
    if masks is not None and model is not None and model.info.input("mask") is None:  # every file would fail
        raise click.UsageError(f"the model {model.path.name} takes no mask: leave out --masks/--mask/--mask-from-alpha, "
                               "or choose a model that fills (imgrestore tasks lists them)")
    return runner


def _note_small_tile(runner: TaskRunner, tile: int | None) -> None:
    """Say so when `--tile` is below what the model's overlap allows: it is raised, and a user
    who chose it to bound memory should know the tiles are larger than asked."""
    from imgrestore.runtime import OnnxModel

    model = runner.loaded[0] if runner.loaded else None
    if tile is None or not isinstance(model, OnnxModel):  # an engine (stylize --method optimize) does not tile
        return
    smallest = model.smallest_tile()
    if tile < smallest:
        click.echo(f"note: --tile {tile} is below the smallest tile of {model.path.name} ({smallest} px: two overlaps of "
                   f"four times its {model.info.receptive_radius}-pixel receptive radius, and a core); using {smallest}",
                   err=True)


def _run_inference(spec: TaskSpec, values: dict[str, Any]) -> None:
    from imgrestore.batch import BatchInterrupted, BatchOptions, print_failures, run_jobs, write_report
    from imgrestore.jobs import plan_many

    if len(values["paths"]) < 2:
        raise click.UsageError("give INPUT... OUTPUT: one or more images or folders, then where the results go")
    *sources, output = values["paths"]
    try:
        plan = plan_many(sources, output, values["recursive"], values["output_format"],
                         companions=values.get("masks") or values.get("mask"))  # masks are never inputs
    except (FileNotFoundError, ValueError) as error:
        raise click.UsageError(str(error)) from None
    runner = _ready_runner(spec, values)
    _note_small_tile(runner, values["tile"])
    if runner.masks is not None:
        from imgrestore.images import lossy_output

        lossy = sum(lossy_output(job.destination) for job in plan.jobs)
        if lossy:
            click.echo(f"note: {lossy} output(s) are JPEG or WebP, whose encoding changes pixels outside the masks "
                       "slightly; --format png keeps them exactly (images with nothing to fill are copied as they are)",
                       err=True)
    if plan.ignored and values["verbose"]:
        for path in plan.ignored:
            click.echo(f"ignored (not an image suffix): {path}", err=True)
    options = BatchOptions(
        batch_size=values["batch_size"], tile=values["tile"], workers=values["workers"],
        skip_existing=values["skip_existing"], quality=values["quality"], ensemble=values.get("ensemble", False),
        strip_metadata=values["strip_metadata"],
    )
    show = sys.stderr.isatty()
    try:
        with click.progressbar(length=len(plan.jobs), label=spec.name, file=sys.stderr, hidden=not show) as bar:
            summary = run_jobs(runner, plan.jobs, options, progress=bar.update)
    except KeyboardInterrupt as stop:
        click.echo("\ninterrupted: every output written so far is complete; run the same command with "
                   "--skip-existing to go on from there", err=True)
        if values["report"] is not None and isinstance(stop, BatchInterrupted):
            write_report(stop.summary, values["report"], ignored=plan.ignored, interrupted_jobs=plan.jobs)
        sys.exit(130)
    if values["verbose"]:
        for loaded in runner.loaded:
            click.echo(f"model {loaded.path.name}: {loaded.provider}", err=True)
    ignored = f", ignored {len(plan.ignored)} non-image file(s)" if plan.ignored else ""
    click.echo(summary.line() + ignored, err=True)
    print_failures(summary)
    if values["report"] is not None:
        try:
            write_report(summary, values["report"], ignored=plan.ignored)
        except OSError as error:  # the disk filled up during the run, the folder went away
            raise click.ClickException(f"--report {values['report']}: {error.strerror or error}") from None
    if summary.failed:
        sys.exit(1)


def _writable_report(_context: click.Context, _parameter: click.Parameter, value: Path | None) -> Path | None:
    """The report is written after the batch: a folder it cannot go into is found before the
    batch runs (it was a traceback at the end of a long run)."""
    if value is None:
        return None
    try:
        value.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.BadParameter(f"cannot create its folder {value.parent}: {error.strerror or error}") from None
    if not os.access(value.parent, os.W_OK):
        raise click.BadParameter(f"its folder {value.parent} is not writable")
    return value


def _image_file_name(_context: click.Context, _parameter: click.Parameter, value: Path | None) -> Path | None:
    """A file an image is written to: its suffix names a format we write."""
    from imgrestore.images import IMAGE_SUFFIXES  # only when the option is given: --help stays light

    if value is not None and value.suffix.lower() not in IMAGE_SUFFIXES:
        raise click.BadParameter(f"{value} has no image suffix ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return value


def _sampling_command(spec: TaskSpec) -> click.Command:
    """The command of a task with no input image: latents drawn from --seed, images into OUT_DIR."""

    def callback(**values: Any) -> None:
        _run_sampling(spec, values)

    params: list[click.Parameter] = [
        click.Argument(["output"], type=click.Path(file_okay=False, path_type=Path)),
        click.Option(["-n", "--count"], type=click.IntRange(1), default=64, show_default=True,
                     help="Images to generate (with --interpolate: latent walks)."),
        click.Option(["--seed"], type=click.IntRange(0), default=0, show_default=True,
                     help="Same seed, same images: sample i depends only on the seed and i."),
        click.Option(["--truncation"], type=FiniteRange(SMALLEST_TRUNCATION), default=None,
                     help="Redraw latent components beyond ±T (the truncation trick): cleaner, less varied."),
        click.Option(["--grid"], type=click.Path(dir_okay=False, path_type=Path), default=None,
                     callback=_image_file_name, help="Also write a contact sheet of all images here."),
        click.Option(["--interpolate"], type=click.IntRange(2), default=None, metavar="K",
                     help="Write -n latent walks of K frames (sample w to sample w+1, spherical "
                     "interpolation) and a sheet of them, one walk per row."),
        *spec.options,
        *_model_options(),
        click.Option(["--batch-size"], type=click.IntRange(1), default=64, show_default=True),
        click.Option(["--skip-existing"], is_flag=True, help="Skip images already written (resume a run)."),
        click.Option(["--format", "output_format"], type=click.Choice(["png", "jpg", "tif", "webp", "bmp"]),
                     default="png", show_default=True),
        _quality_option(),
        click.Option(["--workers"], type=click.IntRange(1), default=2, show_default=True, help="Threads encoding images."),
        click.Option(["-v", "--verbose"], is_flag=True, help="Show onnxruntime's messages and the provider."),
    ]
    return click.Command(spec.name, callback=callback, params=params,
                         help=f"{spec.summary}\n\nOUTPUT is the folder the images go to.", short_help=spec.summary)


def _run_sampling(spec: TaskSpec, values: dict[str, Any]) -> None:
    from imgrestore.generate import GenerateOptions, OutputConflict, generate
    from imgrestore.inference import TaskRunner

    task_options = {p.name: values[p.name] for p in spec.options}
    runner = TaskRunner(spec, task_options, model=values["model"], device=values["device"], verbose=values["verbose"])
    try:
        runner.preload()
    except Exception as error:  # an unknown --model, a file that is not an imgrestore model
        raise click.UsageError(str(error)) from None
    options = GenerateOptions(
        count=values["count"], seed=values["seed"], batch_size=values["batch_size"], truncation=values["truncation"],
        interpolate=values["interpolate"], grid=values["grid"], output_format=values["output_format"],
        skip_existing=values["skip_existing"], quality=values["quality"], workers=values["workers"],
    )
    total = values["count"] * (values["interpolate"] or 1)
    try:
        with click.progressbar(length=total, label=spec.name, file=sys.stderr, hidden=not sys.stderr.isatty()) as bar:
            summary = generate(runner, values["output"], options, progress=bar.update)
    except OutputConflict as error:
        raise click.UsageError(str(error)) from None
    except Exception as error:  # a model that cannot load, an unwritable folder: one clear line
        raise click.ClickException(f"{type(error).__name__}: {error}") from None
    if values["verbose"]:
        for loaded in runner.loaded:
            click.echo(f"model {loaded.path.name}: {loaded.provider}", err=True)
    click.echo(summary.line(), err=True)


# ---------------------------------------------------------------- train and export


RECIPE_TUNED = ("batch_size", "lr", "schedule", "warmup", "clip_grad")
"""Training options whose default is the recipe's (`training_defaults`) before the trainer's."""


def _adopt_checkpoint_architecture(spec: TaskSpec, values: dict[str, Any]) -> None:
    """With --init (or --resume), the task's options left at their defaults take the values the
    checkpoint's model_config holds under the same name (--features, --depth...), so fine-tuning
    a shipped model needs no knowledge of how wide it is. What the command line sets wins; a
    model that still differs is the trainer's one-line error."""
    last = Path(values["out"]) / "last.safetensors"
    source = last if values["resume"] and last.is_file() else values["init"]  # what the trainer loads
    if source is None:
        return
    import json

    from imgrestore.training.checkpoint import read_metadata

    metadata = read_metadata(source)
    if metadata.get("task") not in (None, spec.name):
        option = "--resume" if source == last else "--init"
        raise click.ClickException(f"{option}: {source} is a checkpoint of the {metadata['task']} task, not {spec.name}")
    saved = metadata.get("model_config") or {}
    # a resumed run takes what its first session was given (config.json), which may be "unset":
    # the model_config value in its place was reported as a setting changed on resume
    recorded = {}
    if source == last and (last.parent / "config.json").is_file():
        recorded = json.loads((last.parent / "config.json").read_text()).get("options", {})
    context = click.get_current_context()
    adopted = []
    for parameter in spec.train_options:
        name = parameter.name
        listed = spec.checkpoint_options.get(name, name)
        key, convert = (listed, lambda value: value) if isinstance(listed, str) else listed
        if isinstance(parameter.type, (click.Path, click.File)) and name not in spec.checkpoint_options:
            continue  # a file option that shares a name with the model's (stylize's --features, its VGG16)
        if key in saved and context.get_parameter_source(name) is click.core.ParameterSource.DEFAULT:
            value = recorded[name] if name in recorded else convert(saved[key])
            if json.loads(json.dumps(values[name])) != value:  # (a tuple option, a JSON list)
                adopted.append(f"{name} {value}")
            values[name] = value
    if adopted:
        _say_once(f"from {source}: {', '.join(adopted)}")


def _check_run_folder(spec: TaskSpec, values: dict[str, Any]) -> None:
    """--out is a folder of its own: not a file, and not a folder the run reads its images from
    (the run marks its folder, and marked folders are never training data: the images there
    would vanish from this run and every later one)."""
    out = Path(values["out"])
    if out.exists() and not out.is_dir():
        raise click.ClickException(f"--out {out} is a file: give a folder for the run (it is created)")
    names = [*_TRAIN_DATA_OPTIONS, *(p.name for p in spec.train_options if isinstance(p.type, click.Path))]
    for folder in (Path(value) for name in names for value in _as_list(values.get(name))):
        if folder.is_dir() and folder.resolve() == out.resolve():
            raise click.ClickException(f"--out {out} is a folder the run reads images from: give the run a folder "
                                       "of its own (e.g. runs/NAME)")
    if values["resume"] and not (out / "last.safetensors").is_file():
        _say_once(f"--resume: no checkpoint in {out} yet, so this starts a new run there")


_TRAIN_DATA_OPTIONS = ("data", "val")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _train(spec: TaskSpec, values: dict[str, Any]) -> None:
    from imgrestore.task import resolve
    from imgrestore.training.batches import check_workers
    from imgrestore.training.checkpoint import CheckpointError
    from imgrestore.training.data import SPLIT_RECORD_NAME, recorded_split
    from imgrestore.training.trainer import TrainConfig, train

    _check_run_folder(spec, values)
    try:
        check_workers(values["workers"])
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    try:
        _adopt_checkpoint_architecture(spec, values)
    except CheckpointError as error:
        raise click.ClickException(str(error)) from None
    task_options = {p.name: values[p.name] for p in spec.train_options}
    recipe_options = {"data": list(values["data"]), "val": list(values["val"]) or None,
                      "val_fraction": values["val_fraction"], **task_options}
    out = Path(values["out"])
    fresh = not (out / "last.safetensors").exists()
    # a fresh run records its held-out split, a resumed one keeps it; a folder that holds
    # another run (refused below, without --resume) is left untouched
    record = out / SPLIT_RECORD_NAME if values["resume"] or fresh else None
    try:
        with recorded_split(record):
            recipe = resolve(spec.recipe)(recipe_options)
    except (ValueError, FileNotFoundError) as error:  # no data, a bad option: one clear line
        raise click.ClickException(str(error)) from None
    # what the command line leaves unset comes from the recipe's own defaults, then the trainer's
    tuned = {name: values[name] for name in RECIPE_TUNED if values[name] is not None}
    config = TrainConfig(
        out_dir=values["out"], steps=values["steps"], seed=values["seed"],
        checkpoint_every=values["checkpoint_every"],
        validate_every=values["validate_every"], log_every=values["log_every"], resume=values["resume"],
        init=values["init"], ema=values["ema"],
        device=values["device"], precision=values["precision"], threads=values["threads"],
        workers=values["workers"], time_budget=values["time_budget"] or 0.0, options=recipe_options,
        **{**getattr(recipe, "training_defaults", {}), **tuned},
    )
    config = _fit_warmup(config, chosen=values["warmup"] is not None, fresh=fresh, out=out)
    from imgrestore.training.stopping import TrainingInterrupted
    from imgrestore.training.trainer import SetupError

    try:
        final = train(recipe, config)
    except (SetupError, CheckpointError) as error:
        raise click.ClickException(str(error)) from None
    except TrainingInterrupted as stopped:
        _say_once(f"stopped at step {stopped.step}; {Path(values['out']) / 'last.safetensors'} holds it: "
                  "continue with the same command and --resume")
        sys.exit(130)
    _say_once(f"weights: {final}")


WARMUP_SHARE = 5
"""A default warm-up takes at most a fifth of the steps."""


def _fit_warmup(config: Any, chosen: bool, fresh: bool, out: Path) -> Any:
    """A short run (a 200-step fine-tune) under the default 300-step warm-up ended at its peak
    learning rate, never decaying: a default warm-up is cut to a fifth of a new run's steps. A
    resumed run keeps the warm-up its first session used (config.json), so that its schedule does
    not change under it; one the user chose is kept, with a note when the rate could only rise."""
    import json
    from dataclasses import replace

    if not chosen and not fresh and (out / "config.json").is_file():
        recorded = json.loads((out / "config.json").read_text()).get("warmup")
        if isinstance(recorded, int) and recorded != config.warmup:
            return replace(config, warmup=recorded)
        return config
    if config.warmup <= config.steps // WARMUP_SHARE:
        return config
    if not chosen and fresh:
        _say_once(f"warm-up: {config.steps // WARMUP_SHARE} steps, a fifth of --steps {config.steps} "
                  f"(the default {config.warmup} would leave no time to decay)")
        return replace(config, warmup=config.steps // WARMUP_SHARE)
    if config.warmup >= config.steps:
        _say_once(f"note: --warmup {config.warmup} is not shorter than --steps {config.steps}: the learning rate "
                  "only rises")
    return config


def _say_once(message: str) -> None:
    """A training message on stderr from one process: under torchrun every rank runs this command,
    and N copies of each line told the user nothing more (rank 0 is the one that writes)."""
    if os.environ.get("RANK", "0") == "0":
        click.echo(message, err=True)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _train_command(spec: TaskSpec) -> click.Command:
    def callback(**values: Any) -> None:
        try:
            _train(spec, values)
        except KeyboardInterrupt:  # before the loop (loading data, K-SVD) or a second Ctrl-C in it
            _say_once("interrupted before a checkpoint could be written")
            sys.exit(130)


    params: list[click.Parameter] = [
        click.Option(["--data"], multiple=True, type=click.Path(exists=True, path_type=Path),
                     help="Training images: a folder (searched recursively) or file; repeat for more."),
        click.Option(["--val"], multiple=True, type=click.Path(exists=True, path_type=Path),
                     help="Validation images: a folder or file; repeat for more [default: hold out "
                          "--val-fraction of --data by file name]."),
        click.Option(["--val-fraction"], type=FiniteRange(0, 0.5, min_open=True), default=0.05, show_default=True,
                     help="Share of --data held out for validation (every run validates: to train on all "
                          "of --data, give --val instead)."),
        click.Option(["--out"], type=click.Path(path_type=Path), required=True,
                     help="Run folder: checkpoints (last/best .safetensors), log.csv, config.json."),
        click.Option(["--steps"], type=click.IntRange(1), default=10000, show_default=True),
        click.Option(["--time-budget"], type=FiniteRange(0, min_open=True), default=None, metavar="SECONDS",
                     help="Train as many steps as fit in SECONDS (at most --steps): a few steps are timed "
                     "first, then the whole schedule runs to the count that fits, which config.json records "
                     "(--steps N repeats the run). The data is read before the clock starts."),
        click.Option(["--batch-size"], type=click.IntRange(1), default=None,
                     help="Per process (under torchrun the global batch is this × processes) "
                     "[default: the task's, else 16]."),
        click.Option(["--lr"], type=FiniteRange(0, min_open=True), default=None,
                     help="Peak learning rate [default: the task's, else 1e-3]."),
        click.Option(["--schedule"], type=click.Choice(["cosine", "linear"]), default=None,
                     help="cosine: warm-up, cosine decay; linear: warm-up, peak for half the steps, then a "
                     "straight line down [default: the task's, else cosine]."),
        click.Option(["--warmup"], type=click.IntRange(0), default=None,
                     help="Warm-up steps [default: the task's, else 300]."),
        click.Option(["--clip-grad"], type=FiniteRange(0), default=None,
                     help="Clip each optimizer's gradient norm to this (0 = off) [default: the task's, else 1]."),
        click.Option(["--seed"], type=int, default=0, show_default=True),
        click.Option(["--resume"], is_flag=True, help="Continue the run in --out from its last checkpoint."),
        click.Option(["--init"], type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="Start from these weights (e.g. weights/denoise/gray.safetensors) to fine-tune."),
        click.Option(["--ema"], type=FiniteRange(0, 1, max_open=True), default=0.0, show_default=True,
                     help="Validate, checkpoint and export a moving average of the weights with this decay "
                     "(e.g. 0.999; 0 = off). Cleaner GAN samples."),
        click.Option(["--checkpoint-every"], type=click.IntRange(1), default=500, show_default=True),
        click.Option(["--validate-every"], type=click.IntRange(1), default=500, show_default=True),
        click.Option(["--log-every"], type=click.IntRange(1), default=50, show_default=True),
        click.Option(["--device"], type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True),
        click.Option(["--precision"], type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default="auto",
                     show_default=True, help="auto = bf16 autocast where the GPU or CPU supports it."),
        click.Option(["--threads"], type=click.IntRange(0), default=0, help="CPU threads for torch (0 = torch's default)."),
        click.Option(["--workers"], type=click.IntRange(0), default=0, show_default=True,
                     help="Processes that prepare batches ahead of the steps, so a GPU need not wait for them "
                     "(speed only: every step gets the same batch with any number; 0 = the training process)."),
        *spec.train_options,
    ]
    return click.Command(spec.name, callback=callback, params=params,
                         help=f"Train {_article(spec.name)} {spec.name} model with its recipe. Runs under torchrun for several GPUs.")


def _export_command(spec: TaskSpec) -> click.Command:
    def callback(checkpoint: Path, output: Path, fp16: bool, opset: int, **task_options: Any) -> None:
        import importlib.util

        if importlib.util.find_spec("onnxscript") is None:  # torch.onnx's exporter imports it late
            raise click.ClickException("export needs onnxscript, which torch's ONNX exporter uses: "
                                       "pip install 'imgrestore[export]' (or onnxscript)")
        from imgrestore.export import ParityError, export_onnx

        try:
            report = export_onnx(spec, checkpoint, output, fp16=fp16, opset=opset, options=task_options)
        except (ParityError, ValueError) as error:
            raise click.ClickException(str(error)) from None
        click.echo(
            f"wrote {report.path} ({report.parameters:,} parameters); onnx.checker passed; "
            f"max |onnxruntime - torch| = {report.max_difference:.2e} on {report.parity_input} "
            f"(tolerance {report.tolerance:g})"
        )

    return click.Command(
        spec.name,
        callback=callback,
        params=[
            click.Option(["--checkpoint"], required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.Option(["-o", "--output"], required=True, type=click.Path(dir_okay=False, path_type=Path)),
            click.Option(["--fp16"], is_flag=True, help="Half-precision weights and arithmetic (float32 inputs/outputs)."),
            click.Option(["--opset"], type=click.IntRange(17), default=18, show_default=True),
            *spec.export_options,
        ],
        help=f"Export {_article(spec.name)} {spec.name} checkpoint to ONNX (dynamic batch/height/width) and check parity with torch.",
    )


# ---------------------------------------------------------------- the group


@click.group(cls=_TaskGroup, task_command=_inference_command, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imgrestore")
def cli() -> None:
    """Image restoration and translation: run a task on an image or a folder.

    \b
    imgrestore denoise photos/ clean/         run a task with the shipped model
    imgrestore train denoise --data DIR ...   train your own model
    imgrestore export denoise --checkpoint ... -o model.onnx
    """


@cli.group(cls=_TaskGroup, task_command=_train_command, needs="recipe")
def train() -> None:
    """Train a task's model (PyTorch; works under torchrun)."""


@cli.group(cls=_TaskGroup, task_command=_export_command, needs="export")
def export() -> None:
    """Export a trained checkpoint to ONNX."""


@cli.command()
def tasks() -> None:
    """List the tasks, the plugins providing them and their shipped models."""
    registry = _registry()
    for name, spec in sorted(registry.tasks.items()):
        models = ", ".join(spec.models) or "-"
        inputs = ", ".join(spec.inputs) or "none"
        options = " ".join(option.opts[0] for option in spec.options) or "-"
        click.echo(f"{name:<12} {spec.summary}\n{'':<12} plugin: {spec.plugin}; inputs: {inputs}; "
                   f"options: {options}; models: {models}")


@cli.command()
@click.option("--verbose", "-v", is_flag=True, help="Show the traceback of each plugin that failed.")
def plugins(verbose: bool) -> None:
    """List the plugins, their versions and tasks, and any that failed or are disabled."""
    registry = _registry()
    for info in registry.plugins.values():
        if info.blocked:
            state = "disabled (IMGRESTORE_DISABLE_PLUGINS)"
        elif info.error:
            state = f"FAILED: {info.error}"
        else:
            state = "tasks: " + (", ".join(info.tasks) or "none")
        click.echo(f"{info.name:<16} {info.version:<10} {info.module:<28} {state}")
        if verbose and info.detail:
            click.echo("    " + info.detail.rstrip().replace("\n", "\n    "))
    for name in registry.unknown_disabled:
        click.echo(f"{name:<16} {'-':<10} {'-':<28} no such plugin (named in IMGRESTORE_DISABLE_PLUGINS)")


@cli.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", "-n", type=click.IntRange(1), default=100, show_default=True)
@click.option("--area", default="0.1-0.3", show_default=True, help="Hole fraction range LOW-HIGH.")
@click.option("--size", default="512x512", show_default=True, help="WIDTHxHEIGHT.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--style", type=click.Choice(["mixed", "strokes", "boxes"]), default="mixed", show_default=True)
def masks(out: Path, count: int, area: str, size: str, seed: int, style: str) -> None:
    """Write seeded free-form masks (white = fill) as OUT/mask_0000.png, ...

    Mask i depends only on the seed, i and the options, so sets can be extended reproducibly."""
    import numpy as np

    from imgrestore.images import Picture, write_image
    from imgrestore.masks import MaskSpec, free_form_mask, parse_area, parse_size

    try:
        spec = MaskSpec(*parse_size(size), area=parse_area(area), style=style)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    fractions = []
    for index in range(count):
        mask = free_form_mask(spec, seed, index)
        fractions.append(float(np.count_nonzero(mask)) / mask.size)
        write_image(out / f"mask_{index:04d}.png", Picture(color=mask[:, :, None]))
    click.echo(f"wrote {count} masks to {out} (hole area {min(fractions):.1%} to {max(fractions):.1%})")


def main() -> None:
    registry_commands_added = getattr(main, "_done", False)
    if not registry_commands_added:
        main._done = True  # type: ignore[attr-defined]
        try:
            registry = get_registry(reserved=frozenset(cli.commands))
        except PluginConflictError as error:
            click.ClickException(str(error)).show()
            sys.exit(2)
        registry.register_commands(cli)
    cli(prog_name="imgrestore")
