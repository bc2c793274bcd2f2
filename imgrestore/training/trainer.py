"""The generic training loop: seeded, mixed precision, checkpoint + resume, validation, DDP.

It runs unchanged under `torchrun --nproc_per_node=N`: each process draws its own batches (seeded
by run seed, rank and step: imgrestore.training.batches), DistributedDataParallel averages the
gradients, and only rank 0 validates, logs and writes.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from imgrestore.metrics import psnr
from imgrestore.training.batches import step_batches
from imgrestore.training.budget import fit_to_budget
from imgrestore.training.checkpoint import load_state, load_weights, read_metadata, save_checkpoint
from imgrestore.training.data import RUN_MARKER
from imgrestore.training.recipe import Batch, Evaluation, Phase, Recipe
from imgrestore.training.stopping import StopRequest, TrainingInterrupted


@dataclass
class TrainConfig:
    out_dir: Path
    steps: int = 10000
    batch_size: int = 16
    lr: float = 1e-3
    min_lr: float = 1e-5
    warmup: int = 300
    schedule: str = "cosine"
    """"cosine": linear warm-up, then cosine decay to min_lr. "linear": warm-up, the peak rate
    held for the first half of the steps, then a straight line down to min_lr (CycleGAN, pix2pix)."""
    weight_decay: float = 0.0
    clip_grad: float = 1.0
    seed: int = 0
    checkpoint_every: int = 500
    validate_every: int = 500
    log_every: int = 50
    resume: bool = False
    init: Path | None = None
    """Start from these weights (e.g. a shipped model's .safetensors) with a fresh optimizer and
    schedule: fine-tuning on one's own images, or training on where an earlier run stopped."""
    ema: float = 0.0
    """Decay of an exponential moving average of the model's weights (e.g. 0.999); 0 = none.
    With it, the average is what is validated, checkpointed and exported (a GAN generator's
    samples are markedly cleaner from averaged weights); the raw weights go to the state file."""
    device: str = "auto"
    precision: str = "auto"
    threads: int = 0
    workers: int = 0
    """Processes that prepare batches ahead of the steps (imgrestore.training.batches): speed only,
    the batches are the same for any number."""
    time_budget: float = 0.0
    """Seconds the steps may take (0 = no limit): the run times a few steps first, then takes the
    step count that fits (at most `steps`) and its whole schedule (imgrestore.training.budget)."""
    options: dict[str, Any] = field(default_factory=dict)


class SetupError(ValueError):
    """The options cannot start this run: the run folder disagrees with them (a run there
    already, --resume or --init with another model) or the device asked for is not there. A
    usage problem, reported in one line, not a failure of the training."""


IGNORED_ON_RESUME = ("resume", "init", "out_dir", "device", "threads", "workers", "history", "time_budget",
                     "fitted")
"""Settings that change how fast a run goes, not what it computes (another thread count or device
orders floating-point sums differently, so the weights may differ in their last bits, ~1e-9, from
an uninterrupted run's), or that only the first session uses (--init), or bookkeeping. A time
budget is one of these: what it changes is `steps`, recorded as such."""


def _drop_log_rows_after(out: Path, step: int) -> None:
    """A resumed run repeats the steps after its last checkpoint, and a run started again in a
    folder whose first attempt died before any checkpoint repeats them all: the rows logged for
    them would stand twice in log.csv (steps 1, 2, 1, 2, 3...) and evaluations.jsonl, so they go."""
    log_path, evaluations = out / "log.csv", out / "evaluations.jsonl"
    if log_path.is_file():
        with log_path.open(newline="") as stream:
            rows = list(csv.reader(stream))
        kept = rows[:1] + [row for row in rows[1:] if row and row[0].isdigit() and int(row[0]) <= step]
        if len(kept) < len(rows):
            with log_path.open("w", newline="") as stream:
                csv.writer(stream).writerows(kept)
    if evaluations.is_file():
        lines = evaluations.read_text().splitlines(keepends=True)
        kept_lines = [line for line in lines if _logged_step(line) <= step]
        if len(kept_lines) < len(lines):
            evaluations.write_text("".join(kept_lines))


def _logged_step(line: str) -> float:
    try:
        return float(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return math.inf  # a damaged line (a session killed while writing it) goes too


def _write_config(out: Path, config: TrainConfig, resumed_at: int | None, fitted: dict[str, Any] | None = None) -> None:
    """config.json: the settings of the run. On --resume it keeps, in "history", the step each
    session resumed at and every setting that session changed (old, new), so the folder says how
    its weights came to be even when a run was extended or its learning rate changed midway; a
    changed setting is also printed, since a mistyped --lr on resume changes the run silently."""
    path = out / "config.json"
    settings = json.loads(json.dumps({**asdict(config), "out_dir": str(out)}, default=str))
    history: list[dict[str, Any]] = []
    if resumed_at is not None and path.is_file():
        before = json.loads(path.read_text())
        history = before.get("history", [])
        changed = {key: [before.get(key), value] for key, value in settings.items()
                   if key not in IGNORED_ON_RESUME and before.get(key) != value}
        history.append({"resumed_at_step": resumed_at, "changed": changed})
        if changed:
            shown = "; ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in changed.items())
            print(f"resumed with changed settings: {shown}", file=sys.stderr)
    if fitted:  # how --time-budget chose `steps`
        settings["fitted"] = fitted
    path.write_text(json.dumps({**settings, "history": history}, indent=2) + "\n")


@dataclass
class _Context:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed(requested_device: str) -> _Context:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = requested_device in ("auto", "cuda") and torch.cuda.is_available()
    if requested_device == "cuda" and not torch.cuda.is_available():
        raise SetupError("--device cuda was asked for but torch sees no CUDA device (use --device auto or cpu)")
    if world > 1:
        rank = int(os.environ["RANK"])
        local = int(os.environ.get("LOCAL_RANK", "0"))
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        device = torch.device("cuda", local) if use_cuda else torch.device("cpu")
        if use_cuda:
            torch.cuda.set_device(device)
        return _Context(rank=rank, world=world, device=device)
    return _Context(rank=0, world=1, device=torch.device("cuda" if use_cuda else "cpu"))


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16 where the hardware does it natively (recent GPUs; CPUs with AVX512-BF16 or AMX)."""
    if precision == "fp32":
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None


SCHEDULES = ("cosine", "linear")


def _learning_rate(config: TrainConfig, step: int) -> float:
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    if config.schedule == "linear":
        half = config.steps // 2
        progress = max(0, step - max(half, config.warmup)) / max(1, config.steps - max(half, config.warmup))
        return config.lr + (config.min_lr - config.lr) * min(1.0, progress)
    if config.schedule != "cosine":
        raise ValueError(f"unknown schedule {config.schedule!r} (choose from {', '.join(SCHEDULES)})")
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def _rng_states() -> dict[str, Any]:
    """The generators a step may draw from besides its batch's own (dropout, a recipe's torch draws)."""
    states = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _restore_rng(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _to_device(batch: Batch, device: torch.device) -> Batch:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


PRECISE_BATCH_NORM_BATCH = 16
"""The smallest batch the statistics are gathered in, whatever the training batch."""


def precise_batch_norm(recipe: Recipe, model: nn.Module, device: torch.device, seed: int,
                       batches: int = 32, batch_size: int = 16) -> None:
    """Recompute batch-norm statistics as plain averages over fresh training batches, with the
    current weights. The running (EMA) statistics trail weights that still change quickly at a
    high learning rate: on the colour denoiser they cost about 3 dB at inference (eval-mode loss
    0.0041 against 0.0025 after this). Uses its own RNG, so training draws stay as they were.

    The batches hold at least PRECISE_BATCH_NORM_BATCH samples: the average of per-batch
    variances misses the spread between the batches' means, which is most of the variance when a
    batch holds two patches (fine-tuning the shipped colour denoiser with --batch-size 2 lost
    4.7 dB of validation PSNR to it). No gradients are kept, so a larger batch costs little memory."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    batch_size = max(batch_size, PRECISE_BATCH_NORM_BATCH)
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            recipe.predict(model, _to_device(recipe.training_batch(rng, batch_size), device))
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    model.train(was_training)


def validate(recipe: Recipe, model: nn.Module, device: torch.device) -> float:
    """Mean PSNR (dB) of the recipe's predictions on its fixed validation batches."""
    model.eval()
    scores = []
    with torch.no_grad():
        for batch in recipe.validation_batches():
            batch = _to_device(batch, device)
            prediction = recipe.predict(model, batch).float().clamp(0, 1)
            for predicted, target in zip(prediction, batch["target"]):
                scores.append(psnr(predicted.cpu().numpy(), target.cpu().numpy(), data_range=1.0))
    model.train()
    return float(np.mean(scores)) if scores else float("nan")


def evaluate(recipe: Recipe, model: nn.Module, device: torch.device, out_dir: Path, step: int) -> Evaluation:
    """The recipe's own evaluation where it has one (generators), else PSNR on its validation
    batches."""
    if not hasattr(recipe, "evaluate"):
        return Evaluation("psnr", validate(recipe, model, device))
    model.eval()
    try:
        with torch.no_grad():
            return recipe.evaluate(model, device, out_dir, step)  # type: ignore[attr-defined]
    finally:
        model.train()


class _WeightAverage:
    """The exponential moving average of a model's parameters (buffers copied as they are)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model)
        self.decay = decay
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))  # short memory at first, when weights move fast
        for average, current in zip(self.model.parameters(), model.parameters()):
            average.lerp_(current.detach(), 1 - decay)
        for average, current in zip(self.model.buffers(), model.buffers()):
            average.copy_(current)


class _Snapshot:
    """Everything a step changes (weights, optimizer and loss-scale state, random draws), copied so
    that the steps --time-budget times leave no trace: the run is then exactly `--steps N`'s."""

    def __init__(self, networks: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
                 scaler: torch.amp.GradScaler) -> None:
        self.networks, self.optimizers, self.scaler = networks, optimizers, scaler
        self.weights = {name: copy.deepcopy(net.state_dict()) for name, net in networks.items()}
        self.optimizer_states = {name: copy.deepcopy(opt.state_dict()) for name, opt in optimizers.items()}
        self.scaler_state = copy.deepcopy(scaler.state_dict()) if scaler.is_enabled() else None
        self.rng = _rng_states()

    def restore(self) -> None:
        for name, net in self.networks.items():
            net.load_state_dict(self.weights[name])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(self.optimizer_states[name])
        if self.scaler_state is not None:
            self.scaler.load_state_dict(self.scaler_state)
        _restore_rng(self.rng)


def _fitted_config(config: TrainConfig, steps: int, main: bool) -> TrainConfig:
    """`config` with the step count the budget fits; a warm-up over a fifth of it is cut to that
    fifth, the rule a default warm-up follows (a 2,000-step warm-up in a 1,500-step run never decays)."""
    from dataclasses import replace

    warmup = config.warmup
    if warmup > steps // 5:
        warmup = steps // 5
        if main:
            print(f"--time-budget: warm-up {config.warmup} -> {warmup} steps, a fifth of the {steps} that fit",
                  file=sys.stderr)
    return replace(config, steps=steps, warmup=warmup)


def train(recipe: Recipe, config: TrainConfig) -> Path:
    """Train to config.steps; returns the path of the final weights (`last.safetensors`)."""
    context = _setup_distributed(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    if context.device.type == "cuda":  # crops of one size: cuDNN's autotuned kernels pay off after a step
        torch.backends.cudnn.benchmark = True
    out = Path(config.out_dir)
    seed = config.seed + context.rank
    random.seed(seed)
    torch.manual_seed(seed)

    model = recipe.build_model().to(context.device)
    multi = hasattr(recipe, "phases")
    networks: dict[str, nn.Module] = {"model": model}
    if multi:
        networks.update({name: net.to(context.device) for name, net in recipe.extra_networks().items()})  # type: ignore[attr-defined]
    phases: list[Phase] = recipe.phases() if multi else [Phase("model", ("model",))]  # type: ignore[attr-defined]
    optimizers = {
        phase.name: torch.optim.Adam([p for name in phase.networks for p in networks[name].parameters()],
                                     lr=config.lr * phase.lr_scale, betas=phase.betas, weight_decay=config.weight_decay)
        for phase in phases
    }
    metadata = {"task": recipe.task, "model_config": recipe.model_config(), "options": config.options}
    metric = f"val_{getattr(recipe, 'validation_metric', 'psnr')}"
    step = 0
    best = -math.inf
    saved_scaler = None
    if config.resume and (out / "last.safetensors").exists():
        saved = read_metadata(out / "last.safetensors")
        if saved.get("model_config") != metadata["model_config"]:
            raise SetupError(
                f"--resume: {out} was trained with {saved.get('model_config')}, not {metadata['model_config']}"
            )
        model.load_state_dict(load_weights(out / "last.safetensors"))
        state = load_state(out, "last")
        if config.ema and "raw_model" not in state:
            raise SetupError(f"--resume: {out} was trained without --ema; resume it without")
        if not config.ema and "raw_model" in state:
            raise SetupError(f"--resume: {out} was trained with --ema; pass it again")
        if saved.get("step", state["step"]) != state["step"]:  # killed between writing the two files
            raise SetupError(f"--resume: {out / 'last.safetensors'} is of step {saved['step']} but its training "
                             f"state {out / 'last.state.pt'} of step {state['step']} (the run was killed while "
                             "writing them): start a new run from its weights with --init")
        saved_optimizers = state.get("optimizers") or {phases[0].name: state["optimizer"]}
        saved_networks = set(state.get("networks", {})) | {"model"}
        if set(saved_optimizers) != set(optimizers) or saved_networks != set(networks):
            raise SetupError(f"--resume: {out} trained the networks {sorted(saved_networks)} in the phases "
                             f"{sorted(saved_optimizers)}, these options give {sorted(networks)} in {sorted(optimizers)} "
                             "(an option that adds or drops a network, such as an adversarial loss, changed): "
                             "resume with the run's options, or start a new run from its weights with --init")
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(saved_optimizers[name])
        for name, weights in state.get("networks", {}).items():
            networks[name].load_state_dict(weights)
        saved_scaler = state.get("scaler")
        step, best = state["step"], state.get("best", -math.inf)
        _restore_rng(state["rng"][min(context.rank, len(state["rng"]) - 1)])
        if context.main:
            print(f"resumed from {out / 'last.safetensors'} at step {step}", file=sys.stderr)
    elif context.main and (out / "last.safetensors").exists():
        raise SetupError(f"{out} already holds a run: pass --resume to continue it, or another --out")
    elif config.init is not None:
        saved = read_metadata(config.init)
        if saved.get("model_config") != metadata["model_config"]:
            raise SetupError(f"--init: {config.init} holds a {saved.get('model_config')} model, "
                             f"not {metadata['model_config']} (pass the matching model options)")
        model.load_state_dict(load_weights(config.init))
        metadata["init"] = str(config.init)
    average = _WeightAverage(model, config.ema) if config.ema else None
    if average is not None and config.resume and (out / "last.safetensors").exists():
        model.load_state_dict(state["raw_model"])  # last.safetensors held the average
    kept = average.model if average is not None else model  # validated, checkpointed, exported

    trained = dict(networks)
    if context.world > 1:
        trained = {
            name: nn.parallel.DistributedDataParallel(
                net, device_ids=[context.device.index] if context.device.type == "cuda" else None,
                # a multi-scale model trains one scale's tail per step, so the others get no gradient
                find_unused_parameters=getattr(recipe, "unused_parameters", False),
            )
            for name, net in networks.items()
        }
    autocast_dtype = _autocast_dtype(config.precision, context.device)
    scaler = torch.amp.GradScaler(enabled=autocast_dtype == torch.float16 and context.device.type == "cuda")
    if saved_scaler and scaler.is_enabled():
        scaler.load_state_dict(saved_scaler)  # the loss scale it had grown or shrunk to, and its counter

    def batches(steps: range) -> Iterator[Batch]:
        return step_batches(recipe, config.seed, context.rank, config.batch_size, steps, config.workers,
                            pin_memory=context.device.type == "cuda")

    def take_step(at: int, batch: Batch) -> dict[str, float]:
        """One optimisation step (every phase) on step `at`'s batch at its learning rate; each phase's loss."""
        rate = _learning_rate(config, at)
        for phase in phases:
            for group in optimizers[phase.name].param_groups:
                group["lr"] = rate * phase.lr_scale
        batch = _to_device(batch, context.device)
        cache: dict[str, torch.Tensor] = {}
        losses = {}
        for phase in phases:
            optimizer = optimizers[phase.name]
            with torch.autocast(context.device.type, dtype=autocast_dtype or torch.float32,
                                enabled=autocast_dtype is not None):
                if multi:
                    loss = recipe.phase_loss(phase.name, trained, batch, cache)  # type: ignore[attr-defined]
                else:
                    loss = recipe.loss(trained["model"], batch)
            optimizer.zero_grad(set_to_none=True)  # also drops what an earlier phase left on these networks
            scaler.scale(loss).backward()
            if config.clip_grad:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]],
                                         config.clip_grad)
            scaler.step(optimizer)
            losses[phase.name] = float(loss.detach())
        scaler.update()
        return losses

    for net in networks.values():
        net.train()
    fitted = None
    if config.time_budget and step < config.steps:
        undo = _Snapshot(networks, optimizers, scaler)
        timed = batches(range(step, config.steps))
        fitted = fit_to_budget(config.time_budget, step, config.steps, lambda at: take_step(at, next(timed)),
                               context.world)
        del timed  # its workers stop
        undo.restore()
        config = _fitted_config(config, fitted["steps"], context.main)
    if context.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / RUN_MARKER).touch()
        _write_config(out, config, resumed_at=step if config.resume and step else None, fitted=fitted)
        parameters = sum(p.numel() for p in model.parameters())
        print(
            f"training {recipe.task}: {parameters:,} parameters, device {context.device}, "
            f"precision {autocast_dtype or torch.float32}, world size {context.world}, steps {step}->{config.steps}",
            file=sys.stderr,
        )

    log_path = out / "log.csv"
    if context.main:
        _drop_log_rows_after(out, step)
    count, started = 0, time.time()

    def checkpoint(name: str, score: float | None = None) -> None:
        # every rank hands its RNG states to rank 0 (a collective: all ranks must take part)
        rng = _rng_states()
        all_rng: list[Any] = [rng]
        if context.world > 1:
            all_rng = [None] * context.world
            dist.all_gather_object(all_rng, rng)
        if not context.main:
            return
        state = {"optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
                 "networks": {name: net.state_dict() for name, net in networks.items() if name != "model"},
                 "step": step, "best": best, "rng": all_rng}
        if average is not None:
            state["raw_model"] = model.state_dict()
        if scaler.is_enabled():
            state["scaler"] = scaler.state_dict()
        save_checkpoint(out, name, kept, {**metadata, "step": step, metric: score}, state)

    bar = None
    if context.main and sys.stderr.isatty():
        import click

        bar = click.progressbar(length=config.steps, label=f"train {recipe.task}", file=sys.stderr,
                                show_pos=True, show_eta=True)
        bar.update(step)
    phase_losses = {phase.name: 0.0 for phase in phases}
    queued = batches(range(step, config.steps))
    with StopRequest(enabled=context.world == 1) as stop:
        while step < config.steps:
            for name, loss in take_step(step, next(queued)).items():
                phase_losses[name] += loss
            if average is not None:
                average.update(model, step)
            step += 1
            if bar is not None:
                bar.update(1)
            count += 1

            evaluation: Evaluation | None = None
            due_validation = step % config.validate_every == 0 or step == config.steps
            # Ctrl-C or SIGTERM (StopRequest): the step just taken is complete, so a checkpoint of
            # it resumes exactly; a request that comes later in this step is served by the next
            due_checkpoint = step % config.checkpoint_every == 0 or step == config.steps or stop.requested
            if context.main and (due_validation or due_checkpoint):
                precise_batch_norm(recipe, kept, context.device, seed=config.seed * 1_000_003 + step,
                                   batch_size=config.batch_size)
            if due_validation:
                if context.main:
                    evaluation = evaluate(recipe, kept, context.device, out, step)
                    if evaluation.details:
                        with (out / "evaluations.jsonl").open("a") as stream:
                            stream.write(json.dumps({"step": step, evaluation.metric: evaluation.value,
                                                     **evaluation.details}) + "\n")
                    if evaluation.ranking > best:
                        best = evaluation.ranking
                        save_checkpoint(out, "best", kept, {**metadata, "step": step, metric: evaluation.value}, None)
                if context.world > 1:
                    dist.barrier()
            score = None if evaluation is None else evaluation.value
            if context.main and (step % config.log_every == 0 or evaluation is not None or step == config.steps):
                elapsed = time.time() - started
                row = {
                    "step": step,
                    "loss": phase_losses[phases[0].name] / max(count, 1),
                    **({f"loss_{name}": total / max(count, 1) for name, total in phase_losses.items()} if multi else {}),
                    "lr": optimizers[phases[0].name].param_groups[0]["lr"],
                    "seconds": round(elapsed, 1),
                    metric: "" if score is None else round(score, 4),
                }
                new_file = not log_path.exists()
                with log_path.open("a", newline="") as stream:
                    writer = csv.DictWriter(stream, fieldnames=list(row))
                    if new_file:
                        writer.writeheader()
                    writer.writerow(row)
                shown = ""
                if evaluation is not None:
                    unit = " dB" if evaluation.metric == "psnr" else ""
                    shown = f" {metric} {evaluation.value:.4g}{unit}" + "".join(
                        f" {key} {value:.4g}" for key, value in evaluation.details.items() if isinstance(value, float))
                if bar is not None:
                    bar.render_finish()
                print(f"step {step}/{config.steps} loss {row['loss']:.3e} lr {row['lr']:.2e} {elapsed:.0f}s{shown}",
                      file=sys.stderr, flush=True)
                phase_losses, count = {name: 0.0 for name in phase_losses}, 0
            if due_checkpoint:
                checkpoint("last", score)
            if stop.requested and due_checkpoint:
                break

    if bar is not None:
        bar.render_finish()
    if stop.requested:
        raise TrainingInterrupted(step)
    if context.world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return out / "last.safetensors"
